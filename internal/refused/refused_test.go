//go:build unix

package refused

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestAddrRefusesAndStaysTaken: a connection is refused, and nobody can listen on the port until it is released.
func TestAddrRefusesAndStaysTaken(t *testing.T) {
	addr, release, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Errorf("listening on %s worked while it was held", addr)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after release, listen on %s: %v", addr, err)
	}
	l.Close()
}
