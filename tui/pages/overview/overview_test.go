package overview

import (
	"errors"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// newCommon is pagetest.New over in-memory storages.
func newCommon(t *testing.T) *common.Common {
	return pagetest.New(t, func(k storage.Kind) storage.Storage { return memstore.New(k) })
}

func setup(t *testing.T) (*common.Common, *Page) {
	c := newCommon(t)
	e1 := pagetest.Event("e1", "Standup")
	e2a, e2b := pagetest.Event("e2", "Dentist"), pagetest.Event("e2", "Dentist (moved)")
	pagetest.SetPlan(c, 0,
		pagetest.Mapping("home", [2]int{1, 1}),
		pagetest.Mapping("work", [2]int{3, 4},
			pagetest.Action(engine.VerbCreate, engine.A, storage.Item{}, e1, "work"),
			pagetest.Action(engine.VerbConflict, 0, e2a, e2b, "work")))
	pagetest.SetPlan(c, 1, pagetest.Mapping("friends", [2]int{2, 2}))
	c.Store.Pairs[0].Props = map[string][2]map[string]string{
		"work": {{storage.PropDisplayName: "Work", storage.PropColor: "#ff8800"}, {storage.PropDisplayName: "Job"}},
	}
	c.Store.Pairs[0].LastRun = &engine.LastRun{Finished: pagetest.Now.Add(-3 * time.Hour),
		Mappings: []engine.LastRunMapping{{Alias: "work", Counts: [2]engine.Counts{{Created: 2}, {}}}}}
	return c, New(c)
}

func TestKeysNavigate(t *testing.T) {
	_, p := setup(t)
	steps := []struct {
		key  string
		want any
	}{
		{"p", common.OpenPlanMsg{Scope: common.Scope{Pair: 0}}},
		{"enter", common.OpenPlanMsg{Scope: common.Scope{Pair: 0}}},
		{"s", common.StartSyncMsg{Scope: common.Scope{Pair: 0}}},
		{"S", common.StartSyncMsg{Scope: common.All}},
		{"c", common.OpenConflictsMsg{Scope: common.Scope{Pair: 0}}},
		{"r", common.ReloadMsg{}},
		{"j", nil},
		{"j", nil},
		{"s", common.StartSyncMsg{Scope: common.Scope{Pair: 0, Alias: "work"}}},
		{"down", nil},
		{"p", common.OpenPlanMsg{Scope: common.Scope{Pair: 1}}},
		{"G", nil},
		{"s", common.StartSyncMsg{Scope: common.Scope{Pair: 1, Alias: "friends"}}},
		{"down", nil}, // at the bottom: stays
		{"s", common.StartSyncMsg{Scope: common.Scope{Pair: 1, Alias: "friends"}}},
		{"k", nil},
		{"up", nil},
		{"g", nil},
		{"s", common.StartSyncMsg{Scope: common.Scope{Pair: 0}}},
	}
	for i, s := range steps {
		got := pagetest.Msg(p.Update(pagetest.Key(s.key)))
		if got != s.want {
			t.Fatalf("step %d (%q): got %#v, want %#v", i, s.key, got, s.want)
		}
	}
}

func TestViewShowsCollectionsCountsAndConflicts(t *testing.T) {
	_, p := setup(t)
	p.Update(pagetest.Key("j"))
	p.Update(pagetest.Key("j")) // cal/work
	view := p.View(80, 18)
	for _, want := range []string{
		"  cal ", "synced 3 h ago", "1 change · 1 conflict",
		"home", "a 1 · b 1", "in sync",
		"> ", "work", "Work ↔ Job", "a 3 · b 4",
		"contacts", "friends", "a 2 · b 2",
		// details of the selected collection
		`cal_a: work "Work"`, `cal_b: work "Job"`,
		"pending: a +1 ~0 -0, b +0 ~0 -0 · 1 conflict",
		"last sync 3 h ago: a +2 ~0 -0, b +0 ~0 -0",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if lines := strings.Split(view, "\n"); !strings.HasPrefix(lines[2], "> ") || !strings.Contains(lines[2], "work") {
		t.Errorf("the cursor is not on work:\n%s", view)
	}
	if strings.Contains(view, "\x1b") {
		t.Errorf("escape sequences in the ASCII profile: %q", view)
	}
}

func TestDiscoveryErrorsShownInPlace(t *testing.T) {
	c, p := setup(t)
	ps := c.Store.Pairs[1]
	ps.Plan = nil
	ps.Discovery = &engine.Discovery{Pair: ps.Pair, Errs: [2]error{nil, errors.New("401 Unauthorized: wrong password")}}
	view := p.View(80, 18)
	for _, want := range []string{"contacts", "error", "b (contacts_b): error: 401 Unauthorized: wrong password", "work"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// The error row is not selectable: from cal's last collection, down goes to contacts.
	p.Update(pagetest.Key("G"))
	if sel, _ := p.List.Selected(); sel != (common.Scope{Pair: 1}) {
		t.Fatalf("selected %v", sel)
	}
	view = p.View(80, 18)
	if !strings.Contains(view, "storage contacts_b (side b): 401 Unauthorized: wrong password") {
		t.Errorf("details lack the error:\n%s", view)
	}
}

func TestInProgressStates(t *testing.T) {
	c, p := setup(t)
	c.Spinner = "|"
	c.Store.Pairs[0].Discovering = true
	c.Store.Pairs[1].Plan, c.Store.Pairs[1].Planning = nil, true
	view := p.View(80, 18)
	for _, want := range []string{"| discovering…", "| planning…"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if !p.Busy() {
		t.Error("not busy while discovering")
	}
	// Keys still work while things load.
	if got := pagetest.Msg(p.Update(pagetest.Key("S"))); got != (common.StartSyncMsg{Scope: common.All}) {
		t.Errorf("S while discovering: %#v", got)
	}
}

func TestSelectionFollowsIdentity(t *testing.T) {
	c, p := setup(t)
	p.Update(pagetest.Key("j"))
	p.Update(pagetest.Key("j")) // cal/work
	// home disappears: the selection stays on work.
	pagetest.SetPlan(c, 0, pagetest.Mapping("work", [2]int{3, 3}))
	if sel, _ := p.List.Selected(); sel != (common.Scope{Pair: 0, Alias: "work"}) {
		t.Fatalf("selected %v", sel)
	}
	// work disappears too: the selection falls back to its pair.
	pagetest.SetPlan(c, 0)
	if sel, _ := p.List.Selected(); sel != (common.Scope{Pair: 0}) {
		t.Fatalf("selected %v", sel)
	}
	if view := p.View(80, 18); !strings.Contains(view, "no collections to sync") {
		t.Errorf("view:\n%s", view)
	}
}

func TestViewFitsEverySize(t *testing.T) {
	_, p := setup(t)
	for _, sz := range [][2]int{{80, 18}, {120, 40}, {40, 10}, {20, 4}, {200, 3}} {
		view := p.View(sz[0], sz[1])
		lines := strings.Split(view, "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%v: %d lines", sz, len(lines))
		}
		for _, l := range lines {
			if w := common.Width(l); w != sz[0] {
				t.Fatalf("%v: line of %d cells: %q", sz, w, l)
			}
		}
	}
}
