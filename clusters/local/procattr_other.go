//go:build !linux

package local

import "syscall"

// procAttr puts a program in its own process group. Outside Linux there is no parent-death signal: the programs
// are stopped by Close and Ctrl-C only (the local tier runs on Linux; this keeps the command building for
// macOS, where the other tiers and live runs work).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
