package syncview

import (
	"errors"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
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

func TestProgressFromEvents(t *testing.T) {
	c := newCommon(t)
	c.Spinner = "|"
	p := New(c)
	if cmd := p.Start(common.All); cmd == nil || !p.Running || !p.Busy() {
		t.Fatal("Start did not start")
	}
	has(t, p.View(80, 18), "| Syncing everything…", "x: cancel")
	p.Update(common.SyncPairStarted{Pair: 0})
	p.Update(common.SyncPairStarted{Pair: 1})
	has(t, p.View(80, 18), "cal  planning…", "contacts  planning…")
	p.Update(common.SyncPairWaiting{Pair: 1})
	has(t, p.View(80, 18), "contacts  waiting for another pimsync process")
	// The second pair plans first: rows stay in pair order anyway.
	p.Update(common.SyncPairPlanned{Pair: 1, Mappings: []common.SyncMapping{{Alias: "friends", Total: 1}}})
	p.Update(common.SyncPairPlanned{Pair: 0, Mappings: []common.SyncMapping{{Alias: "work", Total: 4, Conflicts: 1}, {Alias: "home"}}})
	p.Update(common.SyncItemStarted{Pair: 0, Mapping: "work", What: `create on a offsite "Team offsite"`})
	p.Update(common.SyncItemFinished{Pair: 0, Mapping: "work", Verb: engine.VerbCreate, Target: engine.A, Done: 1, Total: 4})
	p.Update(common.SyncItemStarted{Pair: 0, Mapping: "work", What: `update on b standup "Standup"`})
	view := p.View(80, 18)
	has(t, view,
		"work     [####----------] 1/4  a +1 ~0 -0, b +0 ~0 -0  1 conflict",
		`writing: update on b standup "Standup"`,
		"home     [##############] 0/0",
		"friends  [--------------] 0/1")
	if strings.Index(view, "work") > strings.Index(view, "friends") {
		t.Errorf("rows out of order:\n%s", view)
	}
	itemErr := errors.New(`cal/work: update standup on b: precondition failed (the item changed)`)
	p.Update(common.SyncItemFinished{Pair: 0, Mapping: "work", Verb: engine.VerbUpdate, Target: engine.B, Err: itemErr, Done: 2, Total: 4})
	has(t, p.View(80, 18), "2/4", "Errors (1):", "cal/work: update standup on b: precondition failed", "1 error")
	p.Update(common.SyncItemFinished{Pair: 0, Mapping: "work", Verb: engine.VerbUpdate, Target: engine.B, Done: 3, Total: 4})
	p.Update(common.SyncItemFinished{Pair: 0, Mapping: "work", Verb: engine.VerbRecord, Done: 4, Total: 4})
	res := &engine.MappingResult{Alias: "work", Counts: [2]engine.Counts{{Created: 1}, {Updated: 1}}, Conflicts: 1, Errors: []error{itemErr}}
	p.Update(common.SyncMappingFinished{Pair: 0, Result: res})
	p.Update(common.SyncMappingFinished{Pair: 0, Result: &engine.MappingResult{Alias: "home"}})
	p.Update(common.SyncPairFinished{Pair: 0, Result: &engine.PairResult{Pair: "cal", Mappings: []*engine.MappingResult{res}}})
	p.Update(common.SyncPairFinished{Pair: 1, Result: &engine.PairResult{Pair: "contacts", Err: errors.New("pair contacts: status database locked")}})
	view = p.View(80, 18)
	has(t, view, "[##############] 4/4  a +1 ~0 -0, b +0 ~1 -0  1 error · 1 conflict", "cal  done", "contacts  failed",
		"Errors (2):", "pair contacts: status database locked")
	if strings.Contains(view, "writing:") {
		t.Errorf("a finished collection still shows an item:\n%s", view)
	}
	if !p.Running {
		t.Fatal("finished before SyncDone")
	}
	p.Update(common.SyncDone{Scope: common.All, Results: []*engine.PairResult{{Pair: "cal", Mappings: []*engine.MappingResult{res}}}})
	if p.Running || !p.Finished || p.Busy() {
		t.Fatal("not finished after SyncDone")
	}
	has(t, p.View(80, 18), "Sync of everything finished", "a +1 ~0 -0, b +0 ~1 -0 · 1 conflict · 2 errors", "c: resolve the conflicts")
	if p.Conflicts() != 1 {
		t.Errorf("Conflicts() = %d", p.Conflicts())
	}
}

func TestKeysWhileRunningAndAfter(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Start(common.Scope{Pair: 0, Alias: "work"})
	// While running, esc and c do nothing: the sync page stays until it is done.
	for _, k := range []string{"esc", "c"} {
		if got := pagetest.Msg(p.Update(pagetest.Key(k))); got != nil {
			t.Fatalf("%s while running: %#v", k, got)
		}
	}
	p.Update(common.SyncDone{Scope: common.Scope{Pair: 0, Alias: "work"}})
	if got := pagetest.Msg(p.Update(pagetest.Key("esc"))); got != (common.BackMsg{}) {
		t.Fatalf("esc: %#v", got)
	}
	if got := pagetest.Msg(p.Update(pagetest.Key("c"))); got != (common.OpenConflictsMsg{Scope: common.Scope{Pair: 0, Alias: "work"}}) {
		t.Fatalf("c: %#v", got)
	}
	has(t, p.View(80, 10), "Sync of cal/work finished")
}

func TestCancel(t *testing.T) {
	c := newCommon(t)
	c.Spinner = "|"
	p := New(c)
	cmd := p.Start(common.Scope{Pair: 0})
	p.Update(pagetest.Key("x"))
	if !p.Cancelling || !p.Running {
		t.Fatal("x did not ask the sync to stop")
	}
	has(t, p.View(80, 10), "Cancelling the sync of cal: waiting for the writes in flight")
	// The command runs with the cancelled context: the engine stops and says so.
	if msg := cmd(); msg != nil {
		t.Fatalf("the sync command returned %#v (its result goes through the bus)", msg)
	}
	items := c.Svc.Bus.Drain()
	var done *common.SyncDone
	for _, it := range items {
		if d, ok := it.(common.SyncDone); ok {
			done = &d
		}
		p.Update(it)
	}
	if done == nil || !done.Cancelled {
		t.Fatalf("no cancelled SyncDone among %#v", items)
	}
	if !p.Cancelled || p.Running {
		t.Fatal("not cancelled")
	}
	has(t, p.View(80, 10), "Sync of cal cancelled", "what was written is recorded", "cal  not synced (cancelled)")
	if len(p.Errors) != 0 {
		t.Errorf("a cancelled pair counts as an error: %v", p.Errors)
	}
}

func TestScrollingAndSizes(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Start(common.All)
	var ms []common.SyncMapping
	for _, a := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b1", "b2", "b3"} {
		ms = append(ms, common.SyncMapping{Alias: a, Total: 2})
	}
	p.Update(common.SyncPairPlanned{Pair: 0, Mappings: ms})
	v := p.View(80, 8)
	if !strings.Contains(v, "a1") || strings.Contains(v, "b3") {
		t.Fatalf("first page:\n%s", v)
	}
	p.Update(pagetest.Key("G"))
	if v = p.View(80, 8); !strings.Contains(v, "b3") || strings.Contains(v, "  a1 ") {
		t.Fatalf("bottom:\n%s", v)
	}
	for _, sz := range [][2]int{{80, 18}, {40, 6}, {130, 40}} {
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

// After a cancel, a collection left part-way says so, and one never started says it
// was not synced; neither says "done".
func TestCancelledStates(t *testing.T) {
	c := newCommon(t)
	p := New(c)
	p.Start(common.All)
	p.Update(common.SyncPairStarted{Pair: 0})
	p.Update(common.SyncPairPlanned{Pair: 0, Mappings: []common.SyncMapping{{Alias: "work", Total: 5}, {Alias: "home", Total: 2}}})
	p.Update(common.SyncItemFinished{Pair: 0, Mapping: "work", Verb: engine.VerbCreate, Target: engine.B, Done: 2, Total: 5})
	p.Cancel()
	p.Update(common.SyncMappingFinished{Pair: 0, Result: &engine.MappingResult{Alias: "work", Counts: [2]engine.Counts{{}, {Created: 2}}}})
	p.Update(common.SyncPairFinished{Pair: 0, Result: &engine.PairResult{Pair: "cal"}})
	p.Update(common.SyncDone{Scope: common.All, Cancelled: true})
	view := p.View(100, 20)
	has(t, view, "Sync of everything cancelled", "cal  cancelled", "work", "cancelled: 2 of 5 done", "home", "not synced (cancelled)")
	if strings.Contains(view, "done\n") || strings.Contains(view, "  done") {
		t.Errorf("something is called done after a cancel:\n%s", view)
	}
}
