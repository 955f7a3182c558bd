package main

// End-to-end tests of the real binary against real Radicale, Xandikos, Cyrus IMAP and
// DAViCal servers, started on loopback by the davtest harness (sync.md §16; the proof
// of issues 3 and 9).

import (
	"cmp"
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
	// viaURL, when set, is the URL pimsync uses instead of the server's (a proxy).
	viaURL string
}

// realServerNames are the servers of the end-to-end matrix.
var realServerNames = []string{"radicale", "xandikos", "cyrus", "davical"}

// startServer starts Radicale (with htpasswd) or Xandikos for the test, or returns a
// new user on the binary's shared Cyrus or DAViCal.
func startServer(t *testing.T, name string) *davtest.RealServer {
	t.Helper()
	switch name {
	case "radicale":
		return davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	case "xandikos":
		return davtest.StartXandikos(t)
	case "cyrus":
		return davtest.StartCyrus(t)
	case "davical":
		return davtest.StartDAViCal(t)
	}
	t.Fatalf("unknown server %q", name)
	return nil
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
`, e.path("status"), localType, e.path("a"), remoteType, cmp.Or(e.viaURL, e.srv.URL), auth, indent(strings.Join(pairExtra, "\n"))))
}

// item is a card or an event (with DTEND, which Cyrus requires).
func (e *davEnv) item(uid, text string) string {
	if e.kind == "contacts" {
		return card(uid, text)
	}
	return event(uid, text, "DTEND:20240102T110000Z")
}

// home is the server's home set for the env's kind.
func (e *davEnv) homeSet() string {
	if e.kind == "contacts" {
		return e.srv.AddressBookHome
	}
	return e.srv.CalendarHome
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
	return e.serverItemsIn(e.coll)
}

// serverItemsIn is serverItems for another collection.
func (e *davEnv) serverItemsIn(coll string) map[string]string {
	e.t.Helper()
	code, _, body := e.srv.Do(e.t, "PROPFIND", coll, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
		[]byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`))
	if code != http.StatusMultiStatus {
		e.t.Fatalf("PROPFIND %s: HTTP %d", coll, code)
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
		if strings.HasPrefix(line, "debug: http ") && !strings.HasPrefix(line, "debug: http error") {
			if m := regexp.MustCompile(`method=(\S+)`).FindStringSubmatch(line); m != nil {
				out[m[1]]++
			}
		}
	}
	return out
}

// TestRealServers runs the same flows on every real server, for calendars and for
// contacts: a first sync both ways with `collections from a` (one collection exists on
// both sides, the other only locally and is created on the server with its display
// name), no-op runs that write nothing, edits and deletes both ways, and a conflict.
func TestRealServers(t *testing.T) {
	for _, server := range realServerNames {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			for _, kind := range []string{"calendar", "contacts"} {
				t.Run(kind, func(t *testing.T) { testServerFlow(t, srv, kind) })
			}
			if srv.Username != "" {
				t.Run("wrong password", func(t *testing.T) { testWrongPassword(t, srv) })
			}
		})
	}
}

func testServerFlow(t *testing.T, srv *davtest.RealServer, kind string) {
	e := newDavEnv(t, srv, kind, "collections from a")
	ext, both := e.ext, e.coll
	created := "new-" + e.id
	createdColl := e.homeSet() + created + "/"
	local := func(coll, name string) string { return "a/" + coll + "/" + name + "." + ext }

	// First sync: collection e.id exists on both sides with an item on each, collection
	// `created` exists only locally.
	e.write(local(e.id, "l1"), e.item("l1-"+e.id, "Local one"))
	e.write(local(e.id, "l2"), e.item("l2-"+e.id, "Local two"))
	e.put("r1."+ext, e.item("r1-"+e.id, "Remote one"), map[string]string{"If-None-Match": "*"})
	e.write(local(created, "n1"), e.item("n1-"+e.id, "In a new collection"))
	e.write("a/"+created+"/displayname", "Brand new")
	e.mustRun(0, "sync")
	if !e.serverHas("UID:l1-"+e.id, "Local one") || !e.serverHas("UID:l2-"+e.id) {
		t.Fatalf("local items not on the server: %v", e.serverItems())
	}
	if got := e.read(local(e.id, "r1-"+e.id)); !strings.Contains(got, "Remote one") {
		t.Fatalf("remote item not local: %q", got)
	}
	e.coll = createdColl
	if !e.serverHas("UID:n1-"+e.id, "In a new collection") {
		t.Fatalf("collection %s or its item not created on the server: %v", createdColl, e.serverItems())
	}
	code, _, body := srv.Do(t, "PROPFIND", createdColl, map[string]string{"Depth": "0", "Content-Type": "application/xml"},
		[]byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>`))
	if code != http.StatusMultiStatus || !strings.Contains(string(body), "Brand new") {
		t.Errorf("display name of the new collection on the server: HTTP %d %s", code, body)
	}
	e.coll = both

	// The next runs write nothing on either side, even where the server rewrote what
	// it stored (DAViCal adds REV to vCards and answers PUT without ETag); the first
	// may list (our writes changed the tokens), later ones cost one request per
	// storage after bootstrap.
	for i := range 2 {
		before := e.snapshot()
		r := e.mustRun(0, "-v", "debug", "sync")
		e.assertUnchanged(before)
		counts := httpCounts(r.stderr)
		if counts["PUT"]+counts["DELETE"]+counts["PROPPATCH"]+counts["MKCOL"]+counts["MKCALENDAR"] != 0 {
			t.Errorf("no-op sync %d wrote: %v\n%s", i+1, counts, r.stderr)
		}
		if i == 0 {
			continue
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		if total != 1 || counts["PROPFIND"] != 1 { // the home set's discovery; bootstrap is cached
			t.Errorf("no-op sync made %d requests (want 1 PROPFIND): %v\n%s", total, counts, r.stderr)
		}
	}

	// Edits both ways: locally in both collections, on the server in e.id.
	e.write(local(e.id, "l1"), e.item("l1-"+e.id, "Local one edited"))
	e.write(local(created, "n1"), e.item("n1-"+e.id, "New one edited"))
	_, h, _ := srv.Do(t, "GET", both+"r1."+ext, nil, nil)
	e.put("r1."+ext, e.item("r1-"+e.id, "Remote one edited"), map[string]string{"If-Match": h.Get("ETag")})
	e.mustRun(0, "sync")
	if !e.serverHas("UID:l1-"+e.id, "Local one edited") {
		t.Fatal("local edit did not reach the server")
	}
	if got := e.read(local(e.id, "r1-"+e.id)); !strings.Contains(got, "Remote one edited") {
		t.Fatalf("server edit did not reach the vdir: %q", got)
	}
	e.coll = createdColl
	if !e.serverHas("UID:n1-"+e.id, "New one edited") {
		t.Fatal("local edit in the created collection did not reach the server")
	}
	e.coll = both

	// Deletes both ways.
	e.remove(local(e.id, "l2"))
	code, _, _ = srv.Do(t, "DELETE", both+"r1."+ext, nil, nil)
	if code >= 300 {
		t.Fatalf("DELETE: %d", code)
	}
	e.mustRun(0, "sync")
	if e.serverHas("UID:l2-" + e.id) {
		t.Fatal("local delete did not reach the server")
	}
	if e.exists(local(e.id, "r1-"+e.id)) {
		t.Fatal("server delete did not reach the vdir")
	}

	// A conflict: both sides edit n1 in the created collection.
	e.write(local(created, "n1"), e.item("n1-"+e.id, "Conflict local"))
	e.coll = createdColl
	var n1 string
	for name, text := range e.serverItems() {
		if strings.Contains(text, "UID:n1-"+e.id) {
			n1 = name
		}
	}
	_, h, _ = srv.Do(t, "GET", createdColl+n1, nil, nil)
	e.put(n1, e.item("n1-"+e.id, "Conflict remote"), map[string]string{"If-Match": h.Get("ETag")})
	r := e.mustRun(3, "sync")
	if !strings.Contains(r.stdout, "1 conflict") {
		t.Errorf("summary: %s", r.stdout)
	}
	if !strings.Contains(e.read(local(created, "n1")), "Conflict local") || !e.serverHas("Conflict remote") {
		t.Fatal("a conflict was overwritten")
	}
}

func testWrongPassword(t *testing.T, srv *davtest.RealServer) {
	e := newDavEnv(t, srv, "calendar")
	e.writeDavConfig("not-the-password", "collection "+e.id)
	e.write("a/"+e.id+"/x.ics", e.item("x", "X"))
	e.put("r.ics", e.item("r", "R"), nil)
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

// TestRealServersOddUIDs syncs items whose UID a server may refuse or rewrite, on every
// real server: an item without UID and one whose UID ends in spaces. A server that
// stores them (rewritten or not: DAViCal adds a UID to a card) changes nothing locally
// and the next runs write nothing; a server that refuses the UID-less item (Radicale,
// Cyrus) gets an error that names the file and says to run repair, is asked again
// each run and nothing else is written; after `pimsync repair local` one run uploads
// it, and the next writes nothing.
func TestRealServersOddUIDs(t *testing.T) {
	for _, server := range realServerNames {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			for _, kind := range []string{"calendar", "contacts"} {
				t.Run(kind, func(t *testing.T) { testOddUIDs(t, srv, kind) })
			}
		})
	}
}

func testOddUIDs(t *testing.T, srv *davtest.RealServer, kind string) {
	e := newDavEnv(t, srv, kind)
	nouid := "a/" + e.id + "/nouid." + e.ext
	trail := "a/" + e.id + "/trail." + e.ext
	trailUID := "trail-" + e.id + "  "
	var nouidText string
	if kind == "contacts" {
		nouidText = strings.Join([]string{"BEGIN:VCARD", "VERSION:3.0", "FN:No Uid", "N:Uid;No;;;", "END:VCARD", ""}, "\r\n")
	} else {
		nouidText = event("", "No uid", "DTEND:20240102T110000Z")
	}
	e.write(nouid, nouidText)
	trailText := e.item(trailUID, "Trailing spaces")
	e.write(trail, trailText)

	first := e.run("sync")
	if first.code != 0 && first.code != 1 {
		t.Fatalf("first sync: exit %d\n%s", first.code, first)
	}
	if !e.serverHas("UID:"+trailUID, "Trailing spaces") && !e.serverHas("UID:"+strings.TrimSpace(trailUID)+"\r\n", "Trailing spaces") {
		t.Fatalf("the item with spaces after its UID is not on the server: %v\n%s", e.serverItems(), first)
	}
	refused := !e.serverHas("No uid") && !e.serverHas("FN:No Uid")
	if refused {
		// The error names the file, the server's answer and what to do.
		for _, want := range []string{e.id + "/nouid." + e.ext + " (no UID)", "the server rejected the item", "`pimsync repair local` adds one"} {
			if !strings.Contains(first.stderr, want) {
				t.Errorf("the refusal's error lacks %q:\n%s", want, first.stderr)
			}
		}
		if first.code != 1 {
			t.Errorf("first sync with a refused item: exit %d, want 1", first.code)
		}
	} else if first.code != 0 {
		t.Fatalf("first sync: exit %d\n%s", first.code, first)
	}
	if e.read(nouid) != nouidText || e.read(trail) != trailText {
		t.Fatalf("the first sync changed a local item:\n%q\n%q", e.read(nouid), e.read(trail))
	}
	local := e.snapshot()

	// The next runs change nothing locally and write nothing on the server but the
	// refused item, asked again.
	for i := range 2 {
		r := e.run("-v", "debug", "sync")
		e.assertUnchanged(local)
		c := httpCounts(r.stderr)
		wantPUT := 0
		if refused {
			wantPUT = 1
		}
		if c["PUT"] != wantPUT || c["DELETE"]+c["PROPPATCH"] != 0 {
			t.Errorf("run %d after the first wrote %v (want %d PUT)\n%s", i+1, c, wantPUT, r.stderr)
		}
	}
	if !refused {
		return
	}

	// repair gives the file a UID; one run uploads it, the next writes nothing.
	e.mustRun(0, "repair", "local")
	repaired := e.read(nouid)
	uid := ""
	for _, l := range strings.Split(repaired, "\r\n") {
		if strings.HasPrefix(l, "UID:") {
			uid = strings.TrimPrefix(l, "UID:")
		}
	}
	if uid == "" {
		t.Fatalf("repair added no UID:\n%q", repaired)
	}
	e.mustRun(0, "sync")
	if !e.serverHas("UID:" + uid) {
		t.Fatalf("the repaired item is not on the server: %v", e.serverItems())
	}
	after := e.snapshot()
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(after)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"]+c["PROPPATCH"] != 0 {
		t.Errorf("the run after the repaired item's upload wrote: %v", c)
	}
}
