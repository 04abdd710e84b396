package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one real program the tier runs: its own process group (so stopping it stops anything it forked),
// killed by the kernel if the harness dies (Pdeathsig), its output kept in a log file under the stack's dir.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// testHookStarted, when set by a test, sees every process as it starts.
var testHookStarted func(*process)

// startProcess starts bin with args, stdout and stderr to dir/<name>.log.
func startProcess(name, bin string, args []string, dir string, env []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{})}
	if testHookStarted != nil {
		testHookStarted(p)
	}
	go func() {
		p.waitErr = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, and SIGKILL if it has not exited within grace.
func (p *process) stop(grace time.Duration) error {
	if ok, _ := p.exited(); ok {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
}

// logTail is the last n bytes of the process's log, for error messages and failed results.
func (p *process) logTail(n int) string { return tailOf(p.logPath, n) }

func tailOf(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(log %s unreadable: %v)", path, err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// bindRace reports whether a program failed because the port picked for it was taken between the pick and
// its bind; the caller then retries with fresh ports.
func (p *process) bindRace() bool {
	return strings.Contains(strings.ToLower(p.logTail(8<<10)), "address already in use")
}

// freePort asks the kernel for a free loopback port and releases it for the program about to bind it. Another
// process can take it in between; startWithRetry handles that race.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	// Hold every listener until all are picked so the n ports differ.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free loopback port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// StartError is a program that did not come up: which one, why, and the end of its log.
type StartError struct {
	Program string
	Err     error
	LogTail string
}

func (e *StartError) Error() string {
	return fmt.Sprintf("%s did not start: %v\n--- last lines of %s's log ---\n%s", e.Program, e.Err, e.Program, e.LogTail)
}

func (e *StartError) Unwrap() error { return e.Err }

// readiness polls check until it succeeds, the process exits, or the deadline passes.
func (p *process) waitReady(ctx context.Context, deadline time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if ok, werr := p.exited(); ok {
			return &StartError{Program: p.name, Err: fmt.Errorf("exited during start-up (%v)", werr), LogTail: p.logTail(4 << 10)}
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return &StartError{Program: p.name, Err: fmt.Errorf("not ready within %s: %v", deadline, last), LogTail: p.logTail(4 << 10)}
		case <-tick.C:
		}
	}
}

// httpReady is a readiness check: GET url answers 200.
func httpReady(client *http.Client, url string, header http.Header) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil
	}
}

// group is the set of processes a stack started, stopped in reverse order.
type group struct {
	mu    sync.Mutex
	procs []*process
}

func (g *group) add(p *process) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.procs = append(g.procs, p)
}

func (g *group) remove(p *process) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.procs {
		if q == p {
			g.procs = append(g.procs[:i], g.procs[i+1:]...)
			return
		}
	}
}

func (g *group) stopAll() error {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// launch starts a program with fresh ports from pick and waits until ready; a bind race (the port taken between
// the pick and the bind) is retried with new ports, up to three attempts.
func (g *group) launch(ctx context.Context, name, bin, dir string, nPorts int,
	build func(ports []int) (args []string, env []string, ready func(context.Context) error, err error),
	deadline time.Duration) (*process, []int, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(nPorts)
		if err != nil {
			return nil, nil, err
		}
		args, env, ready, err := build(ports)
		if err != nil {
			return nil, nil, err
		}
		p, err := startProcess(name, bin, args, dir, env)
		if err != nil {
			return nil, nil, err
		}
		g.add(p)
		if err := p.waitReady(ctx, deadline, ready); err != nil {
			race := p.bindRace()
			_ = p.stop(5 * time.Second)
			g.remove(p)
			if race && ctx.Err() == nil {
				lastErr = err
				continue
			}
			return nil, nil, err
		}
		return p, ports, nil
	}
	return nil, nil, fmt.Errorf("%s: ports kept being taken before it could bind them: %w", name, lastErr)
}
