package webcal_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/storagetest"
	"github.com/pimsync-go/pimsync/storage/webcal"
)

// feedServer serves one iCalendar feed and records what it was asked.
type feedServer struct {
	*httptest.Server
	mu           sync.Mutex
	header       string   // lines between BEGIN:VCALENDAR and the components
	components   []string // component blocks, each ending with CRLF
	raw          []byte   // when set, served instead of the built feed
	etag         string   // ETag to send ("" none)
	lastModified string   // Last-Modified to send ("" none)
	status       int      // when set, answer only this status
	requests     []http.Header
	downloads    int // answers with a body
}

const storagetestHeader = "VERSION:2.0\r\nPRODID:-//pimsync//storagetest//EN\r\n"

func newFeedServer(t *testing.T) *feedServer {
	t.Helper()
	f := &feedServer{header: storagetestHeader}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Header.Clone())
	if f.status != 0 {
		w.WriteHeader(f.status)
		return
	}
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if f.lastModified != "" {
		w.Header().Set("Last-Modified", f.lastModified)
		if r.Header.Get("If-Modified-Since") == f.lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	f.downloads++
	w.Write(f.bodyLocked())
}

func (f *feedServer) bodyLocked() []byte {
	if f.raw != nil {
		return f.raw
	}
	return []byte("BEGIN:VCALENDAR\r\n" + f.header + strings.Join(f.components, "") + "END:VCALENDAR\r\n")
}

func (f *feedServer) set(fn func(f *feedServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// add puts the components of a storagetest item (everything between its header and
// END:VCALENDAR) into the feed.
func (f *feedServer) add(t *testing.T, item string) {
	t.Helper()
	i := strings.Index(item, "BEGIN:VEVENT")
	j := strings.LastIndex(item, "END:VCALENDAR")
	if i < 0 || j < i {
		t.Fatalf("not a storagetest item: %q", item)
	}
	f.set(func(f *feedServer) { f.components = append(f.components, item[i:j]) })
}

func (f *feedServer) lastRequest() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func (f *feedServer) downloadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.downloads
}

func newWebcal(t *testing.T, url string, mod func(*webcal.Options)) *webcal.Storage {
	t.Helper()
	o := webcal.Options{Options: dav.Options{Name: "holidays", URL: url,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}, CollectionID: "hol"}
	if mod != nil {
		mod(&o)
	}
	s, err := webcal.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func item(uid, summary string) string {
	return storagetest.ItemText(storage.Calendars, uid, summary)
}

func TestContract(t *testing.T) {
	var mu sync.Mutex
	servers := map[storage.Storage]*feedServer{}
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		srv := newFeedServer(t)
		srv.etag = `"v1"`
		s := newWebcal(t, srv.URL+"/feed.ics", func(o *webcal.Options) { o.CollectionID = "feed" })
		mu.Lock()
		servers[s] = srv
		mu.Unlock()
		return s
	}, storagetest.Options{
		ReadOnly:   true,
		Collection: "feed",
		Plant: func(t *testing.T, s storage.Storage, _, _ string, raw []byte) string {
			mu.Lock()
			srv := servers[s]
			mu.Unlock()
			srv.add(t, string(raw))
			srv.set(func(f *feedServer) { f.etag += "+" })
			return storage.MustItem(string(raw)).Ident()
		},
	})
}

func TestListGet(t *testing.T) {
	srv := newFeedServer(t)
	a, b := item("a@example.com", "A"), item("b", "B")
	srv.add(t, a)
	srv.add(t, b)
	s := newWebcal(t, srv.URL+"/feed.ics", nil)
	refs, err := s.List(t.Context(), "hol")
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.ItemRef{
		{Href: "a@example.com", ETag: storage.Hash(a)},
		{Href: "b", ETag: storage.Hash(b)},
	}
	if len(refs) != 2 || refs[0] != want[0] || refs[1] != want[1] {
		t.Fatalf("List = %v, want %v", refs, want)
	}
	got, err := s.Get(t.Context(), "hol", []string{"b", "a@example.com", "gone", "b"})
	if err != nil || len(got) != 3 {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if got[0].Item.Text() != b || got[0].ETag != storage.Hash(b) || got[1].Item.Text() != a {
		t.Fatalf("Get = %+v", got)
	}
	if !errors.Is(got[2].Err, storage.ErrNotFound) || !strings.Contains(got[2].Err.Error(), "holidays") {
		t.Fatalf("Get of an href not in the feed: %v", got[2].Err)
	}
	if n := s.Requests(); n != 1 {
		t.Fatalf("List and Get sent %d requests, want 1", n)
	}
	// Other collections do not exist.
	if _, err := s.List(t.Context(), "other"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("List(other): %v", err)
	}
	if _, err := s.CollectionHref("other"); err == nil || !strings.Contains(err.Error(), "webcal storage holidays has only collection hol") {
		t.Fatalf("CollectionHref(other): %v", err)
	}
	if h, err := s.CollectionHref("hol"); h != "hol" || err != nil {
		t.Fatalf("CollectionHref(hol) = %q, %v", h, err)
	}
	colls, err := s.Discover(t.Context())
	if err != nil || len(colls) != 1 || colls[0].ID != "hol" || colls[0].Href != "hol" || s.Requests() != 1 {
		t.Fatalf("Discover = %v, %v (requests %d)", colls, err, s.Requests())
	}
	if ua := srv.lastRequest().Get("User-Agent"); ua != "pimsync" { // the program passes pimsync/<version>
		t.Fatalf("User-Agent %q", ua)
	}
}

// TestGetWithoutList downloads the feed when Get comes first.
func TestGetWithoutList(t *testing.T) {
	srv := newFeedServer(t)
	srv.add(t, item("a", "A"))
	s := newWebcal(t, srv.URL, nil)
	got, err := s.Get(t.Context(), "hol", []string{"a"})
	if err != nil || got[0].Err != nil || got[0].Item.Text() != item("a", "A") {
		t.Fatalf("Get = %v, %v", got, err)
	}
}

func TestConditionalGET(t *testing.T) {
	for _, tc := range []struct {
		name, kind, header string
		set                func(f *feedServer, v string)
		v1, v2             string
	}{
		{"etag", webcal.TokenETag, "If-None-Match", func(f *feedServer, v string) { f.etag = v }, `"1"`, `W/"2"`},
		{"last-modified", webcal.TokenLastModified, "If-Modified-Since", func(f *feedServer, v string) { f.lastModified = v },
			"Mon, 01 Jan 2024 00:00:00 GMT", "Tue, 02 Jan 2024 00:00:00 GMT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			srv := newFeedServer(t)
			srv.add(t, item("a", "A"))
			srv.set(func(f *feedServer) { tc.set(f, tc.v1) })
			s := newWebcal(t, srv.URL, nil)

			l, err := s.ListSince(ctx, "hol", storage.Token{})
			if err != nil || l.Unchanged || len(l.Refs) != 1 {
				t.Fatalf("first ListSince = %+v, %v", l, err)
			}
			if l.Token.Kind != tc.kind || !strings.HasSuffix(l.Token.Value, " "+tc.v1) {
				t.Fatalf("token %+v, want kind %s with value %s", l.Token, tc.kind, tc.v1)
			}
			if h := srv.lastRequest().Get(tc.header); h != "" {
				t.Fatalf("unconditional GET sent %s: %q", tc.header, h)
			}
			saved := l.Token

			// Unchanged: the server answers 304 and nothing is downloaded.
			before := srv.downloadCount()
			s2 := newWebcal(t, srv.URL, nil) // a later run: nothing cached
			l, err = s2.ListSince(ctx, "hol", saved)
			if err != nil || !l.Unchanged || len(l.Refs) != 0 || l.Token != saved {
				t.Fatalf("ListSince with the saved token = %+v, %v", l, err)
			}
			if h := srv.lastRequest().Get(tc.header); h != tc.v1 {
				t.Fatalf("%s = %q, want %q", tc.header, h, tc.v1)
			}
			if srv.downloadCount() != before || s2.Requests() != 1 {
				t.Fatalf("a 304 listing downloaded the feed (%d requests)", s2.Requests())
			}
			// Get after a 304 without a cached copy downloads the feed.
			if got, err := s2.Get(ctx, "hol", []string{"a"}); err != nil || got[0].Err != nil {
				t.Fatalf("Get after 304: %v %v", got, err)
			}
			// The same storage with its cached copy: 304 keeps the cache, Get needs no request.
			if l, err := s.ListSince(ctx, "hol", saved); err != nil || !l.Unchanged {
				t.Fatalf("ListSince = %+v, %v", l, err)
			}
			n := s.Requests()
			if got, err := s.Get(ctx, "hol", []string{"a"}); err != nil || got[0].Err != nil || s.Requests() != n {
				t.Fatalf("Get after 304 with a cached feed: %v %v, %d requests", got, err, s.Requests()-n)
			}

			// Changed: a full listing with the new token.
			srv.add(t, item("b", "B"))
			srv.set(func(f *feedServer) { tc.set(f, tc.v2) })
			l, err = s.ListSince(ctx, "hol", saved)
			if err != nil || l.Unchanged || len(l.Refs) != 2 || !strings.HasSuffix(l.Token.Value, " "+tc.v2) {
				t.Fatalf("ListSince after a change = %+v, %v", l, err)
			}
			// A token of another kind, or taken from another URL, is not sent.
			other := newWebcal(t, srv.URL+"/other.ics", nil)
			for _, c := range []struct {
				s   *webcal.Storage
				tok storage.Token
			}{
				{s, storage.Token{Kind: "ctag", Value: strings.SplitN(saved.Value, " ", 2)[0] + " x"}},
				{other, l.Token},
			} {
				if l, err := c.s.ListSince(ctx, "hol", c.tok); err != nil || l.Unchanged {
					t.Fatalf("ListSince(%+v) = %+v, %v", c.tok, l, err)
				}
				if h := srv.lastRequest(); h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
					t.Fatalf("token %+v made the GET conditional: %v", c.tok, h)
				}
			}
		})
	}
}

func TestNoValidator(t *testing.T) {
	srv := newFeedServer(t)
	s := newWebcal(t, srv.URL, nil)
	l, err := s.ListSince(t.Context(), "hol", storage.Token{})
	if err != nil || !l.Token.IsZero() {
		t.Fatalf("ListSince = %+v, %v; want no token", l, err)
	}
	// A 304 to an unconditional GET is an error, not "unchanged".
	srv.set(func(f *feedServer) { f.status = http.StatusNotModified })
	if _, err := s.ListSince(t.Context(), "hol", storage.Token{}); err == nil {
		t.Fatal("an unasked-for 304 was accepted")
	}
}

func TestRedirects(t *testing.T) {
	srv := newFeedServer(t)
	srv.add(t, item("a", "A"))
	hops := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/go/", func(w http.ResponseWriter, r *http.Request) {
		hops++
		n := len(strings.TrimPrefix(r.URL.Path, "/go/"))
		if n == 0 {
			http.Redirect(w, r, srv.URL+"/feed.ics", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/go/"+strings.Repeat("x", n-1), http.StatusMovedPermanently)
	})
	redir := httptest.NewServer(mux)
	t.Cleanup(redir.Close)

	s := newWebcal(t, redir.URL+"/go/xxxx", nil) // 5 redirects
	if refs, err := s.List(t.Context(), "hol"); err != nil || len(refs) != 1 {
		t.Fatalf("List through 5 redirects = %v, %v", refs, err)
	}
	s = newWebcal(t, redir.URL+"/go/xxxxx", nil) // 6 redirects
	_, err := s.List(t.Context(), "hol")
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") ||
		strings.Contains(err.Error(), "storage holidays") || !strings.Contains(err.Error(), "GET "+redir.URL+"/go/xxxxx") {
		t.Fatalf("6 redirects: %v", err)
	}
	if errors.Is(err, storage.ErrNotFound) {
		t.Fatal("a redirect error is ErrNotFound")
	}
}

func TestRefusesHTTPSToHTTP(t *testing.T) {
	plain := newFeedServer(t)
	secure := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/feed.ics", http.StatusFound))
	t.Cleanup(secure.Close)
	s := newWebcal(t, secure.URL+"/cal.ics", func(o *webcal.Options) {
		o.TLSFingerprint = fingerprint(secure)
	})
	_, err := s.List(t.Context(), "hol")
	if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect from https to "+plain.URL+"/feed.ics") ||
		!strings.HasPrefix(err.Error(), "GET "+secure.URL+"/cal.ics: ") {
		t.Fatalf("https → http: %v", err)
	}
	if n := plain.downloadCount(); n != 0 {
		t.Fatal("the http feed was fetched")
	}
}

func TestBOM(t *testing.T) {
	srv := newFeedServer(t)
	body := "\uFEFF" + strings.ReplaceAll("BEGIN:VCALENDAR\r\n"+storagetestHeader+
		strings.TrimPrefix(item("a", "A"), "BEGIN:VCALENDAR\r\n"+storagetestHeader), "\r\n", "\n")
	srv.set(func(f *feedServer) { f.raw = []byte(body) })
	s := newWebcal(t, srv.URL, nil)
	got, err := s.Get(t.Context(), "hol", []string{"a"})
	if err != nil || got[0].Err != nil || got[0].Item.Text() != item("a", "A") {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestHTTPErrors(t *testing.T) {
	for code, want := range map[int]string{
		http.StatusNotFound:            ": HTTP 404 Not Found; nothing is deleted while the feed is unavailable",
		http.StatusGone:                ": HTTP 410 Gone; nothing is deleted",
		http.StatusInternalServerError: ": HTTP 500 Internal Server Error",
		http.StatusUnauthorized:        ": HTTP 401 Unauthorized; check username and password, and the url",
		http.StatusNoContent:           ": HTTP 204 No Content",
	} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			srv := newFeedServer(t)
			srv.set(func(f *feedServer) { f.status = code })
			s := newWebcal(t, srv.URL+"/feed.ics", nil)
			for name, call := range map[string]func() error{
				"List": func() error { _, err := s.List(t.Context(), "hol"); return err },
				"ListSince": func() error {
					_, err := s.ListSince(t.Context(), "hol", storage.Token{Kind: webcal.TokenETag, Value: `"x"`})
					return err
				},
				"Get":   func() error { _, err := s.Get(t.Context(), "hol", []string{"a"}); return err },
				"Check": func() error { return s.Check(t.Context()) },
			} {
				err := call()
				if err == nil {
					t.Fatalf("%s succeeded", name)
				}
				if errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("%s: %v is ErrNotFound; a feed that is down must never delete anything", name, err)
				}
				msg := err.Error()
				if strings.Contains(msg, "storage holidays") || !strings.Contains(msg, "feed "+srv.URL+"/feed.ics"+want) {
					t.Fatalf("%s: message %q does not name the URL and %q, or names the storage (the caller does)", name, msg, want)
				}
				var fe *webcal.FeedError
				if !errors.As(err, &fe) || fe.Code != code {
					t.Fatalf("%s: %#v is not a FeedError with code %d", name, err, code)
				}
				if errors.Is(err, storage.ErrAccessDenied) != (code == http.StatusUnauthorized) {
					t.Fatalf("%s: ErrAccessDenied = %v", name, !(code == http.StatusUnauthorized))
				}
				if storage.IsTemporary(err) != (code >= 500) {
					t.Fatalf("%s: IsTemporary = %v", name, storage.IsTemporary(err))
				}
			}
		})
	}
}

func TestNotAFeed(t *testing.T) {
	for name, body := range map[string]string{
		"html":      "<!DOCTYPE html><html><body>Log in</body></html>",
		"not utf-8": "BEGIN:VCALENDAR\r\nX-NAME:\xff\r\nEND:VCALENDAR\r\n",
		"empty":     "",
		"truncated": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFeedServer(t)
			srv.set(func(f *feedServer) { f.raw = []byte(body) })
			s := newWebcal(t, srv.URL+"/feed.ics", nil)
			for _, err := range []error{s.Check(t.Context()), func() error { _, err := s.List(t.Context(), "hol"); return err }()} {
				if err == nil || errors.Is(err, storage.ErrNotFound) ||
					!strings.HasPrefix(err.Error(), "feed "+srv.URL+"/feed.ics: not an iCalendar feed") {
					t.Fatalf("error %v", err)
				}
			}
		})
	}
}

// TestInvalidItem: one broken component is a per-href error, the rest is usable.
func TestInvalidItem(t *testing.T) {
	srv := newFeedServer(t)
	srv.add(t, item("good", "Good"))
	srv.set(func(f *feedServer) {
		f.components = append(f.components, "BEGIN:VEVENT\r\nUID:bad\r\nSUMMARY:caf\xe9\r\nEND:VEVENT\r\n")
	})
	s := newWebcal(t, srv.URL, nil)
	refs, err := s.List(t.Context(), "hol")
	if err != nil || len(refs) != 2 {
		t.Fatalf("List = %v, %v", refs, err)
	}
	got, err := s.Get(t.Context(), "hol", []string{"good", "bad"})
	if err != nil || got[0].Err != nil || !errors.Is(got[1].Err, storage.ErrInvalidData) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

// TestEmptyUID: an empty UID is an ident, but the href is the hash.
func TestEmptyUID(t *testing.T) {
	srv := newFeedServer(t)
	text := item("", "Empty UID")
	srv.add(t, text)
	s := newWebcal(t, srv.URL, nil)
	refs, err := s.List(t.Context(), "hol")
	if err != nil || len(refs) != 1 || refs[0].Href != storage.Hash(text) {
		t.Fatalf("List = %v, %v", refs, err)
	}
}

func TestReadOnly(t *testing.T) {
	srv := newFeedServer(t)
	s := newWebcal(t, srv.URL, nil)
	ctx := t.Context()
	if !s.ReadOnly() || !storage.IsReadOnly(s) || storage.HasProperties(s) {
		t.Fatal("a webcal storage must be read-only and have no properties")
	}
	_, _, err := s.Create(ctx, "hol", storage.MustItem(item("x", "X")))
	for _, err := range []error{err,
		s.Delete(ctx, "x", "e"), s.CreateCollection(ctx, "hol"), s.DeleteCollection(ctx, "hol"),
		s.SetProperty(ctx, "hol", storage.PropDisplayName, "x"), s.DeleteProperty(ctx, "hol", storage.PropColor),
		func() error { _, err := s.Update(ctx, "x", "e", storage.MustItem(item("x", "X"))); return err }(),
	} {
		if !errors.Is(err, storage.ErrReadOnly) || !errors.Is(err, storage.ErrUnsupported) ||
			!strings.Contains(err.Error(), "webcal storage holidays is a read-only feed") {
			t.Fatalf("write error %v", err)
		}
	}
	if s.Requests() != 0 {
		t.Fatal("writes sent requests")
	}
	if p, err := s.Properties(ctx, "hol"); err != nil || len(p) != 0 {
		t.Fatalf("Properties = %v, %v", p, err)
	}
}

func TestAuth(t *testing.T) {
	srv := newFeedServer(t)
	s := newWebcal(t, srv.URL, func(o *webcal.Options) { o.Username, o.Password = "u", "p" })
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Header: srv.lastRequest()}
	if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
		t.Fatalf("credentials %q %q %v", u, p, ok)
	}
	if d := s.CheckDetails(); len(d) != 2 || d[0] != "feed "+srv.URL || d[1] != "0 items" {
		t.Fatalf("CheckDetails = %q", d)
	}
}

func TestNewErrors(t *testing.T) {
	for url, want := range map[string]string{
		"webcal://example.org/cal.ics":  "webcal:// URLs are not supported; write https:// instead",
		"webcals://example.org/cal.ics": "webcals:// URLs are not supported; write https:// instead",
		"ftp://example.org/cal.ics":     `unsupported URL scheme "ftp"`,
		"https:///cal.ics":              "url has no host",
	} {
		_, err := webcal.New(webcal.Options{Options: dav.Options{Name: "w", URL: url}, CollectionID: "c"})
		if err == nil || !strings.Contains(err.Error(), "storage w: "+want) {
			t.Errorf("New(%s): %v", url, err)
		}
	}
	if _, err := webcal.New(webcal.Options{Options: dav.Options{Name: "w", URL: "https://example.org/"}}); err == nil {
		t.Error("New without a collection id succeeded")
	}
	// Credentials in the URL are not shown in messages.
	s, err := webcal.New(webcal.Options{Options: dav.Options{Name: "w", URL: "https://user:secret@example.org/c.ics"}, CollectionID: "c"})
	if err != nil || strings.Contains(s.URL(), "secret") {
		t.Fatalf("New = %v, %v", s, err)
	}
}

func TestCancelled(t *testing.T) {
	srv := newFeedServer(t)
	s := newWebcal(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.List(ctx, "hol"); !errors.Is(err, context.Canceled) {
		t.Fatalf("List: %v", err)
	}
	if s.Requests() != 0 {
		t.Fatal("a cancelled List sent a request")
	}
}

// TestConcurrent: concurrent listings and fetches are safe (run with -race).
func TestConcurrent(t *testing.T) {
	srv := newFeedServer(t)
	srv.add(t, item("a", "A"))
	s := newWebcal(t, srv.URL, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.List(t.Context(), "hol"); err != nil {
				t.Error(err)
			}
			if got, err := s.Get(t.Context(), "hol", []string{"a"}); err != nil || got[0].Err != nil {
				t.Error(got, err)
			}
		})
	}
	wg.Wait()
}

// fingerprint is the SHA-256 fingerprint of a TLS test server's certificate.
func fingerprint(srv *httptest.Server) string {
	sum := sha256.Sum256(srv.Certificate().Raw)
	return hex.EncodeToString(sum[:])
}
