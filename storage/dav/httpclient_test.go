package dav_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
)

// seen records the requests a test server got.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
}

func (s *seen) all() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

func newHTTPClient(t *testing.T, o dav.Options, maxRedirects int) *dav.HTTPClient {
	t.Helper()
	if o.Name == "" {
		o.Name = "web"
	}
	c, err := dav.NewHTTPClient(o, maxRedirects)
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	return c
}

func get(t *testing.T, c *dav.HTTPClient, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestHTTPClientAuthAndUserAgent(t *testing.T) {
	var other, origin seen
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.add(r)
	}))
	t.Cleanup(elsewhere.Close)
	// The same host under another name: "localhost" instead of "127.0.0.1".
	elsewhereURL := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin.add(r)
		if r.URL.Path == "/away" {
			http.Redirect(w, r, elsewhereURL+"/feed", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)

	c := newHTTPClient(t, dav.Options{URL: srv.URL + "/", Username: "alice", Password: "pw", UserAgent: "ua/1"}, 5)
	if resp, err := get(t, c, srv.URL+"/x"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	if resp, err := get(t, c, srv.URL+"/away"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET with redirect: %v %v", resp, err)
	}
	for _, r := range origin.all() {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
			t.Fatalf("%s: credentials %q %q %v", r.URL, u, p, ok)
		}
		if ua := r.Header.Get("User-Agent"); ua != "ua/1" {
			t.Fatalf("User-Agent %q", ua)
		}
	}
	got := other.all()
	if len(got) != 1 {
		t.Fatalf("redirect target got %d requests", len(got))
	}
	if _, _, ok := got[0].BasicAuth(); ok {
		t.Fatal("credentials were sent to the host a redirect led to")
	}
	if ua := got[0].Header.Get("User-Agent"); ua != "ua/1" {
		t.Fatalf("User-Agent after redirect %q", ua)
	}
	if n := c.Requests(); n != 3 {
		t.Fatalf("Requests() = %d, want 3 (redirect hops count)", n)
	}
}

func TestHTTPClientRedirectLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r"))
		if err != nil || n == 0 {
			w.Write([]byte("done"))
			return
		}
		http.Redirect(w, r, "/r"+strconv.Itoa(n-1), http.StatusMovedPermanently)
	}))
	t.Cleanup(srv.Close)

	c := newHTTPClient(t, dav.Options{URL: srv.URL}, 5)
	if resp, err := get(t, c, srv.URL+"/r5"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("5 redirects: %v %v", resp, err)
	}
	_, err := get(t, c, srv.URL+"/r6")
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("6 redirects: %v", err)
	}

	// No redirects: the 3xx comes back as it is.
	c = newHTTPClient(t, dav.Options{URL: srv.URL}, 0)
	resp, err := get(t, c, srv.URL+"/r1")
	if err != nil || resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("maxRedirects 0: %v %v", resp, err)
	}
}

func TestHTTPClientRefusesHTTPSToHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/feed.ics", http.StatusFound)
	}))
	t.Cleanup(secure.Close)
	c := newHTTPClient(t, dav.Options{URL: secure.URL, TLSFingerprint: fingerprint(secure.Certificate())}, 5)
	_, err := get(t, c, secure.URL+"/feed.ics")
	if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect from https to "+plain.URL+"/feed.ics") {
		t.Fatalf("https → http: %v", err)
	}
}

func TestHTTPClientRetries(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k < 3 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	var sl sleeps
	c := newHTTPClient(t, dav.Options{URL: srv.URL, Sleep: sl.sleep}, 0)
	resp, err := get(t, c, srv.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 7*time.Second {
		t.Fatalf("waits %v, want two of 7s", got)
	}
	if c.Requests() != 3 {
		t.Fatalf("Requests() = %d", c.Requests())
	}
}

func TestHTTPClientErrors(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newHTTPClient(t, dav.Options{Name: "feed", URL: srv.URL}, 5)
	_, err := get(t, c, srv.URL+"/x.ics")
	if err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	wantContains(t, "untrusted", err.Error(), "GET "+srv.URL+"/x.ics", colonFingerprint(srv.Certificate()), "tls_root", "tls_fingerprint")
	var re *dav.RequestError
	if !errors.As(err, &re) || !re.TLS || re.Sent {
		t.Fatalf("untrusted: %#v, want a *dav.RequestError with TLS set, not sent", err)
	}
	if storage.IsTemporary(err) {
		t.Fatal("a certificate failure is marked temporary")
	}

	// A cancelled context is reported as such, without retries.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}

	for _, o := range []dav.Options{
		{URL: "ftp://example.org/"},
		{URL: "https://example.org/", TLSRoot: "/nonexistent/ca.pem"},
		{URL: "https://example.org/", TLSFingerprint: "abc"},
	} {
		o.Name = "bad"
		if _, err := dav.NewHTTPClient(o, 5); err == nil || !strings.HasPrefix(err.Error(), "storage bad: ") {
			t.Fatalf("NewHTTPClient(%+v): %v", o, err)
		}
	}
}
