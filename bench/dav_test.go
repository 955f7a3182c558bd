package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/caldav"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// BenchmarkDAVFirstSync uploads 1000 events from a vdir to the in-process fake DAV
// server. The server runs in the same process, so the figure is client plus server CPU;
// bench/dav-compare.sh measures the client alone against real servers.
func BenchmarkDAVFirstSync(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		srv := davtest.NewServer(b, davtest.Options{})
		srv.AddCollection(davtest.CalendarHome+"cal/", storage.Calendars, nil)
		dir := b.TempDir()
		src := template(b, 1000)
		entries, _ := os.ReadDir(src)
		os.MkdirAll(filepath.Join(dir, "a", "cal"), 0o755)
		for _, e := range entries {
			os.Link(filepath.Join(src, e.Name()), filepath.Join(dir, "a", "cal", e.Name()))
		}
		remote, err := caldav.New(dav.Options{Name: "remote", URL: srv.URL + "/", Username: "u"})
		if err != nil {
			b.Fatal(err)
		}
		cfg := &config.Pair{Name: "bench", Explicit: []config.Mapping{{Alias: "cal", IDA: "cal", IDB: "cal"}}, OnEmpty: "skip", OnDelete: "sync"}
		p := &engine.Pair{Name: "bench", Config: cfg, A: vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics"), B: remote, NameA: "a", NameB: "remote"}
		e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
		b.StartTimer()
		r := e.SyncPair(context.Background(), p)
		if errs := r.Errors(); len(errs) > 0 {
			b.Fatal(errs)
		}
		if n := len(srv.Items(davtest.CalendarHome + "cal/")); n != 1000 {
			b.Fatal(fmt.Sprint(n, " items on the server"))
		}
	}
}
