//go:build !linux

package vdir

// writeUnnamed: O_TMPFILE is Linux's; elsewhere Create uses a temporary file.
func writeUnnamed(string, []byte) (written, error) { return nil, nil }
