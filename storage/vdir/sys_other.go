//go:build !unix

package vdir

import (
	"io/fs"
	"os"
)

const openItemFlags = os.O_RDONLY

// inode is unknown on this platform; etags rely on mtime and size only.
func inode(fs.FileInfo) uint64 { return 0 }

// syncDir is a no-op where directories cannot be fsynced.
func syncDir(string) error { return nil }
