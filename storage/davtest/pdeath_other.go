//go:build !linux

package davtest

import "syscall"

// setPdeathsig: only Linux has a parent-death signal; elsewhere a killed test binary
// leaves its servers running until the next start removes their directories.
func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}
