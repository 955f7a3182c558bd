package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// template returns a directory holding n generated events, made once per size.
func template(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("pimsync-bench-events-%d", n))
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == n {
		return dir
	}
	os.RemoveAll(dir)
	if err := WriteEvents(dir, n); err != nil {
		b.Fatal(err)
	}
	return dir
}

// linkEvents fills directory dst with n generated events (hard links to the template).
func linkEvents(b *testing.B, n int, dst string) {
	b.Helper()
	src := template(b, n)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		if err := os.Link(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			b.Fatal(err)
		}
	}
}

// vdirPair makes a fresh workspace: side a holds the n events, side b is empty.
func vdirPair(b *testing.B, n int) (*engine.Engine, *engine.Pair, *vdir.Storage, *vdir.Storage) {
	b.Helper()
	dir := b.TempDir()
	linkEvents(b, n, filepath.Join(dir, "a", "cal"))
	if err := os.MkdirAll(filepath.Join(dir, "b"), 0o755); err != nil {
		b.Fatal(err)
	}
	a := vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics")
	bs := vdir.New(filepath.Join(dir, "b"), storage.Calendars, "ics")
	cfg := &config.Pair{Name: "bench", Collections: []string{config.CollectionsAll}}
	p := &engine.Pair{Name: "bench", Config: cfg, A: a, B: bs, NameA: "a", NameB: "b"}
	e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
	if w, err := strconv.Atoi(os.Getenv("PIMSYNC_BENCH_WORKERS")); err == nil {
		e.Workers = w // an experiment: concurrent item writes per collection
	}
	return e, p, a, bs
}

func syncOK(b *testing.B, e *engine.Engine, p *engine.Pair) {
	b.Helper()
	r := e.SyncPair(context.Background(), p)
	if errs := r.Errors(); len(errs) > 0 {
		b.Fatal(errs)
	}
}

// BenchmarkVdirFirstSync copies n events from one vdir to an empty one.
func BenchmarkVdirFirstSync(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var user, sys time.Duration
			for b.Loop() {
				b.StopTimer()
				e, p, _, _ := vdirPair(b, n)
				b.StartTimer()
				u0, s0 := cpuTimes()
				profiled(b, fmt.Sprint("first-", n), func() { syncOK(b, e, p) })
				u1, s1 := cpuTimes()
				user, sys = user+u1-u0, sys+s1-s0
			}
			b.ReportMetric(float64(n), "items")
			reportCPU(b, user, sys)
		})
	}
}

// BenchmarkVdirNoop re-syncs an unchanged pair of n events, and fails if any item file
// is read: a no-op run lists and stats only.
func BenchmarkVdirNoop(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e, p, a, bs := vdirPair(b, n)
			syncOK(b, e, p)
			syncOK(b, e, p) // records etags written by the first run
			timedNoops(b, fmt.Sprint("noop-", n), e, p, a, bs)
			b.ReportMetric(0, "item-reads/op")
		})
	}
}

// timedNoops times no-op re-syncs of p (profiled as name), reports their CPU, and fails
// if any of them read an item file.
func timedNoops(b *testing.B, name string, e *engine.Engine, p *engine.Pair, a, bs *vdir.Storage) {
	b.Helper()
	reads := a.ItemReads() + bs.ItemReads()
	u0, s0 := cpuTimes()
	profiled(b, name, func() {
		for b.Loop() {
			syncOK(b, e, p)
		}
	})
	u1, s1 := cpuTimes()
	reportCPU(b, u1-u0, s1-s0)
	if got := a.ItemReads() + bs.ItemReads() - reads; got != 0 {
		b.Fatalf("no-op re-syncs read %d item files", got)
	}
}

// reportCPU reports the user and system CPU time per operation. The system time of
// file-system benchmarks depends on the machine's recent history (ext4 without a
// journal makes new inodes slow for a minute after many deletions); the user time
// is what pimsync's own code costs.
func reportCPU(b *testing.B, user, sys time.Duration) {
	b.ReportMetric(float64(user.Microseconds())/1000/float64(b.N), "user-ms/op")
	b.ReportMetric(float64(sys.Microseconds())/1000/float64(b.N), "sys-ms/op")
}

// BenchmarkVdirNoopCollections re-syncs 10,000 unchanged events spread over 1, 100 and
// 1,000 collections: the cost of a no-op must follow the number of items, not grow
// with the number of collections (issue 14, target 6).
func BenchmarkVdirNoopCollections(b *testing.B) {
	const total = 10000
	for _, colls := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(colls), func(b *testing.B) {
			dir := b.TempDir()
			for c := range colls {
				if err := WriteEvents(filepath.Join(dir, "a", fmt.Sprintf("c%04d", c)), total/colls); err != nil {
					b.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "b"), 0o755); err != nil {
				b.Fatal(err)
			}
			a := vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics")
			bs := vdir.New(filepath.Join(dir, "b"), storage.Calendars, "ics")
			cfg := &config.Pair{Name: "bench", Collections: []string{config.CollectionsAll}}
			p := &engine.Pair{Name: "bench", Config: cfg, A: a, B: bs, NameA: "a", NameB: "b"}
			e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
			syncOK(b, e, p)
			syncOK(b, e, p)
			timedNoops(b, fmt.Sprint("noop-colls-", colls), e, p, a, bs)
		})
	}
}
