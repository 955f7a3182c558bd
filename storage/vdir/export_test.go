package vdir

import "os"

// SetOpenItem replaces the function that opens item files, for tests; the returned
// function restores it.
func SetOpenItem(f func(string, int, os.FileMode) (*os.File, error)) (restore func()) {
	openItem = f
	return func() { openItem = os.OpenFile }
}

// DirtyDirs reports how many directories wait for the next Flush.
func (s *Storage) DirtyDirs() int {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	return len(s.dirty.m)
}
