package dav_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// Tests of issue 10: every wait has a deadline, every answer a size cap, and errors
// say what happened. Deadlines here are configuration (short); the contexts with a
// minute are only safety nets.

// short are the deadlines of these tests.
var short = dav.Timeouts{Connect: time.Second, Read: 300 * time.Millisecond, Request: time.Second}

// safety returns a context that only ends a test that would otherwise hang.
func safety(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// front starts a server in front of the fake server srv: requests for which misbehave
// returns true are answered by it, the others are passed on.
func front(t *testing.T, srv *davtest.Server, misbehave func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = nil
	fs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if misbehave(w, r) {
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// storageAt builds a storage on url with the short deadlines.
func storageAt(t *testing.T, u string, mod func(*dav.Options)) *dav.Storage {
	t.Helper()
	o := dav.Options{Name: "hostile", URL: u + "/", Username: "alice", Password: "pw", Timeouts: short,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	if mod != nil {
		mod(&o)
	}
	return newDAV(t, storage.Calendars, o)
}

// isListing matches the PROPFIND Depth 1 listing of a collection below the home set.
func isListing(r *http.Request) bool {
	return r.Method == "PROPFIND" && r.Header.Get("Depth") == "1" && strings.HasPrefix(r.URL.Path, davtest.CalendarHome) &&
		r.URL.Path != davtest.CalendarHome
}

// hijack takes over the connection of w.
func hijack(t *testing.T, w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil, nil
	}
	return conn, rw
}

// wantTimeout checks that err is a deadline error whose message names the directive.
func wantTimeout(t *testing.T, what string, err error, directive string) {
	t.Helper()
	var re *dav.RequestError
	if !errors.As(err, &re) || !re.Timeout {
		t.Fatalf("%s: %v (%T), want a *dav.RequestError that timed out", what, err, err)
	}
	if !strings.Contains(err.Error(), directive) {
		t.Fatalf("%s: %q does not name %s", what, err, directive)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: the safety net ended the request, not its deadline: %v", what, err)
	}
}

func TestNeverAnswers(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) }) // runs first
	var sl sleeps
	s := storageAt(t, srv.URL, func(o *dav.Options) { o.Sleep = sl.sleep })
	err := s.Check(safety(t))
	wantTimeout(t, "Check", err, "read_timeout")
	wantContains(t, "Check", err.Error(), "OPTIONS "+srv.URL+"/: no answer within 300ms (read_timeout)")
	if len(sl.all()) != 0 {
		t.Fatalf("a request that timed out was retried (waits %v)", sl.all())
	}
	if !storage.IsTemporary(err) {
		t.Fatal("a timeout is not temporary")
	}

	// A write that got no answer may have taken effect.
	c := newHTTPClient(t, dav.Options{URL: srv.URL, Timeouts: short}, 0)
	req, _ := http.NewRequestWithContext(safety(t), http.MethodPut, srv.URL+"/x.ics", strings.NewReader("BEGIN:VCALENDAR"))
	_, err = c.Do(req)
	wantTimeout(t, "PUT", err, "read_timeout")
	if !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("PUT without an answer: %v does not match ErrOutcomeUnknown", err)
	}
}

func TestTrickledHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw := hijack(t, w)
		if conn == nil {
			return
		}
		defer conn.Close()
		for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: " + strings.Repeat("x", 1000)) {
			if _, err := rw.Write([]byte{b}); err != nil || rw.Flush() != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	c := newHTTPClient(t, dav.Options{URL: srv.URL, Timeouts: short}, 0)
	_, err := get(t, c, srv.URL+"/feed.ics")
	wantTimeout(t, "trickled headers", err, "read_timeout")
}

// trickle writes the start of a multistatus, then one byte every interval until the
// client goes away.
func trickle(t *testing.T, w http.ResponseWriter, interval time.Duration) {
	conn, rw := hijack(t, w)
	if conn == nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\r\n<d:multistatus xmlns:d=\"DAV:\">")
	rw.Flush()
	for {
		if _, err := rw.Write([]byte(" ")); err != nil || rw.Flush() != nil {
			return
		}
		time.Sleep(interval)
	}
}

func TestTrickledBody(t *testing.T) {
	fake := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake, storage.Calendars, "c", 1)
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		trickle(t, w, 20*time.Millisecond) // faster than read_timeout: only the request deadline ends it
		return true
	})
	s := storageAt(t, fs.URL, nil)
	discover(t, s)
	_, err := s.List(safety(t), coll)
	wantTimeout(t, "trickled listing", err, "request_timeout")
	wantContains(t, "trickled listing", err.Error(), "list "+coll+": PROPFIND "+fs.URL+coll+": no complete answer within the request deadline")
}

func TestIdleBody(t *testing.T) {
	fake := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake, storage.Calendars, "c", 1)
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		trickle(t, w, time.Minute) // one byte, then silence
		return true
	})
	s := storageAt(t, fs.URL, nil)
	discover(t, s)
	_, err := s.List(safety(t), coll)
	wantTimeout(t, "silent listing", err, "read_timeout")
	wantContains(t, "silent listing", err.Error(), "the server sent nothing for 300ms while answering (read_timeout)")
}

func TestResetMidBody(t *testing.T) {
	fake := davtest.NewServer(t, davtest.Options{})
	coll, hrefs := seed(fake, storage.Calendars, "c", 3)
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) && !(r.Method == http.MethodPut) && !(r.Method == http.MethodDelete) {
			return false
		}
		io.Copy(io.Discard, r.Body)
		conn, rw := hijack(t, w)
		if conn == nil {
			return true
		}
		if r.Method == "PROPFIND" {
			fmt.Fprintf(rw, "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: 10000\r\n\r\n<d:multistatus xmlns:d=\"DAV:\"><d:response>")
			rw.Flush()
		}
		conn.(*net.TCPConn).SetLinger(0) // RST
		conn.Close()
		return true
	})
	s := storageAt(t, fs.URL, nil)
	discover(t, s)
	_, err := s.List(safety(t), coll)
	if err == nil {
		t.Fatal("a listing cut off by a reset succeeded")
	}
	var re *dav.RequestError
	if !errors.As(err, &re) || !re.Answered {
		t.Fatalf("reset listing: %v, want a *dav.RequestError after the answer began", err)
	}
	wantContains(t, "reset listing", err.Error(), "PROPFIND "+fs.URL+coll)

	// Writes whose connection broke after they were sent may have taken effect.
	_, _, err = s.Create(safety(t), coll, item(storage.Calendars, "new", "New"))
	if !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("Create with the connection reset: %v, want ErrOutcomeUnknown", err)
	}
	etag := etagOf(t, fake, hrefs[0])
	if _, err := s.Update(safety(t), hrefs[0], etag, item(storage.Calendars, "uid-000", "Changed")); !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("Update with the connection reset: %v, want ErrOutcomeUnknown", err)
	}
	if err := s.Delete(safety(t), hrefs[1], etagOf(t, fake, hrefs[1])); !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("Delete with the connection reset: %v, want ErrOutcomeUnknown", err)
	}
}

func etagOf(t *testing.T, srv *davtest.Server, href string) string {
	t.Helper()
	_, etag, ok := srv.Item(href)
	if !ok {
		t.Fatalf("no item %s", href)
	}
	return etag
}

func TestWriteOutcome(t *testing.T) {
	// Which write failures may have taken effect (ErrOutcomeUnknown) and which are a
	// definite answer.
	for _, tc := range []struct {
		status  int
		unknown bool
	}{
		{http.StatusBadGateway, true},
		{http.StatusGatewayTimeout, true},
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadRequest, false},
		{http.StatusForbidden, false},
		{http.StatusPreconditionFailed, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
			coll, hrefs := seed(srv, storage.Calendars, "c", 1)
			discover(t, s)
			if _, err := s.List(t.Context(), coll); err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{http.MethodPut, http.MethodDelete, "PROPPATCH"} {
				srv.Inject(davtest.Fault{Method: method, Status: tc.status})
				var err error
				switch method {
				case http.MethodPut:
					_, err = s.Update(t.Context(), hrefs[0], etagOf(t, srv, hrefs[0]), item(storage.Calendars, "uid-000", "X"))
				case http.MethodDelete:
					err = s.Delete(t.Context(), hrefs[0], etagOf(t, srv, hrefs[0]))
				default:
					err = s.SetProperty(t.Context(), coll, storage.PropDisplayName, "X")
				}
				if err == nil {
					t.Fatalf("%s answered %d succeeded", method, tc.status)
				}
				if errors.Is(err, storage.ErrOutcomeUnknown) != tc.unknown {
					t.Fatalf("%s answered %d: ErrOutcomeUnknown = %v, want %v (%v)", method, tc.status, !tc.unknown, tc.unknown, err)
				}
			}
		})
	}
	// Nothing was sent: definite.
	s := storageAt(t, "http://127.0.0.1:1", nil)
	if err := s.Check(t.Context()); errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("refused: %v", err)
	}
	c := newHTTPClient(t, dav.Options{URL: "http://127.0.0.1:1/"}, 0)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://127.0.0.1:1/x.ics", strings.NewReader("x"))
	if _, err := c.Do(req); err == nil || errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("PUT to a refused port: %v, want a definite error", err)
	}
}

func TestServerReasonInErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		ctype, body, want string
	}{
		"cyrus precondition": {"application/xml; charset=utf-8",
			`<?xml version="1.0"?><error xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:valid-calendar-data/></error>`,
			"PUT %s: HTTP 403 Forbidden: valid-calendar-data"},
		"sabre message": {"application/xml; charset=utf-8",
			`<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>Sabre\DAV\Exception\Forbidden</s:exception><s:message>Calendar objects must have a VERSION property</s:message></d:error>`,
			"PUT %s: HTTP 403 Forbidden: Calendar objects must have a VERSION property"},
		"text": {"text/plain", "\n  Invalid item:\tno UID  \nsecond line\n",
			"PUT %s: HTTP 403 Forbidden: Invalid item: no UID"},
		"html": {"text/html", "<html><head><title>Request rejected</title></head><body>…</body></html>",
			"PUT %s: HTTP 403 Forbidden: Request rejected"},
		"status only": {"text/plain", "Forbidden\n", "PUT %s: HTTP 403 Forbidden"},
	} {
		t.Run(name, func(t *testing.T) {
			s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
			coll, _ := seed(srv, storage.Calendars, "c", 0)
			discover(t, s)
			fs := front(t, srv, func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPut {
					return false
				}
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, tc.body)
				return true
			})
			s = storageAt(t, fs.URL, nil)
			discover(t, s)
			_, _, err := s.Create(t.Context(), coll, item(storage.Calendars, "bad", "Bad"))
			if err == nil {
				t.Fatal("refused create succeeded")
			}
			href := coll + "bad.ics"
			want := "create " + href + ": the server rejected the item: " + fmt.Sprintf(tc.want, fs.URL+href)
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error\n%q\ndoes not start with\n%q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error has several lines: %q", err)
			}
			if name == "status only" && err.Error() != want {
				t.Fatalf("error %q repeats the status text", err)
			}
			var se *dav.StatusError
			if !errors.As(err, &se) || se.Code != http.StatusForbidden || se.Method != http.MethodPut || se.URL != fs.URL+href {
				t.Fatalf("%#v is not the *dav.StatusError of the PUT", err)
			}
		})
	}
}

// bombServer answers listings with a gzip-compressed answer of n bytes.
func gzipped(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	io.WriteString(zw, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">`)
	chunk := bytes.Repeat([]byte("<d:x/>"), 1<<14)
	for written := 0; written < n; written += len(chunk) {
		zw.Write(chunk)
	}
	io.WriteString(zw, `</d:multistatus>`)
	zw.Close()
	return buf.Bytes()
}

func TestGzipBomb(t *testing.T) {
	bomb := gzipped(t, 128<<20)
	if len(bomb) > 4<<20 {
		t.Fatalf("the bomb is %d bytes compressed", len(bomb))
	}
	fake := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake, storage.Calendars, "c", 1)
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Error("the client does not accept gzip, so the bomb tests nothing")
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusMultiStatus)
		w.Write(bomb)
		return true
	})
	s := storageAt(t, fs.URL, func(o *dav.Options) { o.Timeouts.Request = time.Minute })
	discover(t, s)
	_, err := s.List(safety(t), coll)
	var tl *dav.AnswerTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 64<<20 {
		t.Fatalf("gzip bomb: %v, want a *dav.AnswerTooLargeError at 64 MiB", err)
	}
	wantContains(t, "gzip bomb", err.Error(), "PROPFIND "+fs.URL+coll+": the answer is larger than 67108864 bytes")
}

// bigListing writes a listing of valid responses until n bytes are sent.
func bigListing(w http.ResponseWriter, coll string, n int) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusMultiStatus)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">`)
	for i, sent := 0, 0; sent < n; i++ {
		k, err := fmt.Fprintf(bw, `<d:response><d:href>%sitem-%09d.ics</d:href><d:propstat><d:prop><d:getetag>"%d"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, coll, i, i)
		if err != nil {
			return
		}
		sent += k
	}
	bw.WriteString(`</d:multistatus>`)
	bw.Flush()
}

func TestHugeListing(t *testing.T) {
	fake := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake, storage.Calendars, "c", 1)
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		bigListing(w, coll, 200<<20)
		return true
	})
	s := storageAt(t, fs.URL, func(o *dav.Options) { o.Timeouts.Request = time.Minute })
	discover(t, s)
	_, err := s.List(safety(t), coll)
	if err == nil || !strings.Contains(err.Error(), "PROPFIND "+fs.URL+coll+": the collection lists more than 200000 items") {
		t.Fatalf("200 MB listing: %v", err)
	}
	// A listing below the cap is read as a stream and complete.
	fs2 := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		bigListing(w, coll, 20<<20)
		return true
	})
	s = storageAt(t, fs2.URL, func(o *dav.Options) { o.Timeouts.Request = time.Minute })
	discover(t, s)
	refs, err := s.List(safety(t), coll)
	if err != nil || len(refs) < 100000 {
		t.Fatalf("20 MB listing: %d refs, %v", len(refs), err)
	}
}

func TestOversizedItem(t *testing.T) {
	for _, multiget := range []bool{true, false} {
		t.Run(fmt.Sprint("multiget=", multiget), func(t *testing.T) {
			s, srv := fake(t, storage.Calendars, davtest.Options{NoMultiget: !multiget}, func(o *dav.Options) { o.MaxItemSize = 64 << 10 })
			coll, hrefs := seed(srv, storage.Calendars, "c", 3)
			big := coll + "big.ics"
			desc := "DESCRIPTION:" + strings.Repeat("x", 60) + "\r\n"
			srv.PutItem(big, []byte(strings.Replace(text(storage.Calendars, "big", "Big"), "END:VEVENT", strings.Repeat(desc, 4000)+"END:VEVENT", 1)))
			discover(t, s)
			got, err := s.Get(safety(t), coll, append(hrefs, big))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range got {
				switch {
				case f.Href == big:
					var tl *storage.TooLargeError
					if !errors.As(f.Err, &tl) || !errors.Is(f.Err, storage.ErrInvalidData) || tl.Limit != 64<<10 {
						t.Fatalf("big item: %v, want a *storage.TooLargeError (ErrInvalidData)", f.Err)
					}
					wantContains(t, "big item", f.Err.Error(), "max_item_size (65536 bytes)")
				case f.Err != nil:
					t.Fatalf("%s: %v", f.Href, f.Err)
				}
			}
			if len(got) != 4 {
				t.Fatalf("%d results", len(got))
			}
		})
	}
}

func TestMultigetBoundedInBytes(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, func(o *dav.Options) { o.MaxItemSize = 8 << 20 })
	coll, _ := seed(srv, storage.Calendars, "c", 0)
	var hrefs []string
	desc := "DESCRIPTION:" + strings.Repeat("y", 70) + "\r\n"
	for i := range 5 { // 5 items of 3 MiB: more than one multiget answer may hold
		h := fmt.Sprintf("%sbig-%d.ics", coll, i)
		srv.PutItem(h, []byte(strings.Replace(text(storage.Calendars, fmt.Sprint("big-", i), "Big"), "END:VEVENT", strings.Repeat(desc, 3<<20/len(desc))+"END:VEVENT", 1)))
		hrefs = append(hrefs, h)
	}
	discover(t, s)
	got, err := s.Get(safety(t), coll, hrefs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if f.Err != nil || f.Item.Ident() == "" {
			t.Fatalf("%s: %v", f.Href, f.Err)
		}
	}
	if n := countMethod(srv, "REPORT", coll); n < 2 {
		t.Fatalf("%d multigets for 15 MiB of items, want the answer cut off and the rest asked for again", n)
	}
}

func TestConcurrentCreatesToOneHrefAreSerialised(t *testing.T) {
	fake := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake, storage.Calendars, "c", 0)
	var mu sync.Mutex
	inFlight := map[string]int{}
	most := 0
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut {
			mu.Lock()
			inFlight[r.URL.Path]++
			most = max(most, inFlight[r.URL.Path])
			mu.Unlock()
			defer func() {
				mu.Lock()
				inFlight[r.URL.Path]--
				mu.Unlock()
			}()
			time.Sleep(20 * time.Millisecond) // room for an overlap, if the client allowed one
		}
		return false
	})
	s := storageAt(t, fs.URL, nil)
	discover(t, s)
	// Two UIDs that sanitise to the same file name, created at once, several times.
	for round := range 5 {
		uids := []string{fmt.Sprintf("same/%d", round), fmt.Sprintf("same%d", round)}
		hrefs := make([]string, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, uid := range uids {
			wg.Go(func() { hrefs[i], _, errs[i] = s.Create(safety(t), coll, item(storage.Calendars, uid, "S")) })
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("round %d: Create(%s): %v", round, uids[i], errs[i])
			}
		}
		name := coll + fmt.Sprintf("same%d.ics", round)
		if (hrefs[0] == name) == (hrefs[1] == name) {
			t.Fatalf("round %d: hrefs %v, want one at %s and one at the hash name", round, hrefs, name)
		}
		items := fake.Items(coll)
		if items[hrefs[0]] == nil || items[hrefs[1]] == nil {
			t.Fatalf("round %d: not both stored: %v", round, hrefs)
		}
	}
	if most != 1 {
		t.Fatalf("%d PUTs to one href were in flight together", most)
	}
}

func TestAuthOriginRedirectAndHref(t *testing.T) {
	// Another origin (same machine, other port): the client must treat it as another
	// site and never send it the credentials.
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			mu.Lock()
			leaked = append(leaked, r.Method+" "+r.URL.Path)
			mu.Unlock()
		}
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	t.Cleanup(other.Close)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	// .well-known redirecting to another site: bootstrap stops before sending anything.
	fake := davtest.NewServer(t, davtest.Options{HideCapabilities: true})
	fs := front(t, fake, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/.well-known/") {
			http.Redirect(w, r, otherURL+"/dav/", http.StatusMovedPermanently)
			return true
		}
		return false
	})
	s := storageAt(t, fs.URL, nil)
	err := s.Check(t.Context())
	if err == nil {
		t.Fatal("bootstrap through a redirect to another site succeeded")
	}
	wantContains(t, "cross-site redirect", err.Error(), "refusing to send the credentials there")

	// A listing naming an item on another origin: it is never requested.
	fake2 := davtest.NewServer(t, davtest.Options{})
	coll, _ := seed(fake2, storage.Calendars, "c", 1)
	fs2 := front(t, fake2, func(w http.ResponseWriter, r *http.Request) bool {
		if !isListing(r) {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprintf(w, `<d:multistatus xmlns:d="DAV:"><d:response><d:href>%s%sevil.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`, otherURL, coll)
		return true
	})
	s = storageAt(t, fs2.URL, nil)
	discover(t, s)
	refs, err := s.List(t.Context(), coll)
	if err != nil || len(refs) != 1 {
		t.Fatalf("List = %v, %v", refs, err)
	}
	got, err := s.Get(t.Context(), coll, []string{refs[0].Href})
	if err != nil || got[0].Err == nil {
		t.Fatalf("Get of an href on another origin = %v, %v; want an item error", got, err)
	}
	if err := s.Delete(t.Context(), refs[0].Href, `"1"`); err == nil {
		t.Fatal("Delete of an href on another origin succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) != 0 {
		t.Fatalf("credentials were sent to another origin: %v", leaked)
	}
}

func TestUserinfoStaysSecret(t *testing.T) {
	const secret = "s3cr3t-Pw"
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: secret})
	seed(srv, storage.Calendars, "work", 0)
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("alice", secret)
	var logs bytes.Buffer
	cache := t.TempDir() + "/boot"
	o := dav.Options{Name: "s", URL: u.String() + "/", BootstrapCache: cache,
		Logger: slogAll(&logs)}
	s := newDAV(t, storage.Calendars, o)
	if _, err := s.Discover(t.Context()); err != nil {
		t.Fatalf("Discover with credentials in the URL: %v", err)
	}
	data, err := readFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(data, secret) {
		t.Fatalf("the bootstrap cache holds the password: %s", data)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the logs hold the password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "PROPFIND") {
		t.Fatal("nothing was logged, so the test proves nothing")
	}
	// A URL that does not parse is reported without itself.
	_, err = dav.New(dav.Options{Name: "x", Kind: storage.Calendars, URL: "https://alice:" + secret + "@exa mple.org/"})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("bad URL: %v", err)
	}
}

// slogAll logs every level, trace included, to w.
func slogAll(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.Level(-100)}))
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// TestRefusalIsErrRejected: an answer to an upload that refuses the item itself (400,
// 403, 409, 415, 422) is storage.ErrRejected (the engine then says what to do about an
// item without UID); a size limit or a lock is not, and neither is a server error.
func TestRefusalIsErrRejected(t *testing.T) {
	for _, tc := range []struct {
		code    int
		refusal bool
	}{
		{http.StatusBadRequest, true}, {http.StatusForbidden, true}, {http.StatusConflict, true},
		{http.StatusUnsupportedMediaType, true}, {http.StatusUnprocessableEntity, true},
		{http.StatusRequestEntityTooLarge, false}, {http.StatusLocked, false}, {http.StatusNotImplemented, false},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
			coll, hrefs := seed(srv, storage.Calendars, "c", 1)
			fs := front(t, srv, func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPut {
					return false
				}
				w.WriteHeader(tc.code)
				return true
			})
			s = storageAt(t, fs.URL, nil)
			discover(t, s)
			_, _, createErr := s.Create(t.Context(), coll, item(storage.Calendars, "new", "New"))
			_, updateErr := s.Update(t.Context(), hrefs[0], etagOf(t, srv, hrefs[0]), item(storage.Calendars, "uid-000", "X"))
			for what, err := range map[string]error{"create": createErr, "update": updateErr} {
				if err == nil {
					t.Fatalf("%s succeeded", what)
				}
				if errors.Is(err, storage.ErrRejected) != tc.refusal {
					t.Errorf("%s answered %d: errors.Is(ErrRejected) = %v, want %v (%v)", what, tc.code, !tc.refusal, tc.refusal, err)
				}
				if !strings.Contains(err.Error(), "the server rejected the item: ") {
					t.Errorf("%s answered %d: %v", what, tc.code, err)
				}
			}
		})
	}
}
