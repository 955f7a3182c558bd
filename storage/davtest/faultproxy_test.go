package davtest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// proxied starts the fake server with one calendar and a proxy in front of it.
func proxied(t *testing.T) (*davtest.Server, *davtest.FaultProxy, string) {
	t.Helper()
	srv := davtest.NewServer(t, davtest.Options{})
	coll := davtest.CalendarHome + "c/"
	srv.AddCollection(coll, storage.Calendars, nil)
	return srv, davtest.NewFaultProxy(t, srv.URL), coll
}

const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// send makes one request on a fresh connection (no reuse between steps).
func send(t *testing.T, method, url string, body string, header ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func TestFaultProxyPassesHeadersThrough(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var gotBody []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(r.Context())
		gotBody, _ = io.ReadAll(r.Body)
		mu.Unlock()
		w.Header().Set("ETag", `"e1"`)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created")
	}))
	defer up.Close()
	p := davtest.NewFaultProxy(t, up.URL+"/")
	if !strings.HasSuffix(p.URL, "/") || p.URL == up.URL+"/" {
		t.Fatalf("proxy URL %q", p.URL)
	}
	req, _ := http.NewRequest("PUT", p.URL+"dav/a%20b/x.ics?q=1", strings.NewReader(ics))
	req.Host = "davical.example:8443"
	req.SetBasicAuth("alice", "secret")
	req.Header.Set("If-None-Match", "*")
	req.Header.Set("Content-Type", "text/calendar")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") != `"e1"` || string(body) != "created" {
		t.Fatalf("answer %d %v %q", resp.StatusCode, resp.Header, body)
	}
	mu.Lock()
	defer mu.Unlock()
	user, pw, _ := got.BasicAuth()
	if got.Host != "davical.example:8443" || user != "alice" || pw != "secret" || got.Header.Get("If-None-Match") != "*" ||
		got.URL.RequestURI() != "/dav/a%20b/x.ics?q=1" || string(gotBody) != ics || got.ContentLength != int64(len(ics)) {
		t.Fatalf("upstream saw Host %q, auth %q:%q, %v %q, body %q (%d)", got.Host, user, pw, got.Header, got.URL.RequestURI(), gotBody, got.ContentLength)
	}
	if log := p.Requests(); len(log) != 1 || log[0].Status != http.StatusCreated || log[0].Action != "pass" {
		t.Fatalf("log %+v", log)
	}
}

func TestFaultProxyDropAnswer(t *testing.T) {
	srv, p, coll := proxied(t)
	put := p.Add(davtest.Rule{Method: "PUT", Nth: 1, Action: davtest.DropAnswer()})
	_, _, err := send(t, "PUT", p.URL+coll+"x.ics", ics, "If-None-Match", "*")
	if err == nil {
		t.Fatal("the client got an answer")
	}
	put.WaitFor(t, 1)
	if data, _, ok := srv.Item(coll + "x.ics"); !ok || string(data) != ics {
		t.Fatalf("the upstream did not store the item: %q %v", data, ok)
	}
	// Only the first matching request is affected; the upstream's 412 now comes back.
	resp, _, err := send(t, "PUT", p.URL+coll+"x.ics", ics, "If-None-Match", "*")
	if err != nil || resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("second PUT: %v %v", resp, err)
	}
	if put.Matched() != 2 || put.Answered() != 2 {
		t.Fatalf("matched %d answered %d", put.Matched(), put.Answered())
	}
	if log := p.Requests(); len(log) != 2 || log[0].Action != "drop answer" || log[0].Status != http.StatusCreated || log[1].Action != "pass" {
		t.Fatalf("log %+v", log)
	}
}

func TestFaultProxyResetMidBody(t *testing.T) {
	srv, p, coll := proxied(t)
	srv.PutItem(coll+"x.ics", []byte(ics))
	p.Add(davtest.Rule{Method: "GET", Action: davtest.ResetMidBody()})
	put := p.Add(davtest.Rule{Method: "PUT", Action: davtest.ResetMidBody()})
	resp, data, err := send(t, "GET", p.URL+coll+"x.ics", "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusOK || len(data) == 0 || len(data) >= len(ics) {
		t.Fatalf("GET: %v, %d bytes, %v; want the status, part of the body and an error", resp, len(data), err)
	}
	// A bodyless answer is cut inside its headers: no answer at all.
	if resp, _, err := send(t, "PUT", p.URL+coll+"y.ics", ics); err == nil {
		t.Fatalf("PUT got an answer: %v", resp.Status)
	}
	put.WaitFor(t, 1)
	if _, _, ok := srv.Item(coll + "y.ics"); !ok {
		t.Fatal("the upstream did not store the PUT")
	}
}

func TestFaultProxyHold(t *testing.T) {
	srv, p, coll := proxied(t)
	put := p.Add(davtest.Rule{Method: "PUT", Path: coll, Action: davtest.Hold()})
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, _, err := send(t, "PUT", p.URL+coll+"x.ics", ics)
		done <- result{resp, err}
	}()
	put.WaitFor(t, 1)
	// The upstream has stored the item; the answer cannot have reached the client.
	if _, _, ok := srv.Item(coll + "x.ics"); !ok {
		t.Fatal("the upstream did not store the item")
	}
	select {
	case r := <-done:
		t.Fatalf("the client got an answer while it was held: %v %v", r.resp, r.err)
	default:
	}
	put.Release()
	r := <-done
	if r.err != nil || r.resp.StatusCode != http.StatusCreated || r.resp.Header.Get("ETag") == "" {
		t.Fatalf("after Release: %v %v", r.resp, r.err)
	}
}

// TestFaultProxyHoldClientGone: a client that dies while its answer is held (kill -9
// in the CLI tests) leaves the write applied and the proxy serving.
func TestFaultProxyHoldClientGone(t *testing.T) {
	srv, p, coll := proxied(t)
	put := p.Add(davtest.Rule{Method: "PUT", Action: davtest.Hold()})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "PUT", p.URL+coll+"x.ics", strings.NewReader(ics))
	errc := make(chan error, 1)
	go func() {
		_, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		errc <- err
	}()
	put.WaitFor(t, 1)
	cancel() // the client closes its connection, as a killed process would
	if err := <-errc; err == nil {
		t.Fatal("the request completed")
	}
	if _, _, ok := srv.Item(coll + "x.ics"); !ok {
		t.Fatal("the upstream did not store the item")
	}
	if resp, _, err := send(t, "GET", p.URL+coll+"x.ics", ""); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET after the client died: %v %v", resp, err)
	}
	put.Release() // nothing is waiting any more; must not block
}

func TestFaultProxyStatusDoesNotForward(t *testing.T) {
	srv, p, coll := proxied(t)
	rule := p.Add(davtest.Rule{Method: "PUT", PathRE: regexp.MustCompile(`/x\.ics$`), Action: davtest.Status(http.StatusServiceUnavailable)})
	resp, _, err := send(t, "PUT", p.URL+coll+"x.ics", ics)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	rule.WaitFor(t, 1)
	if _, _, ok := srv.Item(coll + "x.ics"); ok || srv.Count("PUT") != 0 {
		t.Fatal("the request reached the upstream")
	}
	// Another path does not match the regexp.
	if resp, _, err := send(t, "PUT", p.URL+coll+"y.ics", ics); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT y: %v %v", resp, err)
	}
	if rule.Matched() != 1 {
		t.Fatalf("matched %d", rule.Matched())
	}
}

func TestFaultProxyNthAndDelay(t *testing.T) {
	srv, p, coll := proxied(t)
	srv.PutItem(coll+"x.ics", []byte(ics))
	const d = 300 * time.Millisecond
	second := p.Add(davtest.Rule{Method: "GET", Path: coll, Nth: 2, Action: davtest.Delay(d)})
	third := p.Add(davtest.Rule{Method: "get", Nth: 3, Action: davtest.Status(http.StatusPreconditionFailed)})
	observe := p.Add(davtest.Rule{Path: "/nowhere/"})
	var codes []int
	var took []time.Duration
	for range 4 {
		start := time.Now()
		resp, data, err := send(t, "GET", p.URL+coll+"x.ics", "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK && !bytes.Equal(data, []byte(ics)) {
			t.Fatalf("body %q", data)
		}
		codes = append(codes, resp.StatusCode)
		took = append(took, time.Since(start))
	}
	if want := []int{200, 200, 412, 200}; !equalInts(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	if took[1] < d {
		t.Fatalf("the delayed request took %s, less than %s", took[1], d)
	}
	if second.Matched() != 4 || third.Matched() != 4 || observe.Matched() != 0 {
		t.Fatalf("matched %d %d %d", second.Matched(), third.Matched(), observe.Matched())
	}
	if srv.Count("GET") != 3 {
		t.Fatalf("upstream saw %d GETs, want 3", srv.Count("GET"))
	}
	select {
	case <-second.Done(4):
	default:
		t.Fatal("Done(4) not closed after the fourth answer")
	}
}

func equalInts(a, b []int) bool {
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
