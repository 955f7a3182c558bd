package bench

import (
	"context"
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

// uploadEvents syncs 1000 generated events from a fresh vdir into collection id of a
// CalDAV server, timing only the sync.
func uploadEvents(b *testing.B, opts dav.Options, id string) {
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
	errs := e.SyncPair(context.Background(), p).Errors()
	b.StopTimer()
	if len(errs) > 0 {
		b.Fatal(errs)
	}
}

// BenchmarkDAVFirstSync uploads 1000 events to the in-process fake DAV server. The
// server runs in the same process, so the figure is client plus server CPU;
// bench/dav-compare.sh measures the client alone against real servers.
func BenchmarkDAVFirstSync(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		srv := davtest.NewServer(b, davtest.Options{})
		srv.AddCollection(davtest.CalendarHome+"cal/", storage.Calendars, nil)
		uploadEvents(b, dav.Options{URL: srv.URL + "/", Username: "u"}, "cal")
		if n := len(srv.Items(davtest.CalendarHome + "cal/")); n != 1000 {
			b.Fatalf("%d items on the server", n)
		}
		b.StartTimer()
	}
}

// BenchmarkRadicaleFirstSync uploads 1000 events to a real Radicale. The server is
// another process, so a CPU profile of this benchmark shows the client alone.
func BenchmarkRadicaleFirstSync(b *testing.B) {
	srv := davtest.StartRadicale(b, davtest.RadicaleOptions{})
	for b.Loop() {
		b.StopTimer()
		coll := srv.NewCalendar(b)
		uploadEvents(b, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password}, filepath.Base(coll))
		b.StartTimer()
	}
}
