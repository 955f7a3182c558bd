package engine

import (
	"fmt"
	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// st builds an ItemState known by hash only.
func st(side, ident, hash string) *ItemState {
	return &ItemState{Href: "c/" + ident + "." + side, ETag: "e-" + side + "-" + hash, Ident: ident, Hash: hash}
}

// row builds a status row matching st(a) and st(b) for the given hashes.
func row(ident, hash, hashA, hashB string) *status.Row {
	return &status.Row{Ident: ident, Hash: hash, HrefA: "c/" + ident + ".a", ETagA: "e-a-" + hashA, HrefB: "c/" + ident + ".b", ETagB: "e-b-" + hashB}
}

// label describes a decision the way plans print it ("create on b", "keep a: update on
// b", "skip (read-only b) create on b"); engine/present renders the same for people,
// but the engine cannot import it.
func label(a *ItemAction) string {
	if a == nil {
		return "nothing"
	}
	var v string
	switch a.Verb {
	case VerbCreate, VerbUpdate, VerbDelete:
		v = fmt.Sprintf("%s on %s", a.Verb, a.Target)
		if a.Keep != "" {
			v = fmt.Sprintf("keep %s: %s", a.Keep, v)
		}
	default:
		v = a.Verb.String()
	}
	if a.Skip != "" {
		return fmt.Sprintf("skip (%s) %s", a.Skip, v)
	}
	return v
}

// propLabel describes a property decision the way plans print it.
func propLabel(p *PropAction) string {
	var v string
	switch p.Verb {
	case VerbUpdate:
		v = fmt.Sprintf("write to %s %q", p.Target, p.Value())
		if p.Keep != "" {
			v = fmt.Sprintf("keep %s: %s", p.Keep, v)
		}
	case VerbDelete:
		v = fmt.Sprintf("delete on %s", p.Target)
	case VerbConflict:
		v = fmt.Sprintf("conflict %q vs %q", p.A, p.B)
	default:
		v = p.Verb.String()
	}
	if p.Skip != "" {
		v = fmt.Sprintf("skip (%s) %s", p.Skip, v)
	}
	return fmt.Sprintf("property %s: %s", p.Name, v)
}

// TestTwoWayItemTable covers every row of sync.md §8.
func TestTwoWayItemTable(t *testing.T) {
	x := "x"
	cases := []struct {
		row  int
		a, b *ItemState
		s    *status.Row
		want string
		warn bool
	}{
		{1, nil, nil, row(x, "H1", "H1", "H1"), "forget", false},
		{2, st("a", x, "H1"), nil, nil, "create on b", false},
		{3, nil, st("b", x, "H1"), nil, "create on a", false},
		{4, st("a", x, "H1"), nil, row(x, "H1", "H1", "H1"), "delete on a", false},
		{5, st("a", x, "H2"), nil, row(x, "H1", "H1", "H1"), "create on b", true},
		{6, nil, st("b", x, "H1"), row(x, "H1", "H1", "H1"), "delete on b", false},
		{7, nil, st("b", x, "H2"), row(x, "H1", "H1", "H1"), "create on a", true},
		{8, st("a", x, "H1"), st("b", x, "H1"), nil, "record", false},
		{9, st("a", x, "H1"), st("b", x, "H2"), nil, "conflict", false},
		{10, st("a", x, "H1"), st("b", x, "H1"), row(x, "H1", "H1", "H1"), "nothing", false},
		{11, st("a", x, "H2"), st("b", x, "H2"), row(x, "H1", "H1", "H1"), "record", false},
		{12, st("a", x, "H1"), st("b", x, "H2"), row(x, "H1", "H1", "H1"), "update on a", false},
		{13, st("a", x, "H2"), st("b", x, "H1"), row(x, "H1", "H1", "H1"), "update on b", false},
		{14, st("a", x, "H2"), st("b", x, "H3"), row(x, "H1", "H1", "H1"), "conflict", false},
	}
	for _, c := range cases {
		got := decideTwoWay(c.a, c.b, c.s, policy{})
		if label(got) != c.want {
			t.Errorf("row %d: got %q, want %q", c.row, label(got), c.want)
		}
		if got != nil && (got.Warning != "") != c.warn {
			t.Errorf("row %d: warning %q, want warning=%v", c.row, got.Warning, c.warn)
		}
	}
	// Row 11 also fires when only an href or etag differs from the status.
	a, b := st("a", x, "H1"), st("b", x, "H1")
	s := row(x, "H1", "H1", "H1")
	a.ETag = "touched"
	if got := decideTwoWay(a, b, s, policy{}); label(got) != "record" {
		t.Errorf("etag change: got %q, want record", label(got))
	}
	a.ETag, b.Href = s.ETagA, "c/renamed.b"
	if got := decideTwoWay(a, b, s, policy{}); label(got) != "record" {
		t.Errorf("rename: got %q, want record", label(got))
	}
}

// TestKeep covers sync.md §9.2 for rows 9 and 14, including read-only targets.
func TestKeep(t *testing.T) {
	x := "x"
	rows := []*status.Row{nil, row(x, "H1", "H1", "H1")}
	for _, s := range rows {
		a, b := st("a", x, "H2"), st("b", x, "H3")
		cases := []struct {
			pol  policy
			want string
			warn string
		}{
			{policy{keep: config.ResolveKeepA}, "keep a: update on b", ""},
			{policy{keep: config.ResolveKeepB}, "keep b: update on a", ""},
			{policy{keep: config.ResolveKeepA, readOnly: [2]bool{false, true}}, "conflict", "cannot keep a: storage b is read-only"},
			{policy{keep: config.ResolveKeepB, readOnly: [2]bool{true, false}}, "conflict", "cannot keep b: storage a is read-only"},
		}
		for _, c := range cases {
			got := decideTwoWay(a, b, s, c.pol)
			if label(got) != c.want || got.Warning != c.warn {
				t.Errorf("status=%v pol=%+v: got %q (%q), want %q (%q)", s != nil, c.pol, label(got), got.Warning, c.want, c.warn)
			}
		}
	}
}

// TestOneWayItemTable covers sync.md §11.1.
func TestOneWayItemTable(t *testing.T) {
	x := "x"
	cases := []struct {
		name string
		a, b *ItemState
		s    *status.Row
		want string
	}{
		{"gone both", nil, nil, row(x, "H1", "H1", "H1"), "forget"},
		{"new on a", st("a", x, "H1"), nil, nil, "create on b"},
		{"deleted on b reverted", st("a", x, "H1"), nil, row(x, "H1", "H1", "H1"), "create on b"},
		{"only on b", nil, st("b", x, "H1"), nil, "delete on b"},
		{"deleted on a", nil, st("b", x, "H1"), row(x, "H1", "H1", "H1"), "delete on b"},
		{"equal no status", st("a", x, "H1"), st("b", x, "H1"), nil, "record"},
		{"different no status", st("a", x, "H1"), st("b", x, "H2"), nil, "update on b"},
		{"equal in status", st("a", x, "H1"), st("b", x, "H1"), row(x, "H1", "H1", "H1"), "nothing"},
		{"equal, changed identically", st("a", x, "H2"), st("b", x, "H2"), row(x, "H1", "H1", "H1"), "record"},
		{"b edited", st("a", x, "H1"), st("b", x, "H2"), row(x, "H1", "H1", "H1"), "update on b"},
		{"a edited", st("a", x, "H2"), st("b", x, "H1"), row(x, "H1", "H1", "H1"), "update on b"},
		{"both edited", st("a", x, "H2"), st("b", x, "H3"), row(x, "H1", "H1", "H1"), "update on b"},
	}
	for _, c := range cases {
		if got := decideOneWay(c.a, c.b, c.s); label(got) != c.want {
			t.Errorf("%s: got %q, want %q", c.name, label(got), c.want)
		}
	}
}

// TestCollectionTable covers sync.md §5.2 and §11.2.
func TestCollectionTable(t *testing.T) {
	cases := []struct {
		name             string
		ea, eb, inStatus bool
		pol              policy
		want             CollAction
		isErr            bool
	}{
		{"neither", false, false, false, policy{}, CollCreateAB, false},
		{"both, new", true, true, false, policy{}, CollRecord, false},
		{"both, known", true, true, true, policy{}, CollNone, false},
		{"only b, new", false, true, false, policy{}, CollCreateA, false},
		{"only a, new", true, false, false, policy{}, CollCreateB, false},
		{"a deleted", false, true, true, policy{}, CollDeleteB, false},
		{"b deleted", true, false, true, policy{}, CollDeleteA, false},
		{"a deleted, on_delete skip", false, true, true, policy{onDeleteSkip: true}, CollSkipped, false},
		{"b deleted, on_delete skip", true, false, true, policy{onDeleteSkip: true}, CollSkipped, false},
		{"only a, b read-only", true, false, false, policy{readOnly: [2]bool{false, true}}, CollSkipped, false},
		{"neither, a read-only", false, false, false, policy{readOnly: [2]bool{true, false}}, CollSkipped, false},
		{"a deleted, b read-only", false, true, true, policy{readOnly: [2]bool{false, true}}, CollSkipped, false},
		{"one_way only a", true, false, false, policy{oneWay: true}, CollCreateB, false},
		{"one_way only a, b deleted", true, false, true, policy{oneWay: true}, CollCreateB, false},
		{"one_way both new", true, true, false, policy{oneWay: true}, CollRecord, false},
		{"one_way both known", true, true, true, policy{oneWay: true}, CollNone, false},
		{"one_way a deleted", false, true, true, policy{oneWay: true}, CollDeleteB, false},
		{"one_way a deleted, skip", false, true, true, policy{oneWay: true, onDeleteSkip: true}, CollSkipped, false},
		{"one_way only b", false, true, false, policy{oneWay: true}, CollSkipped, false},
		{"one_way neither", false, false, false, policy{oneWay: true}, CollSkipped, false},
	}
	for _, c := range cases {
		m := &MappingPlan{}
		in := &mappingInput{inStatus: c.inStatus}
		in.side[A].exists, in.side[B].exists = c.ea, c.eb
		decideCollection(m, in, c.pol)
		if m.Action != c.want || m.ReasonIsError != c.isErr {
			t.Errorf("%s: got %v (%q, err=%v), want %v (err=%v)", c.name, m.Action, m.Reason, m.ReasonIsError, c.want, c.isErr)
		}
	}
	// A side that cannot be created and is not read-only is an error.
	m := &MappingPlan{}
	in := &mappingInput{}
	in.side[A].exists = true
	in.side[B].createErr = errString("ids are second-last")
	decideCollection(m, in, policy{})
	if m.Action != CollSkipped || !m.ReasonIsError || !strings.Contains(m.Reason, "second-last") {
		t.Errorf("uncreatable: got %v %q err=%v", m.Action, m.Reason, m.ReasonIsError)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestGuard covers sync.md §7.
func TestGuard(t *testing.T) {
	cases := []struct {
		name       string
		nA, nB, nS int
		pol        policy
		fires      bool
	}{
		{"a emptied", 0, 3, 3, policy{}, true},
		{"b emptied", 3, 0, 3, policy{}, true},
		{"both empty", 0, 0, 3, policy{}, false},
		{"first sync", 0, 3, 0, policy{}, false},
		{"on_empty sync", 0, 3, 3, policy{onEmptySync: true}, false},
		{"one_way a empty first run", 0, 3, 0, policy{oneWay: true}, true},
		{"one_way a empty, on_empty sync", 0, 3, 0, policy{oneWay: true, onEmptySync: true}, false},
		{"one_way b empty", 3, 0, 3, policy{oneWay: true}, false},
	}
	for _, c := range cases {
		m := &MappingPlan{}
		in := &mappingInput{rows: make([]status.Row, c.nS)}
		in.side[A].listed, in.side[B].listed = c.nA, c.nB
		if got := guard(m, in, c.pol); got != c.fires {
			t.Errorf("%s: fired=%v, want %v", c.name, got, c.fires)
		}
		if c.fires && (m.Action != CollProtected || !strings.HasPrefix(m.Reason, "protected:")) {
			t.Errorf("%s: action %v reason %q", c.name, m.Action, m.Reason)
		}
	}
}

// A duplicated UID on one side leaves only that ident alone (issue 9 item 11): every
// other item of the collection is planned, the duplicated ident gets no action (it is
// never read as a deletion), and the message names every file in full.
func TestDuplicatesBlockOnlyTheirIdent(t *testing.T) {
	in := &mappingInput{inStatus: true, rows: []status.Row{*row("1", "H", "H", "H")}}
	in.side[A].exists, in.side[B].exists = true, true
	in.side[A].items = []*ItemState{
		{Href: "c/1.ics", Ident: "1", Hash: "H"},
		{Href: "c/x.ics", Ident: "1", Hash: "H2"},
		{Href: "c/1-1.ics", Ident: "1", Hash: "H3"},
		{Href: "c/2.ics", Ident: "2", Hash: "H4"},
	}
	in.side[A].listed, in.side[B].listed = 4, 0
	in.side[B].listed = 1
	m := &MappingPlan{}
	decide(m, in, policy{})
	if len(m.Duplicates) != 1 {
		t.Fatalf("duplicates = %q", m.Duplicates)
	}
	for _, want := range []string{"storage a has 3 items with UID \"1\"", "c/1-1.ics, c/1.ics, c/x.ics"} {
		if !strings.Contains(m.Duplicates[0], want) {
			t.Errorf("message %q lacks %q", m.Duplicates[0], want)
		}
	}
	if m.Action != CollNone || len(m.Items) != 1 || m.Items[0].Ident != "2" || label(m.Items[0]) != "create on b" {
		t.Errorf("action %v, items %v: want only 2 created on b", m.Action, m.Items)
	}
}

func TestUnfetchableBlocksIdent(t *testing.T) {
	// x is in the status; A's copy could not be read, B's is unchanged. Without the
	// block, row 6 would delete B's copy.
	in := &mappingInput{inStatus: true, rows: []status.Row{*row("x", "H1", "H1", "H1")}}
	in.side[A].exists, in.side[B].exists = true, true
	in.side[A].listed, in.side[B].listed = 1, 1
	in.side[B].items = []*ItemState{st("b", "x", "H1")}
	in.unfetchable = []Unfetchable{{Side: A, Href: "c/x.a", Ident: "x"}}
	m := &MappingPlan{}
	decide(m, in, policy{})
	if len(m.Items) != 0 {
		t.Fatalf("planned %v for an unfetchable ident", label(m.Items[0]))
	}
}

func TestDeletedCollectionKeepsChangedItems(t *testing.T) {
	// A's collection is gone; B has one unchanged and one new item; on_empty sync.
	in := &mappingInput{inStatus: true, rows: []status.Row{*row("x", "H1", "H1", "H1")}}
	in.side[B].exists = true
	in.side[B].listed = 2
	in.side[B].items = []*ItemState{st("b", "x", "H1"), st("b", "y", "H9")}
	m := &MappingPlan{}
	decide(m, in, policy{onEmptySync: true})
	if m.Action != CollDeleteB {
		t.Fatalf("action %v", m.Action)
	}
	if len(m.Items) != 1 || label(m.Items[0]) != "delete on b" {
		t.Fatalf("items %v", m.Items)
	}
	if !m.ReasonIsError || !strings.Contains(m.Reason, "b has 1 items changed since; not deleted") {
		t.Fatalf("reason %q", m.Reason)
	}
}

func TestReadOnlySkip(t *testing.T) {
	in := &mappingInput{}
	in.side[A].exists, in.side[B].exists = true, true
	in.side[A].listed = 1
	in.side[A].items = []*ItemState{st("a", "x", "H1")}
	m := &MappingPlan{}
	decide(m, in, policy{readOnly: [2]bool{false, true}})
	if len(m.Items) != 1 || label(m.Items[0]) != "skip (read-only b) create on b" {
		t.Fatalf("got %v", m.Items)
	}
}

// TestPropTable covers every row of sync.md §12 and §11.3.
func TestPropTable(t *testing.T) {
	type v struct {
		val string
		has bool
	}
	none := v{}
	val := func(s string) v { return v{s, true} }
	cases := []struct {
		name    string
		a, b, s v
		pol     policy
		want    string
	}{
		{"forget", none, none, val("1"), policy{}, "property n: forget"},
		{"new on b", none, val("1"), none, policy{}, `property n: write to a "1"`},
		{"new on a", val("1"), none, none, policy{}, `property n: write to b "1"`},
		{"removed on a", none, val("1"), val("1"), policy{}, "property n: delete on b"},
		{"removed on a, changed on b", none, val("2"), val("1"), policy{}, `property n: write to a "2"`},
		{"removed on b", val("1"), none, val("1"), policy{}, "property n: delete on a"},
		{"removed on b, changed on a", val("2"), none, val("1"), policy{}, `property n: write to b "2"`},
		{"equal new", val("1"), val("1"), none, policy{}, "property n: record"},
		{"conflict new", val("1"), val("2"), none, policy{}, `property n: conflict "1" vs "2"`},
		{"unchanged", val("1"), val("1"), val("1"), policy{}, ""},
		{"changed identically", val("2"), val("2"), val("1"), policy{}, "property n: record"},
		{"changed on b", val("1"), val("2"), val("1"), policy{}, `property n: write to a "2"`},
		{"changed on a", val("2"), val("1"), val("1"), policy{}, `property n: write to b "2"`},
		{"conflict", val("2"), val("3"), val("1"), policy{}, `property n: conflict "2" vs "3"`},
		{"conflict keep a", val("2"), val("3"), val("1"), policy{keep: config.ResolveKeepA}, `property n: keep a: write to b "2"`},
		{"conflict keep b", val("2"), val("3"), val("1"), policy{keep: config.ResolveKeepB}, `property n: keep b: write to a "3"`},
		{"read-only b", val("1"), none, none, policy{readOnly: [2]bool{false, true}}, `property n: skip (read-only b) write to b "1"`},
		{"one_way write", val("1"), val("2"), val("2"), policy{oneWay: true}, `property n: write to b "1"`},
		{"one_way create", val("1"), none, none, policy{oneWay: true}, `property n: write to b "1"`},
		{"one_way delete", none, val("2"), val("2"), policy{oneWay: true}, "property n: delete on b"},
		{"one_way record", val("1"), val("1"), none, policy{oneWay: true}, "property n: record"},
		{"one_way nothing", val("1"), val("1"), val("1"), policy{oneWay: true}, ""},
		{"one_way forget", none, none, val("1"), policy{oneWay: true}, "property n: forget"},
	}
	for _, c := range cases {
		in := &mappingInput{statusProps: map[string]string{}}
		in.side[A].props, in.side[B].props = map[string]string{}, map[string]string{}
		set := func(m map[string]string, x v) {
			if x.has {
				m["n"] = x.val
			}
		}
		set(in.side[A].props, c.a)
		set(in.side[B].props, c.b)
		set(in.statusProps, c.s)
		got := decideProps(in, c.pol)
		var gotLabel string
		if len(got) == 1 {
			gotLabel = propLabel(got[0])
		} else if len(got) > 1 {
			t.Fatalf("%s: %d actions", c.name, len(got))
		}
		if gotLabel != c.want {
			t.Errorf("%s: got %q, want %q", c.name, gotLabel, c.want)
		}
	}
}

// TestLostAnswers covers issue 9 item 1: an upload of an earlier run whose answer never
// arrived, followed by anything the user did on either side, is planned as if the
// upload had been recorded (the server's re-serialised copy counting as ours).
func TestLostAnswers(t *testing.T) {
	orig := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:1\r\nSUMMARY:Hello\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	reordered := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nDTSTAMP:2\r\nSUMMARY:Hel\r\n lo\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	editedOnB := strings.Replace(reordered, "Hel\r\n lo", "Bye", 1)
	editedOnA := strings.Replace(orig, "Hello", "Hello again", 1)
	old := strings.Replace(orig, "Hello", "Hi", 1)
	item := func(side, text, etag string) *ItemState {
		it := storage.MustItem(text)
		return &ItemState{Href: "c/x." + side, ETag: etag, Ident: "x", Hash: it.Hash(), Item: &it}
	}
	h := func(text string) string { return storage.MustItem(text).Hash() }
	created := map[string]map[status.Side]status.Pending{"x": {status.SideB: {Ident: "x", Side: status.SideB,
		Hash: h(orig), Fingerprint: storage.Fingerprint(orig), Create: true, SrcHref: "c/x.a", SrcETag: "a1"}}}
	updated := map[string]map[status.Side]status.Pending{"x": {status.SideB: {Ident: "x", Side: status.SideB,
		Hash: h(orig), Fingerprint: storage.Fingerprint(orig), SrcHref: "c/x.a", SrcETag: "a1", TgtHref: "c/x.b", TgtETag: "b0"}}}
	oldRecord := map[string]map[status.Side]status.Pending{"x": {status.SideB: {Ident: "x", Side: status.SideB, Hash: h(orig)}}}
	synced := &status.Row{Ident: "x", Hash: h(old), HrefA: "c/x.a", ETagA: "a0", HrefB: "c/x.b", ETagB: "b0"}
	// unchangedB is B as listed when its etag still matches the status: known from it.
	unchangedB := &ItemState{Href: "c/x.b", ETag: "b0", Ident: "x", Hash: h(old)}
	cases := []struct {
		name    string
		a, b    *ItemState
		s       *status.Row
		pending map[string]map[status.Side]status.Pending
		want    string
		recover bool
	}{
		{"create, untouched", item("a", orig, "a1"), item("b", reordered, "b1"), nil, created, "record", false},
		{"create, deleted locally", nil, item("b", reordered, "b1"), nil, created, "delete on b", true},
		{"create, edited locally", item("a", editedOnA, "a2"), item("b", reordered, "b1"), nil, created, "update on b", true},
		{"create, edited on the server", item("a", orig, "a1"), item("b", editedOnB, "b2"), nil, created, "update on a", true},
		{"create, never arrived", item("a", orig, "a1"), nil, nil, created, "create on b", false},
		{"no record: a conflict as before", item("a", orig, "a1"), item("b", reordered, "b1"), nil, nil, "conflict", false},
		{"update, untouched", item("a", orig, "a1"), item("b", reordered, "b1"), synced, updated, "record", false},
		{"update, edited locally", item("a", editedOnA, "a2"), item("b", reordered, "b1"), synced, updated, "update on b", true},
		{"update, deleted locally", nil, item("b", reordered, "b1"), synced, updated, "delete on b", true},
		{"update, not applied", item("a", orig, "a1"), unchangedB, synced, updated, "update on b", false},
		{"update, overwritten on the server: both may have changed", item("a", orig, "a1"), item("b", editedOnB, "b2"), synced, updated, "conflict", false},
		{"record of an older version", item("a", orig, "a1"), item("b", reordered, "b1"), nil, oldRecord, "record", false},
	}
	for _, c := range cases {
		in := &mappingInput{pending: c.pending, inStatus: c.s != nil}
		if c.s != nil {
			in.rows = []status.Row{*c.s}
		}
		in.side[A].exists, in.side[B].exists = true, true
		for s, it := range [2]*ItemState{c.a, c.b} {
			if it != nil {
				in.side[s].items = []*ItemState{it}
				in.side[s].listed = 1
			}
		}
		m := &MappingPlan{}
		decide(m, in, policy{onEmptySync: true}) // one-item collections: no on_empty guard
		if len(m.Items) != 1 || label(m.Items[0]) != c.want {
			t.Errorf("%s: got %v, want %s", c.name, m.Items, c.want)
			continue
		}
		act := m.Items[0]
		if (act.Recover != nil) != c.recover {
			t.Errorf("%s: recover = %v, want %v", c.name, act.Recover, c.recover)
		}
		if act.Recover != nil && (act.Recover.Hash != h(orig) || act.Recover.HrefA != "c/x.a" || act.Recover.ETagA != "a1" || act.Recover.ETagB != c.b.ETag) {
			t.Errorf("%s: recovered row %+v", c.name, act.Recover)
		}
		if c.want == "record" {
			if got := act.RecordHash; got != h(orig) {
				t.Errorf("%s: record hash %q, want the hash of what was written", c.name, got)
			}
		}
	}
}

// Two mappings that claim the same href on one side stop the pair with a message naming
// both collections, the side, the storage and what to do.
func TestConflictingMappingsNamed(t *testing.T) {
	cfg := &config.Pair{Name: "p", Collections: []string{config.CollectionsFromA},
		Explicit: []config.Mapping{{Alias: "mine", IDA: "cal", IDB: "other"}}}
	a, b := memstore.New(storage.Calendars), memstore.New(storage.Calendars)
	disc := [2][]storage.Collection{{{ID: "cal", Href: "cal"}}, {{ID: "cal", Href: "cal"}, {ID: "other", Href: "other"}}}
	_, err := resolveMappings(cfg, disc, [2]bool{true, true}, [2]storage.Storage{a, b}, [2]string{"local", "remote"})
	if err == nil {
		t.Fatal("conflicting mappings accepted")
	}
	for _, want := range []string{"collection cal (a: cal, b: cal)", "collection mine (a: cal, b: other)", "side a (storage local)", "collection {"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
