//go:build !unix

package vdir

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pimsync-go/pimsync/storage"
)

const openItemFlags = os.O_RDONLY

// inode is unknown on this platform; etags rely on mtime and size only.
func inode(fs.FileInfo) uint64 { return 0 }

// syncDir is a no-op where directories cannot be fsynced.
func syncDir(string) error { return nil }

// statAt stats name in directory dir, following symlinks.
func statAt(_ *os.File, dir, name string) (fileStat, error) {
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{mtime: fi.ModTime().UnixNano(), size: fi.Size(), regular: fi.Mode().IsRegular()}, nil
}

// readItemFile reads the regular file at path, at most limit bytes.
func readItemFile(path string, limit int64) ([]byte, fileStat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStat{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStat{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fileStat{}, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, fileStat{}, fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit, Size: fi.Size()})
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fileStat{}, err
	}
	if int64(len(raw)) > limit {
		return nil, fileStat{}, fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit})
	}
	return raw, fileStat{mtime: fi.ModTime().UnixNano(), size: fi.Size(), regular: true}, nil
}
