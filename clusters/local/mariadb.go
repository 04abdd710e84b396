package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrMariaDBMissing is returned when the real KFP API server is asked for and MariaDB's server is not installed;
// `make mariadb` installs Debian's.
var ErrMariaDBMissing = errors.New("MariaDB's server is not installed (run `make mariadb`)")

// mariaDB finds mariadbd and mariadb-install-db (Debian's mariadb-server package).
func mariaDB() (daemon, install string, err error) {
	daemon = "/usr/sbin/mariadbd"
	if _, err := os.Stat(daemon); err != nil {
		if daemon, err = exec.LookPath("mariadbd"); err != nil {
			return "", "", ErrMariaDBMissing
		}
	}
	if install, err = exec.LookPath("mariadb-install-db"); err != nil {
		return "", "", ErrMariaDBMissing
	}
	return daemon, install, nil
}

// MariaDBInstalled reports whether the local tier can run the real KFP API server's database.
func MariaDBInstalled() bool {
	_, _, err := mariaDB()
	return err == nil
}

// startMariaDB initialises a fresh data dir under dir and runs mariadbd as a user process on a loopback port
// (its socket in the data dir, so no system path is touched). root has an empty password, reachable from
// loopback only. It returns host:port.
func startMariaDB(ctx context.Context, procs *group, dir string, deadline time.Duration) (string, string, error) {
	daemon, install, err := mariaDB()
	if err != nil {
		return "", "", err
	}
	data := filepath.Join(dir, "mariadb")
	// Its own tmpdir: with the shared /tmp, parallel stacks' bootstraps lost each other's temporary tables
	// ("Could not remove temporary table ... Unknown table 'mysql.tmp_proxies_priv'").
	tmp := filepath.Join(dir, "mariadb-tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", "", err
	}
	runAs := []string{}
	if os.Geteuid() == 0 {
		runAs = []string{"--user=root"} // mariadbd refuses to run as root without it
	}
	ictx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	logPath := filepath.Join(dir, "mariadb-install-db.log")
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--tmpdir=" + tmp}, runAs...)
	out, err := exec.CommandContext(ictx, install, args...).CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o600)
	if err != nil {
		return "", "", &StartError{Program: "mariadb-install-db", Err: err, LogTail: tailOf(logPath, 4<<10)}
	}
	var addr string
	_, _, err = procs.launch(ctx, "mariadb", daemon, dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
		args := append([]string{"--no-defaults", "--datadir=" + data, "--bind-address=127.0.0.1",
			fmt.Sprintf("--port=%d", ports[0]), "--socket=" + filepath.Join(data, "sock"),
			"--pid-file=" + filepath.Join(data, "mariadbd.pid"), "--tmpdir=" + tmp, "--skip-log-bin"}, runAs...)
		return args, nil, tcpReady(addr), nil
	}, deadline)
	if err != nil {
		return "", "", err
	}
	return addr, mariaDBVersion(daemon), nil
}

// tcpReady is a readiness check: addr accepts a TCP connection (mariadbd listens once InnoDB is up).
func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// mariaDBVersion is what `mariadbd --version` says ("10.11.19-MariaDB-0+deb12u1"), or "Debian package".
func mariaDBVersion(daemon string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, daemon, "--version").Output()
	if err != nil {
		return "Debian package"
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "Ver" && i+1 < len(f) {
			return f[i+1] + " (Debian package)"
		}
	}
	return "Debian package"
}
