package main

// Scenario 36 of sync.md §16 (webcal into a vdir) and the webcal failure cases, driven
// through the CLI against a local HTTP server.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// The test feed: a VTIMEZONE used by two events, a recurring event whose override
// comes later in the feed, and an all-day event without time zone.
var (
	feedHeader = []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example//Team calendar//EN", "X-WR-CALNAME:Team"}
	feedTZ     = []string{"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
		"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	feedMaster = []string{"BEGIN:VEVENT", "UID:standup@example.com", "DTSTAMP:20240101T000000Z",
		"DTSTART;TZID=Europe/Berlin:20240102T090000", "RRULE:FREQ=DAILY;COUNT=10", "SUMMARY:Standup", "END:VEVENT"}
	feedReview = []string{"BEGIN:VEVENT", "UID:review@example.com", "DTSTAMP:20240101T000000Z",
		"DTSTART;TZID=Europe/Berlin:20240103T140000", "SUMMARY:Review with a long summary that the feed",
		"  folds onto a second line", "END:VEVENT"}
	feedHoliday = []string{"BEGIN:VEVENT", "UID:holiday@example.com", "DTSTAMP:20240101T000000Z",
		"DTSTART;VALUE=DATE:20240101", "SUMMARY:New Year", "END:VEVENT"}
	feedOverride = []string{"BEGIN:VEVENT", "UID:standup@example.com", "DTSTAMP:20240101T000000Z",
		"RECURRENCE-ID;TZID=Europe/Berlin:20240104T090000", "DTSTART;TZID=Europe/Berlin:20240104T110000",
		"SUMMARY:Standup (moved)", "END:VEVENT"}
)

func icsLines(parts ...[]string) string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return strings.Join(all, "\r\n") + "\r\n"
}

func teamFeed() string {
	return icsLines(feedHeader, feedTZ, feedMaster, feedReview, feedHoliday, feedOverride, []string{"END:VCALENDAR"})
}

// feedHit is one request the feed server saw.
type feedHit struct {
	method, ifNoneMatch string
	status              int
}

// webcalServer serves teamFeed with an ETag and answers conditional GETs with 304.
type webcalServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   string
	status int // when set, the answer to everything
	hits   []feedHit
}

const feedETag = `"team-v1"`

func newWebcalServer(t *testing.T) *webcalServer {
	t.Helper()
	w := &webcalServer{body: teamFeed()}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		hit := feedHit{method: r.Method, ifNoneMatch: r.Header.Get("If-None-Match")}
		switch {
		case w.status != 0:
			hit.status = w.status
		case r.Method != http.MethodGet:
			hit.status = http.StatusMethodNotAllowed
		case hit.ifNoneMatch == feedETag:
			hit.status = http.StatusNotModified
		default:
			hit.status = http.StatusOK
		}
		w.hits = append(w.hits, hit)
		rw.Header().Set("ETag", feedETag)
		rw.WriteHeader(hit.status)
		if hit.status == http.StatusOK {
			rw.Write([]byte(w.body))
		}
	}))
	t.Cleanup(w.Close)
	return w
}

// takeHits returns and forgets the requests seen so far.
func (w *webcalServer) takeHits() []feedHit {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hits
	w.hits = nil
	return h
}

func (w *webcalServer) setStatus(code int) {
	w.mu.Lock()
	w.status = code
	w.mu.Unlock()
}

// writeWebcalConfig writes a config with storage feed (webcal at url) as A, the vdir
// b/ as B and pair p over collection team.
func (e *env) writeWebcalConfig(url string, pairExtra ...string) {
	e.t.Helper()
	e.cfg = e.path("pimsync.conf")
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q

storage feed {
    type webcal
    url %q
    collection_id team
}

storage local {
    type vdir/icalendar
    path %q
}

pair p {
    storage_a feed
    storage_b local
    collection team
%s
}
`, e.path("status"), url, e.path("b"), indent(strings.Join(pairExtra, "\n"))))
}

// itemsByUID reads every item file of b/team by UID.
func (e *env) itemsByUID() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, f := range e.files("b/team") {
		text := e.read("b/team/" + f)
		uid, _ := storage.ExtractUID(text)
		out[uid] = text
	}
	return out
}

func TestScenario36WebcalIntoVdir(t *testing.T) {
	srv := newWebcalServer(t)
	e := newEnv(t)
	e.writeWebcalConfig(srv.URL+"/team.ics", "one_way")

	e.mustRun(0, "sync")
	if files := e.files("b/team"); len(files) != 3 {
		t.Fatalf("b/team holds %v, want 3 files", files)
	}
	end := []string{"END:VCALENDAR"}
	want := map[string]string{
		"standup@example.com": icsLines(feedHeader, feedTZ, feedMaster, feedOverride, end),
		"review@example.com":  icsLines(feedHeader, feedTZ, feedReview, end),
		"holiday@example.com": icsLines(feedHeader, feedHoliday, end),
	}
	got := e.itemsByUID()
	for uid, text := range want {
		if got[uid] != text {
			t.Errorf("item %s =\n%s\nwant\n%s", uid, got[uid], text)
		}
	}
	if t.Failed() {
		return
	}
	if hits := srv.takeHits(); len(hits) != 1 || hits[0].method != http.MethodGet || hits[0].status != http.StatusOK {
		t.Fatalf("first sync: requests %v, want one GET", hits)
	}

	// Second sync: a conditional GET answered 304, no writes.
	before := e.snapshot()
	r := e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if r.stdout != "" {
		t.Fatalf("second sync printed %q", r.stdout)
	}
	hits := srv.takeHits()
	if len(hits) != 1 || hits[0].ifNoneMatch != feedETag || hits[0].status != http.StatusNotModified {
		t.Fatalf("second sync: requests %v, want one GET with If-None-Match answered 304", hits)
	}

	// A local edit is never uploaded; with one_way it is reverted.
	review := e.files("b/team")[0]
	for _, f := range e.files("b/team") {
		if strings.Contains(e.read("b/team/"+f), "UID:review@example.com") {
			review = f
		}
	}
	edited := strings.Replace(want["review@example.com"], "SUMMARY:Review", "SUMMARY:Edited review", 1)
	e.write("b/team/"+review, edited)
	e.mustRun(0, "sync")
	if got := e.read("b/team/" + review); got != want["review@example.com"] {
		t.Fatalf("one_way did not revert the local edit:\n%s", got)
	}
	for _, h := range srv.takeHits() {
		if h.method != http.MethodGet {
			t.Fatalf("the feed server got a %s", h.method)
		}
	}
}

// TestWebcalTwoWayKeepsLocalEdit: without one_way a local edit stays local and is
// never sent to the feed; the run is clean (read-only skips are not errors).
func TestWebcalTwoWayKeepsLocalEdit(t *testing.T) {
	srv := newWebcalServer(t)
	e := newEnv(t)
	e.writeWebcalConfig(srv.URL + "/team.ics")
	e.mustRun(0, "sync")
	var holiday string
	for _, f := range e.files("b/team") {
		if strings.Contains(e.read("b/team/"+f), "UID:holiday@example.com") {
			holiday = f
		}
	}
	edited := strings.Replace(e.read("b/team/"+holiday), "SUMMARY:New Year", "SUMMARY:New Year (local note)", 1)
	e.write("b/team/"+holiday, edited)
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	for _, h := range srv.takeHits() {
		if h.method != http.MethodGet {
			t.Fatalf("the feed server got a %s", h.method)
		}
	}
}

// TestWebcalFeedDown: a feed answering 404 (or 410) deletes nothing and fails the run
// with a message naming the storage and the URL.
func TestWebcalFeedDown(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := newWebcalServer(t)
			e := newEnv(t)
			url := srv.URL + "/team.ics"
			e.writeWebcalConfig(url, "one_way")
			e.mustRun(0, "sync")
			if n := len(e.files("b/team")); n != 3 {
				t.Fatalf("%d files after the first sync", n)
			}
			srv.setStatus(code)
			before := e.snapshot()
			r := e.mustRun(1, "sync")
			e.assertUnchanged(before)
			if !strings.Contains(r.stderr, "storage feed") || !strings.Contains(r.stderr, url) ||
				!strings.Contains(r.stderr, fmt.Sprintf("HTTP %d", code)) {
				t.Fatalf("the error does not name storage, URL and status:\n%s", r)
			}
		})
	}
}

func TestWebcalNotAFeed(t *testing.T) {
	srv := newWebcalServer(t)
	srv.body = "<!DOCTYPE html><html><body>Please log in</body></html>"
	e := newEnv(t)
	e.writeWebcalConfig(srv.URL+"/team.ics", "one_way")
	r := e.mustRun(1, "sync")
	if !strings.Contains(r.stderr, "not an iCalendar feed") || !strings.Contains(r.stderr, srv.URL+"/team.ics") {
		t.Fatalf("stderr:\n%s", r)
	}
	if files := e.files("b"); len(files) != 0 {
		t.Fatalf("files were written: %v", files)
	}
	r = e.mustRun(1, "check")
	if !strings.Contains(r.stdout, "storage feed (webcal): FAILED") || !strings.Contains(r.stdout, "not an iCalendar feed") {
		t.Fatalf("check:\n%s", r)
	}
}

func TestWebcalCheck(t *testing.T) {
	srv := newWebcalServer(t)
	e := newEnv(t)
	e.writeWebcalConfig(srv.URL+"/team.ics", "one_way")
	r := e.mustRun(0, "check")
	if !strings.Contains(r.stdout, "storage feed (webcal): ok: feed http") || !strings.Contains(r.stdout, " items;") || !strings.Contains(r.stdout, "read-only") {
		t.Fatalf("check:\n%s", r)
	}
}

func TestWebcalSchemeIsAConfigError(t *testing.T) {
	e := newEnv(t)
	e.writeWebcalConfig("webcal://example.org/team.ics", "one_way")
	for _, cmd := range []string{"sync", "check"} {
		r := e.mustRun(1, cmd)
		if out := r.stdout + r.stderr; !strings.Contains(out, "webcal:// URLs are not supported; write https:// instead") ||
			!strings.Contains(out, "pimsync.conf:") {
			t.Fatalf("%s:\n%s", cmd, r)
		}
	}
	if e.exists("status") {
		t.Fatal("a config error created the status directory")
	}
}
