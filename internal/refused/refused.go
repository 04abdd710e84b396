//go:build unix

// Package refused gives tests an address that refuses TCP connections for as long as they need it. Listening on
// 127.0.0.1:0 and closing the listener gives such an address only for a moment: the kernel may hand the port to
// the next listener (a stack the test starts, a parallel test), and the "refused" connection is then accepted and
// reset (a suite failed that way once, DIRECTORY_UNREACHABLE becoming CONNECTOR_ERROR). A socket bound to the port
// but never listening keeps it taken, and a connection to it is refused.
package refused

import (
	"fmt"
	"syscall"
)

// Addr binds a TCP socket to a free loopback port without listening on it and returns "127.0.0.1:<port>" and the
// function that releases it.
func Addr() (string, func() error, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return "", nil, fmt.Errorf("refused: socket: %w", err)
	}
	syscall.CloseOnExec(fd) // the programs tests start must not inherit it
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("refused: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("refused: getsockname: %w", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port), func() error { return syscall.Close(fd) }, nil
}
