package bench

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
)

// benchSizes returns the collection sizes to benchmark: PIMSYNC_BENCH_SIZES
// (comma-separated, e.g. "1000,10000,100000"), else 1000 and 10000.
func benchSizes(b *testing.B) []int {
	env := os.Getenv("PIMSYNC_BENCH_SIZES")
	if env == "" {
		return []int{1000, 10000}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("PIMSYNC_BENCH_SIZES: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out
}

// profiled runs fn with a CPU profile written to $PIMSYNC_BENCH_CPUPROFILE and a heap
// profile to $PIMSYNC_BENCH_MEMPROFILE when they are set, so that a profile shows the
// timed part of a benchmark alone (go test -cpuprofile also shows the set-up, which
// for a no-op benchmark is a whole first sync). The name is inserted before the file
// extension of each path.
func profiled(b *testing.B, name string, fn func()) {
	b.Helper()
	path := func(env string) string {
		p := os.Getenv(env)
		if p == "" {
			return ""
		}
		if i := strings.LastIndexByte(p, '.'); i > 0 {
			return p[:i] + "-" + name + p[i:]
		}
		return p + "-" + name
	}
	if p := path("PIMSYNC_BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if p := path("PIMSYNC_BENCH_MEMPROFILE"); p != "" {
		old := runtime.MemProfileRate
		runtime.MemProfileRate = 4096
		defer func() {
			runtime.MemProfileRate = old
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				b.Fatal(err)
			}
		}()
	}
	fn()
}
