package vdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// TestCreateWithoutHardLinks runs Create where link(2) fails as on FAT or some FUSE
// file systems: the O_EXCL fallback must keep the never-overwrite guarantee.
func TestCreateWithoutHardLinks(t *testing.T) {
	hardLink = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	t.Cleanup(func() { hardLink = os.Link })
	noUnnamedFiles(t)
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "c"), 0o700))
	s := New(root, storage.Calendars, "ics")
	ctx := t.Context()
	it := testItem("nolink", "x")
	h1, e1, err := s.Create(ctx, "c", it)
	if err != nil || h1 != "c/nolink.ics" {
		t.Fatalf("Create = %q, %v", h1, err)
	}
	refs, err := s.List(ctx, "c")
	if err != nil || len(refs) != 1 || refs[0].ETag != e1 {
		t.Fatalf("List = %v, %v; Create etag %q", refs, err, e1)
	}
	h2, _, err := s.Create(ctx, "c", it)
	if err != nil || h2 != "c/"+it.Hash()+".ics" {
		t.Fatalf("second Create = %q, %v; want the hash name", h2, err)
	}
	if _, _, err := s.Create(ctx, "c", it); !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("third Create: %v, want ErrPrecondition", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "c"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, h1)); string(b) != it.Text() {
		t.Fatalf("content = %q", b)
	}
}

// TestOwnWritesOnlyWhileWatching: the records that let Watch drop the events of our own
// writes are kept only while a Watch runs (a one-shot sync would otherwise keep one
// per item written).
func TestOwnWritesOnlyWhileWatching(t *testing.T) {
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "c"), 0o700))
	s := New(root, storage.Calendars, "ics")
	if _, _, err := s.Create(t.Context(), "c", testItem("a", "x")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.own.m); n != 0 {
		t.Fatalf("%d own writes remembered without a watcher", n)
	}
	s.own.watching(1)
	href, etag, err := s.Create(t.Context(), "c", testItem("b", "y"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.own.isOwn(filepath.Join(root, href), etag) {
		t.Fatal("a write made while watching is not recognised as ours")
	}
	s.own.watching(-1)
	if n := len(s.own.m); n != 0 {
		t.Fatalf("%d own writes remembered after the last watcher ended", n)
	}
}
