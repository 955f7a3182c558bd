package vdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/pimsync-go/pimsync/storage"
)

const watchTimeout = 10 * time.Second

func testItem(uid, summary string) storage.Item {
	return storage.MustItem(fmt.Sprintf("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:%s\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", uid, summary))
}

// watchRecorder runs watch and records the paths it reports. Markers (files named
// "marker-*.ics" written by another "program") order the event stream: once the marker
// is reported, every earlier event has been handled.
type watchRecorder struct {
	t       *testing.T
	s       *Storage
	root    string
	paths   chan string
	done    chan error
	markers int
}

func startWatch(t *testing.T) *watchRecorder {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "c"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := &watchRecorder{t: t, s: New(root, storage.Calendars, "ics"), root: root,
		paths: make(chan string, 10000), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- r.s.watch(ctx, func(p string) { r.paths <- p }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("watch returned %v", err)
			}
		case <-time.After(watchTimeout):
			t.Errorf("watch did not return after cancel")
		}
	})
	// Wait until the watches are in place: write probes until one is reported.
	probe := filepath.Join(root, "c", "marker-probe.ics")
	deadline := time.After(watchTimeout)
	for {
		os.WriteFile(probe, []byte("x"), 0o600)
		select {
		case <-r.paths:
		case <-time.After(20 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("watch never reported anything")
		}
		break
	}
	r.sync()
	return r
}

// sync writes a new marker in collection c and returns every non-marker path reported
// before it.
func (r *watchRecorder) sync() []string {
	r.t.Helper()
	r.markers++
	marker := filepath.Join(r.root, "c", fmt.Sprintf("marker-%d.ics", r.markers))
	if err := os.WriteFile(marker, []byte("x"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	var seen []string
	for {
		select {
		case p := <-r.paths:
			if p == marker {
				return seen
			}
			if !strings.HasPrefix(filepath.Base(p), "marker-") {
				seen = append(seen, p)
			}
		case err := <-r.done:
			r.t.Fatalf("watch returned %v", err)
		case <-time.After(watchTimeout):
			r.t.Fatalf("marker %s never reported; saw %q", marker, seen)
		}
	}
}

// expect runs change and checks that the paths reported for it are exactly want (in
// any order and number, but each at least once).
func (r *watchRecorder) expect(what string, change func(), want ...string) {
	r.t.Helper()
	change()
	got := r.sync()
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == filepath.Join(r.root, w)
		}
		if !found {
			r.t.Errorf("%s: %s not reported (got %q)", what, w, got)
		}
	}
	for _, g := range got {
		ok := false
		for _, w := range want {
			ok = ok || g == filepath.Join(r.root, w)
		}
		if !ok {
			r.t.Errorf("%s: unexpected notification for %s", what, g)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchReportsExternalChanges(t *testing.T) {
	r := startWatch(t)
	p := func(rel string) string { return filepath.Join(r.root, rel) }
	r.expect("create item", func() { must(t, os.WriteFile(p("c/a.ics"), []byte("A"), 0o600)) }, "c/a.ics")
	r.expect("edit item", func() { must(t, os.WriteFile(p("c/a.ics"), []byte("AA"), 0o600)) }, "c/a.ics")
	r.expect("touch item", func() {
		now := time.Now().Add(time.Second)
		must(t, os.Chtimes(p("c/a.ics"), now, now))
	}, "c/a.ics")
	r.expect("delete item", func() { must(t, os.Remove(p("c/a.ics"))) }, "c/a.ics")
	r.expect("metadata", func() { must(t, os.WriteFile(p("c/displayname"), []byte("X"), 0o600)) }, "c/displayname")
	r.expect("ignored names", func() {
		must(t, os.WriteFile(p("c/.hidden.ics"), []byte("x"), 0o600))
		must(t, os.WriteFile(p("c/notes.txt"), []byte("x"), 0o600))
		must(t, os.WriteFile(p("c/.pimsync-x.tmp"), []byte("x"), 0o600))
		must(t, os.WriteFile(p("stray.ics"), []byte("x"), 0o600))
		must(t, os.Mkdir(p(".git"), 0o700))
	})
	r.expect("new collection", func() { must(t, os.Mkdir(p("d"), 0o700)) }, "d")
	r.expect("item in the new collection", func() { must(t, os.WriteFile(p("d/b.ics"), []byte("B"), 0o600)) }, "d/b.ics")
	r.expect("renamed item", func() { must(t, os.Rename(p("d/b.ics"), p("d/c.ics"))) }, "d/b.ics", "d/c.ics")
	r.expect("removed collection", func() { must(t, os.RemoveAll(p("d"))) }, "d", "d/c.ics")
	r.expect("recreated collection", func() { must(t, os.Mkdir(p("d"), 0o700)) }, "d")
	r.expect("item in the recreated collection", func() { must(t, os.WriteFile(p("d/e.ics"), []byte("E"), 0o600)) }, "d/e.ics")
}

func TestWatchIgnoresOwnWrites(t *testing.T) {
	r := startWatch(t)
	s, ctx := r.s, t.Context()
	r.expect("own writes", func() {
		href, etag, err := s.Create(ctx, "c", testItem("own", "v1"))
		must(t, err)
		etag, err = s.Update(ctx, href, etag, testItem("own", "v2"))
		must(t, err)
		etag, err = s.Update(ctx, href, etag, testItem("own", "v3"))
		must(t, err)
		must(t, s.SetProperty(ctx, "c", storage.PropDisplayName, "Mine"))
		must(t, s.SetProperty(ctx, "c", storage.PropColor, "#123456"))
		must(t, s.DeleteProperty(ctx, "c", storage.PropColor))
		must(t, s.Delete(ctx, href, etag))
		must(t, s.CreateCollection(ctx, "own"))
		_, _, err = s.Create(ctx, "own", testItem("in-own", "x"))
		must(t, err)
	})
	// Someone else edits a file we wrote: reported.
	href, _, err := s.Create(ctx, "c", testItem("shared", "v1"))
	must(t, err)
	r.sync()
	r.expect("external edit of our file", func() {
		must(t, os.WriteFile(filepath.Join(r.root, href), []byte(testItem("shared", "v2").Text()), 0o600))
	}, href)
	// Deleting our own collection (and its metadata) is silent too.
	refs, err := s.List(ctx, "own")
	must(t, err)
	r.expect("own collection delete", func() {
		must(t, s.Delete(ctx, refs[0].Href, refs[0].ETag))
		must(t, s.SetProperty(ctx, "own", storage.PropDescription, "bye"))
		must(t, s.DeleteCollection(ctx, "own"))
	})
}

func TestWatchPublicAPI(t *testing.T) {
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "c"), 0o700))
	s := New(root, storage.Calendars, "ics")
	var n atomic.Int64
	notified := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func() { n.Add(1); notified <- struct{}{} })
	}()
	deadline := time.After(watchTimeout)
	for i := 0; n.Load() == 0; i++ {
		os.WriteFile(filepath.Join(root, "c", fmt.Sprint(i, ".ics")), []byte("x"), 0o600)
		select {
		case <-notified:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("Watch never notified")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Watch after cancel: %v", err)
		}
	case <-time.After(watchTimeout):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestWatchErrors(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "missing"), storage.Calendars, "ics")
	err := s.Watch(t.Context(), func() {})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Watch of a missing root: %v", err)
	}

	// Removing the root ends the watch with an error (callers poll then).
	r := startWatch(t)
	must(t, os.RemoveAll(r.root))
	select {
	case err := <-r.done:
		if err == nil {
			t.Fatalf("Watch survived the removal of its root")
		}
		r.done <- nil // for the cleanup
	case <-time.After(watchTimeout):
		t.Fatal("Watch did not notice the removal of its root")
	}
}

// TestWatchRebuild checks what a watcher error or overflow leads to: the watch set is
// rebuilt from the collections that exist now.
func TestWatchRebuild(t *testing.T) {
	r := startWatch(t)
	// Simulate lost events: a collection appears and another is replaced without the
	// watcher being told, then the watcher reports an error.
	ws := &watchSet{s: r.s, colls: map[string]bool{"c": true, "gone": true}}
	var err error
	ws.w, err = newTestWatcher(t)
	must(t, err)
	must(t, os.Mkdir(filepath.Join(r.root, "late"), 0o700))
	must(t, ws.rebuild())
	if len(ws.colls) != 2 || !ws.colls["c"] || !ws.colls["late"] {
		t.Fatalf("after rebuild the watched collections are %v, want c and late", ws.colls)
	}
}

func newTestWatcher(t *testing.T) (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		t.Cleanup(func() { w.Close() })
	}
	return w, err
}
