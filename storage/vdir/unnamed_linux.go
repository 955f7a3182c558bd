package vdir

import (
	"errors"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// unnamedFiles says whether Create may try O_TMPFILE; tests turn it off to exercise
// the temporary-file path.
var unnamedFiles atomic.Bool

// noEmptyPath is set once linkat(AT_EMPTY_PATH) turned out to need a privilege this
// process lacks; /proc/self/fd is used from then on.
var noEmptyPath atomic.Bool

func init() { unnamedFiles.Store(true) }

// unnamed is an O_TMPFILE file: it has no name, so a crash or a failure leaves nothing
// behind, and giving it its name is one link, with no temporary name to create and
// remove.
type unnamed struct {
	fd  int
	tag string
}

// writeUnnamed writes data to a new unnamed file in dir and fsyncs it. It returns
// nil and no error where the file system does not offer O_TMPFILE.
func writeUnnamed(dir string, data []byte) (written, error) {
	if !unnamedFiles.Load() {
		return nil, nil
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL):
		return nil, nil // not offered here
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	u := &unnamed{fd: fd}
	fail := func(op string, err error) (written, error) {
		unix.Close(fd)
		return nil, &os.PathError{Op: op, Path: dir, Err: err}
	}
	for p := data; len(p) > 0; {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail("write", err)
		}
		p = p[n:]
	}
	if err := retry(func() error { return unix.Fsync(fd) }); err != nil {
		return fail("fsync", err)
	}
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return fail("stat", err)
	}
	fst := fileStat{mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, size: st.Size, ino: uint64(st.Ino)}
	u.tag = string(fst.appendETag(make([]byte, 0, 48)))
	return u, nil
}

func (u *unnamed) etag() string { return u.tag }
func (u *unnamed) close()       { unix.Close(u.fd) }

// linkTo gives the file its name: linkat(AT_EMPTY_PATH) where allowed, else through
// /proc/self/fd.
func (u *unnamed) linkTo(path string) error {
	if !noEmptyPath.Load() {
		err := retry(func() error { return unix.Linkat(u.fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH) })
		if err != unix.ENOENT && err != unix.EPERM && err != unix.EACCES {
			return linkError(path, err)
		}
		if _, serr := os.Stat("/proc/self/fd"); serr != nil {
			return linkError(path, err)
		}
		noEmptyPath.Store(true)
	}
	proc := "/proc/self/fd/" + strconv.Itoa(u.fd)
	return linkError(path, retry(func() error { return unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW) }))
}

func linkError(path string, err error) error {
	if err == nil {
		return nil
	}
	return &os.LinkError{Op: "link", New: path, Err: err}
}
