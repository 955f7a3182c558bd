package plan

import (
	"errors"
	"fmt"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// newCommon is pagetest.New over in-memory storages.
func newCommon(t *testing.T) *common.Common {
	return pagetest.New(t, func(k storage.Kind) storage.Storage { return memstore.New(k) })
}

func samplePlan(c *common.Common) *engine.PairPlan {
	e1 := pagetest.Event("standup", "Standup")
	e2 := pagetest.Event("old", "Old meeting")
	ca, cb := pagetest.Event("dentist", "Dentist", "DTSTART:20250101T100000"), pagetest.Event("dentist", "Dentist", "DTSTART:20250101T160000")
	work := pagetest.Mapping("work", [2]int{3, 3},
		pagetest.Action(engine.VerbCreate, engine.B, e1, storage.Item{}, "work"),
		pagetest.Action(engine.VerbDelete, engine.A, e2, storage.Item{}, "work"),
		pagetest.Action(engine.VerbConflict, 0, ca, cb, "work"))
	work.Props = []*engine.PropAction{{Name: "color", Verb: engine.VerbUpdate, Target: engine.B, A: "#ff0000", HasA: true}}
	home := pagetest.Mapping("home", [2]int{1, 1})
	return &engine.PairPlan{Pair: c.Svc.Pairs[0], Mappings: []*engine.MappingPlan{work, home}}
}

func TestOpenPlansAndShowsThePlan(t *testing.T) {
	c := newCommon(t)
	c.Spinner = "|"
	p := New(c)
	cmd := p.Open(common.Scope{Pair: 0})
	if cmd == nil || !p.Busy() {
		t.Fatal("Open did not start planning")
	}
	if v := p.View(80, 18); !strings.Contains(v, "| planning") || !strings.Contains(v, "Plan for cal") {
		t.Errorf("while planning:\n%s", v)
	}
	// The command really plans (the pair is empty: nothing to do).
	if msg, ok := cmd().(common.PreviewMsg); !ok || msg.Plan == nil || msg.Plan.Err != nil {
		t.Fatalf("command returned %#v", msg)
	}
	// A stale answer is ignored.
	p.Update(common.PreviewMsg{ID: 99, Plan: samplePlan(c)})
	if !p.Busy() {
		t.Fatal("a stale plan was taken")
	}
	p.Update(common.PreviewMsg{ID: p.id, Plan: samplePlan(c)})
	if p.Busy() {
		t.Fatal("still busy")
	}
	view := p.View(80, 18)
	for _, want := range []string{
		"a = cal_a, b = cal_b · a +0 ~0 -1, b +1 ~0 -0 · 1 property change · 1 conflict",
		"collection work (a: work, b: work): none",
		`create on b  standup  "Standup"`,
		`delete on a  old      "Old meeting"`,
		`conflict     dentist  "Dentist"`,
		"differs in DTSTART",
		`property color: write to b "#ff0000"`,
		"collection home (a: home, b: home): none",
		"no item changes",
		"Apply this plan? y/enter: sync cal now",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

func TestConfirmAndBack(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.Scope{Pair: 0, Alias: "work"})
	// Keys while planning: no sync can start.
	if got := pagetest.Msg(p.Update(pagetest.Key("y"))); got != nil {
		t.Fatalf("y while planning: %#v", got)
	}
	p.Update(common.PreviewMsg{ID: p.id, Plan: samplePlan(c)})
	if v := p.View(80, 18); strings.Contains(v, "collection home") {
		t.Errorf("the collection scope shows other collections:\n%s", v)
	}
	for _, k := range []string{"y", "enter"} {
		if got := pagetest.Msg(p.Update(pagetest.Key(k))); got != (common.StartSyncMsg{Scope: common.Scope{Pair: 0, Alias: "work"}}) {
			t.Fatalf("%s: %#v", k, got)
		}
	}
	for _, k := range []string{"n", "esc"} {
		if got := pagetest.Msg(p.Update(pagetest.Key(k))); got != (common.BackMsg{}) {
			t.Fatalf("%s: %#v", k, got)
		}
	}
}

func TestNothingToDo(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.Scope{Pair: 0, Alias: "home"})
	p.Update(common.PreviewMsg{ID: p.id, Plan: samplePlan(c)})
	if got := pagetest.Msg(p.Update(pagetest.Key("y"))); got != nil {
		t.Fatalf("y with nothing to do: %#v", got)
	}
	if v := p.View(80, 18); !strings.Contains(v, "Nothing to do: cal/home is in sync.") {
		t.Errorf("view:\n%s", v)
	}
}

func TestPlanError(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.Scope{Pair: 1})
	p.Update(common.PreviewMsg{ID: p.id, Plan: &engine.PairPlan{Pair: c.Svc.Pairs[1], Err: errors.New("pair contacts: discovering collections of storage contacts_b: 401 Unauthorized")}})
	if got := pagetest.Msg(p.Update(pagetest.Key("y"))); got != nil {
		t.Fatalf("y after an error: %#v", got)
	}
	if v := p.View(80, 18); !strings.Contains(v, "error: pair contacts: discovering collections of storage contacts_b: 401") {
		t.Errorf("view:\n%s", v)
	}
}

func TestScrolling(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.Scope{Pair: 0})
	var acts []*engine.ItemAction
	for i := range 40 {
		acts = append(acts, pagetest.Action(engine.VerbCreate, engine.B, pagetest.Event(fmt.Sprintf("item%02d", i), "Item"), storage.Item{}, "work"))
	}
	p.Update(common.PreviewMsg{ID: p.id, Plan: &engine.PairPlan{Pair: c.Svc.Pairs[0], Mappings: []*engine.MappingPlan{pagetest.Mapping("work", [2]int{40, 0}, acts...)}}})
	v := p.View(80, 12)
	if !strings.Contains(v, "item00") || strings.Contains(v, "item20") || !strings.Contains(v, "lines 1–8 of 41") {
		t.Fatalf("first page:\n%s", v)
	}
	p.Update(pagetest.Key("j"))
	p.Update(pagetest.Key("down"))
	if v = p.View(80, 12); !strings.Contains(v, "lines 3–10 of 41") {
		t.Fatalf("after two lines down:\n%s", v)
	}
	p.Update(pagetest.Key("G"))
	if v = p.View(80, 12); !strings.Contains(v, "item39") || !strings.Contains(v, "lines 34–41 of 41") {
		t.Fatalf("bottom:\n%s", v)
	}
	p.Update(pagetest.Key("g"))
	if v = p.View(80, 12); !strings.Contains(v, "lines 1–8 of 41") {
		t.Fatalf("top:\n%s", v)
	}
	// The prompt stays visible at every offset.
	if !strings.Contains(v, "Apply this plan?") {
		t.Fatalf("prompt scrolled away:\n%s", v)
	}
}

// Conflicts come first, then read-only skips, then the rest, each in natural order of
// UID (bulk-19 before bulk-184); / keeps the actions that match.
func TestPlanOrderAndFilter(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Open(common.Scope{Pair: 0})
	var items []*engine.ItemAction
	for _, uid := range []string{"bulk-190", "bulk-19", "bulk-184", "bulk-2"} {
		items = append(items, pagetest.Action(engine.VerbCreate, engine.B, pagetest.Event(uid, "Bulk "+uid), storage.Item{}, "work"))
	}
	skip := pagetest.Action(engine.VerbCreate, engine.B, pagetest.Event("ro", "Read-only"), storage.Item{}, "work")
	skip.Skip = "read-only b"
	items = append(items, skip, pagetest.Action(engine.VerbConflict, 0, pagetest.Event("zz", "Z (a)"), pagetest.Event("zz", "Z (b)"), "work"))
	work := pagetest.Mapping("work", [2]int{6, 0}, items...)
	p.Update(common.PreviewMsg{ID: p.id, Plan: &engine.PairPlan{Pair: c.Svc.Pairs[0], Mappings: []*engine.MappingPlan{work}}})
	var order []string
	for _, l := range strings.Split(p.View(100, 30), "\n") {
		if f := strings.Fields(l); len(f) > 3 && (f[0] == "conflict" || f[0] == "create" || f[0] == "skip") {
			for _, w := range f {
				if strings.HasPrefix(w, "bulk-") && !strings.HasSuffix(w, `"`) || w == "ro" || w == "zz" {
					order = append(order, w)
				}
			}
		}
	}
	if got := strings.Join(order, " "); got != "zz ro bulk-2 bulk-19 bulk-184 bulk-190" {
		t.Errorf("order: %s", got)
	}
	if work.Items[0].Ident != "bulk-190" {
		t.Error("the plan itself was reordered")
	}
	for _, k := range []string{"/", "1", "8"} {
		p.Update(pagetest.Key(k))
	}
	if !p.Typing() {
		t.Fatal("/ did not start the filter")
	}
	p.Update(pagetest.Key("enter"))
	view := p.View(100, 30)
	if !strings.Contains(view, "bulk-184") || strings.Contains(view, "bulk-19 ") || strings.Contains(view, "zz") || p.Typing() {
		t.Errorf("filter 18:\n%s", view)
	}
	p.Update(pagetest.Key("esc"))
	if view := p.View(100, 30); !strings.Contains(view, "bulk-2") {
		t.Errorf("esc did not clear the filter:\n%s", view)
	}
}

// TestLargePlanRenderedOnce: a first sync of many items (planned by the engine, so its
// creates stay packed) is rendered once, not on every frame, and again only when the
// width or the filter changes.
func TestLargePlanRenderedOnce(t *testing.T) {
	c := newCommon(t)
	a := c.Svc.Pairs[0].A.(*memstore.Store)
	a.AddCollection("work")
	const n = 5000
	for i := range n {
		uid := fmt.Sprintf("bulk-%d", i)
		a.Put("work/"+uid+".ics", pagetest.Event(uid, "Bulk "+uid).Text())
	}
	p := New(c)
	msg, ok := p.Open(common.Scope{Pair: 0})().(common.PreviewMsg)
	if !ok || msg.Plan == nil || msg.Plan.Err != nil {
		t.Fatalf("planning: %#v", msg)
	}
	p.Update(msg)
	view := p.View(100, 30)
	for _, want := range []string{"b +5000 ~0 -0", fmt.Sprintf("lines 1–26 of %d", n+1), `create on b  bulk-0     "Bulk bulk-0"`} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	for range 3 {
		p.View(100, 30)
		p.Update(pagetest.Key("down"))
	}
	if v := p.View(100, 30); !strings.Contains(v, fmt.Sprintf("lines 4–29 of %d", n+1)) {
		t.Errorf("after three downs:\n%s", v)
	}
	if p.shown.renders != 1 {
		t.Errorf("the plan was rendered %d times for one width and filter", p.shown.renders)
	}
	p.View(60, 30)
	if p.shown.renders != 2 {
		t.Errorf("a new width did not render again (%d renders)", p.shown.renders)
	}
	for _, k := range []string{"/", "4", "9", "9", "9", "enter"} {
		p.Update(pagetest.Key(k))
	}
	if v := p.View(60, 30); !strings.Contains(v, "bulk-4999") || strings.Contains(v, "bulk-0 ") || p.shown.renders != 3 {
		t.Errorf("filter 4999 (%d renders):\n%s", p.shown.renders, v)
	}
}
