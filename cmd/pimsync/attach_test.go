package main

// The TUI as a daily driver, in a real terminal (tmux): attached to a running daemon,
// with a server that is down, on a first run without a configuration, and quitting
// in the middle of a sync.

import (
	"fmt"
	"net"
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

// davConfig writes a configuration pairing the vdir a/ with a CalDAV server at url.
func (e *env) davConfig(url string) {
	e.t.Helper()
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage a {
    type vdir/icalendar
    path %q
}
storage server {
    type caldav
    url %s
    username alice
    password secret
}
pair p {
    storage_a a
    storage_b server
    collections all
}
`, e.path("status"), e.path("a"), url))
}

// tmuxEnv is the environment of a TUI in the workspace's login session.
func (e *env) tmuxEnv() []string {
	return []string{"HOME=" + e.home, "XDG_RUNTIME_DIR=" + e.runtimeDir(), "XDG_STATE_HOME=" + e.path("state"), raceNoSleep}
}

// The daemon runs; the TUI attaches to it, shows its syncs as they happen, resolves a
// conflict through it, and detaches. The daemon is the only writer: the resolution is
// its (its log says so, and the trash under status_path holds exactly one copy of
// what it replaced).
func TestDaemonAttachInTmux(t *testing.T) {
	e := newEnv(t)
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: "secret"})
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, map[string]string{storage.PropDisplayName: "Work"})
	srv.PutItem(davtest.CalendarHome+"work/dentist.ics", []byte(event("dentist", "Dentist")))
	e.davConfig(srv.URL + davtest.ContextPath)
	d := e.startDaemon()
	eventually(t, "the first sync", tmuxWait, func() bool { return e.holdsUID("a/work", "dentist") }, d.log)

	s := startTmux(t, 100, 30, e.dir, e.tmuxEnv(), binPath, "-c", e.cfg)
	pid := d.cmd.Process.Pid
	screen := s.wait(fmt.Sprintf("pimsync (attached to daemon %d) · overview", pid), "work", "in sync")
	if !strings.HasPrefix(screen, "pimsync (attached to daemon") {
		t.Fatalf("the header does not say the TUI is attached:\n%s", screen)
	}

	// A new local event: the daemon notices and syncs it; the TUI shows it.
	e.write("a/work/lunch.ics", event("lunch", "Lunch"))
	s.wait("daemon: synced p/work: a +0 ~0 -0, b +1 ~0 -0", "in sync")
	if _, _, ok := srv.Item(davtest.CalendarHome + "work/lunch.ics"); !ok && len(srv.Items(davtest.CalendarHome+"work/")) != 2 {
		t.Errorf("the daemon did not upload the new event: %v", srv.Items(davtest.CalendarHome+"work/"))
	}

	// A conflict: the server's copy changes first, then the local one.
	srv.PutItem(davtest.CalendarHome+"work/dentist.ics", []byte(event("dentist", "Dentist (server)")))
	e.write(e.itemFile("a/work", "dentist"), event("dentist", "Dentist (local)"))
	s.wait("1 conflict", "daemon: p/work: conflict on dentist")
	s.key("c")
	s.wait("Conflicts (1)", "dentist")
	s.key("Enter")
	s.wait("Conflict 1/1", "! SUMMARY", "Dentist (server)")
	s.key("b")
	s.wait("Resolved: kept b; uploaded to a.")
	if got := e.read(e.itemFile("a/work", "dentist")); !strings.Contains(got, "SUMMARY:Dentist (server)") {
		t.Errorf("a after keep b: %q", got)
	}
	eventually(t, "the daemon's account of the resolution", tmuxWait, func() bool {
		return regexp.MustCompile(`pair p: a client \(pid \d+\) asked to resolve p/work dentist \(keep b\): written to a`).MatchString(d.log())
	}, d.log)

	// A sync asked for in the TUI is run by the daemon, which records the resolution.
	s.key("Escape")
	s.wait("Conflicts (1)")
	s.key("Escape")
	s.wait("· overview")
	s.key("S")
	s.wait("Sync of everything finished", "0 conflicts · 0 errors")
	if !strings.Contains(d.log(), "asked for a sync of p") {
		t.Errorf("the sync was not the daemon's:\n%s", d.log())
	}
	s.key("Escape")
	s.wait("in sync", "pending: nothing, in sync")

	// Detach: the TUI ends, the daemon goes on.
	s.key("q")
	s.wait("[exit 0]")
	select {
	case <-d.done:
		t.Fatalf("the daemon stopped with the TUI:\n%s", d.log())
	default:
	}
	// One writer: the trash holds one copy of what the resolution replaced.
	r := e.mustRun(0, "trash", "list")
	if n := strings.Count(r.stdout, "keep b"); n != 1 {
		t.Errorf("the trash lists %d writes of keep b, want 1:\n%s", n, r.stdout)
	}
	if r := e.mustRun(0, "sync", "-n"); !strings.Contains(r.stdout, "pair p: no changes") {
		t.Errorf("after the daemon's sync something is left:\n%s", r.stdout)
	}
	if strings.Contains(d.log(), "error:") {
		t.Errorf("the daemon logged errors:\n%s", d.log())
	}
	if code := d.stop(); code != 0 {
		t.Errorf("daemon exit %d", code)
	}
}

// itemFile is the path (relative to the workspace) of the item with uid in a vdir
// collection directory.
func (e *env) itemFile(dir, uid string) string {
	e.t.Helper()
	entries, err := os.ReadDir(e.path(dir))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range entries {
		b, err := os.ReadFile(filepath.Join(e.path(dir), f.Name()))
		if err == nil && !f.IsDir() && strings.Contains(string(b), "UID:"+uid+"\r\n") {
			return dir + "/" + f.Name()
		}
	}
	e.t.Fatalf("no item %s in %s", uid, dir)
	return ""
}

// A server that is down: the local collections stay listed with their items, the
// failed side says why and when it is tried again, and r after fixing the
// configuration recovers.
func TestServerDownInTmux(t *testing.T) {
	e := newEnv(t)
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/dav/"
	l.Close()
	e.davConfig(dead)
	e.write("a/work/displayname", "Work")
	e.write("a/work/standup.ics", event("standup", "Standup"))
	e.write("a/work/review.ics", event("review", "Review"))

	s := startTmux(t, 100, 30, e.dir, e.tmuxEnv(), binPath, "-c", e.cfg)
	screen := s.wait("pimsync · overview", "Work ↔ ?", "a 2 · b ?", "b unreachable", "retry in", "connection refused")
	if !regexp.MustCompile(`retrying in \d+ s`).MatchString(screen) {
		t.Errorf("no countdown:\n%s", screen)
	}
	// The local collection's details.
	s.key("j")
	s.wait("a = a: work (2 items)", "b = server cannot be reached; nothing is synced until it can; retry in")

	// Fix the configuration (the server is up, at another address) and read it again.
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: "secret"})
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, nil)
	e.davConfig(srv.URL + davtest.ContextPath)
	s.key("r")
	screen = s.wait("configuration read again: 1 pair", "3 changes", "Work ↔ work")
	if strings.Contains(screen, "unreachable") || strings.Contains(screen, "retry in") {
		t.Errorf("still down after r:\n%s", screen)
	}
	s.key("s")
	s.wait("Sync of p", "finished", "a +0 ~0 -0, b +2 ~0 -0")
	if n := len(srv.Items(davtest.CalendarHome + "work/")); n != 2 {
		t.Errorf("the server holds %d items, want 2", n)
	}
	s.key("q")
	s.wait("[exit 0]")
}

// Without a configuration file, a bare pimsync offers the demo, a vdirsyncer
// conversion and a form; the form's configuration is checked, saved and used.
func TestFirstRunInTmux(t *testing.T) {
	e := newEnv(t)
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: "secret"})
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, nil)
	srv.PutItem(davtest.CalendarHome+"work/standup.ics", []byte(event("standup", "Standup")))
	e.write("home/.config/vdirsyncer/config", "[general]\nstatus_path = \"~/.vdirsyncer/status/\"\n")
	env := append(e.tmuxEnv(), "XDG_CONFIG_HOME=")
	s := startTmux(t, 100, 30, e.dir, env, binPath)
	conf := e.path("home/.config/pimsync/pimsync.conf")
	s.wait("Welcome to pimsync", "There is no configuration file at", "d  try the demo", "v  convert your vdirsyncer configuration",
		"f  write a first configuration with a short form")
	// The vdirsyncer configuration, converted (and not saved unless checked).
	s.key("v")
	s.wait("Your vdirsyncer configuration as pimsync.conf", "status_path", "c: check it, then save it to "+conf)
	s.key("Escape")
	s.wait("Welcome to pimsync")

	s.key("f")
	s.wait("A first configuration", "Server URL")
	// The URL, then a wrong password command: the check fails and nothing is saved.
	s.typeText(srv.URL + davtest.ContextPath)
	s.key("Tab")
	s.typeText("alice")
	s.key("Tab")
	s.typeText("echo wrong")
	s.key("Tab")
	s.key("C-u")
	s.typeText(e.path("local/calendars"))
	s.key("Enter")
	s.wait("The check failed; nothing was saved.", "401")
	if _, err := os.Stat(conf); err == nil {
		t.Fatal("a configuration that failed its check was saved")
	}
	s.key("e")
	s.wait("A first configuration")
	s.key("BTab")
	s.key("C-u")
	s.typeText("echo secret")
	s.key("Enter")
	s.key("Enter")
	s.wait("The check passed.", "s: save to "+conf)
	s.key("s")
	s.wait("configuration read again: 1 pair", "calendars", "1 change")
	text, err := os.ReadFile(conf)
	if err != nil || !strings.Contains(string(text), "shell \"echo secret\"") || !strings.Contains(string(text), "url "+srv.URL) {
		t.Errorf("saved configuration: %v\n%s", err, text)
	}
	if info, err := os.Stat(e.path("local/calendars")); err != nil || !info.IsDir() {
		t.Errorf("the local folder was not created: %v", err)
	}
	s.key("q")
	s.wait("[exit 0]")
}

// typeText types text literally.
func (s *tmuxSession) typeText(text string) {
	s.t.Helper()
	if out, err := execTmux(s, "send-keys", "-t", "t", "-l", text); err != nil {
		s.t.Fatalf("send-keys -l: %v\n%s", err, out)
	}
}

// ctrl+c while a sync runs: the writes in flight finish and are recorded, and pimsync
// exits non-zero saying so.
func TestCtrlCDuringASyncInTmux(t *testing.T) {
	e := newEnv(t)
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: "secret"})
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, nil)
	proxy := davtest.NewFaultProxy(t, srv.URL+davtest.ContextPath)
	e.davConfig(proxy.URL)
	for i := range 10 {
		e.write(fmt.Sprintf("a/work/%02d.ics", i), event(fmt.Sprint("e", i), "Event"))
	}
	// Uploads are held until the test lets them go.
	put := proxy.Add(davtest.Rule{Method: "PUT", Action: davtest.Hold()})
	s := startTmux(t, 100, 30, e.dir, e.tmuxEnv(), binPath, "-c", e.cfg)
	s.wait("10 changes")
	s.key("S")
	put.WaitFor(t, 1)
	s.key("C-c")
	s.wait("Quitting after the writes in flight")
	// Let every upload in flight go (also those still on their way to the proxy).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			put.Release()
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	screen := s.wait("[exit 1]")
	if !strings.Contains(screen, "the sync was interrupted; what was written is recorded") {
		t.Errorf("no reason on exit:\n%s", screen)
	}
	// What was written is recorded: the next sync uploads the rest, nothing twice.
	uploaded := len(srv.Items(davtest.CalendarHome + "work/"))
	if uploaded == 0 || uploaded == 10 {
		t.Errorf("%d items on the server after the interrupted sync (want the writes in flight only)", uploaded)
	}
	r := e.mustRun(0, "sync")
	if n := len(srv.Items(davtest.CalendarHome + "work/")); n != 10 || !strings.Contains(r.stdout, fmt.Sprintf("b +%d ~0 -0", 10-uploaded)) {
		t.Errorf("after the next sync the server holds %d items:\n%s", n, r)
	}
}

func execTmux(s *tmuxSession, args ...string) ([]byte, error) {
	return exec.Command(s.tmux, append([]string{"-S", s.sock}, args...)...).CombinedOutput()
}
