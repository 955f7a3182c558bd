package davtest

import "syscall"

// setPdeathsig makes the kernel send sig to the child when the test binary dies.
func setPdeathsig(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
