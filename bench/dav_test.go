package bench

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/caldav"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// uploadEvents syncs 1000 generated events from a fresh vdir into collection id of a
// CalDAV server, timing only the sync.
func uploadEvents(b *testing.B, opts dav.Options, id string, user, sys *time.Duration) {
	b.Helper()
	dir := b.TempDir()
	linkEvents(b, 1000, filepath.Join(dir, "a", id))
	opts.Name = "remote"
	remote, err := caldav.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &config.Pair{Name: "bench", Explicit: []config.Mapping{{Alias: id, IDA: id, IDB: id}}}
	p := &engine.Pair{Name: "bench", Config: cfg, A: vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics"), B: remote, NameA: "a", NameB: "remote"}
	e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
	b.StartTimer()
	u0, s0 := cpuTimes()
	var errs []error
	profiled(b, "upload", func() { errs = e.SyncPair(context.Background(), p).Errors() })
	u1, s1 := cpuTimes()
	b.StopTimer()
	*user += u1 - u0
	*sys += s1 - s0
	if len(errs) > 0 {
		b.Fatal(errs)
	}
}

// BenchmarkDAVFirstSync uploads 1000 events to the in-process fake DAV server. The
// server runs in the same process, so the figure is client plus server CPU;
// bench/dav-compare.sh measures the client alone against real servers.
func BenchmarkDAVFirstSync(b *testing.B) {
	var user, sys time.Duration
	defer func() { reportCPU(b, user, sys) }()
	for b.Loop() {
		b.StopTimer()
		srv := davtest.NewServer(b, davtest.Options{})
		srv.AddCollection(davtest.CalendarHome+"cal/", storage.Calendars, nil)
		uploadEvents(b, dav.Options{URL: srv.URL + "/", Username: "u"}, "cal", &user, &sys)
		if n := len(srv.Items(davtest.CalendarHome + "cal/")); n != 1000 {
			b.Fatalf("%d items on the server", n)
		}
		b.StartTimer()
	}
}

// BenchmarkRadicaleFirstSync uploads 1000 events to a real Radicale. The server is
// another process, so a CPU profile of this benchmark shows the client alone, and so
// does the CPU time it reports.
func BenchmarkRadicaleFirstSync(b *testing.B) {
	srv := davtest.StartRadicale(b, davtest.RadicaleOptions{})
	var user, sys time.Duration
	defer func() { reportCPU(b, user, sys) }()
	for b.Loop() {
		b.StopTimer()
		coll := srv.NewCalendar(b)
		uploadEvents(b, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password}, filepath.Base(coll), &user, &sys)
		b.StartTimer()
	}
}

// BenchmarkRadicaleNoop re-syncs an unchanged 1,000-event Radicale calendar with a
// vdir, with the collection named (`collection ID`) and discovered (`collections
// all`). It reports the client's CPU per run (getrusage of this process: Radicale is
// another process) and the HTTP requests per run, and fails if a no-op sends more than
// one request. The process start-up of the real binary comes on top (see
// docs/BENCHMARKS.md).
func BenchmarkRadicaleNoop(b *testing.B) {
	srv := davtest.StartRadicale(b, davtest.RadicaleOptions{})
	coll := srv.NewCalendar(b)
	id := filepath.Base(coll)
	// Seed Radicale's storage directly: uploading would take half a minute.
	if err := WriteEvents(filepath.Join(srv.Dir, "collections", "collection-root", strings.Trim(coll, "/")), 1000); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"named", "all"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "a"), 0o700); err != nil {
				b.Fatal(err)
			}
			var requests atomic.Int64
			remote, err := caldav.New(dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password, Name: "remote",
				Logger: slog.New(&requestCounter{n: &requests})})
			if err != nil {
				b.Fatal(err)
			}
			cfg := &config.Pair{Name: "bench", Explicit: []config.Mapping{{Alias: id, IDA: id, IDB: id}}}
			if mode == "all" {
				cfg = &config.Pair{Name: "bench", Collections: []string{config.CollectionsAll}}
			}
			p := &engine.Pair{Name: "bench", Config: cfg, A: vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics"), B: remote, NameA: "a", NameB: "remote"}
			e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
			syncOK(b, e, p) // 1,000 items into the vdir
			syncOK(b, e, p) // a fresh token after the creates
			if n := len(mustGlob(b, filepath.Join(dir, "a", id, "*.ics"))); n != 1000 {
				b.Fatalf("%d items in the vdir", n)
			}
			requests.Store(0)
			cpu0 := cpuTime()
			profiled(b, "radicale-noop-"+mode, func() {
				for b.Loop() {
					syncOK(b, e, p)
				}
			})
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			reqs := float64(requests.Load()) / float64(b.N)
			b.ReportMetric(reqs, "requests/op")
			if reqs > 1 {
				b.Fatalf("a no-op sent %.1f requests per run, want 1", reqs)
			}
		})
	}
}

// requestCounter is a slog handler that counts the DAV client's request log records.
type requestCounter struct{ n *atomic.Int64 }

func (c *requestCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *requestCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "http" {
		c.n.Add(1)
	}
	return nil
}
func (c *requestCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *requestCounter) WithGroup(string) slog.Handler      { return c }

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	u, s := cpuTimes()
	return u + s
}

// cpuTimes returns the user and the system CPU time this process has used.
func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func mustGlob(b *testing.B, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
