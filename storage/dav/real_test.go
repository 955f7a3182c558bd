package dav_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// realStorages starts Radicale (htpasswd) and Xandikos once for the tests below.
func realServers(t *testing.T) map[string]*davtest.RealServer {
	return map[string]*davtest.RealServer{
		"radicale": davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true}),
		"xandikos": davtest.StartXandikos(t),
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
				if saved.Kind != "ctag+sync-token" { // both servers have both
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

// TestRadicaleRewriteNoPingPong: Radicale re-serialises an item with a stray CR inside a
// value; the ETag of the PUT answer is the one the next listing shows, so the engine
// records it with the hash of what it wrote and never fetches or re-uploads it (sync.md
// §16 scenario 41).
func TestRadicaleRewriteNoPingPong(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	href := srv.NewCalendar(t)
	s := newDAV(t, storage.Calendars, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
	discover(t, s)
	raw := strings.Replace(text(storage.Calendars, "stray", "Stray"), "SUMMARY:Stray\r\n", "SUMMARY:Stray\r\r\n", 1) // what sed leaves on CRLF files
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
