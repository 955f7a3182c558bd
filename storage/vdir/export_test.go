package vdir

import (
	"os"
	"testing"
)

// SetOpenItem replaces the function that opens item files, for tests; the returned
// function restores it.
func SetOpenItem(f func(string, int, os.FileMode) (*os.File, error)) (restore func()) {
	openItem, openItemHooked = f, true
	return func() { openItem, openItemHooked = os.OpenFile, false }
}

// DirtyDirs reports how many directories wait for the next Flush.
func (s *Storage) DirtyDirs() int {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	return len(s.dirty.m)
}

// NoUnnamedFiles makes Create write temporary files instead of O_TMPFILE ones for
// the rest of the test.
func NoUnnamedFiles(t *testing.T) { noUnnamedFiles(t) }
