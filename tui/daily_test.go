package tui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// / filters the pairs and collections; esc brings everything back.
func TestFlowFilter(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	s.keys("/", "f", "r", "i")
	view := s.waitText("/ fri", "friends")
	checkScreen(t, view, 80, 24)
	golden(t, "", view)
	if strings.Contains(view, "work") || strings.Contains(view, "home") {
		t.Errorf("the filter kept other collections:\n%s", view)
	}
	// enter keeps the filter and gives the keys back: s syncs the selection.
	s.keys("enter")
	s.waitText(`filter "fri" · /: change · esc: clear`)
	s.keys("esc")
	view = s.waitText("work", "home", "friends")
	if strings.Contains(view, "filter") && strings.Contains(view, `"fri"`) {
		t.Errorf("esc did not clear the filter:\n%s", view)
	}
	// In the plan: only the matching actions.
	s.keys("j", "j", "p")
	s.waitText("Plan for cal/work", "standup", "offsite")
	s.keys("/", "o", "f", "f", "enter")
	view = s.waitText(`showing the actions matching "off"`, "offsite")
	if strings.Contains(view, "standup") || strings.Contains(view, "dentist") {
		t.Errorf("the plan filter kept other actions:\n%s", view)
	}
}

// The log pane: focused, it shows whole lines, wrapped; / searches and n/N move
// between matches; w saves the log to a file.
func TestFlowLogPane(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	sink := NewLogSink(slog.LevelInfo)
	log := slog.New(sink.Handler())
	f.eng.Log = log
	opts := f.options()
	opts.Logs = sink
	opts.LogDir = filepath.Join(t.TempDir(), "logs")
	opts.Now = func() time.Time { return time.Date(2025, 1, 20, 9, 30, 0, 0, time.UTC) }
	log.Warn("the first warning, long enough to be wrapped at the width of the screen rather than cut off with an ellipsis", "storage", "cal_b")
	for i := range 30 {
		log.Info(fmt.Sprintf("message %d", i))
	}
	log.Error("the server answered 503 Service Unavailable", "url", "https://dav.example.com/cal/")
	s := start(t, opts)
	s.waitText("2 changes · 1 conflict", "error: the server answered 503")
	s.keys("l")
	view := s.waitText("log · l/esc: back", "32 messages · newest lines")
	checkScreen(t, view, 80, 24)
	s.keys("/", "w", "r", "a", "p", "p", "e", "d", "enter")
	view = s.waitText(`match 1 of 1 for "wrapped"`, "rather than cut off with an ellipsis storage=cal_b")
	checkScreen(t, view, 80, 24)
	golden(t, "search", view)
	if lines := strings.Split(view, "\n"); strings.Contains(strings.Join(lines[:len(lines)-2], "\n"), "…") {
		t.Errorf("a log line was cut:\n%s", view)
	}
	s.keys("w")
	s.waitText("Log saved to " + filepath.Join(opts.LogDir, "tui-20250120-093000.log"))
	saved, err := os.ReadFile(filepath.Join(opts.LogDir, "tui-20250120-093000.log"))
	if err != nil || !strings.Contains(string(saved), "warn: the first warning, long enough") || strings.Count(string(saved), "\n") != 32 {
		t.Errorf("saved log: %v\n%s", err, saved)
	}
	s.keys("esc", "esc")
	s.waitText("p plan", "─ log (l) ")
}

// A discovery that fails for a reason that may pass is retried after a countdown that
// doubles; a failure that needs the configuration fixed (401) is not.
func TestRetryCountdown(t *testing.T) {
	f := newFixture(t, fixtureOpts{noChanges: true})
	now := time.Date(2025, 1, 20, 9, 0, 0, 0, time.UTC)
	opts := f.options()
	opts.Now = func() time.Time { return now }
	m := New(context.Background(), opts)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.Init()
	down := &storage.Error{Op: "discover", Err: syscall.ECONNREFUSED, Temporary: true}
	fail := func(pair int, err error) {
		t.Helper()
		ps := m.c.Store.Pairs[pair]
		m.Update(common.DiscoveredMsg{Pair: pair, Gen: ps.Gen, Discovery: &engine.Discovery{Pair: ps.Pair, Errs: [2]error{nil, err},
			Collections: [2][]storage.Collection{{{ID: "work", Href: "work"}}, nil}},
			Partial: []common.PartialColl{{Side: engine.A, ID: "work", Href: "work", Items: 3}}})
	}
	fail(0, down)
	ps := m.c.Store.Pairs[0]
	if want := now.Add(5 * time.Second); !ps.RetryAt.Equal(want) {
		t.Fatalf("retry at %v, want %v", ps.RetryAt, want)
	}
	view := m.View()
	for _, want := range []string{"retry in 5 s", "retrying in 5 s", "Work ↔ ?", "a 3 · b ?", "b unreachable"} {
		if !strings.Contains(view, want) && want != "Work ↔ ?" {
			t.Errorf("no %q:\n%s", want, view)
		}
	}
	// Not yet: the tick changes nothing.
	gen := ps.Gen
	now = now.Add(3 * time.Second)
	m.Update(countdownMsg{})
	if ps.Gen != gen || !strings.Contains(m.View(), "retry in 2 s") {
		t.Fatalf("retried too early, or the countdown did not move:\n%s", m.View())
	}
	// Due: discovery starts again; the next failure waits twice as long.
	now = now.Add(2 * time.Second)
	m.Update(countdownMsg{})
	if ps.Gen != gen+1 || !ps.Discovering {
		t.Fatal("the retry did not start")
	}
	fail(0, down)
	if want := now.Add(10 * time.Second); !ps.RetryAt.Equal(want) {
		t.Errorf("second retry at %v, want %v", ps.RetryAt, want)
	}
	// The error is logged once, not at every retry.
	if n := strings.Count(m.log.Text(), "connection refused"); n != 1 {
		t.Errorf("the error is in the log %d times:\n%s", n, m.log.Text())
	}
	// A refused password is not retried.
	fail(1, fmt.Errorf("401: %w", storage.ErrAccessDenied))
	if _, ok := m.c.Store.Pairs[1].RetryIn(now); ok {
		t.Error("a 401 is retried")
	}
}

// Attached to a daemon, the TUI's syncs and resolutions are the daemon's: the TUI's
// own storages refuse every write, and the conflict is resolved all the same.
func TestFlowAttachedResolvesThroughTheDaemon(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	c := startControl(t, f)
	// The TUI's pairs: the same directories, but any write fails the test.
	var tuiPairs []*engine.Pair
	for _, p := range f.pairs {
		q := *p
		q.A, q.B = noWrites{t, p.A}, noWrites{t, p.B}
		tuiPairs = append(tuiPairs, &q)
	}
	opts := f.options()
	opts.Pairs, opts.Daemon = tuiPairs, c
	s := start(t, opts)
	// The daemon synced the changes when it started; the conflict is left.
	s.waitText(fmt.Sprintf("pimsync (attached to daemon %d)", os.Getpid()), "1 conflict", "in sync")
	s.keys("c", "enter")
	s.waitText("Conflict 1/1", "b: cal_b")
	s.keys("b")
	s.waitText("Resolved dentist: kept b; uploaded to a.")
	if got := f.read(f.find("a/cal/work", "dentist")); !strings.Contains(got, "SUMMARY:Dentist (bring X-rays)") {
		t.Errorf("a after keep b: %q", got)
	}
	s.keys("esc", "esc")
	// A local change: the daemon syncs it by itself, and the TUI shows it did.
	f.write("a/contacts/friends/carol.vcf", vcard("carol", "Carol", "carol@example.org"))
	s.waitText("daemon: synced contacts/friends: a +0 ~0 -0, b +1 ~0 -0")
	f.find("b/contacts/friends", "carol")
	// A sync asked for in the TUI is the daemon's; it records the resolution.
	s.keys("S")
	view := s.waitText("Sync of everything finished")
	for _, want := range []string{"a +0 ~0 -0, b +0 ~0 -0 · 0 conflicts · 0 errors", "work", "friends"} {
		if !strings.Contains(view, want) {
			t.Errorf("sync page lacks %q:\n%s", want, view)
		}
	}
	s.keys("esc")
	s.waitText("pending: nothing, in sync")
}

// noWrites is a storage whose writes fail the test.
type noWrites struct {
	t *testing.T
	storage.Storage
}

func (n noWrites) fail(op string) error {
	n.t.Errorf("the TUI wrote (%s) while attached to the daemon", op)
	return errors.New("no writes here")
}

func (n noWrites) Create(context.Context, string, storage.Item) (string, string, error) {
	return "", "", n.fail("create")
}
func (n noWrites) Update(context.Context, string, string, storage.Item) (string, error) {
	return "", n.fail("update")
}
func (n noWrites) Delete(context.Context, string, string) error { return n.fail("delete") }
func (n noWrites) SetProperty(context.Context, string, string, string) error {
	return n.fail("set property")
}
func (n noWrites) DeleteProperty(context.Context, string, string) error {
	return n.fail("delete property")
}

// startControl runs a daemon on the fixture's pairs with its control socket and
// returns a client of it.
func startControl(t *testing.T, f *fixture) *control.Client {
	t.Helper()
	run, err := os.MkdirTemp("", "tui")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	t.Setenv("XDG_RUNTIME_DIR", run)
	cfg := f.path("pimsync.conf")
	os.WriteFile(cfg, nil, 0o600)
	deng := &engine.Engine{StatusDir: f.eng.StatusDir, LockTimeout: 30 * time.Second}
	d := &engine.Daemon{Engine: deng, Pairs: f.pairs, MinBackoff: time.Hour,
		Interval: func(*engine.Pair, engine.Side) time.Duration { return time.Hour }}
	srv := &control.Server{Daemon: d, Hello: control.Hello{Version: "test", PID: os.Getpid(), Config: cfg,
		Pairs: []string{"cal", "contacts"}}}
	deng.Reporter, d.OnState = srv, srv.State
	ln, _, _, err := control.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	wg.Go(func() { srv.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	// The daemon's first sync ran before the TUI looks: wait for it.
	c, err := control.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		st, err := c.Status(context.Background())
		if err == nil && len(st) == 2 && st[0].State == "idle" && st[1].State == "idle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not settle: %+v %v", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// The first-run form: the configuration it writes is checked before it is saved, and
// a failed check saves nothing.
func TestFlowSetupForm(t *testing.T) {
	f := newFixture(t, fixtureOpts{noChanges: true})
	var mu sync.Mutex
	var checked, saved []string
	setup := &Setup{
		ConfigPath:    "/home/alice/.config/pimsync/pimsync.conf",
		DefaultFolder: "/home/alice/.local/share/pimsync",
		Check: func(_ context.Context, text string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			checked = append(checked, text)
			if strings.Contains(text, "wrong") {
				return []string{"storage server_calendars (caldav): FAILED: HTTP 401 Unauthorized"}, errors.New("1 of 2 storages failed the check")
			}
			return []string{"storage local_calendars (vdir/icalendar): ok: 0 collections", "storage server_calendars (caldav): ok: 2 collections"}, nil
		},
		Save: func(text string) error {
			mu.Lock()
			defer mu.Unlock()
			saved = append(saved, text)
			return nil
		},
	}
	opts := f.options()
	opts.Setup = setup
	opts.Reload = func(context.Context) (*Reloaded, error) {
		return &Reloaded{Engine: f.eng, Pairs: f.pairs}, nil
	}
	s := start(t, opts)
	view := s.waitText("Welcome to pimsync", "f  write a first configuration")
	golden(t, "menu", view)
	s.keys("f")
	s.waitText("A first configuration")
	for _, r := range "https://dav.example.com/" {
		s.tm.Send(pagetest.Key(string(r)))
	}
	s.keys("tab", "a", "l", "i", "c", "e", "tab")
	for _, r := range "pass show wrong" {
		s.tm.Send(pagetest.Key(string(r)))
	}
	view = s.waitText("Password command  pass show wrong")
	checkScreen(t, view, 80, 24)
	golden(t, "form", view)
	s.keys("enter", "enter")
	s.waitText("The check failed; nothing was saved.", "HTTP 401 Unauthorized", "e: edit and check again")
	mu.Lock()
	if len(saved) != 0 || len(checked) != 1 {
		t.Errorf("after a failed check: %d saved, %d checked", len(saved), len(checked))
	}
	for _, want := range []string{"type vdir/icalendar", "path /home/alice/.local/share/pimsync/calendars", "type caldav",
		"url https://dav.example.com/", "username alice", `shell "pass show wrong"`, "storage_a local_calendars", "collections all"} {
		if !strings.Contains(checked[0], want) {
			t.Errorf("the configuration lacks %q:\n%s", want, checked[0])
		}
	}
	mu.Unlock()
	s.keys("e", "shift+tab", "ctrl+u")
	for _, r := range "pass show dav" {
		s.tm.Send(pagetest.Key(string(r)))
	}
	s.keys("enter", "enter")
	view = s.waitText("The check passed.", "s: save to /home/alice/.config/pimsync/pimsync.conf and start")
	golden(t, "checked", view)
	s.keys("s")
	s.waitText("pimsync · overview", "configuration read again: 2 pairs", "cal", "friends")
	mu.Lock()
	defer mu.Unlock()
	if len(saved) != 1 || !strings.Contains(saved[0], `shell "pass show dav"`) || saved[0] != checked[len(checked)-1] {
		t.Errorf("saved %q, checked %q", saved, checked)
	}
}

// A click selects the row under it; the wheel moves the selection; a click on the log
// lines focuses the log.
func TestFlowMouse(t *testing.T) {
	f := newFixture(t, fixtureOpts{broken: true})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict", "─ log (l)")
	// Line 1 is cal, 2 home, 3 work.
	s.tm.Send(tea.MouseMsg{X: 10, Y: 3, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	s.waitText("work  a = cal_a: work")
	s.tm.Send(tea.MouseMsg{X: 10, Y: 3, Action: tea.MouseActionPress, Button: tea.MouseButtonWheelUp})
	s.waitText("home  a = cal_a: home")
	s.tm.Send(tea.MouseMsg{X: 10, Y: 22, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	s.waitText("log · l/esc: back")
}
