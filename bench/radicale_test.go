package bench

import (
	"context"
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

// BenchmarkRadicaleFirstSync uploads 1000 events to a real Radicale. The server is
// another process, so a CPU profile of this benchmark shows the client alone.
func BenchmarkRadicaleFirstSync(b *testing.B) {
	srv := davtest.StartRadicale(b, davtest.RadicaleOptions{})
	for b.Loop() {
		b.StopTimer()
		coll := srv.NewCalendar(b)
		id := filepath.Base(coll)
		dir := b.TempDir()
		src := template(b, 1000)
		entries, _ := os.ReadDir(src)
		os.MkdirAll(filepath.Join(dir, "a", id), 0o755)
		for _, e := range entries {
			os.Link(filepath.Join(src, e.Name()), filepath.Join(dir, "a", id, e.Name()))
		}
		remote, err := caldav.New(dav.Options{Name: "remote", URL: srv.URL, Username: srv.Username, Password: srv.Password})
		if err != nil {
			b.Fatal(err)
		}
		cfg := &config.Pair{Name: "bench", Explicit: []config.Mapping{{Alias: id, IDA: id, IDB: id}}, OnEmpty: "skip", OnDelete: "sync"}
		p := &engine.Pair{Name: "bench", Config: cfg, A: vdir.New(filepath.Join(dir, "a"), storage.Calendars, "ics"), B: remote, NameA: "a", NameB: "remote"}
		e := &engine.Engine{StatusDir: filepath.Join(dir, "status")}
		b.StartTimer()
		if errs := e.SyncPair(context.Background(), p).Errors(); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
