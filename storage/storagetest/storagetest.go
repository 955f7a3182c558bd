// Package storagetest is the contract suite that every storage backend runs: it drives
// each method of storage.Storage and checks the error contracts documented there.
//
//	func TestContract(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Storage { return newBackend(t) }, storagetest.Options{})
//	}
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// Options describe the storage under test.
type Options struct {
	// Kind is what the storages hold; 0 means storage.Calendars.
	Kind storage.Kind
	// Collection is the id of an existing, empty collection that every storage returned
	// by newStorage has, for storages that cannot create collections. When it is set the
	// suite uses it and leaves out the collection create and delete tests; when it is
	// empty the suite creates the collections it needs.
	Collection string
	// Plant stores raw bytes as an item of collection behind the storage's back, under a
	// name derived from name, and returns its href. The suite plants items that are not
	// valid UTF-8 or not a component and checks that Get reports them per href. nil
	// leaves those checks out.
	Plant func(t *testing.T, s storage.Storage, collection, name string, raw []byte) (href string)
}

// Run runs the contract suite. newStorage must return a fresh, empty storage (apart
// from Options.Collection) for each sub-test; it is called once per sub-test.
func Run(t *testing.T, newStorage func(t *testing.T) storage.Storage, opts Options) {
	if opts.Kind == 0 {
		opts.Kind = storage.Calendars
	}
	tests := []struct {
		name        string
		fn          func(*env)
		collections bool // needs CreateCollection and DeleteCollection
	}{
		{name: "Check", fn: testCheck},
		{name: "Collections", fn: testCollections, collections: true},
		{name: "DeleteCollectionNotEmpty", fn: testDeleteCollectionNotEmpty, collections: true},
		{name: "CreateListGet", fn: testCreateListGet},
		{name: "RoundTrip", fn: testRoundTrip},
		{name: "NoUID", fn: testNoUID},
		{name: "CreateNeverOverwrites", fn: testCreateNeverOverwrites},
		{name: "Update", fn: testUpdate},
		{name: "UpdateGone", fn: testUpdateGone},
		{name: "Delete", fn: testDelete},
		{name: "GetMixed", fn: testGetMixed},
		{name: "Properties", fn: testProperties},
		{name: "ConcurrentWrites", fn: testConcurrentWrites},
		{name: "CancelledContext", fn: testCancelledContext},
	}
	for _, tc := range tests {
		if tc.collections && opts.Collection != "" {
			continue // the storage cannot create collections
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(newEnv(t, newStorage(t), opts))
		})
	}
}

// env is one sub-test's storage with a fresh empty collection.
type env struct {
	t    *testing.T
	s    storage.Storage
	opts Options
	ctx  context.Context
	id   string // collection id
	coll string // collection href
}

func newEnv(t *testing.T, s storage.Storage, opts Options) *env {
	e := &env{t: t, s: s, opts: opts, ctx: t.Context()}
	id := opts.Collection
	if id == "" {
		id = "storagetest"
	}
	href, err := s.CollectionHref(id)
	if err != nil {
		t.Fatalf("CollectionHref(%q): %v", id, err)
	}
	if opts.Collection == "" {
		if err := s.CreateCollection(e.ctx, href); err != nil {
			t.Fatalf("CreateCollection(%q): %v", href, err)
		}
	}
	e.id, e.coll = id, href
	e.expectList(nil)
	return e
}

// ItemText returns a small valid item of kind with the given UID and summary (or FN),
// with CRLF line breaks and a final CRLF.
func ItemText(kind storage.Kind, uid, summary string) string {
	if kind == storage.Contacts {
		return crlf("BEGIN:VCARD", "VERSION:3.0", "UID:"+uid, "FN:"+summary, "N:"+summary+";;;;", "END:VCARD", "")
	}
	return crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pimsync//storagetest//EN", "BEGIN:VEVENT",
		"UID:"+uid, "DTSTAMP:20240101T000000Z", "DTSTART:20240102T100000Z", "SUMMARY:"+summary,
		"END:VEVENT", "END:VCALENDAR", "")
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

// wrap puts content lines into the kind's component (no final line break).
func wrap(kind storage.Kind, body ...string) string {
	c := kind.Component()
	if kind == storage.Calendars {
		body = append(append([]string{"BEGIN:VEVENT"}, body...), "END:VEVENT")
	}
	return crlf(append(append([]string{"BEGIN:" + c, "VERSION:2.0"}, body...), "END:"+c)...)
}

func (e *env) item(uid, summary string) storage.Item {
	return storage.MustItem(ItemText(e.opts.Kind, uid, summary))
}

func (e *env) create(it storage.Item) (href, etag string) {
	e.t.Helper()
	href, etag, err := e.s.Create(e.ctx, e.coll, it)
	if err != nil {
		e.t.Fatalf("Create(%q, ident %q): %v", e.coll, it.Ident(), err)
	}
	if href == "" {
		e.t.Fatalf("Create(%q, ident %q) returned an empty href", e.coll, it.Ident())
	}
	return href, etag
}

// list returns the collection's listing as href → etag, failing on duplicates.
func (e *env) list() map[string]string {
	e.t.Helper()
	refs, err := e.s.List(e.ctx, e.coll)
	if err != nil {
		e.t.Fatalf("List(%q): %v", e.coll, err)
	}
	m := make(map[string]string, len(refs))
	for _, r := range refs {
		if _, dup := m[r.Href]; dup {
			e.t.Fatalf("List(%q) lists %q twice", e.coll, r.Href)
		}
		m[r.Href] = r.ETag
	}
	return m
}

// expectList checks that the collection lists exactly the hrefs of want, and that each
// listed etag equals the wanted one where both are known.
func (e *env) expectList(want map[string]string) {
	e.t.Helper()
	got := e.list()
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		e.t.Fatalf("List(%q) = %v, want hrefs %v", e.coll, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for h, w := range want {
		if g := got[h]; g != "" && w != "" && g != w {
			e.t.Fatalf("List(%q): etag of %q is %q, want %q", e.coll, h, g, w)
		}
	}
}

// get fetches hrefs and returns the results by href, failing on a call error, a
// missing or duplicated result.
func (e *env) get(hrefs ...string) map[string]storage.Fetched {
	e.t.Helper()
	res, err := e.s.Get(e.ctx, e.coll, hrefs)
	if err != nil {
		e.t.Fatalf("Get(%q, %q): call error %v", e.coll, hrefs, err)
	}
	m := make(map[string]storage.Fetched, len(res))
	for _, f := range res {
		if _, dup := m[f.Href]; dup {
			e.t.Fatalf("Get returned %q twice", f.Href)
		}
		m[f.Href] = f
	}
	for _, h := range hrefs {
		if _, ok := m[h]; !ok {
			e.t.Fatalf("Get(%q) returned no result for %q", hrefs, h)
		}
	}
	if len(m) != len(res) || len(res) > len(hrefs) {
		e.t.Fatalf("Get(%q) returned %d results", hrefs, len(res))
	}
	return m
}

// expectItem fetches href and checks its text (byte for byte) and, if known, its etag.
func (e *env) expectItem(href, etag, text string) {
	e.t.Helper()
	f := e.get(href)[href]
	switch {
	case f.Err != nil:
		e.t.Fatalf("Get(%q): %v", href, f.Err)
	case f.Item.Text() != text:
		e.t.Fatalf("Get(%q) text =\n%q\nwant\n%q", href, f.Item.Text(), text)
	case etag != "" && f.ETag != "" && f.ETag != etag:
		e.t.Fatalf("Get(%q) etag = %q, want %q", href, f.ETag, etag)
	}
}

func expectErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: error %v, want %v", what, err, kind)
	}
}

func testCheck(e *env) {
	if err := e.s.Check(e.ctx); err != nil {
		e.t.Fatalf("Check: %v", err)
	}
	if k := e.s.Kind(); k != e.opts.Kind {
		e.t.Fatalf("Kind() = %v, want %v", k, e.opts.Kind)
	}
}

func testCollections(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	href, err := s.CollectionHref("work")
	if err != nil {
		t.Fatalf("CollectionHref: %v", err)
	}
	if err := s.CreateCollection(ctx, href); err != nil {
		t.Fatalf("CreateCollection: %v", err)
	}
	if err := s.CreateCollection(ctx, href); err != nil {
		t.Fatalf("CreateCollection of an existing collection: %v, want success", err)
	}
	if !e.discovered("work", href) {
		t.Fatalf("Discover does not report the new collection %q", href)
	}
	if refs, err := s.List(ctx, href); err != nil || len(refs) != 0 {
		t.Fatalf("List of a new collection = %v, %v; want empty", refs, err)
	}
	if props, err := s.Properties(ctx, href); err != nil || len(props) != 0 {
		t.Fatalf("Properties of a new collection = %v, %v; want none", props, err)
	}
	if err := s.DeleteCollection(ctx, href); err != nil {
		t.Fatalf("DeleteCollection of an empty collection: %v", err)
	}
	if e.discovered("work", href) {
		t.Fatalf("Discover still reports deleted collection %q", href)
	}
	_, err = s.List(ctx, href)
	expectErr(t, "List of a deleted collection", err, storage.ErrNotFound)
	_, err = s.Get(ctx, href, []string{href + "/x." + e.opts.Kind.Ext()})
	expectErr(t, "Get in a deleted collection", err, storage.ErrNotFound)
	if _, _, err := s.Create(ctx, href, e.item("c1", "x")); err == nil {
		t.Fatalf("Create in a deleted collection succeeded")
	}
	expectErr(t, "DeleteCollection of a missing collection", s.DeleteCollection(ctx, href), storage.ErrNotFound)
	// The suite's own collection is still there.
	e.expectList(nil)
}

func (e *env) discovered(id, href string) bool {
	e.t.Helper()
	colls, err := e.s.Discover(e.ctx)
	if err != nil {
		e.t.Fatalf("Discover: %v", err)
	}
	for _, c := range colls {
		if c.Href == href {
			if c.ID != id {
				e.t.Fatalf("Discover: collection %q has id %q, want %q", href, c.ID, id)
			}
			return true
		}
	}
	return false
}

func testDeleteCollectionNotEmpty(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	text := ItemText(e.opts.Kind, "keep-me", "Keep me")
	href, etag := e.create(storage.MustItem(text))
	if storage.HasProperties(s) {
		if err := s.SetProperty(ctx, e.coll, storage.PropDisplayName, "Kept"); err != nil {
			t.Fatalf("SetProperty: %v", err)
		}
	}
	expectErr(t, "DeleteCollection with an item", s.DeleteCollection(ctx, e.coll), storage.ErrCollectionNotEmpty)
	e.expectList(map[string]string{href: etag})
	e.expectItem(href, etag, text)
	if storage.HasProperties(s) {
		props, err := s.Properties(ctx, e.coll)
		if err != nil || props[storage.PropDisplayName] != "Kept" {
			t.Fatalf("after a refused DeleteCollection, Properties = %v, %v; want displayname Kept", props, err)
		}
	}
	// Properties alone do not keep a collection alive.
	if err := s.Delete(ctx, href, etag); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.DeleteCollection(ctx, e.coll); err != nil {
		t.Fatalf("DeleteCollection with only properties left: %v", err)
	}
	if e.discovered(e.id, e.coll) {
		t.Fatalf("collection still discovered after DeleteCollection")
	}
}

func testCreateListGet(e *env) {
	texts := map[string]string{} // href → text
	etags := map[string]string{}
	for i := range 3 {
		text := ItemText(e.opts.Kind, fmt.Sprintf("item-%d@example.com", i), fmt.Sprintf("Item %d", i))
		href, etag := e.create(storage.MustItem(text))
		if _, dup := texts[href]; dup {
			e.t.Fatalf("Create returned href %q twice", href)
		}
		texts[href], etags[href] = text, etag
		e.expectList(etags)
	}
	listed := e.list()
	got := e.get(slices.Collect(maps.Keys(texts))...)
	for href, text := range texts {
		f := got[href]
		if f.Err != nil {
			e.t.Fatalf("Get(%q): %v", href, f.Err)
		}
		if f.Item.Text() != text {
			e.t.Fatalf("Get(%q) = %q, want %q", href, f.Item.Text(), text)
		}
		if uid, ok := f.Item.UID(); !ok || !strings.HasPrefix(uid, "item-") {
			e.t.Fatalf("Get(%q): UID %q, %v", href, uid, ok)
		}
		if f.ETag != listed[href] {
			e.t.Fatalf("Get(%q) etag %q differs from List etag %q", href, f.ETag, listed[href])
		}
	}
}

func testRoundTrip(e *env) {
	k := e.opts.Kind
	summary := "SUMMARY"
	if k == storage.Contacts {
		summary = "FN"
	}
	cases := map[string]string{
		"crlf":            wrap(k, "UID:rt-crlf", summary+":plain") + "\r\n",
		"no final crlf":   wrap(k, "UID:rt-nofinal", summary+":plain"),
		"lf only":         strings.ReplaceAll(wrap(k, "UID:rt-lf", summary+":lf")+"\r\n", "\r\n", "\n"),
		"folded":          wrap(k, "UID:rt-folded", summary+":a long value that is folded", " onto a continuation line", "\tand a tab one") + "\r\n",
		"non-ascii":       wrap(k, "UID:rt-ünïcødé-✓", summary+":Grüße aus Köln 🎉 — 東京", "X-NOTE;LANGUAGE=de:Straße") + "\r\n",
		"params quoted":   wrap(k, "UID:rt-params", `X-ATTR;X-P="a:b;c";X-Q=1:value:with:colons`, summary+":x") + "\r\n",
		"escaped":         wrap(k, "UID:rt-esc", summary+`:a\, b\; c\n d\\`) + "\r\n",
		"trailing spaces": wrap(k, "UID:rt-spaces ", summary+":ends with spaces   ") + "\r\n",
		"blank line end":  wrap(k, "UID:rt-blank", summary+":x") + "\r\n\r\n",
	}
	refs := map[string]string{}
	for name, text := range cases {
		it := storage.MustItem(text)
		href, etag := e.create(it)
		refs[href] = etag
		want := storage.NormalizeNewlines(text)
		e.t.Run(name, func(t *testing.T) {
			f := e.get(href)[href]
			if f.Err != nil {
				t.Fatalf("Get: %v", f.Err)
			}
			if f.Item.Text() != want {
				t.Fatalf("round trip changed the item:\n got %q\nwant %q", f.Item.Text(), want)
			}
			if f.Item.Hash() != it.Hash() || f.Item.Ident() != it.Ident() {
				t.Fatalf("round trip changed hash or ident")
			}
		})
	}
	e.expectList(refs)
}

func testNoUID(e *env) {
	text := wrap(e.opts.Kind, "X-NOTE:an item without a UID") + "\r\n"
	it := storage.MustItem(text)
	href, etag := e.create(it)
	f := e.get(href)[href]
	if f.Err != nil {
		e.t.Fatalf("Get: %v", f.Err)
	}
	if _, ok := f.Item.UID(); ok || f.Item.Ident() != it.Hash() {
		e.t.Fatalf("item without UID: ident %q, want the hash %q", f.Item.Ident(), it.Hash())
	}
	e.expectList(map[string]string{href: etag})
}

func testCreateNeverOverwrites(e *env) {
	t := e.t
	textA := ItemText(e.opts.Kind, "dup", "Version A")
	hrefA, etagA := e.create(storage.MustItem(textA))
	want := map[string]string{hrefA: etagA}

	// Another item with the same ident: a new href or ErrPrecondition, never hrefA.
	textB := ItemText(e.opts.Kind, "dup", "Version B")
	hrefB, etagB, err := e.s.Create(e.ctx, e.coll, storage.MustItem(textB))
	switch {
	case err == nil && hrefB == hrefA:
		t.Fatalf("second Create with the same ident returned the first item's href %q", hrefA)
	case err == nil:
		want[hrefB] = etagB
		e.expectItem(hrefB, etagB, textB)
	default:
		expectErr(t, "second Create with the same ident", err, storage.ErrPrecondition)
	}
	e.expectItem(hrefA, etagA, textA)
	e.expectList(want)

	// The very same item three times: the ident name, the hash name, then no name left.
	same := storage.MustItem(ItemText(e.opts.Kind, "same", "Same"))
	var created []string
	for i := range 3 {
		href, etag, err := e.s.Create(e.ctx, e.coll, same)
		if err != nil {
			expectErr(t, fmt.Sprintf("Create #%d of the same item", i+1), err, storage.ErrPrecondition)
			if i == 0 {
				t.Fatalf("first Create of a new item failed")
			}
			continue
		}
		if i == 2 {
			t.Fatalf("third Create of the same item succeeded (href %q); its names were taken", href)
		}
		if slices.Contains(created, href) {
			t.Fatalf("Create returned the taken href %q again", href)
		}
		created = append(created, href)
		want[href] = etag
	}
	e.expectList(want)
	e.expectItem(hrefA, etagA, textA)
}

func testUpdate(e *env) {
	t := e.t
	v1 := ItemText(e.opts.Kind, "upd", "Version 1")
	v2 := ItemText(e.opts.Kind, "upd", "Version 2")
	v3 := ItemText(e.opts.Kind, "upd", "Version 3")
	href, etag1 := e.create(storage.MustItem(v1))
	etag1 = e.list()[href]

	etag2, err := e.s.Update(e.ctx, href, etag1, storage.MustItem(v2))
	if err != nil {
		t.Fatalf("Update with the current etag: %v", err)
	}
	if etag2 != "" && etag2 == etag1 {
		t.Fatalf("Update kept the etag %q", etag1)
	}
	listed := e.list()[href]
	if listed == "" || listed == etag1 {
		t.Fatalf("after Update, List etag is %q (before: %q); want a new one", listed, etag1)
	}
	e.expectList(map[string]string{href: etag2})
	e.expectItem(href, listed, v2)

	_, err = e.s.Update(e.ctx, href, etag1, storage.MustItem(v3))
	expectErr(t, "Update with a stale etag", err, storage.ErrPrecondition)
	_, err = e.s.Update(e.ctx, href, "no-such-etag", storage.MustItem(v3))
	expectErr(t, "Update with a made-up etag", err, storage.ErrPrecondition)
	e.expectItem(href, listed, v2)
	e.expectList(map[string]string{href: listed})
}

func testUpdateGone(e *env) {
	text := ItemText(e.opts.Kind, "gone", "Gone")
	href, etag := e.create(storage.MustItem(text))
	etag = e.list()[href]
	if err := e.s.Delete(e.ctx, href, etag); err != nil {
		e.t.Fatalf("Delete: %v", err)
	}
	_, err := e.s.Update(e.ctx, href, etag, storage.MustItem(text))
	expectErr(e.t, "Update of a deleted item", err, storage.ErrNotFound)
	e.expectList(nil)
}

func testDelete(e *env) {
	t := e.t
	v1 := ItemText(e.opts.Kind, "del", "Version 1")
	href, _ := e.create(storage.MustItem(v1))
	etag1 := e.list()[href]
	other, otherTag := e.create(e.item("other", "Other"))

	expectErr(t, "Delete with a made-up etag", e.s.Delete(e.ctx, href, "no-such-etag"), storage.ErrPrecondition)
	etag2, err := e.s.Update(e.ctx, href, etag1, storage.MustItem(ItemText(e.opts.Kind, "del", "Version 2")))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	expectErr(t, "Delete with a stale etag", e.s.Delete(e.ctx, href, etag1), storage.ErrPrecondition)
	e.expectList(map[string]string{href: etag2, other: otherTag})

	etag2 = e.list()[href]
	if err := e.s.Delete(e.ctx, href, etag2); err != nil {
		t.Fatalf("Delete with the current etag: %v", err)
	}
	e.expectList(map[string]string{other: otherTag})
	if f := e.get(href)[href]; !errors.Is(f.Err, storage.ErrNotFound) {
		t.Fatalf("Get of a deleted item: %v, want ErrNotFound", f.Err)
	}
	if err := e.s.Delete(e.ctx, href, etag2); err != nil {
		t.Fatalf("Delete of an item that is already gone: %v, want success", err)
	}
	if err := e.s.Delete(e.ctx, href, "whatever"); err != nil {
		t.Fatalf("Delete of a gone item with any etag: %v, want success", err)
	}
	e.expectList(map[string]string{other: otherTag})
}

func testGetMixed(e *env) {
	t := e.t
	good1 := ItemText(e.opts.Kind, "good1", "Good 1")
	good2 := ItemText(e.opts.Kind, "good2", "Good 2")
	h1, _ := e.create(storage.MustItem(good1))
	h2, _ := e.create(storage.MustItem(good2))
	missing, tag := e.create(e.item("missing", "Missing"))
	if err := e.s.Delete(e.ctx, missing, e.list()[missing]); err != nil {
		t.Fatalf("Delete: %v (etag from Create: %q)", err, tag)
	}
	invalid := map[string]bool{}
	if e.opts.Plant != nil {
		invalid[e.opts.Plant(t, e.s, e.coll, "not-utf8", []byte("BEGIN:VCALENDAR\r\nSUMMARY:\xff\xfe\r\nEND:VCALENDAR\r\n"))] = true
		invalid[e.opts.Plant(t, e.s, e.coll, "not-a-component", []byte("this is not a calendar object\r\n"))] = true
		invalid[e.opts.Plant(t, e.s, e.coll, "truncated", []byte("BEGIN:"+e.opts.Kind.Component()+"\r\nUID:cut\r\n"))] = true
		for h := range invalid {
			if _, ok := e.list()[h]; !ok {
				t.Fatalf("planted item %q is not listed", h)
			}
		}
	}
	ext := e.opts.Kind.Ext()
	bad := []string{"../escape." + ext, e.coll + "/../../escape." + ext, "/etc/passwd", e.coll + "/a/b." + ext, ""}

	req := []string{h1, missing, h2, h1} // h1 twice: one result
	req = append(req, slices.Collect(maps.Keys(invalid))...)
	req = append(req, bad...)
	got := e.get(req...)
	if f := got[h1]; f.Err != nil || f.Item.Text() != good1 {
		t.Fatalf("good item %q: %q, %v", h1, f.Item.Text(), f.Err)
	}
	if f := got[h2]; f.Err != nil || f.Item.Text() != good2 {
		t.Fatalf("good item %q: %q, %v", h2, f.Item.Text(), f.Err)
	}
	if f := got[missing]; !errors.Is(f.Err, storage.ErrNotFound) {
		t.Fatalf("missing item %q: error %v, want ErrNotFound", missing, f.Err)
	}
	for h := range invalid {
		if f := got[h]; !errors.Is(f.Err, storage.ErrInvalidData) {
			t.Fatalf("invalid item %q: error %v, want ErrInvalidData", h, f.Err)
		}
	}
	for _, h := range bad {
		if f := got[h]; f.Err == nil {
			t.Fatalf("Get of the bad href %q succeeded", h)
		}
	}
}

func testProperties(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	if !storage.HasProperties(s) {
		return
	}
	props := func() map[string]string {
		t.Helper()
		p, err := s.Properties(ctx, e.coll)
		if err != nil {
			t.Fatalf("Properties: %v", err)
		}
		return p
	}
	set := func(name, value string) {
		t.Helper()
		if err := s.SetProperty(ctx, e.coll, name, value); err != nil {
			t.Fatalf("SetProperty(%s, %q): %v", name, value, err)
		}
	}
	if p := props(); len(p) != 0 {
		t.Fatalf("new collection has properties %v", p)
	}
	want := map[string]string{}
	for i, name := range storage.PropertyNames(e.opts.Kind) {
		v := fmt.Sprintf("value %d of %s — ✓", i, name)
		set(name, v)
		want[name] = v
		if p := props(); !maps.Equal(p, want) {
			t.Fatalf("after setting %s: Properties = %v, want %v", name, p, want)
		}
	}
	set(storage.PropDisplayName, "  padded name \n")
	want[storage.PropDisplayName] = "padded name"
	if p := props(); !maps.Equal(p, want) {
		t.Fatalf("Properties = %v, want trimmed %v", p, want)
	}
	set(storage.PropDescription, " \n\t")
	delete(want, storage.PropDescription)
	if p := props(); !maps.Equal(p, want) {
		t.Fatalf("a blank property must be absent: Properties = %v, want %v", p, want)
	}
	for _, name := range []string{storage.PropDisplayName, storage.PropDescription} {
		if err := s.DeleteProperty(ctx, e.coll, name); err != nil {
			t.Fatalf("DeleteProperty(%s): %v", name, err)
		}
		delete(want, name)
		if p := props(); !maps.Equal(p, want) {
			t.Fatalf("after DeleteProperty(%s): Properties = %v, want %v", name, p, want)
		}
		if err := s.DeleteProperty(ctx, e.coll, name); err != nil {
			t.Fatalf("DeleteProperty(%s) of an absent property: %v, want success", name, err)
		}
	}
	// Properties are not items.
	e.expectList(nil)
}

func testConcurrentWrites(e *env) {
	const n = 16
	var mu sync.Mutex
	want := map[string]string{}
	texts := map[string]string{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			uid := fmt.Sprintf("conc-%d", i)
			href, etag, err := e.s.Create(e.ctx, e.coll, e.item(uid, "Concurrent"))
			text := ItemText(e.opts.Kind, uid, "Updated")
			if err == nil {
				if etag == "" {
					etag = e.etagOf(href)
				}
				_, err = e.s.Update(e.ctx, href, etag, storage.MustItem(text))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				e.t.Errorf("item %d: %v", i, err)
				return
			}
			want[href], texts[href] = "", text
		})
	}
	wg.Wait()
	if e.t.Failed() {
		return
	}
	e.expectList(want)
	for href, text := range texts {
		e.expectItem(href, "", text)
	}
}

// etagOf returns the listed etag of href, or "" (safe for concurrent use).
func (e *env) etagOf(href string) string {
	refs, err := e.s.List(e.ctx, e.coll)
	if err != nil {
		return ""
	}
	for _, r := range refs {
		if r.Href == href {
			return r.ETag
		}
	}
	return ""
}

func testCancelledContext(e *env) {
	t := e.t
	href, _ := e.create(e.item("cancel", "Cancel"))
	etag := e.list()[href]
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, _, err := e.s.Create(ctx, e.coll, e.item("cancel-2", "x")); err == nil {
		t.Fatalf("Create with a cancelled context succeeded")
	}
	if _, err := e.s.Update(ctx, href, etag, e.item("cancel", "changed")); err == nil {
		t.Fatalf("Update with a cancelled context succeeded")
	}
	if err := e.s.Delete(ctx, href, etag); err == nil {
		t.Fatalf("Delete with a cancelled context succeeded")
	}
	if _, err := e.s.List(ctx, e.coll); err == nil {
		t.Fatalf("List with a cancelled context succeeded")
	}
	e.expectList(map[string]string{href: etag})
	e.expectItem(href, etag, ItemText(e.opts.Kind, "cancel", "Cancel"))
}
