// Package storagetest is the contract suite that every storage backend runs: it drives
// each method of storage.Storage and checks the error contracts documented there.
//
//	func TestContract(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Storage { return newBackend(t) }, storagetest.Options{})
//	}
//
// The suite never skips a test because a storage behaves differently: Options describe
// what a storage legitimately does differently (read-only, a server that re-serialises
// items or refuses some of them), and the suite then checks the weaker contract that
// still holds.
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

	// ReadOnly: the storage refuses every write (webcal, storage.ReadOnly). Collection
	// and Plant are then required: the suite plants valid items behind the storage's
	// back, runs the read-only tests (listing, fetching, per-href errors, cancellation)
	// and checks that every write fails with storage.ErrReadOnly or
	// storage.ErrUnsupported and changes nothing.
	ReadOnly bool

	// RewritesItems: the server re-serialises what it stores (storages.md §4: Radicale
	// and Xandikos reorder and refold calendar properties, drop a final blank line and
	// add PRODID or DTSTAMP). An item read back is then compared semantically: it must
	// pass storage.CheckSyntax, have the same UID (or none), and hold the same content
	// lines up to order, folding, blank lines and the lines the hash ignores (PRODID,
	// DTSTAMP, LAST-MODIFIED). Etags must still change on every update.
	RewritesItems bool
	// Peek reads the bytes the server now holds for href, behind the storage's back.
	// With RewritesItems the suite checks that Get returns exactly those bytes (after
	// line-break normalisation). nil leaves that check out.
	Peek func(t *testing.T, s storage.Storage, href string) []byte
	// TrimsValues: the server strips trailing white space from property values,
	// the UID's included (Cyrus, in calendar data). With RewritesItems, an item read
	// back is then compared with what was written after trimming each value.
	TrimsValues bool
	// AddsUID: the server gives an item without UID a UID of its own (DAViCal, for
	// vCards). The item read back must then have a UID and otherwise hold what was
	// written.
	AddsUID bool
	// Lossy names round-trip cases (see testRoundTrip) that the server is known to
	// change beyond re-serialisation, with the reason: such an item must keep its
	// ident, Get must return what the server holds, and its content must indeed
	// differ, so that a fixed server is noticed.
	Lossy map[string]string
	// RejectsNoUID: the server refuses items without UID (Radicale answers 400). Create
	// of such an item must then fail with an error naming the collection that is
	// neither storage.ErrPrecondition nor storage.ErrNotFound, and leave nothing behind.
	RejectsNoUID bool
	// DefaultDisplayName: the server reports a displayname for a collection that has
	// none (Radicale, Xandikos). A new collection may then have that one property.
	DefaultDisplayName bool
	// Unsettable lists properties the server refuses to store (Xandikos: a calendar's
	// description, 409). SetProperty of them must fail and change nothing.
	Unsettable []string
	// Undeletable lists properties the server refuses to remove (Xandikos: displayname,
	// 500; storages.md §4). DeleteProperty of them must fail and change nothing.
	Undeletable []string
}

type test struct {
	name        string
	fn          func(*env)
	collections bool // needs CreateCollection and DeleteCollection
}

// readOnlyTests replace the write tests for storages with Options.ReadOnly.
var readOnlyTests = []test{
	{name: "Check", fn: testCheck},
	{name: "Discover", fn: testDiscover},
	{name: "ReadOnlyListGet", fn: testReadOnlyListGet},
	{name: "ReadOnlyWrites", fn: testReadOnlyWrites},
	{name: "ReadOnlyGetMixed", fn: testReadOnlyGetMixed},
	{name: "ReadOnlyProperties", fn: testReadOnlyProperties},
	{name: "ReadOnlyCancelledContext", fn: testReadOnlyCancelledContext},
}

// Run runs the contract suite. newStorage must return a fresh, empty storage (apart
// from Options.Collection) for each sub-test; it is called once per sub-test.
func Run(t *testing.T, newStorage func(t *testing.T) storage.Storage, opts Options) {
	if opts.Kind == 0 {
		opts.Kind = storage.Calendars
	}
	if opts.ReadOnly {
		if opts.Collection == "" || opts.Plant == nil {
			t.Fatal("storagetest: Options.ReadOnly needs Collection and Plant")
		}
		for _, tc := range readOnlyTests {
			t.Run(tc.name, func(t *testing.T) {
				tc.fn(newEnv(t, newStorage(t), opts))
			})
		}
		return
	}
	tests := []test{
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
// with CRLF line breaks and a final CRLF. An event has DTEND as well as DTSTART: Cyrus
// refuses an event without DTEND or DURATION ("DTEND must occur after DTSTART").
func ItemText(kind storage.Kind, uid, summary string) string {
	if kind == storage.Contacts {
		return crlf("BEGIN:VCARD", "VERSION:3.0", "UID:"+uid, "FN:"+summary, "N:"+summary+";;;;", "END:VCARD", "")
	}
	return crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pimsync//storagetest//EN", "BEGIN:VEVENT",
		"UID:"+uid, "DTSTAMP:20240101T000000Z", "DTSTART:20240102T100000Z", "DTEND:20240102T110000Z", "SUMMARY:"+summary,
		"END:VEVENT", "END:VCALENDAR", "")
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

// wrap puts content lines into the kind's component (no final line break). A calendar
// event also gets DTSTAMP, DTSTART and DTEND, which some servers require (Radicale,
// Cyrus); a vCard is version 3.0 and gets N.
func wrap(kind storage.Kind, body ...string) string {
	c := kind.Component()
	version := "VERSION:2.0"
	if kind == storage.Calendars {
		body = slices.Concat([]string{"BEGIN:VEVENT"}, body, []string{"DTSTAMP:20240101T000000Z", "DTSTART:20240102T100000Z", "DTEND:20240102T110000Z", "END:VEVENT"})
	} else {
		version = "VERSION:3.0" // with N, which vCard 3.0 requires (Cyrus refuses a card without)
		body = append(body, "N:Test;;;;")
	}
	return crlf(append(append([]string{"BEGIN:" + c, version}, body...), "END:"+c)...)
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

// expectItem fetches href and checks its text (see sameItem) and, if known, its etag.
func (e *env) expectItem(href, etag, text string) {
	e.t.Helper()
	f := e.get(href)[href]
	switch {
	case f.Err != nil:
		e.t.Fatalf("Get(%q): %v", href, f.Err)
	case etag != "" && f.ETag != "" && f.ETag != etag:
		e.t.Fatalf("Get(%q) etag = %q, want %q", href, f.ETag, etag)
	}
	e.expectSame(href, f.Item, text)
}

// expectSame fails the test unless the item read back from href matches the text that
// was written (see sameItem).
func (e *env) expectSame(href string, got storage.Item, want string) {
	e.t.Helper()
	if err := e.sameItem(href, got, want); err != nil {
		e.t.Fatalf("Get(%q): %v", href, err)
	}
}

// sameItem compares an item read back from href with the text that was written: byte
// for byte (after line-break normalisation), or with Options.RewritesItems
// semantically and, given Options.Peek, byte for byte with what the server holds.
func (e *env) sameItem(href string, got storage.Item, want string) error {
	want = storage.NormalizeNewlines(want)
	if !e.opts.RewritesItems {
		if got.Text() != want {
			return fmt.Errorf("text =\n%q\nwant\n%q", got.Text(), want)
		}
		return nil
	}
	if err := storage.CheckSyntax(got.Text(), e.opts.Kind); err != nil {
		return fmt.Errorf("the item read back does not parse: %v\n%q", err, got.Text())
	}
	gotUID, gotOK := got.UID()
	wantUID, wantOK := storage.MustItem(want).UID()
	if e.opts.TrimsValues {
		wantUID = strings.TrimRight(wantUID, " \t")
	}
	if gotUID != wantUID || gotOK != wantOK {
		return fmt.Errorf("UID %q (%v), want %q (%v)", gotUID, gotOK, wantUID, wantOK)
	}
	if e.opts.TrimsValues {
		want = trimValues(want)
	}
	if !SameContent(got.Text(), want) {
		return fmt.Errorf("content differs beyond order and folding:\n got %q\nwant %q", got.Text(), want)
	}
	if e.opts.Peek != nil {
		if held := storage.NormalizeNewlines(string(e.opts.Peek(e.t, e.s, href))); got.Text() != held {
			return fmt.Errorf("Get returned\n%q\nbut the server holds\n%q", got.Text(), held)
		}
	}
	return nil
}

// trimValues strips trailing white space from every (unfolded) content line.
func trimValues(text string) string {
	var b strings.Builder
	storage.Unfold(text, func(line string) {
		b.WriteString(strings.TrimRight(strings.TrimRight(line, "\r"), " \t") + "\r\n")
	})
	return b.String()
}

// SameContent reports whether two items hold the same content lines regardless of their
// order, folding and blank lines, ignoring the lines the normalised hash ignores
// (PRODID, DTSTAMP, LAST-MODIFIED; sync.md §2.4) and REV, the vCard revision stamp
// servers add (DAViCal). It is the comparison the suite uses for servers that
// re-serialise items.
func SameContent(a, b string) bool {
	return slices.Equal(contentLines(a), contentLines(b))
}

func contentLines(text string) []string {
	var out []string
	storage.Unfold(text, func(line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		switch strings.ToUpper(storage.SplitLine(line).Name) {
		case "PRODID", "DTSTAMP", "LAST-MODIFIED", "REV":
			return
		}
		out = append(out, line)
	})
	slices.Sort(out)
	return out
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
	if ro := storage.IsReadOnly(e.s); ro != e.opts.ReadOnly {
		e.t.Fatalf("storage.IsReadOnly = %v, want %v", ro, e.opts.ReadOnly)
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
	if props, err := s.Properties(ctx, href); err != nil || !e.noProperties(props) {
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
		e.expectSame(href, f.Item, text)
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
			if reason, lossy := e.opts.Lossy[name]; lossy {
				if held := storage.NormalizeNewlines(string(e.opts.Peek(t, e.s, href))); f.Item.Text() != held {
					t.Fatalf("Get returned\n%q\nbut the server holds\n%q", f.Item.Text(), held)
				}
				if e.sameItem(href, f.Item, want) == nil {
					t.Fatalf("the server kept this item (expected it to change it: %s); remove it from Options.Lossy", reason)
				}
			} else if err := e.sameItem(href, f.Item, want); err != nil {
				t.Fatalf("round trip changed the item: %v", err)
			}
			ident := it.Ident()
			if e.opts.TrimsValues {
				ident = strings.TrimRight(ident, " \t")
			}
			if f.Item.Ident() != ident || !e.opts.RewritesItems && f.Item.Hash() != it.Hash() {
				t.Fatalf("round trip changed hash or ident")
			}
		})
	}
	e.expectList(refs)
}

func testNoUID(e *env) {
	text := wrap(e.opts.Kind, "X-NOTE:an item without a UID") + "\r\n"
	it := storage.MustItem(text)
	if e.opts.RejectsNoUID {
		_, _, err := e.s.Create(e.ctx, e.coll, it)
		switch {
		case err == nil:
			e.t.Fatal("Create of an item without UID succeeded; the server was expected to refuse it")
		case errors.Is(err, storage.ErrPrecondition) || errors.Is(err, storage.ErrNotFound):
			e.t.Fatalf("Create of an item without UID: %v; a refusal must not look like a precondition or a missing collection", err)
		case !strings.Contains(err.Error(), e.coll):
			e.t.Fatalf("Create of an item without UID: error %q does not name the collection %q", err, e.coll)
		}
		e.expectList(nil)
		return
	}
	href, etag := e.create(it)
	f := e.get(href)[href]
	if f.Err != nil {
		e.t.Fatalf("Get: %v", f.Err)
	}
	if e.opts.AddsUID {
		uid, ok := f.Item.UID()
		if !ok || uid == "" {
			e.t.Fatalf("item without UID: the server was expected to add a UID: %q", f.Item.Text())
		}
		var withUID string
		for line := range strings.SplitSeq(text, "\r\n") {
			withUID += line + "\r\n"
			if strings.HasPrefix(line, "BEGIN:"+e.opts.Kind.Component()) {
				withUID += "UID:" + uid + "\r\n"
			}
		}
		e.expectSame(href, f.Item, strings.TrimSuffix(withUID, "\r\n"))
		e.expectList(map[string]string{href: etag})
		return
	}
	want := it.Hash()
	if e.opts.RewritesItems {
		want = f.Item.Hash() // the ident is the hash of what the server made of it
	}
	if _, ok := f.Item.UID(); ok || f.Item.Ident() != want {
		e.t.Fatalf("item without UID: ident %q, want the hash %q", f.Item.Ident(), want)
	}
	e.expectSame(href, f.Item, text)
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
	for h, text := range map[string]string{h1: good1, h2: good2} {
		f := got[h]
		if f.Err != nil {
			t.Fatalf("good item %q: %v", h, f.Err)
		}
		e.expectSame(h, f.Item, text)
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
	want := map[string]string{}
	expect := func(format string, args ...any) {
		t.Helper()
		if p := props(); !e.sameProperties(p, want) {
			t.Fatalf("%s: Properties = %v, want %v", fmt.Sprintf(format, args...), p, want)
		}
	}
	// set writes a property; one the server refuses must fail and change nothing.
	set := func(name, value string) {
		t.Helper()
		err := s.SetProperty(ctx, e.coll, name, value)
		switch {
		case slices.Contains(e.opts.Unsettable, name) && err == nil:
			t.Fatalf("SetProperty(%s, %q) succeeded; the server was expected to refuse it", name, value)
		case slices.Contains(e.opts.Unsettable, name):
		case err != nil:
			t.Fatalf("SetProperty(%s, %q): %v", name, value, err)
		case strings.TrimSpace(value) == "":
			delete(want, name)
		default:
			want[name] = strings.TrimSpace(value)
		}
	}
	// del removes a property; one the server cannot remove must fail and change nothing.
	del := func(name, what string) {
		t.Helper()
		err := s.DeleteProperty(ctx, e.coll, name)
		switch {
		case slices.Contains(e.opts.Undeletable, name) && err == nil:
			t.Fatalf("DeleteProperty(%s) succeeded; the server was expected to refuse it", name)
		case slices.Contains(e.opts.Undeletable, name):
		case err != nil:
			t.Fatalf("DeleteProperty(%s)%s: %v, want success", name, what, err)
		default:
			delete(want, name)
		}
	}
	if p := props(); !e.noProperties(p) {
		t.Fatalf("new collection has properties %v", p)
	}
	for i, name := range storage.PropertyNames(e.opts.Kind) {
		v := fmt.Sprintf("value %d of %s — ✓", i, name)
		switch name {
		case storage.PropColor:
			v = "#" + v // Xandikos prefixes a colour without one with "#"
		case storage.PropOrder:
			v = fmt.Sprint(10 + i) // Xandikos keeps only numbers
		}
		set(name, v)
		expect("after setting %s", name)
	}
	set(storage.PropDisplayName, "  padded name \n")
	expect("values are trimmed")
	set(storage.PropDescription, " \n\t")
	expect("a blank property must be absent")
	for _, name := range []string{storage.PropDisplayName, storage.PropDescription} {
		del(name, "")
		expect("after DeleteProperty(%s)", name)
		del(name, " of an absent property")
		expect("after DeleteProperty(%s) of an absent property", name)
	}
	// Properties are not items.
	e.expectList(nil)
}

// noProperties reports whether p is what a new collection may have: nothing, or with
// Options.DefaultDisplayName only a displayname.
func (e *env) noProperties(p map[string]string) bool {
	_, hasName := p[storage.PropDisplayName]
	return len(p) == 0 || e.opts.DefaultDisplayName && len(p) == 1 && hasName
}

// sameProperties compares properties read back with the expected ones. With
// Options.DefaultDisplayName a displayname that was not set may be the server's.
func (e *env) sameProperties(got, want map[string]string) bool {
	if _, ok := want[storage.PropDisplayName]; !ok && e.opts.DefaultDisplayName {
		got = maps.Clone(got)
		delete(got, storage.PropDisplayName)
	}
	return maps.Equal(got, want)
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

// The tests for read-only storages (Options.ReadOnly). Items are planted behind the
// storage's back.

// plant puts n valid items into the collection and returns href → text.
func (e *env) plant(prefix string, n int) map[string]string {
	e.t.Helper()
	texts := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		text := ItemText(e.opts.Kind, name+"@example.com", "Planted "+name)
		href := e.opts.Plant(e.t, e.s, e.coll, name, []byte(text))
		if _, dup := texts[href]; dup {
			e.t.Fatalf("Plant returned href %q twice", href)
		}
		texts[href] = text
	}
	return texts
}

func testDiscover(e *env) {
	if !e.discovered(e.id, e.coll) {
		e.t.Fatalf("Discover does not report collection %q", e.coll)
	}
}

func testReadOnlyListGet(e *env) {
	t := e.t
	texts := e.plant("ro", 3)
	listed := e.list()
	hrefs := slices.Sorted(maps.Keys(texts))
	if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, hrefs) {
		t.Fatalf("List = %v, want %v", got, hrefs)
	}
	got := e.get(hrefs...)
	for href, text := range texts {
		f := got[href]
		if f.Err != nil {
			t.Fatalf("Get(%q): %v", href, f.Err)
		}
		e.expectSame(href, f.Item, text)
		if f.ETag != "" && listed[href] != "" && f.ETag != listed[href] {
			t.Fatalf("Get(%q) etag %q differs from List etag %q", href, f.ETag, listed[href])
		}
	}
	if inc, ok := e.s.(storage.Incremental); ok {
		l, err := inc.ListSince(e.ctx, e.coll, storage.Token{})
		if err != nil || l.Unchanged || l.Delta {
			t.Fatalf("ListSince without a token = %+v, %v; want a full listing", l, err)
		}
		var refs []string
		for _, r := range l.Refs {
			refs = append(refs, r.Href)
		}
		if slices.Sort(refs); !slices.Equal(refs, hrefs) {
			t.Fatalf("ListSince without a token lists %v, want %v", refs, hrefs)
		}
	}
}

func testReadOnlyWrites(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	texts := e.plant("keep", 1)
	href := slices.Collect(maps.Keys(texts))[0]
	etag := e.list()[href]
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrReadOnly) && !errors.Is(err, storage.ErrUnsupported) {
			t.Fatalf("%s on a read-only storage: error %v, want ErrReadOnly or ErrUnsupported", what, err)
		}
	}
	_, _, err := s.Create(ctx, e.coll, e.item("new", "New"))
	refused("Create", err)
	uid, _ := storage.MustItem(texts[href]).UID()
	_, err = s.Update(ctx, href, etag, e.item(uid, "Changed"))
	refused("Update", err)
	refused("Delete", s.Delete(ctx, href, etag))
	refused("SetProperty", s.SetProperty(ctx, e.coll, storage.PropDisplayName, "x"))
	refused("DeleteProperty", s.DeleteProperty(ctx, e.coll, storage.PropDisplayName))
	refused("DeleteCollection", s.DeleteCollection(ctx, e.coll))
	other := "work"
	if h, err := s.CollectionHref(other); err == nil {
		other = h
	}
	refused("CreateCollection", s.CreateCollection(ctx, other))
	if e.discovered("work", other) {
		t.Fatalf("a refused CreateCollection left collection %q", other)
	}
	e.expectList(map[string]string{href: etag})
	e.expectItem(href, etag, texts[href])
}

func testReadOnlyGetMixed(e *env) {
	t := e.t
	texts := e.plant("mixed", 2)
	// Get follows a listing, as in the engine: a feed is downloaded once per listing.
	good := slices.Sorted(maps.Keys(e.list()))
	ext := e.opts.Kind.Ext()
	missing := e.coll + "/no-such-item." + ext
	bad := []string{"../escape." + ext, "/etc/passwd", ""}
	req := slices.Concat(good, []string{missing, good[0]}, bad)
	got := e.get(req...)
	for _, h := range good {
		if f := got[h]; f.Err != nil {
			t.Fatalf("good item %q: %v", h, f.Err)
		} else {
			e.expectSame(h, f.Item, texts[h])
		}
	}
	if f := got[missing]; !errors.Is(f.Err, storage.ErrNotFound) {
		t.Fatalf("missing item %q: error %v, want ErrNotFound", missing, f.Err)
	}
	for _, h := range bad {
		if f := got[h]; f.Err == nil {
			t.Fatalf("Get of the bad href %q succeeded", h)
		}
	}
}

func testReadOnlyProperties(e *env) {
	props, err := e.s.Properties(e.ctx, e.coll)
	if err != nil {
		e.t.Fatalf("Properties: %v", err)
	}
	if !storage.HasProperties(e.s) && len(props) != 0 {
		e.t.Fatalf("a storage without properties reports %v", props)
	}
}

func testReadOnlyCancelledContext(e *env) {
	t := e.t
	texts := e.plant("cancel", 1)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.s.List(ctx, e.coll); err == nil {
		t.Fatal("List with a cancelled context succeeded")
	}
	if inc, ok := e.s.(storage.Incremental); ok {
		if _, err := inc.ListSince(ctx, e.coll, storage.Token{}); err == nil {
			t.Fatal("ListSince with a cancelled context succeeded")
		}
	}
	if got := e.list(); len(got) != len(texts) {
		t.Fatalf("List after a cancelled call = %v", got)
	}
}
