//go:build unix

package vdir

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
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

// statAt stats name in the open directory d (whose path is dir), following symlinks,
// without a path lookup from the root.
func statAt(d *os.File, dir, name string) (fileStat, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(int(d.Fd()), name, &st, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileStat{}, &fs.PathError{Op: "stat", Path: dir + "/" + name, Err: err}
		}
		break
	}
	return fileStat{
		mtime:   st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		size:    st.Size,
		ino:     uint64(st.Ino),
		regular: uint32(st.Mode)&unix.S_IFMT == unix.S_IFREG,
	}, nil
}
