package engine

import (
	"testing"
	"unsafe"
)

// A first sync holds one ItemAction and one ItemState per item it copies, so their
// size is the engine's memory per item (docs/BENCHMARKS.md, issue 14). A new field
// for a rare case belongs behind a pointer.
func TestPerItemStructSizes(t *testing.T) {
	if n := unsafe.Sizeof(ItemAction{}); n > 160 {
		t.Errorf("ItemAction is %d bytes, want at most 160 (one allocation size class)", n)
	}
	if n := unsafe.Sizeof(ItemState{}); n > 96 {
		t.Errorf("ItemState is %d bytes, want at most 96", n)
	}
}
