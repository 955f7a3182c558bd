package main

// End-to-end tests of the real binary against real Radicale and Xandikos servers,
// started on loopback by the davtest harness (sync.md §16, issue 3's proof).

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage/davtest"
)

// davEnv is a workspace with a local vdir (a/) paired with a real server collection.
type davEnv struct {
	*env
	srv  *davtest.RealServer
	coll string // server collection path, e.g. /bench/test-abc/
	id   string // its collection id (last segment)
	kind string // "calendar" or "contacts"
	ext  string
}

func startServer(t *testing.T, name string) *davtest.RealServer {
	t.Helper()
	if name == "radicale" {
		return davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	}
	return davtest.StartXandikos(t)
}

// newDavEnv creates the server collection and a config pairing local vdir a/ with it.
func newDavEnv(t *testing.T, srv *davtest.RealServer, kind string, pairExtra ...string) *davEnv {
	t.Helper()
	e := &davEnv{env: newEnv(t), srv: srv, kind: kind, ext: "ics"}
	if kind == "contacts" {
		e.ext = "vcf"
		e.coll = srv.NewAddressBook(t)
	} else {
		e.coll = srv.NewCalendar(t)
	}
	e.id = path.Base(strings.TrimSuffix(e.coll, "/"))
	if len(pairExtra) == 0 {
		pairExtra = []string{"collection " + e.id}
	}
	e.writeDavConfig(srv.Password, pairExtra...)
	return e
}

func (e *davEnv) writeDavConfig(password string, pairExtra ...string) {
	localType, remoteType := "vdir/icalendar", "caldav"
	if e.kind == "contacts" {
		localType, remoteType = "vdir/vcard", "carddav"
	}
	auth := ""
	if e.srv.Username != "" {
		auth = fmt.Sprintf("    username %s\n    password %q\n", e.srv.Username, password)
	}
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage local {
    type %s
    path %q
}
storage remote {
    type %s
    url %s
%s}
pair p {
    storage_a local
    storage_b remote
%s
}
`, e.path("status"), localType, e.path("a"), remoteType, e.srv.URL, auth, indent(strings.Join(pairExtra, "\n"))))
}

func (e *davEnv) item(uid, text string) string {
	if e.kind == "contacts" {
		return card(uid, text)
	}
	return event(uid, text)
}

func card(uid, fn string) string {
	return strings.Join([]string{"BEGIN:VCARD", "VERSION:3.0", "UID:" + uid, "FN:" + fn, "N:" + fn + ";;;;", "END:VCARD", ""}, "\r\n")
}

func (e *davEnv) contentType() string {
	if e.kind == "contacts" {
		return "text/vcard; charset=utf-8"
	}
	return "text/calendar; charset=utf-8"
}

// put stores an item on the server directly (another client's write).
func (e *davEnv) put(name, text string, header map[string]string) {
	e.t.Helper()
	h := map[string]string{"Content-Type": e.contentType()}
	for k, v := range header {
		h[k] = v
	}
	code, _, body := e.srv.Do(e.t, "PUT", e.coll+name, h, []byte(text))
	if code != http.StatusCreated && code != http.StatusNoContent && code != http.StatusOK {
		e.t.Fatalf("PUT %s: HTTP %d %s", name, code, body)
	}
}

var hrefRE = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?href>([^<]+)</(?:[A-Za-z0-9]+:)?href>`)

// serverItems lists the collection with PROPFIND and GETs every item: href → text.
func (e *davEnv) serverItems() map[string]string {
	e.t.Helper()
	code, _, body := e.srv.Do(e.t, "PROPFIND", e.coll, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
		[]byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`))
	if code != http.StatusMultiStatus {
		e.t.Fatalf("PROPFIND %s: HTTP %d", e.coll, code)
	}
	out := map[string]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(string(body), -1) {
		href := m[1]
		if strings.HasSuffix(href, "/") {
			continue
		}
		if i := strings.Index(href, "://"); i >= 0 { // absolute URL
			href = href[strings.Index(href[i+3:], "/")+i+3:]
		}
		code, _, text := e.srv.Do(e.t, "GET", href, nil, nil)
		if code == http.StatusNotFound {
			continue // deleted since the listing (a daemon test racing the server)
		}
		if code != http.StatusOK {
			e.t.Fatalf("GET %s: HTTP %d", href, code)
		}
		out[path.Base(href)] = string(text)
	}
	return out
}

// serverHas reports whether some server item contains all the given substrings.
func (e *davEnv) serverHas(subs ...string) bool {
	for _, text := range e.serverItems() {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(text, s)
		}
		if ok {
			return true
		}
	}
	return false
}

// httpCounts counts the HTTP requests in a -v debug log by method.
func httpCounts(stderr string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "debug: http ") {
			if m := regexp.MustCompile(`method=(\S+)`).FindStringSubmatch(line); m != nil {
				out[m[1]]++
			}
		}
	}
	return out
}

func TestRealServers(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			for _, kind := range []string{"calendar", "contacts"} {
				t.Run(kind, func(t *testing.T) { testRoundTrip(t, srv, kind) })
			}
			t.Run("collections from a", func(t *testing.T) { testCreateCollection(t, srv) })
			if server == "radicale" {
				t.Run("wrong password", func(t *testing.T) { testWrongPassword(t, srv) })
			}
		})
	}
}

func testRoundTrip(t *testing.T, srv *davtest.RealServer, kind string) {
	e := newDavEnv(t, srv, kind)
	ext := e.ext
	// First sync both ways.
	e.write("a/"+e.id+"/l1."+ext, e.item("l1", "Local one"))
	e.write("a/"+e.id+"/l2."+ext, e.item("l2", "Local two"))
	e.put("r1."+ext, e.item("r1", "Remote one"), map[string]string{"If-None-Match": "*"})
	e.mustRun(0, "sync")
	if !e.serverHas("UID:l1", "Local one") || !e.serverHas("UID:l2") {
		t.Fatalf("local items not on the server: %v", e.serverItems())
	}
	if got := e.read("a/" + e.id + "/r1." + ext); !strings.Contains(got, "Remote one") {
		t.Fatalf("remote item not local: %q", got)
	}
	// No-op re-syncs: the first may list once (our writes changed the token), later
	// ones cost one request per storage after bootstrap and write nothing.
	e.mustRun(0, "sync")
	before := e.snapshot()
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(before)
	counts := httpCounts(r.stderr)
	if counts["PUT"]+counts["DELETE"]+counts["REPORT"]+counts["PROPPATCH"] != 0 {
		t.Errorf("no-op sync wrote or fetched: %v", counts)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1 || counts["PROPFIND"] != 1 { // the home set's discovery; bootstrap is cached
		t.Errorf("no-op sync made %d requests (want 1 PROPFIND): %v\n%s", total, counts, r.stderr)
	}
	// Edit locally → server.
	e.write("a/"+e.id+"/l1."+ext, e.item("l1", "Local one edited"))
	e.mustRun(0, "sync")
	if !e.serverHas("UID:l1", "Local one edited") {
		t.Fatal("local edit did not reach the server")
	}
	// Edit on the server → local.
	_, h, _ := e.srv.Do(t, "GET", e.coll+"r1."+ext, nil, nil)
	e.put("r1."+ext, e.item("r1", "Remote one edited"), map[string]string{"If-Match": h.Get("ETag")})
	e.mustRun(0, "sync")
	if got := e.read("a/" + e.id + "/r1." + ext); !strings.Contains(got, "Remote one edited") {
		t.Fatalf("server edit did not reach the vdir: %q", got)
	}
	// Deletes both ways.
	e.remove("a/" + e.id + "/l2." + ext)
	e.mustRun(0, "sync")
	if e.serverHas("UID:l2") {
		t.Fatal("local delete did not reach the server")
	}
	code, _, _ := e.srv.Do(t, "DELETE", e.coll+"r1."+ext, nil, nil)
	if code >= 300 {
		t.Fatalf("DELETE: %d", code)
	}
	e.mustRun(0, "sync")
	if e.exists("a/" + e.id + "/r1." + ext) {
		t.Fatal("server delete did not reach the vdir")
	}
	// A conflict: both sides edit l1.
	e.write("a/"+e.id+"/l1."+ext, e.item("l1", "Conflict local"))
	var l1 string
	for name, text := range e.serverItems() {
		if strings.Contains(text, "UID:l1") {
			l1 = name
		}
	}
	_, h, _ = e.srv.Do(t, "GET", e.coll+l1, nil, nil)
	e.put(l1, e.item("l1", "Conflict remote"), map[string]string{"If-Match": h.Get("ETag")})
	r = e.mustRun(3, "sync")
	if !strings.Contains(r.stdout, "1 conflict") {
		t.Errorf("summary: %s", r.stdout)
	}
	if !strings.Contains(e.read("a/"+e.id+"/l1."+ext), "Conflict local") || !e.serverHas("Conflict remote") {
		t.Fatal("a conflict was overwritten")
	}
}

func testCreateCollection(t *testing.T, srv *davtest.RealServer) {
	e := newDavEnv(t, srv, "calendar", "collections from a")
	name := "new-" + e.id
	e.write("a/"+name+"/x.ics", event("x-"+name, "In a new collection"))
	e.write("a/"+name+"/displayname", "Brand new")
	e.mustRun(0, "sync")
	e.coll = srv.CalendarHome + name + "/"
	if !e.serverHas("x-"+name, "In a new collection") {
		t.Fatal("collection or item not created on the server")
	}
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
}

func testWrongPassword(t *testing.T, srv *davtest.RealServer) {
	e := newDavEnv(t, srv, "calendar")
	e.writeDavConfig("not-the-password", "collection "+e.id)
	e.write("a/"+e.id+"/x.ics", event("x", "X"))
	e.put("r.ics", event("r", "R"), nil)
	before := e.snapshot()
	r := e.mustRun(1, "sync")
	e.assertUnchanged(before)
	for _, want := range []string{"storage remote", "401", "check username and password"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r.stderr)
		}
	}
	if e.serverHas("UID:x") {
		t.Error("something was uploaded")
	}
	if _, err := os.Stat(e.path("status/p.status")); err == nil {
		// The status file may be created by the lock/open before discovery; it must
		// hold no rows.
		if rows := e.statusRows(); len(rows) != 0 {
			t.Errorf("status rows written: %v", rows)
		}
	}
}
