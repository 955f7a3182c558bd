//go:build !unix

package vdir

import (
	"io/fs"
	"os"
	"path/filepath"
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
