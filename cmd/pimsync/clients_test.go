package main

// Interoperability with real vdir clients: pimsync syncs a real Radicale calendar
// into a vdir, khal and todoman (Debian packages) read it, khal and todoman write new
// items into it, and pimsync uploads them (DECISIONS.md §4).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage/davtest"
)

// requireTool returns the path of a program the test needs, failing (never skipping)
// with the Debian package to install when it is missing.
func requireTool(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (apt-get install %s)", bin, pkg, pkg)
	}
	return p
}

// runTool runs an external program with a fixed, isolated environment and fails the
// test when it does not exit 0.
func runTool(t *testing.T, env []string, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader("")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v did not finish", bin, args)
	}
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return string(out)
}

// clientEnv is the environment for khal and todoman: a private HOME and XDG
// directories, UTC and a UTF-8 locale, so that nothing depends on the machine.
func clientEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
	}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	return env
}

// calendarObject builds a VCALENDAR holding one component (CRLF line ends).
func calendarObject(component string, props ...string) string {
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pimsync test//EN", "BEGIN:" + component}
	lines = append(lines, props...)
	lines = append(lines, "END:"+component, "END:VCALENDAR", "")
	return strings.Join(lines, "\r\n")
}

var clientHrefRE = regexp.MustCompile(`(?s)<(?:[A-Za-z]+:)?href>([^<]+)</(?:[A-Za-z]+:)?href>`)

// collectionItems returns the text of every item in a server collection.
func collectionItems(t *testing.T, srv *davtest.RealServer, coll string) []string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`
	code, _, resp := srv.Do(t, "PROPFIND", coll, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}, []byte(body))
	if code != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: HTTP %d: %s", coll, code, resp)
	}
	var items []string
	for _, m := range clientHrefRE.FindAllStringSubmatch(string(resp), -1) {
		href := m[1]
		if strings.HasSuffix(href, "/") {
			continue
		}
		code, _, item := srv.Do(t, "GET", href, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d", href, code)
		}
		items = append(items, string(item))
	}
	return items
}

// icsFiles lists the item files of a vdir collection (metadata files left out).
func icsFiles(e *env, rel string) []string {
	var out []string
	for _, f := range e.files(rel) {
		if strings.HasSuffix(f, ".ics") {
			out = append(out, f)
		}
	}
	return out
}

func containsItemWith(items []string, text string) bool {
	for _, it := range items {
		if strings.Contains(it, text) {
			return true
		}
	}
	return false
}

func TestRealClientsKhalAndTodoman(t *testing.T) {
	khal := requireTool(t, "khal", "khal")
	todoman := requireTool(t, "todoman", "todoman")

	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	coll := srv.NewCalendar(t)
	id := path.Base(strings.TrimSuffix(coll, "/"))
	put := func(name, text string) {
		t.Helper()
		code, _, resp := srv.Do(t, "PUT", coll+name, map[string]string{
			"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}, []byte(text))
		if code != http.StatusCreated {
			t.Fatalf("PUT %s: HTTP %d: %s", name, code, resp)
		}
	}
	put("dentist.ics", calendarObject("VEVENT", "UID:dentist-1@pimsync.test", "DTSTAMP:20240101T000000Z",
		"DTSTART:20240110T100000Z", "DTEND:20240110T110000Z", "SUMMARY:Dentist appointment"))
	put("milk.ics", calendarObject("VTODO", "UID:milk-1@pimsync.test", "DTSTAMP:20240101T000000Z",
		"SUMMARY:Buy oat milk", "STATUS:NEEDS-ACTION"))

	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q

storage local {
    type vdir/icalendar
    path %q
}

storage radicale {
    type caldav
    url %s
    username %s
    password %s
}

pair cal {
    storage_a local
    storage_b radicale
    collections from b
}
`, e.path("status"), e.path("a"), srv.URL, srv.Username, srv.Password))
	e.mustRun(0, "sync")
	vdir := e.path("a/" + id)
	if got := icsFiles(e, "a/"+id); len(got) != 2 {
		t.Fatalf("after the first sync the vdir holds %v, want the event and the todo", got)
	}

	// todoman names a list after the collection's display name, which pimsync copied
	// from the server into the vdir's displayname file.
	list := id
	if e.exists("a/" + id + "/displayname") {
		list = strings.TrimSpace(e.read("a/" + id + "/displayname"))
	}

	env := clientEnv(e.home)
	e.write("khal.conf", fmt.Sprintf(`[calendars]
[[work]]
path = %s

[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
local_timezone = UTC
default_timezone = UTC
firstweekday = 0
`, vdir))
	khalConf := e.path("khal.conf")
	e.write("todoman.py", fmt.Sprintf(`path = %q
date_format = "%%Y-%%m-%%d"
time_format = "%%H:%%M"
default_list = %q
cache_path = %q
humanize = False
`, e.path("a")+"/*", list, e.path("todoman-cache.sqlite3")))
	todoConf := e.path("todoman.py")

	// khal reads the event pimsync wrote.
	out := runTool(t, env, e.dir, khal, "-c", khalConf, "list", "--format", "{title}", "2024-01-01", "30d")
	if !strings.Contains(out, "Dentist appointment") {
		t.Fatalf("khal list does not show the synced event:\n%s", out)
	}

	// todoman reads the todo pimsync wrote.
	out = runTool(t, env, e.dir, todoman, "--config", todoConf, "--porcelain", "list")
	var todos []struct {
		Summary string `json:"summary"`
		List    string `json:"list"`
	}
	if err := json.Unmarshal([]byte(out), &todos); err != nil {
		t.Fatalf("todoman --porcelain list: %v\n%s", err, out)
	}
	if len(todos) != 1 || todos[0].Summary != "Buy oat milk" || todos[0].List != list {
		t.Fatalf("todoman lists %+v, want the one synced todo in list %s", todos, list)
	}

	// khal and todoman write new items into the vdir; pimsync uploads them.
	runTool(t, env, e.dir, khal, "-c", khalConf, "new", "-a", "work", "2024-01-15", "09:00", "10:00", "Team meeting")
	runTool(t, env, e.dir, todoman, "--config", todoConf, "new", "-l", list, "Call the plumber")
	if got := icsFiles(e, "a/"+id); len(got) != 4 {
		t.Fatalf("khal and todoman should have added one file each to the vdir, which holds %v", got)
	}
	r := e.mustRun(0, "sync")
	if !strings.Contains(r.stdout, "b +2") {
		t.Errorf("the summary should report two items created on b:\n%s", r)
	}
	items := collectionItems(t, srv, coll)
	if len(items) != 4 {
		t.Errorf("Radicale holds %d items after the sync, want 4", len(items))
	}
	for _, want := range []string{"SUMMARY:Team meeting", "SUMMARY:Call the plumber", "SUMMARY:Dentist appointment", "SUMMARY:Buy oat milk"} {
		if !containsItemWith(items, want) {
			t.Errorf("Radicale has no item with %q", want)
		}
	}

	// Nothing is left to do: the next sync prints nothing and writes nothing.
	before := e.snapshot()
	if r := e.mustRun(0, "sync"); r.stdout != "" {
		t.Errorf("a sync with nothing to do printed:\n%s", r)
	}
	e.assertUnchanged(before)
}
