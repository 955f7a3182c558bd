//go:build unix

package vdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/pimsync-go/pimsync/storage"

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

// readItemFile reads the regular file at path (following symlinks), at most limit
// bytes, with the stat of the open file taken before reading. It uses the descriptor
// directly: a regular file gains nothing from the runtime's poller, and one read of
// the size found (plus one byte, to see the end) is usually all it takes.
func readItemFile(path string, limit int64) ([]byte, fileStat, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0) // never blocks on a FIFO
		return err
	})
	if err != nil {
		return nil, fileStat{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return nil, fileStat{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if t := uint32(st.Mode) & unix.S_IFMT; t != unix.S_IFREG {
		return nil, fileStat{}, fmt.Errorf("%s is not a regular file (%v)", path, modeType(t))
	}
	if st.Size > limit {
		return nil, fileStat{}, fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit, Size: st.Size})
	}
	buf := make([]byte, st.Size+1)
	n := 0
	for {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fileStat{}, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
		if int64(n) > limit {
			return nil, fileStat{}, fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit})
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // it grew since the stat
		}
	}
	return buf[:n:n], fileStat{mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, size: st.Size, ino: uint64(st.Ino), regular: true}, nil
}

// modeType is the fs.FileMode type of a stat mode's S_IFMT bits.
func modeType(t uint32) fs.FileMode {
	switch t {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}

// retry calls fn again while it is interrupted by a signal.
func retry(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
