package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/bench"
	"github.com/pimsync-go/pimsync/status"
)

// daemon is a running `pimsync daemon` process.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// startDaemon runs the daemon with readiness on fd 3 and waits for READY=1.
func (e *env) startDaemon(args ...string) *daemon {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	d := &daemon{t: e.t, done: make(chan struct{})}
	d.cmd = exec.Command(binPath, append([]string{"-c", e.cfg, "-v", "info", "daemon", "-r", "3"}, args...)...)
	d.cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_RUNTIME_DIR="+e.runtimeDir(), raceNoSleep)
	d.cmd.ExtraFiles = []*os.File{w}
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.stderr.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
	}()
	if err := d.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	w.Close()
	go func() { d.cmd.Wait(); pw.Close(); close(d.done) }()
	e.t.Cleanup(func() { d.cmd.Process.Kill(); <-d.done })
	ready := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); r.Close(); ready <- string(b) }()
	select {
	case got := <-ready:
		if got != "READY=1\n" {
			e.t.Fatalf("readiness fd got %q; stderr:\n%s", got, d.log())
		}
	case <-time.After(30 * time.Second):
		e.t.Fatalf("no readiness notification; stderr:\n%s", d.log())
	}
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// syncs counts the "synced pair" lines logged so far.
func (d *daemon) syncs() int { return strings.Count(d.log(), "info: synced pair") }

// stop sends SIGTERM and returns the exit status.
func (d *daemon) stop() int {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not exit after SIGTERM:\n%s", d.log())
	}
	return d.cmd.ProcessState.ExitCode()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool, info func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s\n%s", what, within, info())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDaemonVdirChangesPropagate(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	d := e.startDaemon()
	eventually(t, "initial sync", 10*time.Second, func() bool { return e.exists("b/c/x.ics") }, d.log)
	// Create, edit and delete on A reach B.
	e.write("a/c/y.ics", event("y", "Y"))
	eventually(t, "create", 5*time.Second, func() bool { return e.exists("b/c/y.ics") }, d.log)
	e.write("a/c/y.ics", event("y", "Y edited"))
	eventually(t, "edit", 5*time.Second, func() bool { return strings.Contains(e.read("b/c/y.ics"), "Y edited") }, d.log)
	e.remove("a/c/y.ics")
	eventually(t, "delete", 5*time.Second, func() bool { return !e.exists("b/c/y.ics") }, d.log)
	// A new collection directory is picked up, and so are items created in it.
	e.write("a/d/z.ics", event("z", "Z"))
	eventually(t, "new collection", 5*time.Second, func() bool { return e.exists("b/d/z.ics") }, d.log)
	e.write("a/d/w.ics", event("w", "W"))
	eventually(t, "item in the new collection", 5*time.Second, func() bool { return e.exists("b/d/w.ics") }, d.log)
	// Changes on B flow back.
	e.write("b/c/v.ics", event("v", "V"))
	eventually(t, "create on b", 5*time.Second, func() bool { return e.exists("a/c/v.ics") }, d.log)
	// Our own writes do not trigger syncs: once quiet, the count stays put.
	time.Sleep(2 * time.Second)
	n := d.syncs()
	time.Sleep(3 * time.Second)
	if m := d.syncs(); m != n {
		t.Fatalf("the daemon kept syncing without changes (%d → %d syncs):\n%s", n, m, d.log())
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.log())
	}
	// The status database is consistent: every item on both sides has a row.
	rows := e.statusRows()
	if len(rows) != len(e.files("a")) || len(e.files("a")) != len(e.files("b")) {
		t.Fatalf("status rows %d, a %v, b %v", len(rows), e.files("a"), e.files("b"))
	}
	for _, line := range strings.Split(d.log(), "\n") {
		if strings.HasPrefix(line, "info: synced pair") && !strings.Contains(line, "0 errors") {
			t.Errorf("a sync had errors: %s", line)
		}
	}
}

// TestDaemonPollsServer: a change on a DAV server is picked up at the next interval.
func TestDaemonPollsServer(t *testing.T) {
	srv := startServer(t, "radicale")
	e := newDavEnv(t, srv, "calendar")
	cfg := strings.Replace(e.read("pimsync.conf"), "    type caldav\n", "    type caldav\n    interval 1\n", 1)
	e.write("pimsync.conf", cfg)
	e.write("a/"+e.id+"/l.ics", event("l", "Local"))
	d := e.startDaemon()
	eventually(t, "upload", 15*time.Second, func() bool { return e.serverHas("UID:l") }, d.log)
	e.put("r.ics", event("r", "Remote"), map[string]string{"If-None-Match": "*"})
	eventually(t, "download at the next interval", 10*time.Second, func() bool { return e.exists("a/" + e.id + "/r.ics") }, d.log)
	// Local create, edit and delete reach the server within a few seconds.
	e.write("a/"+e.id+"/n.ics", event("n", "New here"))
	eventually(t, "local create on the server", 10*time.Second, func() bool { return e.serverHas("UID:n", "New here") }, d.log)
	e.write("a/"+e.id+"/n.ics", event("n", "Edited here"))
	eventually(t, "local edit on the server", 10*time.Second, func() bool { return e.serverHas("UID:n", "Edited here") }, d.log)
	e.remove("a/" + e.id + "/n.ics")
	eventually(t, "local delete on the server", 10*time.Second, func() bool { return !e.serverHas("UID:n") }, d.log)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.log())
	}
}

// TestDaemonKill9Converges kills the daemon in the middle of a large first sync; a
// restarted daemon converges with nothing lost and no duplicates.
func TestDaemonKill9Converges(t *testing.T) {
	e := newEnv(t)
	const n = 3000
	if err := bench.WriteEvents(e.path("a/c"), n); err != nil {
		t.Fatal(err)
	}
	d := e.startDaemon()
	eventually(t, "some progress", 30*time.Second, func() bool { return len(e.files("b")) > 50 }, d.log)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	if got := len(e.files("b")); got >= n {
		t.Fatalf("the first sync finished before the kill (%d items); the test proves nothing", got)
	}
	d = e.startDaemon()
	eventually(t, "convergence", 60*time.Second, func() bool { return len(e.files("b")) == n && d.syncs() >= 1 }, d.log)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.log())
	}
	if got := len(e.files("a")); got != n {
		t.Fatalf("a has %d items", got)
	}
	if rows := e.statusRows(); len(rows) != n {
		t.Fatalf("status has %d rows", len(rows))
	}
	r := e.mustRun(0, "sync", "-n")
	if !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("not converged:\n%s", r.stdout)
	}
}

func TestDaemonReadyFD(t *testing.T) {
	e := newEnv(t)
	for _, fd := range []string{"0", "1", "2", "x"} {
		r := e.run("daemon", "-r", fd)
		if r.code != 100 || !strings.Contains(r.stderr, "-r") {
			t.Errorf("-r %s: %s", fd, r)
		}
	}
	r := e.run("daemon", "-r", "77")
	if r.code != 1 || !strings.Contains(r.stderr, "not an open file descriptor") {
		t.Errorf("-r 77: %s", r)
	}
}

// TestDaemonIdle shows that an idle daemon uses no CPU: it sleeps on inotify and
// timers, with no polling loop. The CPU time of 10 idle seconds is extrapolated to an
// hour and logged; the test fails above one CPU-second per hour.
func TestDaemonIdle(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	d := e.startDaemon()
	eventually(t, "initial sync", 10*time.Second, func() bool { return d.syncs() >= 1 }, d.log)
	before := cpuTime(t, d.cmd.Process.Pid)
	const idle = 10 * time.Second
	time.Sleep(idle)
	used := cpuTime(t, d.cmd.Process.Pid) - before
	perHour := used * time.Duration(time.Hour/idle)
	t.Logf("idle daemon: %s CPU in %s, about %s per hour", used, idle, perHour)
	if perHour > time.Second {
		t.Fatalf("idle daemon would use %s of CPU per hour", perHour)
	}
	if d.syncs() != 1 {
		t.Fatalf("the idle daemon synced again:\n%s", d.log())
	}
}

// cpuTime reads user+system CPU time of a process from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// TestDaemonStatusIsConsistentAfterSIGTERM stops the daemon with SIGTERM during a sync
// and checks the status database matches the files on both sides.
func TestDaemonStatusIsConsistentAfterSIGTERM(t *testing.T) {
	e := newEnv(t)
	if err := bench.WriteEvents(e.path("a/c"), 2000); err != nil {
		t.Fatal(err)
	}
	d := e.startDaemon()
	eventually(t, "some progress", 30*time.Second, func() bool { return len(e.files("b")) > 20 }, d.log)
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.log())
	}
	if n := len(e.files("b")); n >= 2000 {
		t.Fatalf("the sync finished before SIGTERM (%d items); the test proves nothing", n)
	}
	db, err := status.OpenRead(e.path("status/p.status"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, _ := db.Mappings()
	rows, _ := db.Rows(ms[0].UID)
	for _, r := range rows {
		if !e.exists("b/" + r.HrefB) {
			t.Fatalf("status row %s points at a missing file %s", r.Ident, r.HrefB)
		}
	}
	if len(rows) == 0 || len(rows) > len(e.files("b")) {
		t.Fatalf("status has %d rows for %d files on b", len(rows), len(e.files("b")))
	}
}
