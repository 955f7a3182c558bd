package control_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

func ev(uid, summary string) string {
	return strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:" + uid,
		"SUMMARY:" + summary, "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
}

// daemonFixture is a daemon on a memstore pair with its control socket.
type daemonFixture struct {
	a, b   *memstore.Store
	daemon *engine.Daemon
	server *control.Server
	config string
	path   string
}

func startDaemon(t *testing.T) *daemonFixture {
	t.Helper()
	// A short runtime directory: Unix socket paths are limited to about 100 bytes.
	run, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv("TMPDIR", run)
	f := &daemonFixture{a: memstore.New(storage.Calendars), b: memstore.New(storage.Calendars),
		config: filepath.Join(t.TempDir(), "pimsync.conf")}
	os.WriteFile(f.config, nil, 0o600)
	f.a.AddCollection("c")
	pair := &engine.Pair{Name: "p", Config: &config.Pair{Name: "p", Collections: []string{config.CollectionsAll}},
		A: f.a, B: f.b, NameA: "a", NameB: "b"}
	eng := &engine.Engine{StatusDir: t.TempDir()}
	f.daemon = &engine.Daemon{Engine: eng, Pairs: []*engine.Pair{pair}, MinBackoff: time.Hour,
		Interval: func(*engine.Pair, engine.Side) time.Duration { return time.Hour }}
	f.server = &control.Server{Daemon: f.daemon, Hello: control.Hello{Version: "test", PID: os.Getpid(), Config: f.config, Pairs: []string{"p"}}}
	eng.Reporter = f.server
	f.daemon.OnState = f.server.State
	ln, path, _, err := control.Listen(f.config)
	if err != nil {
		t.Fatal(err)
	}
	f.path = path
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v", path, info.Mode(), err)
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v %v", info.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.daemon.Run(ctx) })
	wg.Go(func() { f.server.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

// events collects a subscription's events.
type events struct {
	mu     sync.Mutex
	status []control.PairStatus
	all    []control.Event
	signal chan struct{}
}

func subscribe(t *testing.T, c *control.Client) *events {
	t.Helper()
	e := &events{signal: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	got := make(chan struct{})
	go func() {
		done <- c.Subscribe(ctx, func(s []control.PairStatus) { e.status = s; close(got) }, func(ev control.Event) {
			e.mu.Lock()
			e.all = append(e.all, ev)
			e.mu.Unlock()
			select {
			case e.signal <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-got:
	case err := <-done:
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Subscribe ended with %v", err)
		}
	})
	return e
}

func (e *events) waitFor(t *testing.T, what string, cond func(control.Event) bool) control.Event {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		e.mu.Lock()
		for _, ev := range e.all {
			if cond(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
		select {
		case <-e.signal:
		case <-deadline:
			t.Fatalf("no event: %s", what)
		}
	}
}

// A client finds the daemon, reads its state, follows its events while it syncs on
// request, and a second daemon for the same configuration is refused.
func TestControlSocket(t *testing.T) {
	f := startDaemon(t)
	c, err := control.Dial(context.Background(), f.config)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hello.Protocol != control.Protocol || c.Hello.PID != os.Getpid() || !c.Runs("p") || c.Runs("q") || c.Path != f.path {
		t.Errorf("hello: %+v", c)
	}
	evs := subscribe(t, c)
	if len(evs.status) != 1 || evs.status[0].Pair != "p" {
		t.Errorf("status on subscribe: %+v", evs.status)
	}
	evs.waitFor(t, "idle after the first sync", func(e control.Event) bool {
		return e.Kind == control.KindState && e.State.State == "idle"
	})

	f.a.Put("c/x.ics", ev("x", "Dentist"))
	res, err := c.Sync(context.Background(), []string{"p"}, nil)
	if err != nil || len(res) != 1 || res[0].Err != "" || len(res[0].Mappings) != 1 || res[0].Mappings[0].Counts[1].Created != 1 {
		t.Fatalf("Sync: %+v %v", res, err)
	}
	started := evs.waitFor(t, "the write", func(e control.Event) bool { return e.Kind == control.KindActionStarted })
	if started.Pair != "p" || started.Mapping != "c" || started.What != `create on b x "Dentist"` {
		t.Errorf("action-started: %+v", started)
	}
	fin := evs.waitFor(t, "pair-finished", func(e control.Event) bool {
		return e.Kind == control.KindPairFinished && e.PairResult != nil && len(e.PairResult.Mappings) == 1 && e.PairResult.Mappings[0].Counts[1].Created == 1
	})
	if r := fin.PairResult.Engine(); r.Pair != "p" || r.Err != nil || r.Mappings[0].Alias != "c" {
		t.Errorf("pair-finished: %+v", r)
	}
	st, err := c.Status(context.Background())
	if err != nil || len(st) != 1 || st[0].LastResult == nil || st[0].LastSync.IsZero() {
		t.Errorf("Status: %+v %v", st, err)
	}
	if _, err := c.Sync(context.Background(), []string{"nope"}, nil); err == nil || !strings.Contains(err.Error(), "pair nope") {
		t.Errorf("sync of an unknown pair: %v", err)
	}

	// The daemon's log lines reach subscribers.
	f.server.LogLine(-4, "hello subscribers")
	if l := evs.waitFor(t, "the log line", func(e control.Event) bool { return e.Kind == control.KindLog }); l.Level != "debug" || l.Text != "hello subscribers" {
		t.Errorf("log event: %+v", l)
	}

	// A second daemon for the same configuration is refused.
	if _, _, h, err := control.Listen(f.config); !errors.Is(err, control.ErrDaemonRunning) || h == nil || h.PID != os.Getpid() {
		t.Errorf("second Listen: %v %+v", err, h)
	}
}

// A socket left behind by a daemon that died is not a daemon, and is replaced.
func TestStaleSocket(t *testing.T) {
	run, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	t.Setenv("XDG_RUNTIME_DIR", run)
	cfg := filepath.Join(t.TempDir(), "x.conf")
	path := control.SocketPaths(cfg)[0]
	os.MkdirAll(filepath.Dir(path), 0o700)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the file stays, nobody answers
	if _, err := control.Dial(context.Background(), cfg); !errors.Is(err, control.ErrNoDaemon) {
		t.Errorf("Dial on a stale socket: %v", err)
	}
	ln, got, _, err := control.Listen(cfg)
	if err != nil || got != path {
		t.Fatalf("Listen over a stale socket: %q %v", got, err)
	}
	ln.Close()
}

// Resolutions run in the daemon: keep b uploads b's version to a; a version changed
// since it was shown is not overwritten.
func TestResolveThroughTheDaemon(t *testing.T) {
	f := startDaemon(t)
	c, err := control.Dial(context.Background(), f.config)
	if err != nil {
		t.Fatal(err)
	}
	f.a.Put("c/x.ics", ev("x", "Base"))
	if _, err := c.Sync(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	bHref := ""
	for href := range f.b.Snapshot()["c"].Items {
		bHref = href
	}
	f.a.Put("c/x.ics", ev("x", "A's"))
	f.b.Put(bHref, ev("x", "B's"))
	itemA, _ := storage.ParseItem([]byte(ev("x", "A's")), storage.Calendars)
	itemB, _ := storage.ParseItem([]byte(ev("x", "B's")), storage.Calendars)
	req := control.ResolveRequest{Pair: "p", Alias: "c", CollA: "c", CollB: "c", HrefA: "c/x.ics", HrefB: bHref,
		Ident: "x", Keep: "b", HashA: itemA.Hash(), HashB: "stale"}
	ans, err := c.Resolve(context.Background(), req)
	if err != nil || ans.Code != "changed" || !errors.Is(ans.Error(), engine.ErrConflictChanged) || len(ans.Sides) != 0 {
		t.Fatalf("resolve with a stale hash: %+v %v", ans, err)
	}
	req.HashB = itemB.Hash()
	ans, err = c.Resolve(context.Background(), req)
	if err != nil || ans.Error() != nil || len(ans.Sides) != 1 || ans.Sides[0] != "a" {
		t.Fatalf("keep b: %+v %v", ans, err)
	}
	if got := f.a.Snapshot()["c"].Items["c/x.ics"]; !strings.Contains(got, "SUMMARY:B's") {
		t.Errorf("a after keep b: %q", got)
	}
}
