package main

// Issue 10's proof at the level of the real binary: hostile servers on loopback end
// in a clear error within the configured deadlines, with the pair lock released and
// the peak memory of the pimsync process under 100 MB; connection refused is reported
// on the first attempt with the storage named once; a password in the URL is never
// written anywhere; errors carry the server's reason.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// peakLimitKB is the bound on the peak RSS (VmHWM) of a pimsync process facing a
// hostile server.
const peakLimitKB = 100 << 10

// runPeak runs the binary like e.run and also returns its peak resident memory in KiB:
// the VmHWM that /proc/<pid>/status shows while it runs (polled), or the getrusage
// maximum once it exited, whichever is larger.
func (e *env) runPeak(args ...string) (result, int64) {
	e.t.Helper()
	cmd := exec.Command(binPath, append([]string{"-c", e.cfg}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME=", "NO_COLOR=1", raceNoSleep)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	safety := time.After(2 * time.Minute)
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			peak = max(peak, vmHWM(cmd.Process.Pid))
		case <-safety:
			cmd.Process.Kill()
			e.t.Fatalf("pimsync %v did not finish", args)
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = max(peak, ru.Maxrss) // KiB on Linux
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatal(err)
	}
	return r, peak
}

// vmHWM reads the peak resident set size of a process in KiB (0 if unreadable).
func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// wantPeak checks the memory bound. Binaries built with -race use several times the
// memory by design, so there only the other assertions hold.
func wantPeak(t *testing.T, what string, kb int64) {
	t.Helper()
	if kb == 0 {
		t.Fatalf("%s: no peak memory measured", what)
	}
	if !raceEnabled && kb > peakLimitKB {
		t.Fatalf("%s: peak RSS %d KiB, more than %d KiB", what, kb, peakLimitKB)
	}
	t.Logf("%s: peak RSS %d KiB", what, kb)
}

// hostileEnv pairs a local vdir a/ with a CalDAV storage "remote" at url, syncing
// collection c, with extra top-level lines. With short, the deadlines are 1 s to
// connect and between bytes and 2 s per request, for the tests of those deadlines;
// without, the defaults, so that a loaded machine pausing a healthy answer for a
// second never fails a test about something else.
func hostileEnv(t *testing.T, url, top string, short bool) *env {
	t.Helper()
	deadlines := ""
	if short {
		deadlines = "\n    connect_timeout 1\n    read_timeout 1\n    request_timeout 2"
	}
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
%s
storage local {
    type vdir/icalendar
    path %q
}
storage remote {
    type caldav
    url %s
    username alice
    password pw%s
}
pair p {
    storage_a local
    storage_b remote
    collection c
}
`, e.path("status"), top, e.path("a"), url, deadlines))
	return e
}

// frontOf starts a server in front of the fake server srv: misbehave answers the
// requests it returns true for, the others go to srv.
func frontOf(t *testing.T, srv *davtest.Server, misbehave func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	fs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if misbehave(w, r) {
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

const collC = davtest.CalendarHome + "c/"

func isCListing(r *http.Request) bool {
	return r.Method == "PROPFIND" && r.Header.Get("Depth") == "1" && r.URL.Path == collC
}

// gzipBomb is a gzip answer that expands to 128 MiB of XML.
var gzipBomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	io.WriteString(zw, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">`)
	chunk := bytes.Repeat([]byte("<d:x/>"), 1<<14)
	for n := 0; n < 128<<20; n += len(chunk) {
		zw.Write(chunk)
	}
	io.WriteString(zw, `</d:multistatus>`)
	zw.Close()
	return buf.Bytes()
})

// hijackConn takes over the connection of w.
func hijackConn(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil
	}
	return conn, rw
}

// streamBigItem answers a multiget with every requested href: big.ics holds an event
// of size bytes, streamed; the others come from srv.
func streamBigItem(w http.ResponseWriter, r *http.Request, srv *davtest.Server, size int) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	bw.WriteString(`<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`)
	for _, part := range strings.Split(string(body), "<d:href>")[1:] {
		href, _, _ := strings.Cut(part, "</d:href>")
		fmt.Fprintf(bw, `<d:response><d:href>%s</d:href><d:propstat><d:prop><d:getetag>"%s"</d:getetag><c:calendar-data>`, href, href)
		if strings.HasSuffix(href, "/big.ics") {
			bw.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:big\r\n")
			line := "DESCRIPTION:" + strings.Repeat("x", 62) + "\r\n"
			for n := 0; n < size; n += len(line) {
				if _, err := bw.WriteString(line); err != nil {
					return
				}
			}
			bw.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
		} else {
			data, _, _ := srv.Item(href)
			xmlText(bw, string(data))
		}
		bw.WriteString(`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
	}
	bw.WriteString(`</d:multistatus>`)
}

func xmlText(w io.Writer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	io.WriteString(w, r.Replace(s))
}

// bigListing writes a listing of valid responses until n bytes are sent.
func bigListing(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusMultiStatus)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">`)
	for i, sent := 0, 0; sent < n; i++ {
		k, err := fmt.Fprintf(bw, `<d:response><d:href>%sitem-%09d.ics</d:href><d:propstat><d:prop><d:getetag>"%d"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, collC, i, i)
		if err != nil {
			return
		}
		sent += k
	}
	bw.WriteString(`</d:multistatus>`)
	bw.Flush()
}

func TestBoundedHostileServers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		top       string // extra top-level directives
		short     bool   // 1-second deadlines (the case is about them)
		misbehave func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool
		want      []string // in stderr
	}{
		{
			name:  "never answers",
			short: true,
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				block := make(chan struct{})
				t.Cleanup(func() { close(block) })
				return func(w http.ResponseWriter, r *http.Request) bool {
					if isCListing(r) {
						io.Copy(io.Discard, r.Body) // so that the server notices the client leaving
						select {
						case <-block:
						case <-r.Context().Done():
						}
						return true
					}
					return false
				}
			},
			want: []string{"PROPFIND", collC, "no answer within 1s (read_timeout)"},
		},
		{
			name:  "trickles one byte at a time",
			short: true,
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if !isCListing(r) {
						return false
					}
					conn, rw := hijackConn(w)
					if conn == nil {
						return true
					}
					defer conn.Close()
					rw.WriteString("HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\r\n<d:multistatus xmlns:d=\"DAV:\">")
					for rw.Flush() == nil {
						rw.WriteString(" ")
						time.Sleep(100 * time.Millisecond)
					}
					return true
				}
			},
			want: []string{"PROPFIND", collC, "no complete answer within the request deadline (request_timeout 2s"},
		},
		{
			name: "resets mid-body",
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if !isCListing(r) {
						return false
					}
					conn, rw := hijackConn(w)
					if conn == nil {
						return true
					}
					rw.WriteString("HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<d:multistatus xmlns:d=\"DAV:\"><d:response>")
					rw.Flush()
					conn.(*net.TCPConn).SetLinger(0)
					conn.Close()
					return true
				}
			},
			want: []string{"PROPFIND", collC, "the connection before its answer was complete"},
		},
		{
			name: "gzip bomb",
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				bomb := gzipBomb()
				return func(w http.ResponseWriter, r *http.Request) bool {
					if !isCListing(r) {
						return false
					}
					w.Header().Set("Content-Type", "application/xml")
					w.Header().Set("Content-Encoding", "gzip")
					w.WriteHeader(http.StatusMultiStatus)
					w.Write(bomb)
					return true
				}
			},
			want: []string{"PROPFIND", collC, "the answer is larger than 67108864 bytes"},
		},
		{
			name: "200 MB body",
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if !isCListing(r) {
						return false
					}
					bigListing(w, 200<<20)
					return true
				}
			},
			want: []string{"PROPFIND", collC, "the collection lists more than 200000 items"},
		},
		{
			name: "oversized item",
			top:  "max_item_size 1M",
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method != "REPORT" {
						return false
					}
					streamBigItem(w, r, srv, 200<<20)
					return true
				}
			},
			want: []string{collC + "big.ics", "larger than max_item_size (1048576 bytes)"},
		},
		{
			name: "oversized item, default limit",
			misbehave: func(t *testing.T, srv *davtest.Server) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method != "REPORT" {
						return false
					}
					streamBigItem(w, r, srv, 200<<20)
					return true
				}
			},
			want: []string{collC + "big.ics", "max_item_size (8388608 bytes)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := davtest.NewServer(t, davtest.Options{})
			srv.AddCollection(collC, storage.Calendars, nil)
			srv.PutItem(collC+"small.ics", []byte(event("small", "Small")))
			srv.PutItem(collC+"big.ics", []byte(event("big", "Placeholder")))
			fs := frontOf(t, srv, tc.misbehave(t, srv))
			e := hostileEnv(t, fs.URL+davtest.ContextPath, tc.top, tc.short)
			r, peak := e.runPeak("sync")
			if r.code != 1 {
				t.Fatalf("want exit 1, got %s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Fatalf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, "remote") && !strings.Contains(r.stderr, " on b") {
				t.Fatalf("stderr does not say which storage:\n%s", r.stderr)
			}
			wantPeak(t, tc.name, peak)
			if strings.HasPrefix(tc.name, "oversized") {
				if !e.holdsUID("a/c", "small") {
					t.Error("the small item was not synced")
				}
				if e.holdsUID("a/c", "big") {
					t.Error("the oversized item was written to the vdir")
				}
			}
			// The pair lock is free: a second sync does not wait for it.
			r2 := e.run("sync")
			if r2.code != 1 || strings.Contains(r2.stderr, "waiting for another pimsync") || strings.Contains(r2.stderr, "lock") {
				t.Fatalf("second sync: %s", r2)
			}
		})
	}
}

func TestBoundedNeverAnsweringCheck(t *testing.T) {
	// A server that accepts connections and never answers anything: check fails in
	// the read timeout and blames the remote storage, not the local one.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	e := hostileEnv(t, srv.URL+"/", "", true)
	os.MkdirAll(e.path("a"), 0o755)
	r, peak := e.runPeak("check")
	if r.code != 1 {
		t.Fatalf("want exit 1, got %s", r)
	}
	want := "storage remote (caldav): FAILED: OPTIONS " + srv.URL + "/: no answer within 1s (read_timeout)"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "storage local (vdir/icalendar): ok") {
		t.Fatalf("check output lacks %q or the local storage's ok:\n%s", want, r)
	}
	if r.stderr == "" {
		t.Fatal("exit 1 with nothing on stderr")
	}
	wantPeak(t, "check", peak)
}

func TestBoundedDaemonReleasesLock(t *testing.T) {
	// The daemon's sync against a server that never answers ends at its deadline and
	// releases the pair lock; the daemon then backs off and retries.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	e := hostileEnv(t, srv.URL+"/", "", true)
	d := e.startDaemon()
	eventually(t, "the failed sync and its retry plan", time.Minute, func() bool {
		return strings.Contains(d.log(), "retrying pair p in")
	}, d.log)
	if !strings.Contains(d.log(), "no answer within 1s (read_timeout)") {
		t.Fatalf("the daemon's log lacks the timeout:\n%s", d.log())
	}
	r := e.run("sync")
	if r.code != 1 || strings.Contains(r.stderr, "waiting for another pimsync") || !strings.Contains(r.stderr, "read_timeout") {
		t.Fatalf("sync while the daemon backs off: %s", r)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("daemon exit %d:\n%s", code, d.log())
	}
}

func TestBoundedConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	e := hostileEnv(t, "http://"+addr+"/", "", false)
	os.MkdirAll(e.path("a"), 0o755)
	for _, args := range [][]string{{"-v", "debug", "check"}, {"-v", "debug", "sync"}} {
		r := e.run(args...)
		if r.code != 1 {
			t.Fatalf("%v: want exit 1, got %s", args, r)
		}
		out := r.stdout + r.stderr
		if !strings.Contains(out, "OPTIONS http://"+addr+"/: cannot connect to "+addr+": connection refused") {
			t.Fatalf("%v: no connection refused message:\n%s", args, r)
		}
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "connection refused") && !strings.Contains(l, "debug:") {
				lines = append(lines, l)
			}
		}
		for _, l := range lines {
			if n := strings.Count(l, "remote"); n != 1 {
				t.Fatalf("%v: the storage is named %d times in %q", args, n, l)
			}
		}
		if len(lines) == 0 {
			t.Fatalf("%v: no error line:\n%s", args, r)
		}
		if strings.Contains(out, "retrying request") {
			t.Fatalf("%v: a refused connection was retried:\n%s", args, r)
		}
	}
}

func TestBoundedUserinfoNeverWritten(t *testing.T) {
	const secret = "Pa55-in-the-URL"
	srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: secret})
	srv.AddCollection(collC, storage.Calendars, nil)
	srv.PutItem(collC+"x.ics", []byte(event("x", "X")))
	u, _ := url.Parse(srv.URL + davtest.ContextPath)
	u.User = url.UserPassword("alice", secret)
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage local {
    type vdir/icalendar
    path %q
}
storage remote {
    type caldav
    url %s
}
pair p {
    storage_a local
    storage_b remote
    collection c
}
`, e.path("status"), e.path("a"), u))
	var logs strings.Builder
	for _, args := range [][]string{{"-v", "trace", "sync"}, {"-v", "trace", "sync"}, {"-v", "trace", "discover"}, {"-v", "trace", "check"}} {
		r := e.run(args...)
		if r.code != 0 {
			t.Fatalf("%v: %s", args, r)
		}
		logs.WriteString(r.stdout + r.stderr)
	}
	if !e.holdsUID("a/c", "x") {
		t.Fatal("nothing was synced: the credentials in the URL were not used")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the password appears in the output:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "trace") && !strings.Contains(logs.String(), "debug") {
		t.Fatal("nothing was logged, so the test proves nothing")
	}
	files := 0
	filepath.WalkDir(e.path("status"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the password", p)
		}
		return nil
	})
	if files < 2 {
		t.Fatalf("only %d files under status_path", files)
	}
}

func TestBoundedErrorMessages(t *testing.T) {
	t.Run("upload refused with a precondition", func(t *testing.T) {
		srv := davtest.NewServer(t, davtest.Options{})
		srv.AddCollection(collC, storage.Calendars, nil)
		srv.Inject(davtest.Fault{Method: http.MethodPut, Status: http.StatusForbidden, Times: 100,
			Body: `<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:valid-calendar-data/></D:error>`})
		e := hostileEnv(t, srv.URL+davtest.ContextPath, "", false)
		e.write("a/c/local-file.ics", event("up", "Up"))
		r := e.mustRun(1, "sync")
		for _, w := range []string{"PUT " + srv.URL + collC + "up.ics: HTTP 403 Forbidden: valid-calendar-data", "the server rejected the item"} {
			if !strings.Contains(r.stderr, w) {
				t.Fatalf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
	})
	t.Run("401 during discovery", func(t *testing.T) {
		srv := davtest.NewServer(t, davtest.Options{Username: "alice", Password: "other"})
		e := hostileEnv(t, srv.URL+davtest.ContextPath, "", false)
		os.MkdirAll(e.path("a"), 0o755)
		r := e.mustRun(1, "sync")
		for _, w := range []string{srv.URL + davtest.ContextPath + ": HTTP 401 Unauthorized", "check username and password, and that url is the address of your own account"} {
			if !strings.Contains(r.stderr, w) {
				t.Fatalf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
		if n := strings.Count(r.stderr, "storage remote"); n != 1 {
			t.Fatalf("the storage is named %d times:\n%s", n, r.stderr)
		}
	})
	t.Run("check names a missing vdir path", func(t *testing.T) {
		e := newEnv(t)
		e.remove("a")
		r := e.mustRun(1, "check")
		if !strings.Contains(r.stdout, "storage a (vdir/icalendar): FAILED: check: vdir "+e.path("a")+" does not exist") || r.stderr == "" {
			t.Fatalf("check output: %s", r)
		}
	})
}
