package main

// `pimsync demo`, and the end-to-end runs of the TUI in a real terminal: tmux runs the
// binary in a detached session of a fixed size, the test types with send-keys and
// reads the screen with capture-pane, then checks the files on disk.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// tmuxWait bounds every wait for the screen; the waits poll, so a fast machine does
// not wait longer than it needs to, and a loaded 2-core machine running the race
// build has plenty of time.
const tmuxWait = 2 * time.Minute

// tmuxSession is one program running in its own tmux server.
type tmuxSession struct {
	t    *testing.T
	tmux string
	sock string
}

// shellQuote quotes a word for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// startTmux starts argv in a w×h tmux session with env (plus a UTF-8 locale). When
// the program ends, the pane says "[exit N]" and stays.
func startTmux(t *testing.T, w, h int, dir string, env []string, argv ...string) *tmuxSession {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux is needed for the real-terminal test (make deps installs it): %v", err)
	}
	s := &tmuxSession{t: t, tmux: tmux, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	var words []string
	for _, a := range argv {
		words = append(words, shellQuote(a))
	}
	script := strings.Join(words, " ") + `; echo "[exit $?]"; sleep 3600`
	cmd := exec.Command(tmux, "-u", "-S", s.sock, "-f", "/dev/null", "new-session", "-d", "-s", "t",
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", dir, script)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "SHELL=/bin/sh", "TERM=xterm-256color")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starting tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", s.capture())
		}
		exec.Command(tmux, "-S", s.sock, "kill-server").Run()
	})
	return s
}

func (s *tmuxSession) capture() string {
	out, err := exec.Command(s.tmux, "-S", s.sock, "capture-pane", "-p", "-t", "t").Output()
	if err != nil {
		return fmt.Sprintf("(capture-pane failed: %v)", err)
	}
	return string(out)
}

// key sends one key (a tmux key name such as Enter or Escape, or a character).
func (s *tmuxSession) key(k string) {
	s.t.Helper()
	if out, err := exec.Command(s.tmux, "-S", s.sock, "send-keys", "-t", "t", k).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %s: %v\n%s", k, err, out)
	}
}

// wait polls the screen until it shows every text, and returns it.
func (s *tmuxSession) wait(texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(tmuxWait)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture()
		ok := true
		for _, t := range texts {
			if !strings.Contains(screen, t) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q on the screen:\n%s", texts, screen)
	return ""
}

// waitFlat is wait on the screen with its lines joined (text wrapped at the edge is
// found whole), and returns the screen as it is.
func (s *tmuxSession) waitFlat(texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(tmuxWait)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture()
		flat := strings.Join(strings.Fields(screen), " ")
		ok := true
		for _, t := range texts {
			if !strings.Contains(flat, strings.Join(strings.Fields(t), " ")) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q on the screen:\n%s", texts, screen)
	return ""
}

// emptyDirs returns directories for HOME, TMPDIR and XDG_* that must stay empty.
func emptyDirs(t *testing.T) (env []string, check func()) {
	root := t.TempDir()
	vars := []string{"HOME", "TMPDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"}
	for _, v := range vars {
		d := filepath.Join(root, strings.ToLower(v))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+d)
	}
	return env, func() {
		t.Helper()
		for _, v := range vars {
			d := filepath.Join(root, strings.ToLower(v))
			if entries, _ := os.ReadDir(d); len(entries) > 0 {
				t.Errorf("the demo wrote outside its workspace: %s holds %v", v, entries)
			}
		}
	}
}

// itemWithUID returns the text of the item with uid in a vdir collection directory.
func itemWithUID(t *testing.T, dir, uid string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || e.IsDir() {
			continue
		}
		if got, ok := storage.ExtractUID(string(b)); ok && got == uid {
			return string(b)
		}
	}
	t.Fatalf("no item %s in %s", uid, dir)
	return ""
}

// The README's first command, end to end in a real terminal: the demo opens on the
// overview, everything is synced with live progress, the conflict is opened and
// resolved with keep b, and the files on disk show it.
func TestDemoInTmux(t *testing.T) {
	env, outside := emptyDirs(t)
	ws := filepath.Join(t.TempDir(), "workspace")
	s := startTmux(t, 100, 30, t.TempDir(), append(env, raceNoSleep), binPath, "demo", "--workspace", ws)

	// The overview after discovery and planning: the remote edit, the new remote
	// event, the conflict and the contacts.
	screen := s.wait("pimsync demo · overview", "calendars", "contacts", "Work ↔ Work", "synced just now",
		"2 changes · 1 conflict", "Personal ↔ Personal", "in sync")
	if !strings.HasPrefix(screen, "pimsync demo · overview") {
		t.Fatalf("the screen does not start with the header (something wrote onto it):\n%s", screen)
	}

	// Sync everything.
	s.key("S")
	screen = s.wait("Sync of everything finished", "a +1 ~2 -0, b +1 ~0 -0 · 1 conflict · 0 errors", "c: resolve the conflicts")
	for _, want := range []string{"work", "2/2", "personal", "0/0", "contacts"} {
		if !strings.Contains(screen, want) {
			t.Errorf("sync screen lacks %q:\n%s", want, screen)
		}
	}
	local := filepath.Join(ws, "local")
	if got := itemWithUID(t, filepath.Join(local, "calendars", "work"), "offsite@pimsync.demo"); !strings.Contains(got, "SUMMARY:Team offsite") {
		t.Errorf("the new remote event is not local: %q", got)
	}
	if got := itemWithUID(t, filepath.Join(local, "calendars", "work"), "standup@pimsync.demo"); !strings.Contains(got, "SUMMARY:Team standup (moved to 9:30)") {
		t.Errorf("the remote edit is not local: %q", got)
	}

	// Open the conflict and keep b (the server's version).
	s.key("c")
	s.wait("Conflicts (1)", "dentist@pimsync.demo")
	s.key("Enter")
	screen = s.wait("Conflict 1/1", "! SUMMARY", "Dentist (bring X-rays)", "a: local_calendars", "b: server_calendars")
	if !strings.Contains(screen, "! DTSTART") || !strings.Contains(screen, "! LOCATION") {
		t.Errorf("the differing properties are not marked:\n%s", screen)
	}
	s.key("b")
	// The only conflict: the list, with what was done and how to undo it.
	s.wait("Resolved dentist@pimsync.demo: kept b; uploaded to a. u: undo", "Done: 1 resolved, 0 skipped.", "resolved (kept b)")
	got := itemWithUID(t, filepath.Join(local, "calendars", "work"), "dentist@pimsync.demo")
	if !strings.Contains(got, "SUMMARY:Dentist (bring X-rays)") || !strings.Contains(got, "LOCATION:Dr. Weber, Market Square 1") {
		t.Errorf("the local dentist is not b's version after keep b: %q", got)
	}

	// Back to the overview: nothing pending any more.
	s.key("Escape")
	screen = s.wait("pimsync demo · overview", "synced just now", "pending: nothing, in sync")
	if n := strings.Count(screen, "in sync"); n != 6 { // 5 rows and the details
		t.Errorf("something is still pending:\n%s", screen)
	}

	s.key("q")
	screen = s.wait("[exit 0]", "The demo workspace is "+ws)
	if !strings.Contains(screen, filepath.Join(ws, "pimsync.conf")) {
		t.Errorf("the workspace's configuration is not named:\n%s", screen)
	}
	// The files at the end.
	for _, rel := range []string{"pimsync.conf", "status/calendars.status", "status/contacts.status",
		"local/calendars/work/displayname", "local/contacts/contacts/bob.vcf"} {
		if _, err := os.Stat(filepath.Join(ws, rel)); err != nil {
			t.Errorf("workspace: %v", err)
		}
	}
	if got := itemWithUID(t, filepath.Join(local, "contacts", "contacts"), "anna@pimsync.demo"); !strings.Contains(got, "TEL;TYPE=cell:+49 170 555 0101") {
		t.Errorf("the remote contact edit is not local: %q", got)
	}
	outside()
}

// A bare `pimsync` on a terminal opens the TUI; -v logs go to the log pane, never
// onto the screen; a server that refuses the password is shown as an error of its
// pair in place while the other pair works.
func TestBarePimsyncOpensTheTUIInATerminal(t *testing.T) {
	e := newEnv(t)
	srv, err := davtest.Start(davtest.Options{Username: "alice", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, nil)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage a {
    type vdir/icalendar
    path %q
}
storage b {
    type vdir/icalendar
    path %q
}
storage server {
    type caldav
    url %s
    username alice
    password wrong
}
pair p {
    storage_a a
    storage_b b
    collections all
}
pair remote {
    storage_a b
    storage_b server
    collections all
}
`, e.path("status"), e.path("a"), e.path("b"), srv.URL+davtest.ContextPath))
	e.write("a/work/standup.ics", event("standup", "Standup"))
	s := startTmux(t, 100, 24, e.dir, []string{"HOME=" + e.home, raceNoSleep}, binPath, "-v", "debug", "-c", e.cfg)
	// The log pane shows the last lines only, and which ones they are depends on the
	// order in which the two pairs log: its debug lines are checked in the whole log below.
	screen := s.wait("pimsync · overview", "never synced", "1 change", "work",
		"b (server): error: OPTIONS "+srv.URL+davtest.ContextPath+": HTTP 401 Unauthorized", "─ log (l)")
	if !strings.HasPrefix(screen, "pimsync · overview") {
		t.Fatalf("the screen does not start with the header:\n%s", screen)
	}
	// The whole log: the -v debug lines, and the error the TUI logs whatever the level.
	s.key("l")
	s.waitFlat("log · l/esc: back", "debug: http storage=server method=OPTIONS", "error: pair remote: storage server (side b): OPTIONS")
	s.key("l")
	s.wait("p plan")
	// The details of the failing pair give the whole message.
	s.key("G")
	// The storage is named once, by the TUI (in the details; the log pane has the
	// same line).
	screen = s.waitFlat("storage server (side b): OPTIONS "+srv.URL+davtest.ContextPath+": HTTP 401 Unauthorized", "check username and password")
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "storage server") && strings.Count(line, "storage server") != 1 {
			t.Errorf("the storage is not named exactly once: %q", line)
		}
	}
	s.key("g")
	s.wait("p: a = a, b = b")
	s.key("s")
	s.wait("Sync of p finished", "a +0 ~0 -0, b +1 ~0 -0 · 0 conflicts · 0 errors")
	if !e.holdsUID("b/work", "standup") {
		t.Error("standup was not synced to b")
	}
	s.key("Escape")
	s.wait("in sync", "synced just now")
	s.key("q")
	s.wait("[exit 0]")
}

// The merge tool gets the terminal: the TUI steps aside while it runs and comes back
// with the result.
func TestMergeToolInATerminal(t *testing.T) {
	e := newEnv(t)
	goOn := e.path("go-on")
	tool := fmt.Sprintf(`echo MERGE TOOL RUNNING; while [ ! -e %s ]; do sleep 0.05; done; cp "$1" "$2"`, goOn)
	e.writeConfig("", "", "collections all", fmt.Sprintf("conflict_resolution cmd sh -c %q merge", tool))
	e.write("a/cal/x1.ics", event("x1", "One"))
	e.mustRun(0, "sync")
	bFile := "b/" + e.files("b")[0]
	e.write("a/cal/x1.ics", event("x1", "One (a)"))
	e.write(bFile, event("x1", "One (b)"))
	s := startTmux(t, 80, 24, e.dir, []string{"HOME=" + e.home, raceNoSleep}, binPath, "-c", e.cfg)
	s.wait("pimsync · overview", "1 conflict")
	s.key("c")
	s.wait("Conflicts (1)")
	s.key("Enter")
	s.wait("Conflict 1/1", "! SUMMARY")
	s.key("e")
	screen := s.wait("MERGE TOOL RUNNING")
	if strings.Contains(screen, "pimsync · conflicts") {
		t.Errorf("the TUI did not give the terminal to the merge tool:\n%s", screen)
	}
	if err := os.WriteFile(goOn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.wait("pimsync · conflicts", "Resolved x1: merged; uploaded to b.")
	if got := e.read(bFile); !strings.Contains(got, "SUMMARY:One (a)") {
		t.Errorf("b after the merge tool: %q", got)
	}
	s.key("q")
	screen = s.wait("[exit 0]")
	// What the tool printed went with its screen: nothing of it is left in the shell.
	if strings.Contains(screen, "MERGE TOOL RUNNING") {
		t.Errorf("the merge tool's output leaked into the shell:\n%s", screen)
	}
}

func TestDemoWithoutTUI(t *testing.T) {
	e := newEnv(t)
	env, outside := emptyDirs(t)
	ws := filepath.Join(t.TempDir(), "ws")
	r := e.runWith(append(env, raceNoSleep), "", "demo", "--no-tui", "--workspace", ws)
	if r.code != 0 {
		t.Fatalf("demo --no-tui: %s", r)
	}
	for _, want := range []string{
		"pair calendars",
		"collection work (a: work, b: /dav/calendars/alice/work/): none",
		`update on a        standup@pimsync.demo "Team standup (moved to 9:30)"`,
		`conflict           dentist@pimsync.demo "Dentist"`,
		`create on a        offsite@pimsync.demo "Team offsite"`,
		"pair contacts",
		`update on a        anna@pimsync.demo    "Anna Schmidt"`,
		`create on b        carol@pimsync.demo   "Carol Nguyen"`,
		"The demo workspace is " + ws,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(ws, "pimsync.conf"))
	if err != nil || !strings.Contains(string(cfg), "url http://127.0.0.1:") {
		t.Errorf("config: %v\n%s", err, cfg)
	}
	outside()
	// The workspace must be new or empty.
	r = e.runWith([]string{raceNoSleep}, "", "demo", "--no-tui", "--workspace", ws)
	if r.code != 1 || !strings.Contains(r.stderr, "is not empty") {
		t.Errorf("demo in a used workspace: %s", r)
	}
}

// A temporary demo workspace is removed when the demo ends, unless --keep is given.
func TestDemoWorkspaceRemovedUnlessKept(t *testing.T) {
	e := newEnv(t)
	env, outside := emptyDirs(t)
	r := e.runWith(append(env, raceNoSleep), "", "demo", "--no-tui")
	if r.code != 0 || !strings.Contains(r.stdout, "The demo workspace was removed (pimsync demo --keep keeps it).") ||
		!strings.Contains(r.stdout, "pair calendars") {
		t.Fatalf("demo --no-tui: %s", r)
	}
	outside() // TMPDIR is empty again
	r = e.runWith(append(env, raceNoSleep), "", "demo", "--no-tui", "--keep")
	m := regexp.MustCompile(`The demo workspace is (\S+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("demo --no-tui --keep: %s", r)
	}
	if _, err := os.Stat(filepath.Join(m[1], "pimsync.conf")); err != nil {
		t.Errorf("the kept workspace: %v", err)
	}
}

func TestTUINeedsATerminal(t *testing.T) {
	e := newEnv(t)
	// A bare pimsync without a terminal prints the usage and exits 100.
	r := e.runWith([]string{raceNoSleep}, "", "-c", e.cfg)
	if r.code != 100 || !strings.Contains(r.stderr, "usage: pimsync") {
		t.Errorf("bare pimsync without a terminal: %s", r)
	}
	for _, args := range [][]string{{"-c", e.cfg, "tui"}, {"demo"}} {
		r := e.runWith([]string{raceNoSleep}, "", args...)
		if r.code != 100 || !strings.Contains(r.stderr, "needs a terminal") {
			t.Errorf("pimsync %v without a terminal: %s", args, r)
		}
	}
	r = e.runWith([]string{raceNoSleep}, "", "-c", e.cfg, "demo", "--no-tui")
	if r.code != 100 || !strings.Contains(r.stderr, "-c cannot be used") {
		t.Errorf("demo with -c: %s", r)
	}
}
