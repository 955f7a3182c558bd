//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package status

import (
	"errors"
	"os"
)

// tryFlock is not implemented on this platform.
func tryFlock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func unflock(*os.File) {}
