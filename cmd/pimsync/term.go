package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is an *os.File connected to a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS)
	return err == nil
}
