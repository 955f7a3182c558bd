package tui

import (
	"context"
	"fmt"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// The TUI is tested against the real engine on vdir storages in a temporary
// directory (test code only: the tui package itself never imports a backend).

func init() {
	// Golden files are plain text: no colour, no attributes.
	lipgloss.SetColorProfile(termenv.Ascii)
}

// fixture is a workspace with two pairs:
//
//	cal      vdir calendars a/cal ↔ b/cal, collections work ("Work", orange) and home
//	contacts vdir contacts  a/contacts ↔ b/contacts, collection friends
//
// synced once, then changed: on b a new event (offsite) and an edit (standup), on a a
// new contact (bob), and the dentist event edited differently on both sides (a
// conflict).
type fixture struct {
	t     *testing.T
	dir   string
	eng   *engine.Engine
	pairs []*engine.Pair
}

// failingDiscovery is a storage whose discovery fails the way a server with a wrong
// password does.
type failingDiscovery struct{ storage.Storage }

func (failingDiscovery) Discover(context.Context) ([]storage.Collection, error) {
	return nil, fmt.Errorf("PROPFIND https://dav.example.com/: 401 Unauthorized (check username and password): %w", storage.ErrAccessDenied)
}

type fixtureOpts struct {
	// resolver is the cal pair's `conflict_resolution cmd …` (none when nil).
	resolver []string
	// broken adds a third pair whose b side does not exist (a discovery error).
	broken bool
	// noChanges skips the changes after the first sync.
	noChanges bool
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.eng = &engine.Engine{StatusDir: f.path("status"), LockTimeout: 30 * time.Second}
	cal := f.pair("cal", storage.Calendars)
	if o.resolver != nil {
		cal.Config.ConflictResolution, cal.Config.ResolverCmd = config.ResolveCmd, o.resolver
	}
	f.pairs = []*engine.Pair{cal, f.pair("contacts", storage.Contacts)}

	f.write("a/cal/work/displayname", "Work")
	f.write("a/cal/work/color", "#FF8800")
	f.write("a/cal/work/standup.ics", event("standup", "Standup", "20250106T090000"))
	f.write("a/cal/work/dentist.ics", event("dentist", "Dentist", "20250108T100000"))
	f.write("b/cal/work/review.ics", event("review", "Quarterly review", "20250110T140000"))
	f.write("a/cal/home/displayname", "Home")
	f.write("b/cal/home/gym.ics", event("gym", "Gym", "20250107T180000", "RRULE:FREQ=WEEKLY;BYDAY=TU"))
	f.write("a/contacts/friends/displayname", "Friends")
	f.write("b/contacts/friends/anna.vcf", vcard("anna", "Anna Schmidt", "anna@example.org"))
	for _, r := range f.eng.Sync(context.Background(), f.pairs) {
		if errs := r.Errors(); len(errs) > 0 || r.Conflicts() > 0 {
			t.Fatalf("first sync: %v, %d conflicts", errs, r.Conflicts())
		}
	}
	if _, ok, err := f.eng.LastRun("cal"); !ok || err != nil {
		t.Fatalf("last run: %v %v", ok, err)
	}

	if !o.noChanges {
		f.write("b/cal/work/offsite.ics", event("offsite", "Team offsite", "20250115T090000"))
		f.replace("b/cal/work", "standup", event("standup", "Standup (moved)", "20250106T093000"))
		f.replace("a/cal/work", "dentist", event("dentist", "Dentist", "20250108T160000", "DESCRIPTION:moved to the afternoon"))
		f.replace("b/cal/work", "dentist", event("dentist", "Dentist (bring X-rays)", "20250108T100000", "LOCATION:Market Square 1"))
		f.write("a/contacts/friends/bob.vcf", vcard("bob", "Bob Martin", "bob@example.org"))
	}
	if o.broken {
		p := &engine.Pair{
			Name:   "broken",
			Config: &config.Pair{Name: "broken", StorageA: "broken_a", StorageB: "broken_b", Collections: []string{config.CollectionsAll}},
			A:      vdir.New(f.path("a/cal"), storage.Calendars, ""),
			B:      failingDiscovery{vdir.New(f.path("b/cal"), storage.Calendars, "")},
			NameA:  "broken_a", NameB: "broken_b",
		}
		f.pairs = append(f.pairs, p)
	}
	return f
}

func (f *fixture) pair(name string, kind storage.Kind) *engine.Pair {
	for _, side := range []string{"a", "b"} {
		if err := os.MkdirAll(f.path(side+"/"+name), 0o700); err != nil {
			f.t.Fatal(err)
		}
	}
	return &engine.Pair{
		Name:   name,
		Config: &config.Pair{Name: name, StorageA: name + "_a", StorageB: name + "_b", Collections: []string{config.CollectionsAll}},
		A:      vdir.New(f.path("a/"+name), kind, ""),
		B:      vdir.New(f.path("b/"+name), kind, ""),
		NameA:  name + "_a",
		NameB:  name + "_b",
	}
}

func (f *fixture) path(rel string) string { return filepath.Join(f.dir, filepath.FromSlash(rel)) }

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		f.t.Fatal(err)
	}
	tmp := p + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		f.t.Fatal(err)
	}
}

// find returns the path (relative to the workspace) of the item with uid in a vdir
// collection directory.
func (f *fixture) find(coll, uid string) string {
	f.t.Helper()
	p, ok := f.lookup(coll, uid)
	if !ok {
		f.t.Fatalf("no item %s in %s", uid, coll)
	}
	return p
}

// has reports whether a collection directory holds the item with uid.
func (f *fixture) has(coll, uid string) bool {
	_, ok := f.lookup(coll, uid)
	return ok
}

func (f *fixture) lookup(coll, uid string) (string, bool) {
	f.t.Helper()
	entries, err := os.ReadDir(f.path(coll))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.path(coll), e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		if got, ok := storage.ExtractUID(string(b)); ok && got == uid {
			return coll + "/" + e.Name(), true
		}
	}
	return "", false
}

func (f *fixture) read(rel string) string {
	f.t.Helper()
	b, err := os.ReadFile(f.path(rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// replace rewrites the item with uid in a collection directory.
func (f *fixture) replace(coll, uid, content string) {
	f.t.Helper()
	f.write(f.find(coll, uid), content)
}

func event(uid, summary, start string, extra ...string) string {
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:" + uid,
		"DTSTAMP:20250101T000000Z", "DTSTART:" + start, "SUMMARY:" + summary}
	lines = append(lines, extra...)
	lines = append(lines, "END:VEVENT", "END:VCALENDAR")
	return strings.Join(lines, "\r\n") + "\r\n"
}

func vcard(uid, fn, email string) string {
	return strings.Join([]string{"BEGIN:VCARD", "VERSION:3.0", "UID:" + uid, "FN:" + fn, "EMAIL:" + email, "END:VCARD"}, "\r\n") + "\r\n"
}

func (f *fixture) options() Options {
	// The clock of the TUI runs two hours ahead, so that every sync shows as "2 h
	// ago" however long the test takes.
	return Options{Engine: f.eng, Pairs: f.pairs, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
}

// --- driving the program ----------------------------------------------------------

// Waits are generous: the tests run with -race on small, busy machines. They poll;
// no sleep is ever an assertion.
const waitLimit = 60 * time.Second

type session struct {
	t  *testing.T
	tm *teatest.TestModel
}

// start runs the TUI in teatest at 80×24.
func start(t *testing.T, opts Options) *session {
	t.Helper()
	return startSized(t, opts, 80, 24)
}

func startSized(t *testing.T, opts Options, w, h int) *session {
	t.Helper()
	m := New(context.Background(), opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	s := &session{t: t, tm: tm}
	t.Cleanup(func() {
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		tm.WaitFinished(t, teatest.WithFinalTimeout(waitLimit))
	})
	return s
}

// snap returns the current screen and whether anything is in progress.
func (s *session) snap() (snapshot, bool) {
	reply := make(chan snapshot, 1)
	s.tm.Send(snapshotMsg{reply: reply})
	select {
	case sn := <-reply:
		return sn, true
	case <-time.After(5 * time.Second):
		return snapshot{}, false
	}
}

// waitFor polls the screen until nothing is in progress and cond holds, and returns
// that screen.
func (s *session) waitFor(what string, cond func(view string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(waitLimit)
	var last snapshot
	for time.Now().Before(deadline) {
		if sn, ok := s.snap(); ok {
			last = sn
			if !sn.busy && cond(sn.view) {
				return sn.view
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %s; last screen (busy=%v):\n%s", what, last.busy, last.view)
	return ""
}

// waitText waits for an idle screen containing every text.
func (s *session) waitText(texts ...string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", texts), func(v string) bool {
		for _, t := range texts {
			if !strings.Contains(v, t) {
				return false
			}
		}
		return true
	})
}

// keys types keys one at a time ("enter", "esc", "ctrl+c" or single characters).
func (s *session) keys(keys ...string) {
	for _, k := range keys {
		s.tm.Send(pagetest.Key(k))
	}
}

// golden compares a screen with testdata/<test>[_<step>].golden (update with -update).
func golden(t *testing.T, step, view string) {
	t.Helper()
	name := t.Name()
	if step != "" {
		name += "_" + step
	}
	teatest.RequireEqualOutput(namedTB{t, name}, []byte(view+"\n"))
}

type namedTB struct {
	testing.TB
	name string
}

func (n namedTB) Name() string { return n.name }

// checkScreen asserts that a screen is exactly w×h cells.
func checkScreen(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Fatalf("screen has %d lines, want %d:\n%s", len(lines), h, view)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n != w {
			t.Fatalf("line %d is %d cells wide, want %d: %q", i+1, n, w, l)
		}
	}
}
