package conflicts

import (
	"errors"
	"fmt"
	"github.com/pimsync-go/pimsync/config"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// newCommon is pagetest.New over in-memory storages.
func newCommon(t *testing.T) *common.Common {
	return pagetest.New(t, func(k storage.Kind) storage.Storage { return memstore.New(k) })
}

func has(t *testing.T, view string, wants ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(view), " ")
	for _, w := range wants {
		// Wrapped lines count: compare with the blanks and line breaks collapsed too.
		if !strings.Contains(view, w) && !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
			t.Errorf("view lacks %q:\n%s", w, view)
		}
	}
}

var (
	dentistA = pagetest.Event("dentist", "Dentist", "DTSTART:20250101T160000", "ATTENDEE:mailto:anna@example.org", "ATTENDEE:mailto:bob@example.org")
	dentistB = pagetest.Event("dentist", "Dentist (bring X-rays)", "DTSTART:20250101T100000", "ATTENDEE:mailto:anna@example.org")
	lunchA   = pagetest.Event("lunch", "Lunch", "LOCATION:Cafe")
	lunchB   = pagetest.Event("lunch", "Lunch", "LOCATION:Canteen")
)

// setup puts two conflicts (cal/work dentist and lunch) into the store.
func setup(t *testing.T) (*common.Common, *Page) {
	c := newCommon(t)
	pagetest.SetPlan(c, 0, pagetest.Mapping("work", [2]int{2, 2},
		pagetest.Action(engine.VerbConflict, 0, dentistA, dentistB, "work"),
		pagetest.Action(engine.VerbConflict, 0, lunchA, lunchB, "work")))
	p := New(c)
	p.Open(common.All)
	return c, p
}

func versions(p *Page, a, b storage.Item) *engine.Versions {
	e := p.current.Conflict
	return &engine.Versions{Pair: e.Pair.Pair, Mapping: e.Mapping, Ident: a.Ident(),
		A: pagetest.State(e.Action.A.Href, a), B: pagetest.State(e.Action.B.Href, b)}
}

func TestListAndOpen(t *testing.T) {
	c, p := setup(t)
	for _, st := range []storage.Storage{c.Svc.Pairs[0].A, c.Svc.Pairs[0].B} {
		st.(*memstore.Store).AddCollection("work")
	}
	if len(p.Entries) != 2 {
		t.Fatalf("%d entries", len(p.Entries))
	}
	view := p.View(80, 18)
	has(t, view, "Conflicts (2)", `> cal/work  dentist  "Dentist"`, "differs in SUMMARY, DTSTART, ATTENDEE", `  cal/work  lunch    "Lunch"`)
	p.Update(pagetest.Key("j"))
	p.Update(pagetest.Key("k"))
	cmd := p.Update(pagetest.Key("enter"))
	if cmd == nil || !p.Viewing || !p.Loading || !p.Busy() {
		t.Fatal("enter did not open the viewer")
	}
	has(t, p.View(80, 18), "Conflict 1/2 · cal/work · dentist", "reading both versions")
	// The command re-reads both versions through the engine: the in-memory
	// collections do not have them (any more), so the conflict is gone.
	if msg, ok := cmd().(common.ConflictLoadedMsg); !ok || !errors.Is(msg.Err, engine.ErrConflictGone) {
		t.Fatalf("refetch: %#v", msg)
	}
	// A stale answer is ignored; the current one is shown.
	p.Update(common.ConflictLoadedMsg{ID: p.opID - 1, Versions: versions(p, lunchA, lunchB)})
	if !p.Loading {
		t.Fatal("took a stale answer")
	}
	p.Update(common.ConflictLoadedMsg{ID: p.opID, Versions: versions(p, dentistA, dentistB)})
	view = p.View(80, 18)
	has(t, view,
		"a: cal_a", "b: cal_b",
		"! DTSTART  2025-01-01 Wed 16:00", "≠ 2025-01-01 Wed 10:00",
		"! SUMMARY  Dentist", "≠ Dentist (bring X-rays)",
		"! ATTENDEE mailto:anna@example.org", "!          mailto:bob@example.org",
		"  UID      dentist", "r: raw text")
	// esc goes back to the list, esc again to the overview.
	p.Update(pagetest.Key("esc"))
	if p.Viewing {
		t.Fatal("still viewing")
	}
	if got := pagetest.Msg(p.Update(pagetest.Key("esc"))); got != (common.BackMsg{}) {
		t.Fatalf("esc from the list: %#v", got)
	}
}

func open(t *testing.T, p *Page, a, b storage.Item) {
	t.Helper()
	p.Update(pagetest.Key("enter"))
	p.Update(common.ConflictLoadedMsg{ID: p.opID, Versions: versions(p, a, b)})
}

func TestKeepAAndResult(t *testing.T) {
	_, p := setup(t)
	open(t, p, dentistA, dentistB)
	cmd := p.Update(pagetest.Key("a"))
	if cmd == nil || p.Working != "keep a" {
		t.Fatal("a did not start keep a")
	}
	// While it works, other actions wait.
	for _, k := range []string{"b", "e", "n", "esc"} {
		if got := p.Update(pagetest.Key(k)); got != nil || !p.Viewing {
			t.Fatalf("%s while working: %v", k, got)
		}
	}
	after := versions(p, dentistA, dentistA)
	cmd = p.Update(common.ConflictResultMsg{ID: p.opID, Action: "keep a", Versions: after, Sides: []engine.Side{engine.B}})
	if got := pagetest.Msg(cmd); got != (common.RefreshMsg{Pair: 0}) {
		t.Fatalf("after resolving: %#v", got)
	}
	view := p.View(80, 18)
	has(t, view, "Resolved: kept a; uploaded to b. The next sync records it.", "both sides hold the same version")
	if strings.Contains(view, "! SUMMARY") {
		t.Errorf("the resolved view still shows differences:\n%s", view)
	}
	// Resolved: keeping again does nothing.
	if p.Update(pagetest.Key("b")) != nil {
		t.Fatal("b after resolving started something")
	}
	p.Update(pagetest.Key("esc"))
	has(t, p.View(80, 18), "resolved (kept a): uploaded to b")
}

func TestChangedSinceShown(t *testing.T) {
	_, p := setup(t)
	open(t, p, dentistA, dentistB)
	p.Update(pagetest.Key("b"))
	newer := pagetest.Event("dentist", "Dentist (moved again)")
	p.Update(common.ConflictResultMsg{ID: p.opID, Action: "keep b", Changed: true, Versions: versions(p, dentistA, newer)})
	has(t, p.View(80, 18), "One side changed since it was shown, so nothing was written", "Dentist (moved again)")
	if p.current.Result != "" {
		t.Fatal("marked resolved")
	}
	// It can be resolved now.
	if p.Update(pagetest.Key("b")) == nil {
		t.Fatal("b after a change does nothing")
	}
}

func TestErrors(t *testing.T) {
	_, p := setup(t)
	open(t, p, dentistA, dentistB)
	p.Update(pagetest.Key("a"))
	p.Update(common.ConflictResultMsg{ID: p.opID, Action: "keep a", Err: fmt.Errorf("updating x on storage cal_b: %w", storage.ErrPrecondition)})
	has(t, p.View(80, 18), "error: updating x on storage cal_b:")
	if !p.current.Failed || p.current.Result != "" {
		t.Fatal("a failed resolution is not pending and failed")
	}
	p.Update(pagetest.Key("a"))
	p.Update(common.ConflictResultMsg{ID: p.opID, Action: "keep a", Err: engine.ErrConflictSolved})
	has(t, p.View(80, 18), "Nothing to resolve: both sides are now equal")
	p.Update(pagetest.Key("esc"))
	has(t, p.View(80, 18), "solved: both sides are now equal")
}

func TestNoMergeTool(t *testing.T) {
	_, p := setup(t)
	open(t, p, dentistA, dentistB)
	if p.Update(pagetest.Key("e")) != nil {
		t.Fatal("e without a merge tool started something")
	}
	has(t, p.View(80, 18), "No merge tool is configured: add", "`conflict_resolution cmd PROGRAM [ARG…]`", "pair cal.")
}

func TestMergeToolRunsThroughTheBus(t *testing.T) {
	c, p := setup(t)
	pr := c.Svc.Pairs[0]
	pr.Config.ConflictResolution, pr.Config.ResolverCmd = config.ResolveCmd, []string{"true"}
	// Give the in-memory storages the two versions, so that the re-read finds them.
	a, b := pr.A.(*memstore.Store), pr.B.(*memstore.Store)
	a.AddCollection("work")
	b.AddCollection("work")
	a.Put("work/dentist.ics", dentistA.Text())
	b.Put("work/dentist.ics", dentistB.Text())
	open(t, p, dentistA, dentistB)
	cmd := p.Update(pagetest.Key("e"))
	if cmd == nil || p.Working != "merge tool" {
		t.Fatal("e did not start the merge tool")
	}
	has(t, p.View(80, 18), "running the merge tool")
	done := make(chan any, 1)
	go func() { done <- cmd() }()
	// The command asks the loop to run the tool on the terminal.
	var req common.ExecRequest
	for req.Cmd == nil {
		for _, it := range c.Svc.Bus.Drain() {
			if r, ok := it.(common.ExecRequest); ok {
				req = r
			}
		}
	}
	if args := req.Cmd.Args; len(args) != 3 || args[0] != "true" || !strings.HasSuffix(args[1], "a-cal_a.ics") || !strings.HasSuffix(args[2], "b-cal_b.ics") {
		t.Fatalf("merge tool command %v", args)
	}
	req.Done <- req.Cmd.Run() // `true` leaves both files as they are: they differ
	msg := (<-done).(common.ConflictResultMsg)
	if !errors.Is(msg.Err, engine.ErrUnresolved) {
		t.Fatalf("result %#v", msg)
	}
	p.Update(msg)
	has(t, p.View(80, 18), "Not resolved, nothing was uploaded", "the two files differ")
	if p.current.Result != "" || p.current.Failed {
		t.Fatal("an unresolved conflict is not pending")
	}
}

func TestSkipAndRaw(t *testing.T) {
	_, p := setup(t)
	open(t, p, dentistA, dentistB)
	p.Update(pagetest.Key("r"))
	view := p.View(80, 18)
	has(t, view, "r: properties", "  BEGIN:VEVENT", "! SUMMARY:Dentist", "≠ SUMMARY:Dentist (bring X-rays)", "! ATTENDEE:mailto:bob@example.org")
	p.Update(pagetest.Key("r"))
	has(t, p.View(80, 18), "r: raw text", "! SUMMARY ")
	// n skips to the next conflict, which is read again.
	if cmd := p.Update(pagetest.Key("n")); cmd == nil || !p.Loading {
		t.Fatal("n did not open the next conflict")
	}
	has(t, p.View(80, 18), "Conflict 2/2 · cal/work · lunch")
	p.Update(common.ConflictLoadedMsg{ID: p.opID, Versions: versions(p, lunchA, lunchB)})
	// n on the last one goes back to the list.
	p.Update(pagetest.Key("n"))
	if p.Viewing {
		t.Fatal("still viewing after the last conflict")
	}
	has(t, p.View(80, 18), "No more conflicts after this one.", "> cal/work  lunch")
}

func TestEmptyAndSizes(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.All)
	has(t, p.View(80, 10), "No pending conflicts.")
	_, p = setup(t)
	open(t, p, dentistA, dentistB)
	for _, sz := range [][2]int{{80, 18}, {40, 8}, {160, 50}, {30, 3}} {
		lines := strings.Split(p.View(sz[0], sz[1]), "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%v: %d lines", sz, len(lines))
		}
		for _, l := range lines {
			if common.Width(l) != sz[0] {
				t.Fatalf("%v: %q", sz, l)
			}
		}
	}
}

// A property conflict is listed with both values, opened without a read, and settled
// by keeping a side: the value is written to the other storage through the engine.
func TestPropertyConflict(t *testing.T) {
	c := newCommon(t)
	m := pagetest.Mapping("work", [2]int{0, 0})
	m.Props = []*engine.PropAction{{Name: "displayname", Verb: engine.VerbConflict, A: "Work", HasA: true, B: "Arbeit", HasB: true}}
	pagetest.SetPlan(c, 0, m)
	a, b := c.Svc.Pairs[0].A.(*memstore.Store), c.Svc.Pairs[0].B.(*memstore.Store)
	a.AddCollection("work")
	b.AddCollection("work")
	ctx := t.Context()
	if err := a.SetProperty(ctx, "work", "displayname", "Work"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetProperty(ctx, "work", "displayname", "Arbeit"); err != nil {
		t.Fatal(err)
	}
	p := New(c)
	p.Open(common.All)
	if len(p.Entries) != 1 {
		t.Fatalf("%d entries", len(p.Entries))
	}
	has(t, p.View(80, 18), "Conflicts (1)", `cal/work  property displayname  a "Work" · b "Arbeit"`)
	if cmd := p.Update(pagetest.Key("enter")); cmd != nil || !p.Viewing || p.Loading {
		t.Fatal("enter did not open the property conflict at once")
	}
	has(t, p.View(80, 18), "Conflict 1/1 · cal/work · property displayname", `a (cal_a): "Work"`, `b (cal_b): "Arbeit"`)
	p.Update(pagetest.Key("e"))
	has(t, p.View(80, 18), "press a or b")
	cmd := p.Update(pagetest.Key("b"))
	if cmd == nil || p.Working != "keep b" {
		t.Fatal("b did not start keep b")
	}
	msg := cmd()
	if r, ok := msg.(common.ConflictResultMsg); !ok || r.Err != nil || len(r.Sides) != 1 || r.Sides[0] != engine.A {
		t.Fatalf("result %#v", msg)
	}
	p.Update(msg)
	if got, _ := a.Properties(ctx, "work"); got["displayname"] != "Arbeit" {
		t.Errorf("a's display name = %q", got["displayname"])
	}
	has(t, p.View(80, 18), "Resolved: kept b; uploaded to a")
}
