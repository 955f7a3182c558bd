package main

// conflict_resolution merge (issue 11 item 2): conflicts whose sides changed different
// properties since the last sync merge during sync; the others stay conflicts.

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAutoMerge(t *testing.T) {
	e := newEnv(t, "collections all", "conflict_resolution merge")
	base := event("x", "Lunch", "LOCATION:Cafe", "DESCRIPTION:A long description that a client folded over more t",
		" han one line")
	e.write("a/c/x.ics", base)
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	a := strings.Replace(base, "SUMMARY:Lunch", "SUMMARY:Team lunch", 1)
	b := strings.Replace(base, "LOCATION:Cafe", "LOCATION:Canteen", 1)
	e.write("a/c/x.ics", a)
	e.write("b/c/x.ics", b)
	r := e.mustRun(0, "sync", "-n")
	if !strings.Contains(r.stdout, "merge") || !strings.Contains(r.stdout, "a: VEVENT/SUMMARY; b: VEVENT/LOCATION") {
		t.Errorf("the plan does not show the merge:\n%s", r.stdout)
	}
	r = e.mustRun(0, "sync")
	want := strings.Replace(a, "LOCATION:Cafe", "LOCATION:Canteen", 1)
	if e.read("a/c/x.ics") != want || e.read("b/c/x.ics") != want {
		t.Fatalf("not merged line by line:\na: %q\nb: %q\nwant %q", e.read("a/c/x.ics"), e.read("b/c/x.ics"), want)
	}
	if !strings.Contains(r.stdout, "1 conflict merged") {
		t.Errorf("summary: %s", r.stdout)
	}
	before := e.snapshot()
	if r := e.mustRun(0, "sync"); r.stdout != "" {
		t.Errorf("not a no-op: %s", r.stdout)
	}
	e.assertUnchanged(before)
	// The merge can be undone: both sides get their own version back.
	e.mustRun(0, "undo")
	if e.read("a/c/x.ics") != a || e.read("b/c/x.ics") != b {
		t.Fatalf("undo after a merge:\na: %q\nb: %q", e.read("a/c/x.ics"), e.read("b/c/x.ics"))
	}
	// Undo forgets the item's status (and its base): the two versions are now a
	// conflict for a person, nothing is written.
	before = e.snapshot()
	e.mustRun(3, "sync")
	e.assertUnchanged(before)
	e.write("b/c/x.ics", want)
	e.write("a/c/x.ics", want)
	e.mustRun(0, "sync")
	// Both change the same property: a conflict, nothing written.
	e.write("a/c/x.ics", strings.Replace(want, "SUMMARY:Team lunch", "SUMMARY:Lunch A", 1))
	e.write("b/c/x.ics", strings.Replace(want, "SUMMARY:Team lunch", "SUMMARY:Lunch B", 1))
	before = e.snapshot()
	r = e.mustRun(3, "sync")
	e.assertUnchanged(before)
	if !strings.Contains(r.stderr, "not merged") || !strings.Contains(r.stderr, "VEVENT/SUMMARY") {
		t.Errorf("the reason it was not merged is not said:\n%s", r.stderr)
	}
}

// A merge interrupted between its two writes (the second side cannot be written)
// converges on the next run: one side already holds the merge, which merges again to
// itself.
func TestAutoMergeInterrupted(t *testing.T) {
	e := newEnv(t, "collections all", "conflict_resolution merge")
	e.unprivileged() // as root, permission bits would not stop the write
	base := event("x", "Lunch", "LOCATION:Cafe")
	e.write("a/c/x.ics", base)
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	a := strings.Replace(base, "SUMMARY:Lunch", "SUMMARY:Team lunch", 1)
	b := strings.Replace(base, "LOCATION:Cafe", "LOCATION:Canteen", 1)
	e.write("a/c/x.ics", a)
	e.write("b/c/x.ics", b)
	if err := os.Chmod(e.path("b/c"), 0o555); err != nil {
		t.Fatal(err)
	}
	e.mustRun(1, "sync")
	os.Chmod(e.path("b/c"), 0o755)
	want := strings.Replace(a, "LOCATION:Cafe", "LOCATION:Canteen", 1)
	if e.read("a/c/x.ics") != want || e.read("b/c/x.ics") != b {
		t.Fatalf("after the interrupted merge:\na: %q\nb: %q", e.read("a/c/x.ics"), e.read("b/c/x.ics"))
	}
	e.mustRun(0, "sync")
	if e.read("a/c/x.ics") != want || e.read("b/c/x.ics") != want {
		t.Fatalf("not converged:\na: %q\nb: %q", e.read("a/c/x.ics"), e.read("b/c/x.ics"))
	}
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
}

// A merge against real servers that re-serialise what they store leaves no new
// conflict and a no-op after it.
func TestAutoMergeRealServers(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			e := newDavEnv(t, srv, "calendar")
			e.writeDavConfig(srv.Password, "collection "+e.id, "conflict_resolution merge")
			local := "a/" + e.id + "/x.ics"
			e.write(local, event("x", "Lunch", "LOCATION:Cafe", "DTEND:20240102T110000Z"))
			e.write("a/"+e.id+"/y.ics", event("y", "Y"))
			e.mustRun(0, "sync")
			e.write(local, strings.Replace(e.read(local), "SUMMARY:Lunch", "SUMMARY:Team lunch", 1))
			href := e.serverHref("x")
			e.put(href, strings.Replace(e.serverItems()[href], "LOCATION:Cafe", "LOCATION:Canteen", 1), nil)
			r := e.mustRun(0, "sync")
			if !strings.Contains(r.stdout, "1 conflict merged") {
				t.Fatalf("not merged:\n%s", r)
			}
			for where, text := range map[string]string{"local": e.read(local), "server": e.serverItems()[href]} {
				if !strings.Contains(text, "SUMMARY:Team lunch") || !strings.Contains(text, "LOCATION:Canteen") {
					t.Errorf("%s does not hold the merge:\n%s", where, text)
				}
			}
			before := e.snapshot()
			r = e.mustRun(0, "-v", "debug", "sync")
			e.assertUnchanged(before)
			if c := httpCounts(r.stderr); c["PUT"] != 0 {
				t.Errorf("the run after the merge wrote: %v", c)
			}
		})
	}
}

// keep both (issue 11 item 3): as a policy during sync and as a choice in
// resolve-conflicts, b's version becomes a separate item on both sides.
func TestKeepBoth(t *testing.T) {
	va, vb := event("x", "version a"), event("x", "version b")
	e := conflictEnv(t, va, vb, "conflict_resolution keep both")
	e.mustRun(0, "sync")
	e.mustRun(0, "sync") // copies the conflict copy to a
	for _, side := range []string{"a", "b"} {
		files := e.files(side + "/c")
		var x, cp int
		for _, f := range files {
			text := e.read(side + "/c/" + f)
			switch {
			case text == va:
				x++
			case strings.Contains(text, "SUMMARY:version b (conflict copy)") && !strings.Contains(text, "UID:x\r\n"):
				cp++
			}
		}
		if x != 1 || cp != 1 {
			t.Errorf("%s holds %v: want a's version once and b's as a conflict copy", side, files)
		}
	}
	before := e.snapshot()
	if r := e.mustRun(0, "sync"); r.stdout != "" {
		t.Errorf("not a no-op: %s", r.stdout)
	}
	e.assertUnchanged(before)
}

func TestKeepBothInResolveConflicts(t *testing.T) {
	e := conflictEnv(t, event("x", "version a"), event("x", "version b"), "conflict_resolution cmd false")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", binPath+" -c "+e.cfg+" resolve-conflicts", "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "HOME="+e.home, "TERM=dumb", raceNoSleep)
	cmd.Stdin = strings.NewReader("k\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "kept both") {
		t.Fatalf("resolve-conflicts: %v\n%s", err, out)
	}
	e.mustRun(0, "sync")
	if n := len(e.files("a/c")); n != 3 { // x, y and the copy
		t.Errorf("a holds %v", e.files("a/c"))
	}
	e.mustRun(0, "undo") // the last run: the sync that copied the copy to a
	e.mustRun(0, "sync") // and it comes back
}
