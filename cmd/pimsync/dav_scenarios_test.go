package main

// sync.md §16 scenarios 38, 39, 41 and 42: failures, crash safety and efficiency
// against the fake DAV server and real Radicale.

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/bench"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// fakeEnv pairs local vdir a/ with collection "c" on a fake DAV server.
func fakeEnv(t *testing.T, opts davtest.Options) (*env, *davtest.Server) {
	t.Helper()
	srv := davtest.NewServer(t, opts)
	srv.AddCollection(davtest.CalendarHome+"c/", storage.Calendars, nil)
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage local {
    type vdir/icalendar
    path %q
}
storage remote {
    type caldav
    url %s/
    username alice
    password x
}
pair p {
    storage_a local
    storage_b remote
    collection c
}
`, e.path("status"), e.path("a"), srv.URL))
	return e, srv
}

func TestScenario38ConcurrentChange(t *testing.T) {
	e, srv := fakeEnv(t, davtest.Options{})
	for i := range 3 {
		e.write(fmt.Sprintf("a/c/%d.ics", i), event(fmt.Sprint(i), "v1"))
	}
	srv.FailNthPUT(2, http.StatusPreconditionFailed)
	r := e.mustRun(1, "sync")
	if strings.Count(r.stderr, "error:") != 1 || !strings.Contains(r.stderr, "412") {
		t.Fatalf("want exactly one 412 item error:\n%s", r.stderr)
	}
	if n := len(e.statusRows()); n != 2 {
		t.Fatalf("status has %d rows, want the 2 that succeeded", n)
	}
	e.mustRun(0, "sync")
	if n := len(srv.Items(davtest.CalendarHome + "c/")); n != 3 {
		t.Fatalf("server has %d items", n)
	}
	e.mustRun(0, "sync")
}

// TestScenario42BatchedFetch: a 1000-item first sync from the server uses multiget
// REPORTs of at most 50 hrefs and no GETs; later no-op runs cost one request per DAV
// storage (the bootstrap is cached; an explicitly named collection is probed directly).
func TestScenario42BatchedFetch(t *testing.T) {
	e, srv := fakeEnv(t, davtest.Options{})
	for i := range 1000 {
		srv.PutItem(fmt.Sprintf("%sc/%d.ics", davtest.CalendarHome, i), []byte(event(fmt.Sprint(i), "remote")))
	}
	srv.ResetLog()
	e.mustRun(0, "sync")
	if n := len(e.files("a/c")); n != 1000 {
		t.Fatalf("vdir has %d items", n)
	}
	if srv.Count("GET") != 0 {
		t.Errorf("%d GET requests", srv.Count("GET"))
	}
	reports := 0
	for _, r := range srv.Requests() {
		if r.Method == "REPORT" {
			reports++
			if n := strings.Count(string(r.Body), "href>"); n/2 > 50 {
				t.Errorf("multiget with %d hrefs", n/2)
			}
		}
	}
	if reports < 20 {
		t.Errorf("%d multigets for 1000 items", reports)
	}
	e.mustRun(0, "sync") // saves the token
	for range 2 {
		srv.ResetLog()
		e.mustRun(0, "sync")
		// The bootstrap is cached between runs, so everything counts.
		var after []string
		for _, r := range srv.Requests() {
			after = append(after, r.Method+" "+r.Path+" depth "+r.Header.Get("Depth"))
		}
		if len(after) != 1 {
			t.Fatalf("no-op sync made %d requests, want 1: %v", len(after), after)
		}
	}
}

// TestScenario41ServerRewritesUploads: Radicale re-serialises an item with a lower-case
// property name; the second and third syncs make no writes.
func TestScenario41ServerRewritesUploads(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	e := newDavEnv(t, srv, "calendar")
	// Radicale writes property names in upper case.
	stray := strings.Replace(event("stray", "Stray"), "SUMMARY:Stray\r\n", "summary:Stray\r\n", 1)
	e.write("a/"+e.id+"/stray.ics", stray)
	e.mustRun(0, "sync")
	if e.serverHas("summary:Stray\r\n") {
		t.Fatal("Radicale did not rewrite the item; the scenario proves nothing")
	}
	for range 2 {
		r := e.mustRun(0, "-v", "debug", "sync")
		if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"] != 0 {
			t.Fatalf("ping-pong: %v", c)
		}
		if e.read("a/"+e.id+"/stray.ics") != stray {
			t.Fatal("the local file was rewritten")
		}
	}
}

// TestScenario39CrashSafety kills a first sync of 1000 items to Radicale with SIGKILL
// midway; the next sync leaves both sides equal with no duplicates, and a third sync
// writes nothing.
func TestScenario39CrashSafety(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	e := newDavEnv(t, srv, "calendar")
	if err := bench.WriteEvents(e.path("a/"+e.id), 1000); err != nil {
		t.Fatal(err)
	}
	// Start the sync and kill it once the server has received some items.
	cmd := exec.Command(binPath, "-c", e.cfg, "-v", "debug", "sync")
	cmd.Env = append(os.Environ(), "HOME="+e.home, raceNoSleep)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	puts := 0
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "method=PUT") {
			puts++
			if puts == 150 {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the sync was not killed (it finished: %v); the scenario proves nothing", err)
	}
	onServer := len(e.serverItems())
	if onServer == 0 || onServer >= 1000 {
		t.Fatalf("server has %d items after the kill", onServer)
	}
	e.mustRun(0, "sync")
	items := e.serverItems()
	if len(items) != 1000 {
		t.Fatalf("server has %d items, want 1000", len(items))
	}
	uids := map[string]bool{}
	for _, text := range items {
		uid, _ := storage.ExtractUID(storage.NormalizeNewlines(text))
		if uids[uid] {
			t.Fatalf("duplicate UID %s on the server", uid)
		}
		uids[uid] = true
	}
	local, _ := filepath.Glob(e.path("a/" + e.id + "/*.ics"))
	if len(local) != 1000 {
		t.Fatalf("vdir has %d items", len(local))
	}
	before := e.snapshot()
	start := time.Now()
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(before)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"] != 0 {
		t.Fatalf("third sync wrote: %v", c)
	}
	t.Logf("third sync took %s", time.Since(start))
}
