package dav_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// realServers starts Radicale (htpasswd) and Xandikos, and a user on the shared Cyrus
// and DAViCal, for the tests below.
func realServers(t *testing.T) map[string]*davtest.RealServer {
	return map[string]*davtest.RealServer{
		"radicale": davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true}),
		"xandikos": davtest.StartXandikos(t),
		"cyrus":    davtest.StartCyrus(t),
		"davical":  davtest.StartDAViCal(t),
	}
}

// TestRealSyncTokens checks token fast path, sync-collection delta and the request
// count on the real servers.
func TestRealSyncTokens(t *testing.T) {
	for name, srv := range realServers(t) {
		for _, kind := range kinds {
			t.Run(name+"/"+kind.String(), func(t *testing.T) {
				coll := srv.NewCalendar
				if kind == storage.Contacts {
					coll = srv.NewAddressBook
				}
				href := coll(t)
				s := newDAV(t, kind, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
				ctx := t.Context()
				saved := discover(t, s)[href].Token
				if saved.Kind != "ctag+sync-token" { // every server has both
					t.Fatalf("token %+v, want a ctag and a sync-token", saved)
				}
				// Unchanged: no request beyond discovery.
				before := s.Requests()
				if l, err := s.ListSince(ctx, href, saved); err != nil || !l.Unchanged {
					t.Fatalf("ListSince unchanged = %+v, %v", l, err)
				}
				if s.Requests() != before {
					t.Fatal("ListSince of an unchanged collection sent requests")
				}
				a, _, err := s.Create(ctx, href, item(kind, "a", "A"))
				if err != nil {
					t.Fatal(err)
				}
				b, etagB, err := s.Create(ctx, href, item(kind, "b", "B"))
				if err != nil {
					t.Fatal(err)
				}
				discover(t, s)
				l, err := s.ListSince(ctx, href, saved)
				if err != nil || !l.Delta || len(l.Refs) != 2 {
					t.Fatalf("ListSince after 2 creates = %+v, %v", l, err)
				}
				saved = l.Token
				if err := s.Delete(ctx, b, etagB); err != nil {
					t.Fatal(err)
				}
				discover(t, s)
				l, err = s.ListSince(ctx, href, saved)
				if err != nil || !l.Delta || len(l.Refs) != 0 || len(l.Removed) != 1 || l.Removed[0] != b {
					t.Fatalf("ListSince after a delete = %+v, %v", l, err)
				}
				got, err := s.Get(ctx, href, []string{a})
				if err != nil || got[0].Err != nil {
					t.Fatalf("Get: %v %v", got, err)
				}
				if uid, _ := got[0].Item.UID(); uid != "a" {
					t.Fatalf("fetched UID %q", uid)
				}
			})
		}
	}
}

// TestRadicaleRewriteNoPingPong: Radicale re-serialises an item with a lower-case
// property name; the ETag of the PUT answer is the one the next listing shows, so the engine
// records it with the hash of what it wrote and never fetches or re-uploads it (sync.md
// §16 scenario 41).
func TestRadicaleRewriteNoPingPong(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	href := srv.NewCalendar(t)
	s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
	discover(t, s)
	raw := strings.Replace(text(storage.Calendars, "stray", "Stray"), "SUMMARY:Stray\r\n", "summary:Stray\r\n", 1) // Radicale writes SUMMARY
	it := storage.MustItem(raw)
	h, etag, err := s.Create(t.Context(), href, it)
	if err != nil || etag == "" {
		t.Fatalf("Create = %q, %q, %v", h, etag, err)
	}
	refs, err := s.List(t.Context(), href)
	if err != nil || len(refs) != 1 || refs[0].ETag != etag {
		t.Fatalf("List = %v, %v; want the PUT etag %q", refs, err, etag)
	}
	got, err := s.Get(t.Context(), href, []string{h})
	if err != nil || got[0].Err != nil || got[0].ETag != etag {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if got[0].Item.Hash() == it.Hash() {
		t.Fatal("Radicale stored the item unchanged; this test needs an item it re-serialises")
	}
}

func TestRadicaleWrongPassword(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	s := newDAV(t, storage.Calendars, dav.Options{Name: "rad", URL: srv.URL, Username: srv.Username, Password: "wrong"})
	err := s.Check(t.Context())
	wantErr(t, "wrong password", err, storage.ErrAccessDenied)
	wantContains(t, "401", err.Error(), srv.URL, "HTTP 401 Unauthorized", "check username and password")
}

func TestUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "dav")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "fake.sock")
	srv := davtest.NewServer(t, davtest.Options{UnixSocket: sock, RequireUser: true})
	coll, hrefs := seed(srv, storage.Calendars, "c", 2)
	for name, o := range map[string]dav.Options{
		"socket":  {URL: "http://localhost" + davtest.ContextPath, Socket: sock},
		"unix://": {URL: "unix://" + sock},
	} {
		t.Run(name, func(t *testing.T) {
			o.Username, o.HasAuth = "alice", true
			s := newDAV(t, storage.Calendars, o)
			if _, ok := discover(t, s)[coll]; !ok {
				t.Fatal("collection not discovered over the socket")
			}
			got, err := s.Get(t.Context(), coll, hrefs)
			if err != nil || len(got) != 2 || got[0].Err != nil {
				t.Fatalf("Get = %v, %v", got, err)
			}
		})
	}
	for _, r := range srv.Requests() {
		if r.Method == "OPTIONS" || strings.HasPrefix(r.Path, "/.well-known") {
			t.Fatalf("discovery request over a socket: %s %s", r.Method, r.Path)
		}
	}
}

func TestXandikosUnixSocket(t *testing.T) {
	srv := davtest.StartXandikosSocket(t)
	s := newDAV(t, storage.Contacts, dav.Options{URL: "unix://" + srv.Socket})
	href := srv.NewAddressBook(t)
	if _, ok := discover(t, s)[href]; !ok {
		t.Fatalf("address book %s not discovered over the socket", href)
	}
	it := item(storage.Contacts, "sock", "Socket")
	h, _, err := s.Create(t.Context(), href, it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), href, []string{h})
	if err != nil || got[0].Err != nil || got[0].Item.Text() != it.Text() {
		t.Fatalf("Get = %v, %v", got, err)
	}
}

func TestMain(m *testing.M) { os.Exit(davtest.RunShared(m)) }

// TestRealCollidingCreates: two new items whose UIDs sanitise to the same file name,
// created at the same time, both end up on the server (one at the hash name), on every
// server. DAViCal answers 500 to one of two concurrent If-None-Match PUTs to the same
// new href, so the storage never has two writes to one href in flight.
func TestRealCollidingCreates(t *testing.T) {
	for name, srv := range realServers(t) {
		for _, kind := range kinds {
			t.Run(name+"/"+kind.String(), func(t *testing.T) {
				href := srv.NewCalendar(t)
				if kind == storage.Contacts {
					href = srv.NewAddressBook(t)
				}
				s := newDAV(t, kind, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
				discover(t, s)
				for round := range 3 {
					items := []storage.Item{
						item(kind, fmt.Sprintf("kollision-%d-ü", round), "One"),
						item(kind, fmt.Sprintf("kollision-%d-", round), "Two"),
					}
					hrefs := make([]string, len(items))
					errs := make([]error, len(items))
					var wg sync.WaitGroup
					for i, it := range items {
						wg.Go(func() { hrefs[i], _, errs[i] = s.Create(t.Context(), href, it) })
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					if hrefs[0] == hrefs[1] {
						t.Fatalf("round %d: both created at %s", round, hrefs[0])
					}
					got, err := s.Get(t.Context(), href, hrefs)
					if err != nil {
						t.Fatal(err)
					}
					for i, f := range got {
						if f.Err != nil || f.Item.Ident() != items[i].Ident() {
							t.Fatalf("round %d: %s holds %v, %v; want ident %q", round, f.Href, f.Item.Ident(), f.Err, items[i].Ident())
						}
					}
				}
			})
		}
	}
}

// TestDAViCalNormalisedUpload: DAViCal answers PUT without an ETag and stores vCards
// with REV added and long lines refolded. That normalisation is recognised, so the
// etag of the stored version is returned (no later fetch, no change seen on either
// side); so it is after a real change by the server (it breaks a quoted parameter
// holding a semicolon): the damaged version is never taken for anybody's change, so
// it is not copied back over the user's (docs/DECISIONS.md, PUT without ETag).
func TestDAViCalNormalisedUpload(t *testing.T) {
	srv := davtest.StartDAViCal(t)
	href := srv.NewAddressBook(t)
	s := newDAV(t, storage.Contacts, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
	discover(t, s)
	long := strings.Replace(text(storage.Contacts, "norm", "Normalised"), "END:VCARD",
		"NOTE:"+strings.Repeat("a rather long note that DAViCal folds again ", 4)+"\r\nEND:VCARD", 1)
	it := storage.MustItem(long)
	h, etag, err := s.Create(t.Context(), href, it)
	if err != nil || etag == "" {
		t.Fatalf("Create = %q, %q, %v; want the etag of the normalised version", h, etag, err)
	}
	refs, err := s.List(t.Context(), href)
	if err != nil || len(refs) != 1 || refs[0].ETag != etag {
		t.Fatalf("List = %v, %v; want etag %q", refs, err, etag)
	}
	got, err := s.Get(t.Context(), href, []string{h})
	if err != nil || got[0].Err != nil {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if got[0].Item.Hash() == it.Hash() || !strings.Contains(got[0].Item.Text(), "\r\nREV:") {
		t.Fatalf("DAViCal stored the vCard unchanged; this test needs one it normalises: %q", got[0].Item.Text())
	}
	bad := strings.Replace(text(storage.Contacts, "mangled", "Mangled"), "END:VCARD", `X-ATTR;X-P="a:b;c":v`+"\r\nEND:VCARD", 1)
	h2, etag2, err := s.Create(t.Context(), href, storage.MustItem(bad))
	if err != nil || etag2 == "" {
		t.Fatalf("Create of an item DAViCal changes = %q, %v; want the etag of what it stored", etag2, err)
	}
	got, err = s.Get(t.Context(), href, []string{h2})
	if err != nil || got[0].Err != nil || got[0].ETag != etag2 || storage.Equivalent(got[0].Item.Text(), bad) {
		t.Fatalf("DAViCal's damaged version: %v, %v (this test needs one it changes)", got, err)
	}
}

// TestFaultProxyRealServers drives the storage through davtest.FaultProxy in front of
// each real server: requests keep their Host and credentials (bootstrap and writes
// work through it; a redirect names the proxy), a PUT whose answer is dropped has been
// applied, a 503 the proxy makes up applies nothing, and a multiget cut mid-body is
// retried.
func TestFaultProxyRealServers(t *testing.T) {
	for name, srv := range realServers(t) {
		t.Run(name, func(t *testing.T) {
			p := davtest.NewFaultProxy(t, srv.URL)
			href := srv.NewCalendar(t)
			s := newDAV(t, storage.Calendars, dav.Options{URL: p.URL, Username: srv.Username, Password: srv.Password})
			if _, ok := discover(t, s)[href]; !ok {
				t.Fatalf("%s not discovered through the proxy", href)
			}
			req, _ := http.NewRequest("GET", p.URL+".well-known/caldav", nil)
			if srv.Username != "" {
				req.SetBasicAuth(srv.Username, srv.Password)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); strings.Contains(loc, "://") && !strings.HasPrefix(loc, strings.TrimSuffix(p.URL, "/")) {
				t.Errorf("the well-known redirect names %q, not the proxy %s", loc, p.URL)
			}

			put := p.Add(davtest.Rule{Method: "PUT", Nth: 1, Action: davtest.DropAnswer()})
			if _, _, err := s.Create(t.Context(), href, item(storage.Calendars, "dropped", "Dropped")); err == nil {
				t.Fatal("Create without an answer succeeded")
			}
			put.WaitFor(t, 1)
			refs, err := s.List(t.Context(), href)
			if err != nil || len(refs) != 1 {
				t.Fatalf("List after a dropped answer = %v, %v; want the item the server stored", refs, err)
			}
			del := p.Add(davtest.Rule{Method: "DELETE", Action: davtest.Status(http.StatusServiceUnavailable)})
			if err := s.Delete(t.Context(), refs[0].Href, refs[0].ETag); err == nil {
				t.Fatal("Delete answered 503 succeeded")
			}
			p.Remove(del)
			report := p.Add(davtest.Rule{Method: "REPORT", Nth: 1, Action: davtest.ResetMidBody()})
			got, err := s.Get(t.Context(), href, []string{refs[0].Href})
			if err != nil || got[0].Err != nil || got[0].Item.Ident() != "dropped" {
				t.Fatalf("Get = %v, %v", got, err)
			}
			if report.Matched() != 2 { // the multiget cut mid-body was retried
				t.Fatalf("%d multigets, want the one cut and its retry", report.Matched())
			}
		})
	}
}

// TestRealDiscoverNewUser: what discovery finds for a new user. Cyrus lists a Default
// calendar and address book, and the scheduling Inbox and Outbox in the calendar home,
// which are not calendars to sync; DAViCal users made by the harness have nothing.
func TestRealDiscoverNewUser(t *testing.T) {
	want := map[string]map[storage.Kind][]string{
		"cyrus":   {storage.Calendars: {"Default"}, storage.Contacts: {"Default"}},
		"davical": {storage.Calendars: nil, storage.Contacts: nil},
	}
	for name, start := range map[string]func(testing.TB) *davtest.RealServer{"cyrus": davtest.StartCyrus, "davical": davtest.StartDAViCal} {
		srv := start(t)
		for _, kind := range kinds {
			s := newDAV(t, kind, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
			var ids []string
			for _, c := range discover(t, s) {
				ids = append(ids, c.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want[name][kind]) {
				t.Errorf("%s %s: discovered %v, want %v", name, kind, ids, want[name][kind])
			}
		}
	}
	// The scheduling collections are there, so the filter above was needed.
	srv := davtest.StartCyrus(t)
	for _, box := range []string{"Inbox/", "Outbox/"} {
		if code, _, _ := srv.Do(t, "PROPFIND", srv.CalendarHome+box, map[string]string{"Depth": "0"}, nil); code != http.StatusMultiStatus {
			t.Errorf("cyrus has no %s: HTTP %d", box, code)
		}
	}
}
