//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package status

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock makes one non-blocking attempt to take an exclusive flock on f. It reports
// false (and no error) when the lock is held elsewhere.
func tryFlock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return ferr == nil, ferr
}

// unflock releases the flock on f. Errors are ignored: closing f releases it anyway.
func unflock(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.Flock(int(fd), syscall.LOCK_UN) })
	}
}
