package engine

import (
	"testing"
	"unsafe"
)

// A plan holds one ItemAction and one ItemState per item it updates, deletes or
// records, and a packed record per new item it creates, so their sizes are the
// engine's memory per item (docs/BENCHMARKS.md, issue 14). A new field for a rare case
// belongs behind a pointer.
func TestPerItemStructSizes(t *testing.T) {
	if n := unsafe.Sizeof(ItemAction{}); n > 160 {
		t.Errorf("ItemAction is %d bytes, want at most 160 (one allocation size class)", n)
	}
	if n := unsafe.Sizeof(ItemState{}); n > 96 {
		t.Errorf("ItemState is %d bytes, want at most 96", n)
	}
	// A new item waits for its create as a packed record (packedItems) plus its strings.
	if n := unsafe.Sizeof(packedRec{}); n > 52 {
		t.Errorf("packedRec is %d bytes, want at most 52", n)
	}
}
