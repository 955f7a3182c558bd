package conflicts

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/config"
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
	p.Viewer.Loc = time.UTC
	p.Open(common.All)
	return c, p
}

// stored gives the in-memory storages of pair cal the versions of the setup, so that
// the engine finds them when it reads them again.
func stored(c *common.Common) (a, b *memstore.Store) {
	a, b = c.Svc.Pairs[0].A.(*memstore.Store), c.Svc.Pairs[0].B.(*memstore.Store)
	for _, st := range []*memstore.Store{a, b} {
		st.AddCollection("work")
	}
	a.Put("work/dentist.ics", dentistA.Text())
	b.Put("work/dentist.ics", dentistB.Text())
	a.Put("work/lunch.ics", lunchA.Text())
	b.Put("work/lunch.ics", lunchB.Text())
	return a, b
}

// run runs a command and feeds every message it makes (batches included) to the page,
// until no command is left; messages for other parts of the TUI are returned.
func run(p *Page, cmd tea.Cmd) []tea.Msg {
	var others []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case common.ConflictLoadedMsg, common.ConflictResultMsg:
			queue = append(queue, p.Update(msg))
		case nil:
		default:
			others = append(others, msg)
		}
	}
	return others
}

func item(s *memstore.Store, href string) string { return s.Snapshot()["work"].Items[href] }

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
		"! DTSTART  ✓ 2025-01-01 Wed 16:00", "≠   2025-01-01 Wed 10:00",
		">! SUMMARY  ✓ Dentist", "≠   Dentist (bring X-rays)",
		// The attendees aligned by address: Anna on both sides, Bob only on a.
		"   ATTENDEE   anna@example.org   anna@example.org", " !          ✓ bob@example.org ≠",
		"  UID        dentist", "✓ = chosen", "r: raw text",
		// The preview: a's version until something is picked.
		"result · 3 from a · 0 from b", "a▸ SUMMARY:Dentist")
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
	for _, k := range []string{"b", "e", "n", "esc", "K", "enter", "u"} {
		if got := p.Update(pagetest.Key(k)); got != nil || !p.Viewing {
			t.Fatalf("%s while working: %v", k, got)
		}
	}
	after := versions(p, dentistA, dentistA)
	cmd = p.Update(common.ConflictResultMsg{ID: p.opID, Action: "keep a", Versions: after, Sides: []engine.Side{engine.B}, Runs: []string{"r1"}})
	// The viewer moves on to the next conflict, read again, with the undo on offer.
	if !p.Viewing || p.current.label() != "lunch" || !p.Loading || cmd == nil {
		t.Fatalf("did not move on to lunch: viewing %v, %s", p.Viewing, p.current.label())
	}
	has(t, p.View(80, 18), "Conflict 2/2 · cal/work · lunch", "Resolved dentist: kept a; uploaded to b. u: undo")
	if p.last == nil || p.last.entry.label() != "dentist" || len(p.last.runs) != 1 {
		t.Fatalf("no undo on offer: %+v", p.last)
	}
	p.Update(common.ConflictLoadedMsg{ID: p.opID, Versions: versions(p, lunchA, lunchB)})
	has(t, p.View(80, 18), "LOCATION ✓ Cafe ≠ Canteen")
	p.Update(pagetest.Key("esc"))
	has(t, p.View(80, 18), "resolved (kept a): uploaded to b")
	// Resolved: keeping it again does nothing.
	p.Update(pagetest.Key("k"))
	p.Update(pagetest.Key("enter"))
	if p.current.label() != "dentist" || p.Update(pagetest.Key("b")) != nil {
		t.Fatal("b on a resolved conflict started something")
	}
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
	if strings.Contains(view, "result ·") {
		t.Errorf("the preview is shown with the raw text:\n%s", view)
	}
	p.Update(pagetest.Key("r"))
	has(t, p.View(80, 18), "r: raw text", "! SUMMARY ")
	// n skips to the next conflict, which is read again.
	if cmd := p.Update(pagetest.Key("n")); cmd == nil || !p.Loading {
		t.Fatal("n did not open the next conflict")
	}
	has(t, p.View(80, 18), "Conflict 2/2 · cal/work · lunch", "Skipped dentist.")
	p.Update(common.ConflictLoadedMsg{ID: p.opID, Versions: versions(p, lunchA, lunchB)})
	// n on the last one: the skipped one is not offered again; the summary.
	p.Update(pagetest.Key("n"))
	if p.Viewing || !p.Summary {
		t.Fatal("still viewing after the last conflict")
	}
	has(t, p.View(80, 18), "Done: 0 resolved, 2 skipped. Open one with enter.", "Skipped lunch.", "> cal/work  lunch",
		"dentist  \"Dentist\"  skipped, still pending")
	// A skipped conflict can still be opened from the list.
	if cmd := p.Update(pagetest.Key("enter")); cmd == nil || !p.Viewing || p.current.label() != "lunch" {
		t.Fatal("enter on a skipped conflict")
	}
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
	// The only conflict: the summary, without an undo (properties are not kept in the
	// trash).
	if p.Viewing || !p.Summary || p.last != nil {
		t.Fatalf("viewing %v, summary %v, undo %v", p.Viewing, p.Summary, p.last)
	}
	has(t, p.View(80, 18), "Done: 1 resolved, 0 skipped.", "Resolved property displayname: kept b; uploaded to a. (A collection property has no undo.)")
}

// Choosing per property: the arrows pick a side for the row under the cursor, + keeps
// both values of a set, enter uploads the result through the engine to both sides; the
// viewer moves on; u puts both versions back and opens the conflict again.
func TestChoosePerPropertyApplyAndUndo(t *testing.T) {
	c, p := setup(t)
	a, b := stored(c)
	p.Update(pagetest.Key("enter"))
	run(p, func() tea.Msg { return pagetest.Msg(c.Svc.Refetch(p.current.Conflict, p.opID)) })
	if p.Versions == nil {
		t.Fatal("versions not loaded")
	}
	// SUMMARY → b; DTSTART stays a; ATTENDEE → both values.
	p.Update(pagetest.Key("right"))
	p.Update(pagetest.Key("down"))
	p.Update(pagetest.Key("down"))
	p.Update(pagetest.Key("+"))
	view := p.View(80, 22)
	has(t, view, "result · 1 from a · 1 from b · 1 with both", " ! SUMMARY    Dentist ≠ ✓ Dentist (bring X-rays)",
		"a▸ ATTENDEE:mailto:anna@example.org", "a▸ ATTENDEE:mailto:bob@example.org")
	// + on a single value says why not.
	p.Update(pagetest.Key("up"))
	p.Update(pagetest.Key("+"))
	has(t, p.View(80, 22), "DTSTART has one value: take a's (←) or b's (→).")
	p.Update(pagetest.Key("right"))
	p.Update(pagetest.Key("left")) // back to a's
	cmd := p.Update(pagetest.Key("enter"))
	if cmd == nil || p.Working != "choice per property" {
		t.Fatal("enter did not apply the choices")
	}
	has(t, p.View(80, 22), "applying your choices")
	others := run(p, cmd)
	want := strings.Replace(dentistA.Text(), "SUMMARY:Dentist\r\n", "SUMMARY:Dentist (bring X-rays)\r\n", 1)
	for name, st := range map[string]*memstore.Store{"a": a, "b": b} {
		if got := item(st, "work/dentist.ics"); got != want {
			t.Errorf("%s holds\n%s\nwant\n%s", name, got, want)
		}
	}
	if len(others) != 1 || others[0] != (common.RefreshMsg{Pair: 0}) {
		t.Errorf("messages for the rest of the TUI: %#v", others)
	}
	if !p.Viewing || p.current.label() != "lunch" {
		t.Fatalf("did not move on: %s", p.current.label())
	}
	has(t, p.View(80, 22), "Resolved dentist: your choices, 1 from a, 1 from b, 1 with both values; uploaded to a and b. u: undo")

	// u: both versions come back, the conflict is shown again.
	cmd = p.Update(pagetest.Key("u"))
	if cmd == nil || p.Working != "undo" {
		t.Fatal("u did not start the undo")
	}
	run(p, cmd)
	if got := item(a, "work/dentist.ics"); got != dentistA.Text() {
		t.Errorf("a after undo:\n%s", got)
	}
	if got := item(b, "work/dentist.ics"); got != dentistB.Text() {
		t.Errorf("b after undo:\n%s", got)
	}
	if !p.Viewing || p.current.label() != "dentist" || p.current.Result != "" || p.last != nil {
		t.Fatalf("after undo: viewing %v %s %q", p.Viewing, p.current.label(), p.current.Result)
	}
	has(t, p.View(80, 22), "Undone: dentist has both versions back (2 writes reverted); choose again.", "Conflict 1/2")
	if p.Update(pagetest.Key("u")) != nil {
		t.Fatal("a second u started something")
	}
}

// Keep both: b's version becomes a conflict copy, a's is kept under the UID; the undo
// removes the copy and puts b's version back.
func TestKeepBothAndUndo(t *testing.T) {
	c, p := setup(t)
	a, b := stored(c)
	p.Update(pagetest.Key("enter"))
	run(p, func() tea.Msg { return pagetest.Msg(c.Svc.Refetch(p.current.Conflict, p.opID)) })
	cmd := p.Update(pagetest.Key("K"))
	if cmd == nil || p.Working != "keep both" {
		t.Fatal("K did not start keep both")
	}
	run(p, cmd)
	copyUID := engine.CopyUID("dentist", dentistB.Hash())
	snap := b.Snapshot()["work"].Items
	if len(snap) != 3 || snap["work/dentist.ics"] != dentistA.Text() {
		t.Fatalf("b holds %v", snap)
	}
	var copied string
	for _, text := range snap {
		if strings.Contains(text, "UID:"+copyUID+"\r\n") {
			copied = text
		}
	}
	if !strings.Contains(copied, "SUMMARY:Dentist (bring X-rays) (conflict copy)\r\n") {
		t.Fatalf("no conflict copy on b:\n%v", snap)
	}
	if item(a, "work/dentist.ics") != dentistA.Text() {
		t.Error("a changed")
	}
	has(t, p.View(80, 22), "Resolved dentist: kept both (b's as a conflict copy); uploaded to b. u: undo")
	run(p, p.Update(pagetest.Key("u")))
	snap = b.Snapshot()["work"].Items
	if len(snap) != 2 || snap["work/dentist.ics"] != dentistB.Text() {
		t.Fatalf("b after undo holds %v", snap)
	}
	has(t, p.View(80, 22), "Undone: dentist has both versions back (2 writes reverted)")
}

// An undo that would revert something else (the pair wrote since) is refused.
func TestUndoRefusesAfterOtherWrites(t *testing.T) {
	c, p := setup(t)
	a, b := stored(c)
	p.Update(pagetest.Key("enter"))
	run(p, func() tea.Msg { return pagetest.Msg(c.Svc.Refetch(p.current.Conflict, p.opID)) })
	run(p, p.Update(pagetest.Key("b")))
	if item(a, "work/dentist.ics") != dentistB.Text() || p.last == nil {
		t.Fatal("keep b did not write a")
	}
	// Another write of the pair since (another process resolving lunch).
	if _, _, err := c.Svc.Engine.Resolve(t.Context(), p.current.Conflict, engine.KeepSide{Side: engine.A}); err != nil {
		t.Fatal(err)
	}
	run(p, p.Update(pagetest.Key("u")))
	has(t, p.View(80, 22), "Not undone: pair cal has written since that choice", "pimsync trash list cal")
	if item(a, "work/dentist.ics") != dentistB.Text() || item(b, "work/lunch.ics") != lunchA.Text() {
		t.Error("the refused undo wrote")
	}
}

// The choice keys on a property conflict and on versions that cannot be aligned.
func TestChoiceKeysWithoutChoices(t *testing.T) {
	_, p := setup(t)
	broken := storage.MustItem("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:dentist\r\nSUMMARY:x\r\nEND:VCALENDAR\r\n")
	open(t, p, dentistA, broken)
	for _, k := range []string{"right", "+", " ", "enter"} {
		if p.Update(pagetest.Key(k)) != nil {
			t.Fatalf("%q started something", k)
		}
		has(t, p.View(80, 18), "keep a (a), keep b (b), keep both (K) or use the merge tool (e).")
	}
}

// After the last conflict, the summary still offers the undo of the last choice.
func TestUndoFromTheSummary(t *testing.T) {
	c, p := setup(t)
	_, b := stored(c)
	p.Update(pagetest.Key("enter"))
	run(p, func() tea.Msg { return pagetest.Msg(c.Svc.Refetch(p.current.Conflict, p.opID)) })
	run(p, p.Update(pagetest.Key("n"))) // skip dentist
	run(p, p.Update(pagetest.Key("a"))) // keep a for lunch: the summary
	if p.Viewing || !p.Summary || item(b, "work/lunch.ics") != lunchA.Text() {
		t.Fatal("not on the summary after keeping a for lunch")
	}
	has(t, p.View(80, 18), "Done: 1 resolved, 1 skipped. Open one with enter.", "Resolved lunch: kept a; uploaded to b. u: undo")
	cmd := p.Update(pagetest.Key("u"))
	if cmd == nil {
		t.Fatal("u on the summary did nothing")
	}
	has(t, p.View(80, 18), "undo: putting back what the last choice replaced")
	run(p, cmd)
	if item(b, "work/lunch.ics") != lunchB.Text() {
		t.Errorf("b's lunch after undo: %q", item(b, "work/lunch.ics"))
	}
	if !p.Viewing || p.current.label() != "lunch" {
		t.Fatal("the undone conflict is not shown again")
	}
	has(t, p.View(80, 18), "Conflict 2/2 · cal/work · lunch", "Undone: lunch has both versions back (1 write reverted)")
}
