package dav_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

func TestPreconditionOnNthPut(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.FailNthPUT(2, http.StatusPreconditionFailed)
	ctx := t.Context()
	if _, _, err := s.Create(ctx, coll, item(storage.Calendars, "a", "A")); err != nil {
		t.Fatalf("first Create: %v", err)
	}
	_, _, err := s.Create(ctx, coll, item(storage.Calendars, "b", "B"))
	wantErr(t, "Create answered 412", err, storage.ErrPrecondition)
	if _, ok := srv.Items(coll)[coll+"b.ics"]; ok {
		t.Fatal("the refused item was stored")
	}
	// The next attempt (next run) goes through.
	if _, _, err := s.Create(ctx, coll, item(storage.Calendars, "b", "B")); err != nil {
		t.Fatalf("retried Create: %v", err)
	}
}

func TestCreateNameTakenByOtherIdent(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	// "a/b" and "ab" both sanitise to "ab".
	srv.PutItem(coll+"ab.ics", []byte(text(storage.Calendars, "a/b", "other")))
	it := item(storage.Calendars, "ab", "mine")
	href, _, err := s.Create(t.Context(), coll, it)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := coll + it.Hash() + ".ics"; href != want {
		t.Fatalf("Create href = %s, want the hash name %s", href, want)
	}
}

func TestNoETagOnPut(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			s, srv := fake(t, kind, davtest.Options{}, nil)
			coll, _ := seed(srv, kind, "c", 0)
			discover(t, s)
			srv.SetNoETagOnPut(true)
			ctx := t.Context()
			href, etag, err := s.Create(ctx, coll, item(kind, "a", "A"))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if _, want, _ := srv.Item(href); etag != want {
				t.Fatalf("Create etag = %q, want the fetched etag %q", etag, want)
			}
			// The server rewrites the next upload beyond reformatting (DAViCal mangles
			// some parameters): its etag still stands for our write, so the server's
			// version is never copied back over the user's.
			srv.SetRewrite(func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(":B\r\n"), []byte(":rewritten\r\n")) })
			etag2, err := s.Update(ctx, href, etag, item(kind, "a", "B"))
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if _, want, _ := srv.Item(href); etag2 != want || etag2 == "" {
				t.Fatalf("Update etag after a rewrite = %q, want the fetched etag %q", etag2, want)
			}
			// A server that only re-serialises the upload (DAViCal: REV added, lines
			// refolded and reordered): its etag stands for our write.
			srv.SetRewrite(func(b []byte) []byte {
				lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
				last := len(lines) - 1
				lines[1], lines[2] = lines[2], lines[1]
				lines = append(lines[:last], "REV:20260101T000000Z", lines[last])
				for i, l := range lines {
					if strings.HasPrefix(l, "UID:") {
						lines[i] = l[:3] + "\r\n " + l[3:] // refolded
					}
				}
				return []byte(strings.Join(lines, "\r\n") + "\r\n")
			})
			etag3, err := s.Update(ctx, href, "", item(kind, "a", "C"))
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			stored, want, _ := srv.Item(href)
			if etag3 != want || etag3 == "" || string(stored) == item(kind, "a", "C").Text() {
				t.Fatalf("Update etag after a normalisation = %q, want the server's %q (stored %q)", etag3, want, stored)
			}
		})
	}
}

func TestRewriteWithETagKeepsPutETag(t *testing.T) {
	// Like Radicale: the server stores another serialisation but answers with its ETag.
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.SetRewrite(func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r"), nil) })
	href, etag, err := s.Create(t.Context(), coll, item(storage.Calendars, "a", "A"))
	if err != nil || etag == "" {
		t.Fatalf("Create = %q, %q, %v", href, etag, err)
	}
	refs, err := s.List(t.Context(), coll)
	if err != nil || len(refs) != 1 || refs[0].ETag != etag {
		t.Fatalf("List = %v, %v; want the PUT etag %q (no refetch, no ping-pong)", refs, err, etag)
	}
}

func TestMissingInMultiget(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 3)
	discover(t, s)
	srv.SetMissingInMultiget(hrefs[1])
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	for _, f := range got {
		if f.Href == hrefs[1] {
			wantErr(t, "404 inside multiget", f.Err, storage.ErrNotFound)
		} else if f.Err != nil {
			t.Fatalf("Get %s: %v", f.Href, f.Err)
		}
	}
}

func TestDuplicateListing(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 2)
	discover(t, s)
	srv.SetDuplicateListing(true)
	refs, err := s.List(t.Context(), coll)
	if err != nil || len(refs) != len(hrefs) {
		t.Fatalf("List = %v, %v; want each of %d hrefs once", refs, err, len(hrefs))
	}
}

func TestOriginRule(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 1)
	other, _ := seed(srv, storage.Calendars, "other", 1)
	discover(t, s)
	bad := []string{
		"http://evil.example/dav/calendars/alice/c/x.ics", // another host
		other + "item-000.ics",                            // another collection
		"/etc/passwd",                                     // outside everything
		coll + "%2e%2e/%2e%2e/escape.ics",                 // encoded dot segments
	}
	for _, b := range bad {
		srv.AddListingHref(coll, b)
	}
	refs, err := s.List(t.Context(), coll)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var hrefs []string
	for _, r := range refs {
		hrefs = append(hrefs, r.Href)
	}
	srv.ResetLog()
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	good := 0
	for _, f := range got {
		if f.Err == nil {
			good++
			continue
		}
		wantErr(t, "Get of "+f.Href, f.Err, storage.ErrInvalidData)
		wantErr(t, "Update of "+f.Href, errOf(s.Update(t.Context(), f.Href, `"x"`, item(storage.Calendars, "z", "z"))), storage.ErrInvalidData)
		wantErr(t, "Delete of "+f.Href, s.Delete(t.Context(), f.Href, `"x"`), storage.ErrInvalidData)
	}
	if good != 1 || len(got) != 1+len(bad) {
		t.Fatalf("Get: %d good of %d results; want 1 of %d", good, len(got), 1+len(bad))
	}
	for _, r := range srv.Requests() {
		if r.Method != "REPORT" {
			t.Fatalf("a bad href caused a request: %s %s", r.Method, r.Path)
		}
		if bytes.Contains(r.Body, []byte("evil")) || bytes.Contains(r.Body, []byte("passwd")) || bytes.Contains(r.Body, []byte("other/")) {
			t.Fatalf("a bad href was requested: %s", r.Body)
		}
	}
	wantErr(t, "Update outside every collection", errOf(s.Update(t.Context(), "/nowhere/x.ics", `"x"`, item(storage.Calendars, "z", "z"))), storage.ErrInvalidData)
}

func errOf(_ string, err error) error { return err }

func TestRetryAfter(t *testing.T) {
	var sl sleeps
	s, srv := fake(t, storage.Calendars, davtest.Options{}, func(o *dav.Options) { o.Sleep = sl.sleep })
	coll, hrefs := seed(srv, storage.Calendars, "c", 1)
	discover(t, s)
	srv.Inject(davtest.Fault{Method: "PROPFIND", Status: http.StatusServiceUnavailable, RetryAfter: "7"})
	srv.Inject(davtest.Fault{Method: "REPORT", Status: http.StatusBadGateway, Times: 2})
	if _, err := s.List(t.Context(), coll); err != nil {
		t.Fatalf("List after one 503: %v", err)
	}
	if got, err := s.Get(t.Context(), coll, hrefs); err != nil || got[0].Err != nil {
		t.Fatalf("Get after two 502: %v, %v", got, err)
	}
	if got, want := sl.all(), []time.Duration{7 * time.Second, time.Second, 4 * time.Second}; !equalDurations(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
	// PUT is never retried.
	srv.Inject(davtest.Fault{Method: http.MethodPut, Status: http.StatusServiceUnavailable})
	_, _, err := s.Create(t.Context(), coll, item(storage.Calendars, "new", "New"))
	if err == nil || !storage.IsTemporary(err) {
		t.Fatalf("Create after 503: %v, want a temporary error", err)
	}
	if n := countMethod(srv, http.MethodPut, coll); n != 1 {
		t.Fatalf("%d PUTs, want 1 (no retry)", n)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDroppedConnection(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 2)
	discover(t, s)
	srv.Inject(davtest.Fault{Method: "REPORT", Drop: true})
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil || len(got) != 2 || got[0].Err != nil || got[1].Err != nil {
		t.Fatalf("Get after a dropped connection: %v, %v", got, err)
	}
	srv.Inject(davtest.Fault{Method: "PROPFIND", Drop: true, Times: 3})
	_, err = s.List(t.Context(), coll)
	if err == nil || !storage.IsTemporary(err) {
		t.Fatalf("List with every attempt dropped: %v, want a temporary error", err)
	}
	wantContains(t, "dropped connection", err.Error(), "PROPFIND "+srv.URL+coll, "closed the connection")
	wantNoStorageName(t, err, "fake")
}

func TestRequireUser(t *testing.T) {
	_, srv := fake(t, storage.Calendars, davtest.Options{RequireUser: true}, nil)
	s := newDAV(t, storage.Calendars, dav.Options{Name: "rad", URL: srv.URL + "/"})
	err := s.Check(t.Context())
	wantErr(t, "Check without username", err, storage.ErrAccessDenied)
	wantContains(t, "401", err.Error(), srv.URL+"/: HTTP 401 Unauthorized; check username and password, and that url is the address of your own account")
	wantNoStorageName(t, err, "rad")
}

func TestWrongPassword(t *testing.T) {
	_, srv := fake(t, storage.Calendars, davtest.Options{Username: "alice", Password: "right"}, nil)
	s := newDAV(t, storage.Calendars, dav.Options{Name: "srv", URL: srv.URL + "/", Username: "alice", Password: "wrong"})
	err := s.Check(t.Context())
	wantErr(t, "wrong password", err, storage.ErrAccessDenied)
	var se *dav.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("error %v is not a 401 *dav.StatusError", err)
	}
	wantContains(t, "401", err.Error(), "OPTIONS "+srv.URL+"/: HTTP 401 Unauthorized", "check username and password", "that url is")

	_, dsrv := fake(t, storage.Calendars, davtest.Options{Username: "alice", Password: "right", DigestOnly: true}, nil)
	s = newDAV(t, storage.Calendars, dav.Options{Name: "srv", URL: dsrv.URL + "/", Username: "alice", Password: "wrong"})
	wantContains(t, "digest", s.Check(t.Context()).Error(), "Digest", "not supported")
}

func TestMultigetBatchesAndNoGets(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 120)
	discover(t, s)
	srv.ResetLog()
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil || len(got) != 120 {
		t.Fatalf("Get: %d results, %v", len(got), err)
	}
	for _, f := range got {
		if f.Err != nil {
			t.Fatalf("Get %s: %v", f.Href, f.Err)
		}
	}
	reports := 0
	for _, r := range srv.Requests() {
		switch r.Method {
		case "REPORT":
			reports++
			if n := bytes.Count(r.Body, []byte("<d:href>")); n > 50 {
				t.Fatalf("a multiget with %d hrefs", n)
			}
			if r.Header.Get("Depth") != "1" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") {
				t.Fatalf("REPORT headers: Depth %q, Content-Type %q", r.Header.Get("Depth"), r.Header.Get("Content-Type"))
			}
		default:
			t.Fatalf("unexpected request %s %s", r.Method, r.Path)
		}
	}
	if reports != 3 {
		t.Fatalf("%d REPORTs for 120 items, want 3", reports)
	}
}

func TestMultigetSplitsOnFailure(t *testing.T) {
	s, srv := fake(t, storage.Contacts, davtest.Options{MaxMultigetHrefs: 10}, nil)
	coll, hrefs := seed(srv, storage.Contacts, "c", 30)
	discover(t, s)
	srv.Inject(davtest.Fault{Method: "REPORT", Status: http.StatusInternalServerError, After: 2, Times: 1})
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil || len(got) != 30 {
		t.Fatalf("Get: %d results, %v", len(got), err)
	}
	for _, f := range got {
		if f.Err != nil {
			t.Fatalf("Get %s: %v", f.Href, f.Err)
		}
	}
	// A single href that keeps failing is not fetchable; the others are.
	srv.Inject(davtest.Fault{Method: "REPORT", Status: http.StatusInternalServerError, Times: 1000})
	got, err = s.Get(t.Context(), coll, hrefs[:4])
	if err != nil || len(got) != 4 {
		t.Fatalf("Get with a broken server: %v, %v", got, err)
	}
	for _, f := range got {
		if f.Err == nil {
			t.Fatalf("Get %s succeeded against a failing server", f.Href)
		}
	}
}

func TestGetFallbackWithoutReport(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{NoMultiget: true}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 3)
	discover(t, s)
	got, err := s.Get(t.Context(), coll, hrefs)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	for _, f := range got {
		if _, etag, _ := srv.Item(f.Href); f.Err != nil || f.ETag != etag {
			t.Fatalf("Get %s: etag %q (want %q), %v", f.Href, f.ETag, etag, f.Err)
		}
	}
	if n := countMethod(srv, http.MethodGet, coll); n != 3 {
		t.Fatalf("%d GETs, want 3", n)
	}
}

func TestMkcalendarFallback(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{NoMkcalendar: true}, nil)
	discover(t, s)
	href, err := s.CollectionHref("new cal")
	if err != nil {
		t.Fatal(err)
	}
	if href != davtest.CalendarHome+"new cal/" {
		t.Fatalf("CollectionHref = %q", href)
	}
	if err := s.CreateCollection(t.Context(), href); err != nil {
		t.Fatalf("CreateCollection: %v", err)
	}
	if srv.CollectionKind(href) != storage.Calendars {
		t.Fatal("no calendar was created")
	}
	if n := countMethod(srv, "MKCOL", davtest.CalendarHome+"new%20cal/"); n != 1 {
		t.Fatalf("%d MKCOL requests to the encoded href, want 1", n)
	}
}

func TestCreateWithLocation(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.SetRenameOnCreate(true)
	href, etag, err := s.Create(t.Context(), coll, item(storage.Calendars, "a", "A"))
	if err != nil {
		t.Fatal(err)
	}
	if href != coll+"renamed-a.ics" {
		t.Fatalf("Create href = %q, want the Location", href)
	}
	if _, err := s.Update(t.Context(), href, etag, item(storage.Calendars, "a", "B")); err != nil {
		t.Fatalf("Update at the new href: %v", err)
	}
}

func TestPropertyRefused(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.SetReadOnlyProperty("calendar-color")
	err := s.SetProperty(t.Context(), coll, storage.PropColor, "#ff0000")
	if err == nil {
		t.Fatal("SetProperty of a refused property succeeded")
	}
	wantContains(t, "refused property", err.Error(), "403")
	if err := s.SetProperty(t.Context(), coll, storage.PropOrder, "3"); err != nil {
		t.Fatalf("SetProperty order: %v", err)
	}
	if got := srv.Props(coll)[storage.PropOrder]; got != "3" {
		t.Fatalf("server order = %q", got)
	}
}

func TestRadicaleStyleDelete(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{RadicaleDelete: true}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 1)
	discover(t, s)
	refs, _ := s.List(t.Context(), coll)
	if err := s.Delete(t.Context(), hrefs[0], refs[0].ETag); err != nil {
		t.Fatalf("Delete answered 200 with a body: %v", err)
	}
}

func TestRedirectOutsideBootstrap(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.Inject(davtest.Fault{Method: "PROPFIND", Path: coll, Status: http.StatusMovedPermanently})
	_, err := s.List(t.Context(), coll)
	if err == nil {
		t.Fatal("List answered 301 succeeded")
	}
	wantContains(t, "redirect", err.Error(), "HTTP 301", "set url")
}

func TestConnectionRefused(t *testing.T) {
	var sl sleeps
	s := newDAV(t, storage.Calendars, dav.Options{Name: "down", URL: "http://127.0.0.1:1/dav/", Sleep: sl.sleep})
	err := s.Check(t.Context())
	if err == nil || !storage.IsTemporary(err) {
		t.Fatalf("Check: %v, want a temporary error", err)
	}
	wantContains(t, "refused", err.Error(), "OPTIONS http://127.0.0.1:1/dav/: cannot connect to 127.0.0.1:1: connection refused")
	wantNoStorageName(t, err, "down")
	if errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatal("a refused connection is reported as a request that may have been received")
	}
	if got := sl.all(); len(got) != 0 {
		t.Fatalf("a refused connection was retried after %v", got)
	}
}

func TestHeaders(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			s, srv := fake(t, kind, davtest.Options{}, func(o *dav.Options) { o.UserAgent = "agent/1.0" })
			coll, _ := seed(srv, kind, "c", 0)
			discover(t, s)
			if _, _, err := s.Create(t.Context(), coll, item(kind, "a", "A")); err != nil {
				t.Fatal(err)
			}
			wantType := map[storage.Kind]string{storage.Calendars: "text/calendar; charset=utf-8", storage.Contacts: "text/vcard; charset=utf-8"}[kind]
			for _, r := range srv.Requests() {
				if ua := r.Header.Get("User-Agent"); ua != "agent/1.0" {
					t.Fatalf("%s %s: User-Agent %q", r.Method, r.Path, ua)
				}
				if u, _, ok := basicAuth(r.Header); !ok || u != "alice" {
					t.Fatalf("%s %s: no Basic auth", r.Method, r.Path)
				}
				switch r.Method {
				case http.MethodPut:
					if ct := r.Header.Get("Content-Type"); ct != wantType {
						t.Fatalf("PUT Content-Type %q, want %q", ct, wantType)
					}
					if r.Header.Get("If-None-Match") != "*" {
						t.Fatal("create without If-None-Match: *")
					}
				case "PROPFIND", "REPORT":
					if r.Header.Get("Depth") == "" || r.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
						t.Fatalf("%s without Depth or XML Content-Type: %v", r.Method, r.Header)
					}
				}
			}
		})
	}
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	_ = s.Check(t.Context())
	if ua := srv.Requests()[0].Header.Get("User-Agent"); ua != "pimsync" {
		t.Fatalf("default User-Agent %q", ua)
	}
}

func basicAuth(h http.Header) (string, string, bool) {
	r := &http.Request{Header: h}
	return r.BasicAuth()
}

func TestAtMostFourInFlight(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	srv.SetDelay(5 * time.Millisecond)
	coll, hrefs := seed(srv, storage.Calendars, "c", 400)
	discover(t, s)
	if _, err := s.Get(t.Context(), coll, hrefs); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_, _, _ = s.Create(t.Context(), coll, item(storage.Calendars, fmt.Sprint("n", i), "N"))
		})
	}
	wg.Wait()
	if n := srv.MaxInFlight(); n > 4 || n < 2 {
		t.Fatalf("at most %d requests in flight, want 2..4", n)
	}
}

func TestNoUIDConflict(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	discover(t, s)
	srv.Inject(davtest.Fault{Method: http.MethodPut, Status: http.StatusForbidden,
		Body: `<d:error xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:no-uid-conflict><d:href>/dav/calendars/alice/c/other.ics</d:href></c:no-uid-conflict></d:error>`})
	_, _, err := s.Create(t.Context(), coll, item(storage.Calendars, "a", "A"))
	wantErr(t, "no-uid-conflict", err, storage.ErrPrecondition)
	wantContains(t, "no-uid-conflict", err.Error(), "the server already has this UID at /dav/calendars/alice/c/other.ics")
}
