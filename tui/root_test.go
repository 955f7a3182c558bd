package tui

import (
	"context"
	"fmt"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
)

// gated holds the first item creation until released, to catch a sync with a write
// in flight.
type gated struct {
	storage.Storage
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGated(s storage.Storage) *gated {
	return &gated{Storage: s, started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gated) Create(ctx context.Context, coll string, it storage.Item) (string, string, error) {
	g.once.Do(func() { close(g.started) })
	<-g.release
	return g.Storage.Create(ctx, coll, it)
}

// slowDiscovery blocks discovery until released (a slow network).
type slowDiscovery struct {
	storage.Storage
	release chan struct{}
}

func (s slowDiscovery) Discover(ctx context.Context) ([]storage.Collection, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Storage.Discover(ctx)
}

// waitScreen polls until cond holds, busy or not.
func (s *session) waitScreen(what string, cond func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(waitLimit)
	var last string
	for time.Now().Before(deadline) {
		if sn, ok := s.snap(); ok {
			last = sn.view
			if cond(sn.view) {
				return sn.view
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %s; last screen:\n%s", what, last)
	return ""
}

func contains(texts ...string) func(string) bool {
	return func(v string) bool {
		for _, t := range texts {
			if !strings.Contains(v, t) {
				return false
			}
		}
		return true
	}
}

// withMoreRemoteEvents adds new events on b so that a sync of cal has several creates.
func withMoreRemoteEvents(f *fixture) {
	for i := 2; i <= 4; i++ {
		f.write(fmt.Sprintf("b/cal/work/offsite%d.ics", i), event(fmt.Sprintf("offsite%d", i), "Offsite day", fmt.Sprintf("2025011%dT090000", i)))
	}
}

// checkConsistent proves the status is consistent after an interrupted sync: every
// new event is either on a and recorded (nothing planned for it) or not on a and
// still planned for creation; and a full sync afterwards converges without errors.
func checkConsistent(t *testing.T, f *fixture) (created int) {
	t.Helper()
	plan := f.eng.Plan(context.Background(), f.pairs[:1])[0]
	if plan.Err != nil {
		t.Fatal(plan.Err)
	}
	planned := map[string]string{}
	for _, m := range plan.Mappings {
		for a := range m.Actions() {
			planned[a.Ident] = present.ActionLabel(a)
		}
	}
	for _, uid := range []string{"offsite", "offsite2", "offsite3", "offsite4"} {
		switch on := f.has("a/cal/work", uid); {
		case on && planned[uid] != "":
			t.Errorf("%s was written but the status does not know it: planned %q", uid, planned[uid])
		case on:
			created++
		case planned[uid] != "create on a":
			t.Errorf("%s was not written but is planned as %q", uid, planned[uid])
		}
	}
	for _, r := range f.eng.Sync(context.Background(), f.pairs[:1]) {
		if errs := r.Errors(); len(errs) > 0 {
			t.Fatalf("the next sync failed: %v", errs)
		}
	}
	for _, uid := range []string{"offsite", "offsite2", "offsite3", "offsite4"} {
		f.find("a/cal/work", uid)
	}
	return created
}

func TestFlowCancelSyncFinishesTheWriteInFlight(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	withMoreRemoteEvents(f)
	f.eng.Workers = 1
	g := newGated(f.pairs[0].A)
	f.pairs[0].A = g
	s := start(t, f.options())
	s.waitText("5 changes · 1 conflict")
	s.keys("s") // sync the pair cal
	<-g.started
	s.waitScreen("the item being written", contains("Syncing cal", "writing: create on a offsite"))
	s.keys("x")
	s.waitScreen("cancelling", contains("Cancelling the sync of cal: waiting for the writes in flight"))
	close(g.release)
	view := s.waitText("Sync of cal cancelled", "what was written is recorded")
	checkScreen(t, view, 80, 24)
	if n := checkConsistent(t, f); n != 1 {
		t.Errorf("%d creates happened, want exactly the one in flight", n)
	}
}

func TestFlowQuitWhileSyncingWaitsForTheWriteInFlight(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	withMoreRemoteEvents(f)
	f.eng.Workers = 1
	g := newGated(f.pairs[0].A)
	f.pairs[0].A = g
	s := start(t, f.options())
	s.waitText("5 changes · 1 conflict")
	s.keys("s")
	<-g.started
	s.keys("q")
	s.waitScreen("quitting", contains("Quitting after the writes in flight"))
	close(g.release)
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(waitLimit))
	if n := checkConsistent(t, f); n != 1 {
		t.Errorf("%d creates happened, want exactly the one in flight", n)
	}
}

func TestFlowSlowNetworkNeverFreezes(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	release := make(chan struct{})
	f.pairs[1].B = slowDiscovery{f.pairs[1].B, release}
	s := start(t, f.options())
	// cal is done while contacts still waits for its server.
	s.waitScreen("discovery in progress", contains("2 changes · 1 conflict", "discovering…"))
	// The screen answers keys meanwhile.
	s.keys("?")
	s.waitScreen("full help", contains("discovering…", "page down", "reload"))
	s.keys("?", "j", "j", "p")
	s.waitScreen("plan preview", contains("Plan for cal/work", "Apply this plan?"))
	s.keys("esc")
	close(release)
	s.waitText("friends", "1 change")
}

func TestFlowEveryPageFitsEverySize(t *testing.T) {
	f := newFixture(t, fixtureOpts{broken: true})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	sizes := [][2]int{{80, 24}, {100, 30}, {60, 15}, {132, 43}, {30, 8}, {12, 3}}
	check := func(page string) {
		t.Helper()
		for _, sz := range sizes {
			s.tm.Send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			sn, _ := s.snap()
			checkScreen(t, sn.view, sz[0], sz[1])
		}
		s.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
		t.Logf("%s fits", page)
	}
	check("overview")
	s.keys("?")
	check("overview with full help")
	s.keys("?", "l")
	check("the log pane, focused")
	s.keys("/")
	check("searching the log")
	s.keys("esc", "l")
	check("overview with the log lines under it")
	s.keys("/", "w", "o")
	check("overview, filtering")
	s.keys("esc", "p")
	s.waitText("Apply this plan?")
	check("plan")
	s.keys("esc", "c", "enter")
	s.waitText("Conflict 1/1")
	check("conflict viewer")
	s.keys("r")
	check("raw conflict viewer")
	s.keys("esc", "esc", "S")
	s.waitText("Sync of everything finished")
	check("sync")
}

func TestFlowKeysTypedTogether(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	// A terminal delivers quickly typed keys as one message.
	s.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjp")})
	s.waitText("Plan for cal/work", "Apply this plan?")
}

func TestFlowLogsGoToThePane(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	sink := NewLogSink(slog.LevelInfo)
	log := slog.New(sink.Handler())
	log.Warn("logged before the screen existed", "storage", "cal_b")
	sink.Add(slog.LevelWarn, "storage line handler output")
	f.eng.Log = log
	opts := f.options()
	opts.Logs = sink
	s := start(t, opts)
	s.waitText("warn: logged before the screen existed storage=cal_b", "warn: storage line handler output")
	log.Error("something failed while running")
	view := s.waitText("error: something failed while running")
	checkScreen(t, view, 80, 24)
	// Focused, the pane shows every line and counts them.
	log.Warn("another one")
	s.keys("l")
	view = s.waitText("log · l/esc: back", "warn: logged before the screen existed", "warn: another one", "4 messages · newest lines")
	checkScreen(t, view, 80, 24)
	// Too small for the lines under the page: the header says there is something to
	// read.
	s.keys("l")
	s.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 12})
	log.Warn("one more")
	s.waitText("message in the log (l)")
}

func TestReadableWithoutColour(t *testing.T) {
	// The same screens with colour and without: stripped of its escape codes, the
	// coloured screen says exactly what the plain one says.
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	s.keys("c", "enter")
	s.waitText("Conflict 1/1", "b: cal_b")
	plain, _ := s.snap()
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	colour, _ := s.snap()
	if !strings.Contains(colour.view, "\x1b[") {
		t.Fatal("no colour with the TrueColor profile")
	}
	if strings.Contains(plain.view, "\x1b") {
		t.Fatal("escape codes with the ASCII profile")
	}
	if got := ansi.Strip(colour.view); got != plain.view {
		t.Errorf("colour carries information:\n%s\nvs\n%s", got, plain.view)
	}
}

func TestUpdateDirect(t *testing.T) {
	// The root model's Update without a program: navigation is immediate, results of
	// older refreshes are dropped, and nothing blocks.
	f := newFixture(t, fixtureOpts{noChanges: true})
	m := New(context.Background(), f.options())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if m.Init() == nil || !m.c.Store.Pairs[0].Discovering {
		t.Fatal("Init did not start discovery")
	}
	gen := m.c.Store.Pairs[0].Gen
	m.Update(common.RefreshMsg{Pair: 0})
	if m.c.Store.Pairs[0].Gen != gen+1 {
		t.Fatal("refresh did not start a new generation")
	}
	m.Update(common.DiscoveredMsg{Pair: 0, Gen: gen, Discovery: &engine.Discovery{Pair: f.pairs[0]}})
	if !m.c.Store.Pairs[0].Discovering || m.c.Store.Pairs[0].Discovery != nil {
		t.Fatal("a stale discovery was taken")
	}
	m.Update(pagetest.Key("c"))
	if m.page != pageConflicts {
		t.Fatalf("page %v after c", m.page)
	}
	m.Update(pagetest.Key("esc"))
	if m.page != pageOverview {
		t.Fatalf("page %v after esc", m.page)
	}
	m.Update(pagetest.Key("S"))
	if m.page != pageSync || !m.sync.Running || !m.c.Store.Pairs[0].Syncing {
		t.Fatal("S did not start a sync")
	}
	// A second sync is refused while one runs.
	m.Update(common.StartSyncMsg{Scope: common.Scope{Pair: 1}})
	if !strings.Contains(m.View(), "A sync is already running.") {
		t.Errorf("view:\n%s", m.View())
	}
	// q while syncing waits for the sync; the second q quits.
	if _, cmd := m.Update(pagetest.Key("q")); cmd != nil {
		if _, quit := cmd().(tea.QuitMsg); quit {
			t.Fatal("q quit with a sync running")
		}
	}
	if !m.sync.Cancelling || !strings.Contains(m.View(), "Quitting after the writes in flight") {
		t.Fatalf("view:\n%s", m.View())
	}
	_, cmd := m.Update(pagetest.Key("q"))
	found := false
	for _, msg := range flatten(cmd) {
		if _, ok := msg.(tea.QuitMsg); ok {
			found = true
		}
	}
	if !found {
		t.Fatal("the second q did not quit")
	}
}

// flatten runs a command and the commands of any batch it returns (not blocking ones:
// the bus wait is skipped by a timeout).
func flatten(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(time.Second):
		return nil
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, flatten(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}
