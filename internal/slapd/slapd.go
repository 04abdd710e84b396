// Package slapd runs OpenLDAP's slapd from the Debian package as a user process: its own cn=config directory
// and database in a temporary directory, a loopback port, the fixture LDIF loaded with slapadd, and everything
// removed on Stop. The DEX-LDAP checks run against it to show the in-process server answers as slapd does.
package slapd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Where Debian's slapd and ldap-utils put things.
const (
	defaultSlapd   = "/usr/sbin/slapd"
	defaultSlapadd = "/usr/sbin/slapadd"
	schemaDir      = "/etc/ldap/schema"
	moduleDir      = "/usr/lib/ldap"
)

// Suffix is the naming context of the fixture directory.
const Suffix = "dc=example,dc=org"

// ErrNotInstalled says slapd is missing: `apt-get install -y slapd ldap-utils` (make slapd) installs it.
var ErrNotInstalled = errors.New("slapd is not installed (apt-get install -y slapd ldap-utils, or make slapd)")

// Installed reports whether slapd and slapadd are where Debian puts them (or on PATH).
func Installed() bool {
	_, e1 := binary("slapd", defaultSlapd)
	_, e2 := binary("slapadd", defaultSlapadd)
	return e1 == nil && e2 == nil
}

func binary(name, def string) (string, error) {
	if _, err := os.Stat(def); err == nil {
		return def, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", ErrNotInstalled
}

// Server is a running slapd.
type Server struct {
	URL string
	dir string
	cmd *exec.Cmd
	log *lockedBuffer

	done    chan struct{}
	stopped sync.Once
}

// Start loads ldif into a fresh database and starts slapd on a free loopback port, within ctx.
func Start(ctx context.Context, ldif []byte) (*Server, error) {
	slapdBin, err := binary("slapd", defaultSlapd)
	if err != nil {
		return nil, err
	}
	slapaddBin, err := binary("slapadd", defaultSlapadd)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kfp-authcheck-slapd-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	confDir, dataDir := filepath.Join(dir, "slapd.d"), filepath.Join(dir, "data")
	for _, d := range []string{confDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	configLDIF, dataLDIF := filepath.Join(dir, "config.ldif"), filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(configLDIF, []byte(configFor(dir, dataDir)), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(dataLDIF, ldif, 0o600); err != nil {
		return nil, err
	}
	if err := run(ctx, slapaddBin, "-n", "0", "-F", confDir, "-l", configLDIF); err != nil {
		return nil, fmt.Errorf("slapadd cn=config: %w", err)
	}
	if err := run(ctx, slapaddBin, "-q", "-n", "1", "-F", confDir, "-l", dataLDIF); err != nil {
		return nil, fmt.Errorf("slapadd the directory: %w", err)
	}
	// slapd cannot report a port it chose, so a free port is picked and released just before slapd binds
	// it; if another process takes it in between, slapd exits and the next attempt picks another.
	var lastErr error
	for range 3 {
		s, err := startOn(ctx, slapdBin, dir, confDir)
		if err == nil {
			ok = true
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startOn(ctx context.Context, bin, dir, confDir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	url := "ldap://127.0.0.1:" + strconv.Itoa(port)
	s := &Server{URL: url, dir: dir, log: &lockedBuffer{}, done: make(chan struct{})}
	// -d 0 keeps slapd in the foreground (no fork), so it is our child and stops with us.
	s.cmd = exec.Command(bin, "-F", confDir, "-h", url+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	readyCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	go func() {
		select {
		case <-s.done: // slapd exited: stop waiting at once
			cancel()
		case <-readyCtx.Done():
		}
	}()
	if err := waitReady(readyCtx, url); err != nil {
		s.kill()
		return nil, fmt.Errorf("slapd did not come up on %s: %w; its log: %s", url, err, tail(s.log.String(), 800))
	}
	return s, nil
}

// Stop terminates slapd (SIGTERM, then SIGKILL after 5 s) and removes its directory.
func (s *Server) Stop() error {
	s.kill()
	return os.RemoveAll(s.dir)
}

func (s *Server) kill() {
	s.stopped.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Log is what slapd wrote so far (for a failure message).
func (s *Server) Log() string { return s.log.String() }

func run(ctx context.Context, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, tail(string(out), 800))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// configFor is the cn=config of the test server: the mdb backend, the core, cosine and inetorgperson schemas,
// slapd's default size limit, and an ACL under which userPassword serves binds only and the rest is readable.
func configFor(dir, dataDir string) string {
	return fmt.Sprintf(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: %[3]s
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://%[4]s/core.ldif

include: file://%[4]s/cosine.ldif

include: file://%[4]s/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: %[2]s
olcSuffix: %[5]s
olcDbMaxSize: 67108864
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by * read
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
`, dir, dataDir, moduleDir, schemaDir, Suffix)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 { // slapd at -d 0 says little; bound it anyway
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// waitReady dials url until an anonymous bind answers or ctx ends.
func waitReady(ctx context.Context, url string) error {
	var last error
	for {
		conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			conn.SetTimeout(2 * time.Second)
			err = conn.UnauthenticatedBind("")
			conn.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ldap server at %s not ready: %w (last: %v)", url, ctx.Err(), last)
		case <-t.C:
		}
	}
}
