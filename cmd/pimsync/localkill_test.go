package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/bench"
	"github.com/pimsync-go/pimsync/storage"
)

// TestKillDuringLocalFirstSync kills a vdir ↔ vdir first sync of 3,000 events with
// SIGKILL three times, each once b holds a given number of files: in the first
// chunk of writes, and later, while the executor's pipeline has already recorded the
// next chunk's writes as pending. After each kill the plan has no conflict and no
// error; the clean run after the last kill leaves b with every event once, byte for
// byte as in a, and nothing else; a further run writes nothing.
func TestKillDuringLocalFirstSync(t *testing.T) {
	const n = 3000
	e := newEnv(t)
	if err := bench.WriteEvents(e.path("a/cal"), n); err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{200, 1100, 2000} {
		cmd := e.start("sync")
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// Wait for b to hold `at` files (an event: the sync's own writes; the limit is
		// only a safety net), then kill.
		deadline := time.Now().Add(2 * time.Minute)
		for countFiles(t, e.path("b/cal")) < at {
			select {
			case <-exited:
				t.Fatalf("the sync finished before b held %d files (it has %d); the test proves nothing", at, countFiles(t, e.path("b/cal")))
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("b holds %d files after two minutes, waiting for %d", countFiles(t, e.path("b/cal")), at)
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("the sync was not killed at %d files; the test proves nothing", at)
		}
		if got := countFiles(t, e.path("b/cal")); got >= n {
			t.Fatalf("b holds all %d files after the kill at %d; the test proves nothing", got, at)
		}
		p := e.run("sync", "-n")
		if p.code != 0 || strings.Contains(p.stdout, "conflict") {
			t.Fatalf("the plan after the kill at %d files: %s", at, p)
		}
	}
	e.mustRun(0, "sync")
	want := eventsByUID(t, e.path("a/cal"))
	got := eventsByUID(t, e.path("b/cal"))
	if len(want) != n || len(got) != n {
		t.Fatalf("a has %d events, b %d, want %d each", len(want), len(got), n)
	}
	for uid, text := range want {
		if got[uid] != text {
			t.Fatalf("b's %s differs from a's", uid)
		}
	}
	before := e.snapshot()
	r := e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if strings.TrimSpace(r.stdout) != "" {
		t.Errorf("the run after the clean run reported changes: %s", r)
	}
}

// countFiles counts the entries of dir (0 while it does not exist).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// eventsByUID reads every entry of dir as an event file: UID → its bytes. Anything
// that is not an .ics file with a UID, or a second file with a UID, fails the test.
func eventsByUID(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, de := range entries {
		if !strings.HasSuffix(de.Name(), ".ics") || !de.Type().IsRegular() {
			t.Fatalf("%s: unexpected entry %s", dir, de.Name())
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		uid, ok := storage.ExtractUID(storage.NormalizeNewlines(string(b)))
		if !ok || out[uid] != "" {
			t.Fatalf("%s: %s has no UID or a UID seen before (%q)", dir, de.Name(), uid)
		}
		out[uid] = string(b)
	}
	return out
}
