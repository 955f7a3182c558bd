package davserver

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.SetBasicAuth("demo", "pw")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// The server over TLS with its own certificate: credentials, byte-exact storage,
// conditional writes, listings with sync tokens; Close stops it.
func TestServer(t *testing.T) {
	s, err := Start(Options{Username: "demo", Password: "pw", TLS: &tls.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || s.Certificate() == nil {
		t.Fatalf("URL %s, certificate %v", s.URL, s.Certificate())
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	s.AddCollection(CalendarHome+"work/", storage.Calendars, map[string]string{storage.PropDisplayName: "Work"})
	item := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:odd  spacing\r\n folded\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	resp, _ := do(t, c, "PUT", s.URL+CalendarHome+"work/x.ics", map[string]string{"If-None-Match": "*"}, item)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusCreated || etag == "" {
		t.Fatalf("PUT: %d, etag %q", resp.StatusCode, etag)
	}
	if resp, _ := do(t, c, "PUT", s.URL+CalendarHome+"work/x.ics", map[string]string{"If-None-Match": "*"}, item); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("create over an existing item: %d", resp.StatusCode)
	}
	if resp, _ := do(t, c, "PUT", s.URL+CalendarHome+"work/x.ics", map[string]string{"If-Match": `"stale"`}, item); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("update with a stale etag: %d", resp.StatusCode)
	}
	if data, got, ok := s.Item(CalendarHome + "work/x.ics"); !ok || string(data) != item || got != etag {
		t.Errorf("stored %q %q %v", data, got, ok)
	}
	resp, body := do(t, c, "PROPFIND", s.URL+CalendarHome+"work/", map[string]string{"Depth": "1"},
		`<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:sync-token/><d:displayname/></d:prop></d:propfind>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "x.ics") || !strings.Contains(body, "<d:displayname>Work</d:displayname>") || !strings.Contains(body, "sync/") {
		t.Errorf("PROPFIND: %d\n%s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("OPTIONS", s.URL+ContextPath, nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credentials: %v %v", resp, err)
	}
	s.Close()
	if _, err := c.Get(s.URL + ContextPath); err == nil {
		t.Error("the server answers after Close")
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	s, err := Start(Options{UnixSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL != "http://localhost" || s.Socket != sock {
		t.Errorf("URL %s socket %s", s.URL, s.Socket)
	}
}
