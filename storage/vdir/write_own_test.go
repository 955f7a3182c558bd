package vdir

import "testing"

// Writes are remembered only while a Watch runs: a one-shot sync keeps no record per
// item it wrote.
func TestOwnWritesOnlyWhileWatching(t *testing.T) {
	var o ownWrites
	o.expect("/x/a.ics", "e1")
	if len(o.m) != 0 {
		t.Fatalf("%d records without a watch", len(o.m))
	}
	o.watching(1)
	o.expect("/x/a.ics", "e1")
	if !o.isOwn("/x/a.ics", "e1") {
		t.Fatal("a write during a watch is not recognised")
	}
	o.expect("/x/b.ics", "e2")
	o.watching(-1)
	if len(o.m) != 0 {
		t.Fatalf("%d records kept after the last watch ended", len(o.m))
	}
}
