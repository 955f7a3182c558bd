package main

// Issue 9: convergence. CLI tests of the real binary for the status file and the
// incremental listing; the fault-injection tables live beside the real-server harness.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	_ "modernc.org/sqlite"
)

// rawSQLite opens path with database/sql directly, as another program would.
func rawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// An empty, foreign or corrupt status file stops the pair with a message that says what
// to do; nothing is synced "as the first time" (which would resurrect deletions) and the
// file is left as it is.
func TestUnusableStatusFile(t *testing.T) {
	cases := []struct {
		name  string
		make  func(e *env, path string)
		wants []string
	}{
		{"empty", func(e *env, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"is empty (0 bytes)", "would come back", "rm "}},
		{"foreign", func(e *env, path string) {
			os.Remove(path)
			raw := rawSQLite(t, path)
			if _, err := raw.Exec(`CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
		}, []string{"not a pimsync status database", "moz_places", "status_path"}},
		{"corrupt", func(e *env, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := 100; i < len(b); i++ {
				b[i] = 0xA5
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"p.status", "rm "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.write("a/c/x.ics", event("x", "X"))
			e.write("a/c/y.ics", event("y", "Y"))
			e.mustRun(0, "sync")
			e.remove("b/c/y.ics") // a deletion the lost status would undo
			path := e.path("status/p.status")
			c.make(e, path)
			statusBefore, _ := os.ReadFile(path)
			before := e.snapshot()
			for _, args := range [][]string{{"sync"}, {"sync", "-n"}} {
				r := e.mustRun(1, args...)
				for _, want := range c.wants {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, want, r.stderr)
					}
				}
			}
			e.assertUnchanged(before)
			if after, _ := os.ReadFile(path); string(after) != string(statusBefore) {
				t.Error("the status file was changed")
			}
		})
	}
}

// Issue 9 item 2: items pimsync created are deleted on the server afterwards; the next
// sync must see the deletion, whatever the server leaves out of a sync-collection delta
// (Xandikos omits members created and removed after the token). Also: an edit on the
// server in the same round arrives, and a further run is a no-op.
func TestServerDeletesWhatWeCreated(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			e := newDavEnv(t, srv, "calendar")
			for i := range 5 {
				e.write(fmt.Sprintf("a/%s/e%d.ics", e.id, i), event(fmt.Sprintf("e%d", i), "v1"))
			}
			e.mustRun(0, "sync")
			items := e.serverItems()
			if len(items) != 5 {
				t.Fatalf("server has %d items", len(items))
			}
			var deleted string
			for name := range items {
				if strings.Contains(items[name], "UID:e1\r\n") {
					deleted = name
				}
			}
			if code, _, body := srv.Do(t, "DELETE", e.coll+deleted, nil, nil); code >= 300 {
				t.Fatalf("DELETE: %d %s", code, body)
			}
			e.put("e2.ics", event("e2", "v2 from the server"), nil)
			r := e.mustRun(0, "sync")
			if e.exists(fmt.Sprintf("a/%s/e1.ics", e.id)) {
				t.Errorf("the server-side deletion was missed:\n%s", r.stdout)
			}
			if !strings.Contains(e.read(fmt.Sprintf("a/%s/e2.ics", e.id)), "v2 from the server") {
				t.Errorf("the server-side edit was missed")
			}
			before := e.snapshot()
			if r := e.mustRun(0, "sync"); r.stdout != "" {
				t.Errorf("not a no-op: %s", r.stdout)
			}
			e.assertUnchanged(before)
		})
	}
}

// A run cancelled midway (Ctrl-C, SIGTERM, a daemon stopping) must not save the change
// token it listed the server with: the next run would take the collection for
// unchanged and never create the server's new items locally. The run is wired as
// `pimsync sync` wires it, in process, so that the cancel lands exactly at its first
// write; the next runs are the real binary.
func TestCancelledRunSavesNoToken(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			e := newDavEnv(t, srv, "calendar")
			e.write(fmt.Sprintf("a/%s/e0.ics", e.id), event("e0", "v1"))
			e.mustRun(0, "sync")
			e.mustRun(0, "sync") // lists in full after the create, and saves the token
			for i := 1; i <= 20; i++ {
				e.put(fmt.Sprintf("s%d.ics", i), event(fmt.Sprintf("s%d", i), "new on the server"), nil)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, configPath: e.cfg, ctx: ctx,
				isTerminal: func(any) bool { return false }}
			ws, err := a.openWritable(nil)
			if err != nil {
				t.Fatal(err)
			}
			var started atomic.Int32
			eng := ws.engine(engine.ReporterFunc(func(ev engine.Event) {
				if _, ok := ev.(engine.ActionStarted); ok && started.Add(1) == 1 {
					cancel() // the first write goes on (writes in flight finish); no other starts
				}
			}))
			eng.SyncPair(ctx, ws.enginePairs()[0])
			events := func() int {
				n := 0
				for _, f := range e.files("a/" + e.id) {
					if strings.HasSuffix(f, ".ics") {
						n++
					}
				}
				return n
			}
			if n := events(); started.Load() == 0 || n >= 21 {
				t.Fatalf("%d writes started, %d local files: the cancel did not stop the run midway", started.Load(), n)
			}
			e.mustRun(0, "sync")
			if n := events(); n != 21 {
				t.Fatalf("after the next run a has %d of the 21 items", n)
			}
			before := e.snapshot()
			if r := e.mustRun(0, "sync"); r.stdout != "" {
				t.Errorf("not a no-op: %s", r.stdout)
			}
			e.assertUnchanged(before)
		})
	}
}
