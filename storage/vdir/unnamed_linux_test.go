package vdir

import "testing"

// noUnnamedFiles makes Create use temporary files for the rest of the test.
func noUnnamedFiles(t *testing.T) {
	unnamedFiles.Store(false)
	t.Cleanup(func() { unnamedFiles.Store(true) })
}
