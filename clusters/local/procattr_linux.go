package local

import "syscall"

// procAttr puts a program in its own process group and has the kernel kill it if the harness dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
