package present

import (
	"errors"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
)

func item(t *testing.T, uid, summary string) *storage.Item {
	t.Helper()
	it, err := storage.ParseItem([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:"+uid+"\r\nSUMMARY:"+summary+"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), storage.Calendars)
	if err != nil {
		t.Fatal(err)
	}
	return &it
}

func state(t *testing.T, href, uid, summary string) *engine.ItemState {
	it := item(t, uid, summary)
	return &engine.ItemState{Href: href, Ident: uid, Hash: it.Hash(), Item: it}
}

// The line format of sync.md §14.1, every label kind in it.
func TestWritePlan(t *testing.T) {
	p := &engine.Pair{Name: "cal"}
	plans := []*engine.PairPlan{
		{Pair: p, Mappings: []*engine.MappingPlan{{
			Alias: "work", HrefA: "work", HrefB: "/dav/work/", Action: engine.CollCreateB,
			Items: []*engine.ItemAction{
				{Verb: engine.VerbCreate, Target: engine.B, Ident: "x1", A: state(t, "work/x1.ics", "x1", "One")},
				{Verb: engine.VerbUpdate, Target: engine.A, Ident: "x2", Keep: "b",
					A: state(t, "work/x2.ics", "x2", "Two"), B: state(t, "/dav/work/x2.ics", "x2", "Two (b)")},
				{Verb: engine.VerbDelete, Target: engine.B, Ident: "x3", Skip: "read-only b", B: state(t, "/dav/work/x3.ics", "x3", "")},
				{Verb: engine.VerbConflict, Ident: "x4", A: state(t, "work/x4.ics", "x4", "Four"), B: state(t, "/dav/work/x4.ics", "x4", "Four")},
			},
			Props: []*engine.PropAction{
				{Name: "displayname", Verb: engine.VerbUpdate, Target: engine.B, A: "Work", HasA: true},
				{Name: "color", Verb: engine.VerbConflict, A: "#fff", B: "#000"},
			},
			Unfetchable: []engine.Unfetchable{{Side: engine.A, Href: "work/bad.ics", Err: errors.New("line 3: no END")}},
		}}},
		{Pair: &engine.Pair{Name: "quiet"}},
		{Pair: &engine.Pair{Name: "broken"}, Err: errors.New("storage b: unreachable")},
	}
	var b strings.Builder
	if err := WritePlan(&b, plans); err != nil {
		t.Fatal(err)
	}
	want := `pair cal
  collection work (a: work, b: /dav/work/): create on b
    cannot read work/bad.ics on a: line 3: no END
    create on b        x1                   "One"            from a: work/x1.ics
    keep b: update on a x2                   "Two"            a: work/x2.ics
    skip (read-only b) delete on b x3                                    b: /dav/work/x3.ics
    conflict           x4                   "Four"           a: work/x4.ics  b: /dav/work/x4.ics
    property displayname: write to b "Work"
    property color: conflict "#fff" vs "#000"
pair quiet: no changes
pair broken: error: storage b: unreachable
`
	if got := b.String(); got != want {
		t.Errorf("WritePlan:\n%s\nwant:\n%s", got, want)
	}
	errs := PlanErrors(plans)
	if len(errs) != 2 || errs[0] != "cal/work: cannot read work/bad.ics on a: line 3: no END" || errs[1] != "storage b: unreachable" {
		t.Errorf("PlanErrors: %q", errs)
	}
}

func TestCollectionLabels(t *testing.T) {
	for act, want := range map[engine.CollAction]string{
		engine.CollNone: "none", engine.CollRecord: "record mapping", engine.CollCreateA: "create on a",
		engine.CollCreateAB: "create on both", engine.CollDeleteB: "delete on b",
	} {
		if got := CollectionLabel(&engine.MappingPlan{Action: act}); got != want {
			t.Errorf("%v: %q, want %q", act, got, want)
		}
	}
	if got := CollectionLabel(&engine.MappingPlan{Action: engine.CollSkipped, Reason: "b is read-only"}); got != "skipped: b is read-only" {
		t.Errorf("skipped: %q", got)
	}
}

func TestMappingSummary(t *testing.T) {
	if got := MappingSummary(&engine.MappingResult{Alias: "work"}, "cal"); got != "" {
		t.Errorf("nothing happened, yet: %q", got)
	}
	r := &engine.MappingResult{Alias: "work", Counts: [2]engine.Counts{{Created: 1}, {Deleted: 2}},
		PropsWritten: [2][]string{nil, {"displayname"}}, Conflicts: 1, Errors: []error{errors.New("x")}}
	want := "cal/work: a +1 ~0 -0, b +0 ~0 -2; property displayname written to b; 1 conflict (run: pimsync resolve-conflicts cal); 1 error"
	if got := MappingSummary(r, "cal"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
