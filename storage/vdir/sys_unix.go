//go:build unix

package vdir

import (
	"io/fs"
	"os"
	"syscall"
)

// openItemFlags opens item files without blocking on FIFOs; the caller rejects
// anything that is not a regular file after fstat.
const openItemFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC

// inode returns the inode number of fi, or 0 if unknown.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// syncDir fsyncs a directory so that entries created, renamed or removed in it are
// durable.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
