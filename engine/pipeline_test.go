package engine

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

// TestChunksOverlap: the writes of the next chunk start while a write of the chunk
// before is still running (the executor's pipeline), and still each write starts only
// after its pending record is committed.
func TestChunksOverlap(t *testing.T) {
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	n := execChunk + 8
	for i := range n {
		uid := fmt.Sprintf("%05d", i)
		f.a.Put("c/"+uid+".ics", ev(uid, "v1"))
	}
	nextChunk := make(chan struct{})
	var (
		mu        sync.Mutex
		first     = true
		signalled bool
		problems  []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	f.b.FailOn(func(op, href string) error {
		if op != memstore.OpCreate {
			return nil
		}
		uid := strings.TrimSuffix(path.Base(href), ".ics")
		i, err := strconv.Atoi(uid)
		if err != nil {
			problem("unexpected create %s", href)
			return nil
		}
		if i%64 == 0 || i >= execChunk {
			if !pendingRecorded(t, f, uid) {
				problem("%s is written before its pending record is committed", uid)
			}
		}
		mu.Lock()
		block := first
		first = false
		if i >= execChunk && !signalled {
			signalled = true
			close(nextChunk)
		}
		mu.Unlock()
		if block {
			if i >= execChunk {
				problem("the first write is of the second chunk (%s)", uid)
				return nil
			}
			// The first write of the first chunk does not finish before a write of the
			// second chunk has started. The limit only keeps a broken pipeline from
			// hanging the test.
			select {
			case <-nextChunk:
			case <-time.After(2 * time.Minute):
				problem("no write of the second chunk started while one of the first was running")
			}
		}
		return nil
	})
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	for _, p := range problems {
		t.Error(p)
	}
	if got := len(f.b.Snapshot()["c"].Items); got != n {
		t.Fatalf("b has %d items, want %d", got, n)
	}
	f.b.FailOn(nil)
	w := f.b.Writes() + f.a.Writes()
	if r := f.sync(); len(r.Errors()) > 0 || f.b.Writes()+f.a.Writes() != w {
		t.Fatalf("second run: %v, %d writes", r.Errors(), f.b.Writes()+f.a.Writes()-w)
	}
}

// pendingRecorded says whether the status, as committed, records the pending create
// of ident on b.
func pendingRecorded(t *testing.T, f *fixture, ident string) bool {
	db, err := status.OpenRead(f.eng.statusPath(f.pair.Name))
	if err != nil {
		t.Errorf("opening the status: %v", err)
		return false
	}
	defer db.Close()
	snap, err := db.Snapshot()
	if err != nil {
		t.Errorf("reading the status: %v", err)
		return false
	}
	defer snap.Close()
	uid, ok := snap.FindMapping("c", "c")
	if !ok {
		return false
	}
	p, ok := snap.Pending(uid)[ident][status.SideB]
	return ok && p.Create
}
