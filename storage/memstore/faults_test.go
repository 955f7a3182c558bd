package memstore_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

var errBoom = errors.New("boom")

func item(uid, summary string) storage.Item {
	return storage.MustItem(storagetest.ItemText(storage.Calendars, uid, summary))
}

func newStore(t *testing.T) *memstore.Store {
	s := memstore.New(storage.Calendars)
	s.AddCollection("c")
	return s
}

func TestFailNthWrite(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	s.FailNthWrite(2, errBoom)
	h1, e1, err := s.Create(ctx, "c", item("a", "a"))
	if err != nil {
		t.Fatalf("first write: %v", err)
	}
	if _, _, err := s.Create(ctx, "c", item("b", "b")); !errors.Is(err, errBoom) {
		t.Fatalf("second write: %v, want the injected error", err)
	}
	if _, err := s.Update(ctx, h1, e1, item("a", "a2")); err != nil {
		t.Fatalf("third write: %v (faults fire once)", err)
	}
	snap := s.Snapshot()["c"].Items
	if len(snap) != 1 {
		t.Fatalf("the failed create changed the store: %v", slices.Collect(maps.Keys(snap)))
	}
	if s.Writes() != 2 {
		t.Fatalf("Writes = %d, want 2 applied", s.Writes())
	}
	// Property writes count; collection writes and invalid calls do not.
	s.FailNthWrite(2, errBoom)
	if err := s.CreateCollection(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "../x.ics", ""); !errors.Is(err, storage.ErrInvalidData) {
		t.Fatal(err)
	}
	if err := s.SetProperty(ctx, "c", storage.PropColor, "#fff"); err != nil {
		t.Fatalf("first write of the new count: %v", err)
	}
	if err := s.DeleteProperty(ctx, "c", storage.PropColor); !errors.Is(err, errBoom) {
		t.Fatalf("second write of the new count: %v", err)
	}
	if s.Snapshot()["c"].Props[storage.PropColor] != "#fff" {
		t.Fatalf("failed DeleteProperty removed the property")
	}
}

func TestFailNthWriteAfter(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	s.FailNthWriteAfter(1, errBoom)
	href, etag, err := s.Create(ctx, "c", item("a", "a"))
	if !errors.Is(err, errBoom) || href != "" || etag != "" {
		t.Fatalf("Create = %q, %q, %v; want the injected error only", href, etag, err)
	}
	refs, _ := s.List(ctx, "c")
	if len(refs) != 1 || refs[0].Href != "c/a.ics" {
		t.Fatalf("the write was not applied: %v", refs)
	}
	s.FailNthWriteAfter(1, errBoom)
	if err := s.Delete(ctx, refs[0].Href, refs[0].ETag); !errors.Is(err, errBoom) {
		t.Fatalf("Delete: %v", err)
	}
	if refs, _ := s.List(ctx, "c"); len(refs) != 0 {
		t.Fatalf("the delete was not applied: %v", refs)
	}
}

func TestFailOn(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	h1 := "c/one.ics"
	s.Put(h1, storagetest.ItemText(storage.Calendars, "one", "One"))
	s.Put("c/two.ics", storagetest.ItemText(storage.Calendars, "two", "Two"))
	var seen []string
	s.FailOn(func(op, href string) error {
		seen = append(seen, op+" "+href)
		if op == memstore.OpGet && href == "c/two.ics" {
			return errBoom
		}
		if op == memstore.OpList && href == "broken" {
			return errBoom
		}
		return nil
	})
	res, err := s.Get(ctx, "c", []string{"c/one.ics", "c/two.ics"})
	if err != nil || len(res) != 2 {
		t.Fatalf("Get = %v, %v", res, err)
	}
	for _, f := range res {
		if (f.Href == "c/two.ics") != errors.Is(f.Err, errBoom) {
			t.Fatalf("Get(%q): %v", f.Href, f.Err)
		}
	}
	s.AddCollection("broken")
	if _, err := s.List(ctx, "broken"); !errors.Is(err, errBoom) {
		t.Fatalf("List: %v", err)
	}
	want := []string{"get batch c", "get c/one.ics", "get c/two.ics", "list broken"}
	if !slices.Equal(seen, want) {
		t.Fatalf("hook saw %q, want %q", seen, want)
	}

	// A hook may change the store: a concurrent edit between List and Update.
	s.FailOn(func(op, href string) error {
		if op == memstore.OpUpdate {
			s.Put(href, storagetest.ItemText(storage.Calendars, "one", "Edited elsewhere"))
		}
		return nil
	})
	_, err = s.Update(ctx, h1, etagOf(t, s, h1), item("one", "Ours"))
	if !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("Update after a concurrent edit: %v, want ErrPrecondition", err)
	}
	s.FailOn(nil)
	if got := s.Snapshot()["c"].Items[h1]; got != storagetest.ItemText(storage.Calendars, "one", "Edited elsewhere") {
		t.Fatalf("the concurrent edit was lost: %q", got)
	}
}

func etagOf(t *testing.T, s storage.Storage, href string) string {
	t.Helper()
	refs, err := s.List(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Href == href {
			return r.ETag
		}
	}
	t.Fatalf("%s not listed", href)
	return ""
}

func TestCountersAndCalls(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	h := "c/x.ics"
	s.Put(h, storagetest.ItemText(storage.Calendars, "x", "x"))
	if s.Writes() != 0 {
		t.Fatalf("Put counted as a write")
	}
	if _, err := s.List(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "c", []string{h, h, "c/missing.ics", "bad"}); err != nil {
		t.Fatal(err)
	}
	if s.Lists() != 1 || s.Reads() != 2 || s.Writes() != 0 {
		t.Fatalf("Lists %d Reads %d Writes %d; want 1 2 0", s.Lists(), s.Reads(), s.Writes())
	}
	calls := s.Calls()
	var ops []string
	for _, c := range calls {
		ops = append(ops, c.Op+" "+c.Href)
	}
	want := []string{"list c", "get c/x.ics", "get c/missing.ics", "get bad", "get batch c"}
	if !slices.Equal(ops, want) {
		t.Fatalf("Calls = %q, want %q", ops, want)
	}
	if !errors.Is(calls[2].Err, storage.ErrNotFound) || !errors.Is(calls[3].Err, storage.ErrInvalidData) {
		t.Fatalf("recorded errors: %v, %v", calls[2].Err, calls[3].Err)
	}
	s.ResetCounters()
	if s.Lists() != 0 || s.Reads() != 0 || len(s.Calls()) != 0 {
		t.Fatalf("ResetCounters did not reset")
	}
}

func TestSeedingAndSnapshot(t *testing.T) {
	s := memstore.New(storage.Contacts)
	ctx := t.Context()
	raw := "BEGIN:VCARD\nFN:exact bytes, LF only\nEND:VCARD" // kept as is
	h := "book/a.vcf"
	s.Put(h, raw)
	s.PutProperty("book", storage.PropDisplayName, " Book\n")
	colls, err := s.Discover(ctx)
	if err != nil || len(colls) != 1 || colls[0].Href != "book" || !colls[0].Token.IsZero() {
		t.Fatalf("Discover = %v, %v", colls, err)
	}
	snap := s.Snapshot()
	if snap["book"].Items[h] != raw || snap["book"].Props[storage.PropDisplayName] != " Book\n" {
		t.Fatalf("Snapshot = %v", snap)
	}
	snap["book"].Items[h] = "changed"
	if s.Snapshot()["book"].Items[h] != raw {
		t.Fatalf("Snapshot is not a copy")
	}
	f, err := s.Get(ctx, "book", []string{h})
	if err != nil || f[0].Err != nil || f[0].Item.Text() != storage.NormalizeNewlines(raw) {
		t.Fatalf("Get = %v, %v", f, err)
	}
	if props, _ := s.Properties(ctx, "book"); props[storage.PropDisplayName] != "Book" {
		t.Fatalf("Properties = %v", props)
	}
	if !s.Remove(h) || s.Remove(h) {
		t.Fatalf("Remove should report whether the item existed")
	}
	if !s.RemoveCollection("book") || len(s.Snapshot()) != 0 {
		t.Fatalf("RemoveCollection")
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("Put with an escaping href did not panic")
		}
	}()
	s.Put("../x.vcf", raw)
}

func TestEtagsChangeOnEveryWrite(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	seen := map[string]bool{}
	href, etag, err := s.Create(ctx, "c", item("e", "v0"))
	if err != nil {
		t.Fatal(err)
	}
	seen[etag] = true
	for i := range 5 {
		// Even rewriting identical content gives a new etag.
		etag, err = s.Update(ctx, href, etag, item("e", "same"))
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if seen[etag] {
			t.Fatalf("etag %q reused", etag)
		}
		seen[etag] = true
	}
	if e := s.Put(href, "x"); seen[e] {
		t.Fatalf("Put reused etag %q", e)
	}
}

func TestIncremental(t *testing.T) {
	s := memstore.NewIncremental(storage.Calendars, "sync-token")
	ctx := t.Context()
	s.AddCollection("c")
	a, b := "c/a.ics", "c/b.ics"
	s.Put(a, storagetest.ItemText(storage.Calendars, "a", "a"))
	s.Put(b, storagetest.ItemText(storage.Calendars, "b", "b"))

	full, err := s.ListSince(ctx, "c", storage.Token{})
	if err != nil || full.Unchanged || full.Delta || len(full.Refs) != 2 || full.Token.Kind != "sync-token" || full.Token.IsZero() {
		t.Fatalf("ListSince(zero) = %+v, %v; want a full listing with a token", full, err)
	}
	colls, _ := s.Discover(ctx)
	if len(colls) != 1 || colls[0].Token != full.Token {
		t.Fatalf("Discover token %v, ListSince token %v", colls[0].Token, full.Token)
	}
	same, err := s.ListSince(ctx, "c", full.Token)
	if err != nil || !same.Unchanged || len(same.Refs) != 0 || same.Token != full.Token {
		t.Fatalf("ListSince(current) = %+v, %v; want Unchanged", same, err)
	}
	// Properties do not change the token.
	if err := s.SetProperty(ctx, "c", storage.PropColor, "#000"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.ListSince(ctx, "c", full.Token); !l.Unchanged {
		t.Fatalf("a property change changed the token")
	}

	// One update (through the API) and one removal: a delta.
	var etagA string
	for _, r := range full.Refs {
		if r.Href == a {
			etagA = r.ETag
		}
	}
	newA, err := s.Update(ctx, a, etagA, item("a", "a2"))
	if err != nil {
		t.Fatal(err)
	}
	s.Remove(b)
	delta, err := s.ListSince(ctx, "c", full.Token)
	if err != nil || !delta.Delta || delta.Unchanged || delta.Token == full.Token {
		t.Fatalf("ListSince after changes = %+v, %v; want a delta with a new token", delta, err)
	}
	if len(delta.Refs) != 1 || delta.Refs[0] != (storage.ItemRef{Href: a, ETag: newA}) || !slices.Equal(delta.Removed, []string{b}) {
		t.Fatalf("delta = %+v; want %s changed and %s removed", delta, a, b)
	}
	// Tokens the store no longer accepts, or from another store, give a full listing.
	for name, tok := range map[string]storage.Token{
		"garbage":    {Kind: "sync-token", Value: "garbage"},
		"other kind": {Kind: "ctag", Value: full.Token.Value},
		"future":     {Kind: "sync-token", Value: "mem-999999"},
	} {
		l, err := s.ListSince(ctx, "c", tok)
		if err != nil || l.Delta || l.Unchanged || len(l.Refs) != 1 {
			t.Errorf("ListSince(%s) = %+v, %v; want a full listing", name, l, err)
		}
	}
	s.ExpireTokens()
	if l, _ := s.ListSince(ctx, "c", full.Token); l.Delta || l.Unchanged || len(l.Refs) != 1 {
		t.Fatalf("ListSince with an expired token = %+v; want a full listing", l)
	}
	if l, _ := s.ListSince(ctx, "c", delta.Token); l.Unchanged {
		t.Fatalf("an expired token still reports Unchanged")
	}
	// A collection deleted and recreated does not accept the old collection's token.
	cur, _ := s.ListSince(ctx, "c", storage.Token{})
	s.RemoveCollection("c")
	s.AddCollection("c")
	if l, _ := s.ListSince(ctx, "c", cur.Token); l.Delta || l.Unchanged || len(l.Refs) != 0 {
		t.Fatalf("ListSince on a recreated collection = %+v; want a full (empty) listing", l)
	}
	if _, err := s.ListSince(ctx, "missing", cur.Token); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ListSince of a missing collection: %v", err)
	}
}

func TestIncrementalCtag(t *testing.T) {
	s := memstore.NewIncremental(storage.Calendars, "ctag")
	ctx := t.Context()
	s.Put("c/a.ics", storagetest.ItemText(storage.Calendars, "a", "a"))
	full, _ := s.ListSince(ctx, "c", storage.Token{})
	if l, _ := s.ListSince(ctx, "c", full.Token); !l.Unchanged || l.Token.Kind != "ctag" {
		t.Fatalf("ListSince(current ctag) = %+v", l)
	}
	s.Put("c/b.ics", storagetest.ItemText(storage.Calendars, "b", "b"))
	l, _ := s.ListSince(ctx, "c", full.Token)
	if l.Unchanged || l.Delta || len(l.Refs) != 2 {
		t.Fatalf("ListSince(old ctag) = %+v; want a full listing", l)
	}
	var _ storage.Incremental = s
	if _, ok := storage.Storage(memstore.New(storage.Calendars)).(storage.Incremental); ok {
		t.Fatalf("a plain Store must not be Incremental")
	}
}
