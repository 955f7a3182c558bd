package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

func ev(uid, summary string) string {
	return strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:" + uid,
		"SUMMARY:" + summary, "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
}

type fixture struct {
	t    *testing.T
	a, b *memstore.Store
	pair *Pair
	eng  *Engine
}

func newFixture(t *testing.T, a, b storage.Storage, cfg *config.Pair) *fixture {
	t.Helper()
	if cfg == nil {
		cfg = &config.Pair{Name: "p", Collections: []string{config.CollectionsAll}}
	}
	f := &fixture{t: t, pair: &Pair{Name: "p", Config: cfg, A: a, B: b, NameA: "a", NameB: "b"}}
	f.a, _ = unwrapMem(a)
	f.b, _ = unwrapMem(b)
	f.eng = &Engine{StatusDir: t.TempDir()}
	return f
}

func unwrapMem(s storage.Storage) (*memstore.Store, bool) {
	switch x := s.(type) {
	case *memstore.Store:
		return x, true
	case *memstore.IncrementalStore:
		return x.Store, true
	}
	return nil, false
}

func (f *fixture) sync() *PairResult {
	f.t.Helper()
	return f.eng.SyncPair(context.Background(), f.pair)
}

// items returns ident → hash of every item in one collection of a store, failing on
// duplicate idents.
func items(t *testing.T, s *memstore.Store, coll string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, text := range s.Snapshot()[coll].Items {
		it := storage.MustItem(text)
		if _, dup := out[it.Ident()]; dup {
			t.Fatalf("duplicate ident %s in %s", it.Ident(), coll)
		}
		out[it.Ident()] = it.Hash()
	}
	return out
}

func sameItems(t *testing.T, a, b map[string]string) {
	t.Helper()
	if fmt.Sprint(sorted(a)) != fmt.Sprint(sorted(b)) {
		t.Fatalf("sides differ:\na=%v\nb=%v", sorted(a), sorted(b))
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v[:8])
	}
	sort.Strings(out)
	return out
}

// seedMixed prepares a synced pair and then changes both sides so that the next sync
// has creates, updates and deletes in both directions.
func seedMixed(t *testing.T, f *fixture) {
	t.Helper()
	f.a.AddCollection("c")
	for i := range 12 {
		f.a.Put(fmt.Sprintf("c/%d.ics", i), ev(fmt.Sprint(i), "v1"))
	}
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	for i := range 3 {
		f.a.Put(fmt.Sprintf("c/new-a-%d.ics", i), ev(fmt.Sprintf("new-a-%d", i), "new"))
		f.b.Put(fmt.Sprintf("c/new-b-%d.ics", i), ev(fmt.Sprintf("new-b-%d", i), "new"))
	}
	f.a.Put("c/0.ics", ev("0", "edited on a"))
	f.a.Put("c/1.ics", ev("1", "edited on a"))
	f.b.Put("c/2.ics", ev("2", "edited on b"))
	f.b.Put("c/3.ics", ev("3", "edited on b"))
	f.a.Remove("c/4.ics")
	f.a.Remove("c/5.ics")
	f.b.Remove("c/6.ics")
	f.b.Remove("c/7.ics")
}

// TestFailNthWriteConverges: whichever write fails (before or after taking effect, on
// either side), the next run converges with nothing lost or duplicated and a third run
// writes nothing.
func TestFailNthWriteConverges(t *testing.T) {
	boom := errors.New("injected failure")
	for _, after := range []bool{false, true} {
		for _, side := range []string{"a", "b"} {
			for n := 1; n <= 7; n++ { // seedMixed makes 7 writes per side
				t.Run(fmt.Sprintf("after=%v/%s/%d", after, side, n), func(t *testing.T) {
					f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
					seedMixed(t, f)
					target := f.a
					if side == "b" {
						target = f.b
					}
					if after {
						target.FailNthWriteAfter(n, boom)
					} else {
						target.FailNthWrite(n, boom)
					}
					r := f.sync()
					if len(r.Errors()) != 1 || !errors.Is(r.Errors()[0], boom) {
						t.Fatalf("want exactly the injected error, got %v", r.Errors())
					}
					if r := f.sync(); len(r.Errors()) > 0 {
						t.Fatalf("second run: %v", r.Errors())
					}
					a, b := items(t, f.a, "c"), items(t, f.b, "c")
					sameItems(t, a, b)
					for _, gone := range []string{"4", "5", "6", "7"} {
						if _, ok := a[gone]; ok {
							t.Errorf("deleted item %s came back", gone)
						}
					}
					for _, want := range []string{"0", "1", "2", "3", "new-a-0", "new-b-2", "8"} {
						if _, ok := a[want]; !ok {
							t.Errorf("item %s lost", want)
						}
					}
					wa, wb := f.a.Writes(), f.b.Writes()
					if r := f.sync(); len(r.Errors()) > 0 {
						t.Fatalf("third run: %v", r.Errors())
					}
					if f.a.Writes() != wa || f.b.Writes() != wb {
						t.Fatal("third run wrote")
					}
				})
			}
		}
	}
}

// TestCancelMidRunConverges cancels the run from inside a write; the write in flight
// completes and is recorded, nothing else starts, and the next run converges.
func TestCancelMidRunConverges(t *testing.T) {
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	for i := range 50 {
		f.a.Put(fmt.Sprintf("c/%d.ics", i), ev(fmt.Sprint(i), "v1"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	f.b.FailOn(func(op, href string) error {
		if op == memstore.OpCreate {
			n++
			if n == 10 {
				cancel()
			}
		}
		return nil
	})
	f.eng.Workers = 1
	f.eng.SyncPair(ctx, f.pair)
	// With one worker, the write in flight (the tenth) is the last: writes already
	// handed out but not started are not started after the cancel.
	if created := len(f.b.Snapshot()["c"].Items); created != 10 {
		t.Fatalf("created %d items, want the 10 started before the cancel", created)
	}
	f.b.FailOn(nil)
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	sameItems(t, items(t, f.a, "c"), items(t, f.b, "c"))
}

// TestTokenFastPath: with an incremental storage, an unchanged collection is not
// listed item by item and nothing is fetched; a change after our own writes is seen.
func TestTokenFastPath(t *testing.T) {
	b := memstore.NewIncremental(storage.Calendars, "sync-token")
	f := newFixture(t, memstore.New(storage.Calendars), b, nil)
	f.a.AddCollection("c")
	for i := range 5 {
		f.a.Put(fmt.Sprintf("c/%d.ics", i), ev(fmt.Sprint(i), "v1"))
	}
	f.sync() // creates on b: our writes change b's token
	f.sync() // full listing of b, saves the token
	f.b.ResetCounters()
	if r := f.sync(); len(r.Errors()) > 0 || r.Mappings[0].Changed {
		t.Fatalf("no-op run: %v", r.Errors())
	}
	if f.b.Reads() != 0 {
		t.Fatalf("fast path fetched %d items", f.b.Reads())
	}
	f.b.Put("c/0.ics", ev("0", "edited on b"))
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	if got := items(t, f.a, "c")["0"]; got != storage.Hash(ev("0", "edited on b")) {
		t.Fatal("change on b after the token was saved did not reach a")
	}
}

// TestSwappedFileNames: two items on A swap their files. Both status rows change
// href_a to the other's old href; the unique href_a index must not stop the pair.
func TestSwappedFileNames(t *testing.T) {
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	f.a.Put("c/x.ics", ev("x", "X"))
	f.a.Put("c/y.ics", ev("y", "Y"))
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	f.a.Put("c/x.ics", ev("y", "Y"))
	f.a.Put("c/y.ics", ev("x", "X"))
	for i := range 2 {
		r := f.sync()
		if r.Err != nil || len(r.Errors()) > 0 {
			t.Fatalf("run %d: %v %v", i, r.Err, r.Errors())
		}
	}
	w := f.b.Writes()
	f.sync()
	if f.b.Writes() != w {
		t.Fatal("not converged")
	}
}

// A run cancelled before it created what it planned must not save the token it listed
// the source with: the next run would take the collection for unchanged and never see
// the items still to create.
func TestCancelledRunSavesNoToken(t *testing.T) {
	a := memstore.NewIncremental(storage.Calendars, "sync-token")
	f := newFixture(t, a, memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	for i := range 3 {
		f.a.Put(fmt.Sprintf("c/%d.ics", i), ev(fmt.Sprint(i), "v1"))
	}
	f.sync()
	f.sync() // a's token saved
	for i := 3; i < 20; i++ {
		f.a.Put(fmt.Sprintf("c/%d.ics", i), ev(fmt.Sprint(i), "new"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.b.FailOn(func(op, href string) error {
		if op == memstore.OpCreate {
			cancel()
		}
		return nil
	})
	f.eng.Workers = 1
	f.eng.SyncPair(ctx, f.pair)
	if n := len(f.b.Snapshot()["c"].Items); n >= 20 {
		t.Fatalf("b has %d items: the cancel did not stop the run", n)
	}
	f.b.FailOn(nil)
	if r := f.sync(); len(r.Errors()) > 0 {
		t.Fatal(r.Errors())
	}
	sameItems(t, items(t, f.a, "c"), items(t, f.b, "c"))
}

// TestRefusedItemWithoutUIDSaysRepair: when the target refuses an item for what it is
// (storage.ErrRejected) and the item has no UID, the error says to run repair on the
// side it comes from, or, when that side is read-only, that no UID can be added there;
// an item with a UID that is refused gets no such hint, nor does a refusal of another
// kind.
func TestRefusedItemWithoutUIDSaysRepair(t *testing.T) {
	noUID := strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "SUMMARY:no uid",
		"END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	for _, tc := range []struct {
		name     string
		readOnly bool
		kind     error
		want     string // in the UID-less item's error; "" for no hint
	}{
		{"writable", false, storage.ErrRejected, "`pimsync repair a` adds one, then sync again"},
		{"read-only", true, storage.ErrRejected, "storage a is read-only, so none can be added there"},
		{"not a refusal", false, storage.ErrAccessDenied, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := memstore.New(storage.Calendars)
			a.AddCollection("c")
			a.Put("c/nouid.ics", noUID)
			a.Put("c/x.ics", ev("x", "has a uid"))
			b := memstore.New(storage.Calendars)
			b.AddCollection("c")
			b.FailOn(func(op, href string) error {
				if op == memstore.OpCreate {
					return &storage.Error{Kind: tc.kind, Op: op, Href: href, Err: errors.New("HTTP 400 Bad Request")}
				}
				return nil
			})
			var sa storage.Storage = a
			if tc.readOnly {
				sa = storage.ReadOnly(a)
			}
			f := newFixture(t, sa, b, nil)
			errs := f.sync().Errors()
			if len(errs) != 2 {
				t.Fatalf("want the two refused creates, got %v", errs)
			}
			for _, err := range errs {
				msg := err.Error()
				switch {
				case strings.Contains(msg, "nouid.ics (no UID)"):
					if tc.want == "" && strings.Contains(msg, "no UID, which") || tc.want != "" && !strings.Contains(msg, tc.want) {
						t.Errorf("the UID-less item's error: %s\nwant hint %q", msg, tc.want)
					}
				case strings.Contains(msg, `UID "x"`):
					if strings.Contains(msg, "repair") || strings.Contains(msg, "no UID, which") {
						t.Errorf("the item with a UID got the hint: %s", msg)
					}
				default:
					t.Errorf("unexpected error: %s", msg)
				}
			}
		})
	}
}
