package main

// Collection creation and properties (issue 9 items 4 and 6) against the fake DAV
// server: properties travel with the creation, values a server invents or refuses are
// never copied, conflicts or errors on every run.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// fromAEnv pairs local vdir a/ with the calendar home of a fake server, with
// `collections from a`.
func fromAEnv(t *testing.T, opts davtest.Options) (*env, *davtest.Server) {
	t.Helper()
	srv := davtest.NewServer(t, opts)
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
    collections from a
}
`, e.path("status"), e.path("a"), srv.URL))
	return e, srv
}

// A collection created by pimsync carries its display name in the MKCALENDAR body: no
// PROPPATCH, nothing invented reaches the other side, and the next run is a no-op.
func TestCreateCollectionWithProperties(t *testing.T) {
	e, srv := fromAEnv(t, davtest.Options{InventDisplayName: true})
	e.write("a/work/x.ics", event("x", "X"))
	e.write("a/work/displayname", "Work\n")
	e.write("a/work/color", "#ff8800")
	e.write("a/plain/y.ics", event("y", "Y"))
	r := e.mustRun(0, "sync")
	if n := srv.Count("PROPPATCH"); n != 0 {
		t.Errorf("%d PROPPATCH requests; the properties belong in the creation", n)
	}
	props := srv.Props(davtest.CalendarHome + "work/")
	if props[storage.PropDisplayName] != "Work" || props[storage.PropColor] != "#ff8800" {
		t.Errorf("server properties of work = %v", props)
	}
	// The server invents "dav/calendars/plain" for plain; it must not come back.
	if e.exists("a/plain/displayname") {
		t.Errorf("the server's invented display name was copied: %q", e.read("a/plain/displayname"))
	}
	if strings.Contains(r.stdout, "displayname") {
		t.Errorf("output reports a display name write: %s", r.stdout)
	}
	before := e.snapshot()
	srv.ResetLog()
	r = e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if r.stdout != "" || srv.Count("PUT")+srv.Count("PROPPATCH")+srv.Count("MKCALENDAR") != 0 {
		t.Errorf("second run was not a no-op: %q, %v", r.stdout, srv.Requests())
	}
	// A display name set later on either side still syncs.
	e.write("a/plain/displayname", "Plain")
	e.mustRun(0, "sync")
	if got := srv.Props(davtest.CalendarHome + "plain/")[storage.PropDisplayName]; got != "Plain" {
		t.Errorf("display name set later: server has %q", got)
	}
	e.mustRun(0, "sync")
}

// A run stopped right after the creation (here: the property the server invents is
// seen first on the next run, which must still know it was invented) converges: no
// conflict, the local name kept, nothing copied.
func TestCreateCollectionInterruptedAfterCreation(t *testing.T) {
	e, srv := fromAEnv(t, davtest.Options{InventDisplayName: true, IgnoreCreationProps: true})
	e.write("a/work/x.ics", event("x", "X"))
	e.write("a/work/displayname", "Work")
	// The server ignores properties in creation bodies here; the first PROPPATCH then
	// fails, which leaves the invented name on the server.
	srv.Inject(davtest.Fault{Method: "PROPPATCH", Status: 503})
	e.mustRun(1, "sync")
	for i := range 3 {
		r := e.run("sync")
		if r.code != 0 {
			t.Fatalf("run %d after the failed PROPPATCH: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	if got := srv.Props(davtest.CalendarHome + "work/")[storage.PropDisplayName]; got != "Work" {
		t.Errorf("server display name = %q, want the local one", got)
	}
	if got := strings.TrimSpace(e.read("a/work/displayname")); got != "Work" {
		t.Errorf("local display name = %q", got)
	}
}

// A property the server refuses to store is reported once, remembered, and does not
// fail every run.
func TestRefusedPropertyReportedOnce(t *testing.T) {
	e, srv := fakeEnv(t, davtest.Options{})
	srv.SetReadOnlyProperty("calendar-description")
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/description", "My calendar")
	r := e.mustRun(0, "sync")
	if !strings.Contains(r.stderr, "does not store property description") {
		t.Errorf("the refusal was not reported:\n%s", r.stderr)
	}
	for i := range 2 {
		srv.ResetLog()
		r = e.mustRun(0, "sync")
		if strings.Contains(r.stderr, "description") || srv.Count("PROPPATCH") != 0 {
			t.Errorf("run %d: the refused property was tried or reported again:\n%s", i, r.stderr)
		}
	}
	if got := strings.TrimSpace(e.read("a/c/description")); got != "My calendar" {
		t.Errorf("local description = %q", got)
	}
	// A new value is tried again.
	e.write("a/c/description", "Renamed")
	r = e.mustRun(0, "sync")
	if !strings.Contains(r.stderr, "does not store property description") {
		t.Errorf("a new value was not tried:\n%s", r.stderr)
	}
}

// A server that adds REV to every vCard, re-folds it and answers PUT without an ETag
// (DAViCal, issue 9 item 3): the uploads are not copied back to the vdir, a later local
// edit is an update (not a conflict), and no-op runs write nothing.
func TestServerRewritesWithoutETag(t *testing.T) {
	srv := davtest.NewServer(t, davtest.Options{})
	srv.AddCollection(davtest.AddressBookHome+"c/", storage.Contacts, nil)
	srv.SetNoETagOnPut(true)
	srv.SetRewrite(func(b []byte) []byte {
		s := strings.Replace(string(b), "END:VCARD", "REV:20261206T120000Z\r\nEND:VCARD", 1)
		return []byte(strings.Replace(s, "FN:", "fn:", 1))
	})
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage local {
    type vdir/vcard
    path %q
}
storage remote {
    type carddav
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
	for i := range 5 {
		e.write(fmt.Sprintf("a/c/%d.vcf", i), card(fmt.Sprint(i), fmt.Sprintf("Person %d", i)))
	}
	e.mustRun(0, "sync")
	before := e.snapshot()
	for i := range 2 {
		r := e.mustRun(0, "sync")
		if r.stdout != "" {
			t.Errorf("run %d after the upload: %s", i+2, r.stdout)
		}
	}
	e.assertUnchanged(before)
	e.write("a/c/3.vcf", card("3", "Person Three"))
	r := e.mustRun(0, "sync")
	if !strings.Contains(r.stdout, "b +0 ~1 -0") {
		t.Errorf("a local edit after the rewrite: %s", r.stdout)
	}
	srv.ResetLog()
	e.mustRun(0, "sync")
	if n := srv.Count("PUT"); n != 0 {
		t.Errorf("no-op wrote %d items", n)
	}
}

// A server that stores a damaged version of what it was sent (DAViCal mangles quoted
// parameters holding a semicolon) and answers without an ETag: the damage is reported
// and never copied back over the local file.
func TestServerDamagesUploadWithoutETag(t *testing.T) {
	e, srv := fakeEnv(t, davtest.Options{})
	srv.SetNoETagOnPut(true)
	srv.SetRewrite(func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `X-P="a:b;c"`, `X-P="\"a:b";C"`, 1))
	})
	orig := event("x", "X", `ATTENDEE;X-P="a:b;c":mailto:bob@example.org`)
	e.write("a/c/x.ics", orig)
	e.write("a/c/k.ics", event("k", "K"))
	r := e.mustRun(0, "sync")
	if !strings.Contains(r.stderr, "stored a different version") {
		t.Errorf("the damage is not reported:\n%s", r.stderr)
	}
	for range 2 {
		e.mustRun(0, "sync")
		if e.read("a/c/x.ics") != orig {
			t.Fatalf("the server's damaged version was copied back:\n%s", e.read("a/c/x.ics"))
		}
	}
}
