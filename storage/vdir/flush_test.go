package vdir_test

import (
	"context"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

// TestFlush: item writes leave their directory for Flush, which syncs it.
func TestFlush(t *testing.T) {
	s, _, _ := setup(t)
	ctx := context.Background()
	if n := s.DirtyDirs(); n != 0 {
		t.Fatalf("%d dirty directories before any write", n)
	}
	href, etag, err := s.Create(ctx, "c", storage.MustItem(storagetest.ItemText(storage.Calendars, "x", "x")))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.DirtyDirs(); n != 1 {
		t.Fatalf("%d dirty directories after a create, want 1", n)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.DirtyDirs(); n != 0 {
		t.Fatalf("%d dirty directories after Flush", n)
	}
	if err := s.Delete(ctx, href, etag); err != nil {
		t.Fatal(err)
	}
	if n := s.DirtyDirs(); n != 1 {
		t.Fatalf("%d dirty directories after a delete, want 1", n)
	}
}
