package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// A streamed listing that outgrows maxListBuffer before the status is read waits for
// the status and goes on matching as it lists: the outcome is the same as with the
// whole listing buffered (first sync, no-op, one edit, one deletion).
func TestStreamedListingBeyondItsBuffer(t *testing.T) {
	old := maxListBuffer
	maxListBuffer = 64 // a few entries
	defer func() { maxListBuffer = old }()
	root := t.TempDir()
	for _, d := range []string{"a/c", "b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		if err := os.WriteFile(filepath.Join(root, "a/c", fmt.Sprintf("e%02d.ics", i)), []byte(ev(fmt.Sprintf("u%02d", i), "S")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixture(t, vdir.New(filepath.Join(root, "a"), storage.Calendars, "ics"), vdir.New(filepath.Join(root, "b"), storage.Calendars, "ics"), nil)
	counts := func(want string) {
		t.Helper()
		r := f.sync()
		if errs := r.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		got := ""
		for _, m := range r.Mappings {
			got += fmt.Sprintf("%+v", m.Counts)
		}
		if got != want {
			t.Fatalf("counts %s, want %s", got, want)
		}
	}
	counts("[{Created:0 Updated:0 Deleted:0} {Created:40 Updated:0 Deleted:0}]")
	counts("[{Created:0 Updated:0 Deleted:0} {Created:0 Updated:0 Deleted:0}]")
	if err := os.WriteFile(filepath.Join(root, "b/c/u07.ics"), []byte(ev("u07", "edited")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "a/c/e30.ics")); err != nil {
		t.Fatal(err)
	}
	counts("[{Created:0 Updated:1 Deleted:0} {Created:0 Updated:0 Deleted:1}]")
	counts("[{Created:0 Updated:0 Deleted:0} {Created:0 Updated:0 Deleted:0}]")
	if b, _ := os.ReadFile(filepath.Join(root, "a/c/e07.ics")); string(b) != ev("u07", "edited") {
		t.Fatalf("a/c/e07.ics = %q", b)
	}
}
