package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// conflictEnv sets up a vdir pair with x in conflict (no status) and the given
// resolver directives.
func conflictEnv(t *testing.T, va, vb string, pairExtra ...string) *env {
	t.Helper()
	e := newEnv(t, append([]string{"collections all"}, pairExtra...)...)
	e.write("a/c/x.ics", va)
	e.write("b/c/x.ics", vb)
	e.write("a/c/y.ics", event("y", "Y"))
	return e
}

func TestScenario15ResolveWithCp(t *testing.T) {
	va, vb := event("x", "fööcontent"), event("x", "böö other")
	e := conflictEnv(t, va, vb, "conflict_resolution cmd cp")
	r := e.mustRun(0, "resolve-conflicts")
	if e.read("a/c/x.ics") != va || e.read("b/c/x.ics") != va {
		t.Fatalf("not resolved to a's text:\n%s", r)
	}
	if !strings.Contains(r.stdout, "p/c x: resolved; uploaded to b") {
		t.Errorf("stdout: %s", r.stdout)
	}
	// The next sync records without writing.
	before := e.read("b/c/x.ics")
	bInfo, _ := os.Stat(e.path("b/c/x.ics"))
	e.mustRun(0, "sync")
	after, _ := os.Stat(e.path("b/c/x.ics"))
	if e.read("b/c/x.ics") != before || !after.ModTime().Equal(bInfo.ModTime()) {
		t.Fatal("sync wrote x again")
	}
}

func TestScenario16MergeToolLeavesFilesDifferent(t *testing.T) {
	va, vb := event("x", "v1"), event("x", "v2")
	e := conflictEnv(t, va, vb, "conflict_resolution cmd true")
	before := e.snapshot()
	r := e.mustRun(3, "resolve-conflicts")
	e.assertUnchanged(before)
	if !strings.Contains(r.stderr, "the two files differ after the merge tool ran") {
		t.Errorf("stderr: %s", r.stderr)
	}
	e.mustRun(3, "sync")
}

func TestResolveFailingTool(t *testing.T) {
	e := conflictEnv(t, event("x", "v1"), event("x", "v2"), "conflict_resolution cmd false")
	before := e.snapshot()
	r := e.mustRun(1, "resolve-conflicts")
	e.assertUnchanged(before)
	if !strings.Contains(r.stderr, "merge tool exited with status 1") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestResolveScriptedMerge(t *testing.T) {
	// A resolver that writes a merged version into both files and checks the file
	// names it is given.
	e := conflictEnv(t, event("x", "from a"), event("x", "from b"))
	script := `case "$1" in */a-a.ics) ;; *) echo "bad name $1" >&2; exit 9;; esac
case "$2" in */b-b.ics) ;; *) echo "bad name $2" >&2; exit 9;; esac
sed 's/SUMMARY:.*/SUMMARY:merged/' "$1" > "$1.new" && mv "$1.new" "$1" && cp "$1" "$2"`
	e.write("merge.sh", script)
	e.writeConfig("", "", "collections all", "conflict_resolution cmd sh "+e.path("merge.sh"))
	tmp := t.TempDir()
	r := e.runWith([]string{"TMPDIR=" + tmp}, "", "-c", e.cfg, "resolve-conflicts")
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, side := range []string{"a", "b"} {
		if got := e.read(side + "/c/x.ics"); !strings.Contains(got, "SUMMARY:merged\r\n") {
			t.Fatalf("%s: %q\n%s", side, got, r)
		}
	}
	if !strings.Contains(r.stdout, "uploaded to a and b") {
		t.Errorf("stdout: %s", r.stdout)
	}
	e.mustRun(0, "sync")
	// The temporary files are gone.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestResolveReadOnlySide(t *testing.T) {
	va, vb := event("x", "v1"), event("x", "v2")
	// The result equals read-only B's version: only A is written.
	e := conflictEnv(t, va, vb)
	e.writeConfig("", "read_only", "collections all", `conflict_resolution cmd sh -c "cp \"$2\" \"$1\"" resolver`)
	e.mustRun(0, "resolve-conflicts")
	if e.read("a/c/x.ics") != vb || e.read("b/c/x.ics") != vb {
		t.Fatal("not resolved to b's version")
	}
	// The result differs from read-only B: nothing is uploaded.
	e2 := conflictEnv(t, va, vb)
	e2.writeConfig("", "read_only", "collections all", "conflict_resolution cmd cp")
	before := e2.snapshot()
	r := e2.mustRun(1, "resolve-conflicts")
	e2.assertUnchanged(before)
	if !strings.Contains(r.stderr, "differs from read-only storage b") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestResolveDryRunAndPolicies(t *testing.T) {
	e := conflictEnv(t, event("x", "v1"), event("x", "v2", "LOCATION:Room 2"), "conflict_resolution cmd cp")
	before := e.snapshot()
	r := e.mustRun(3, "resolve-conflicts", "-n")
	e.assertUnchanged(before)
	for _, want := range []string{"pair p: 1 conflict", "p/c uid x", "a: c/x.ics", "b: c/x.ics", "differs in SUMMARY, LOCATION"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-n lacks %q:\n%s", want, r.stdout)
		}
	}
	if e.exists("status") {
		t.Error("-n created the status directory")
	}
	e.writeConfig("", "", "collections all", "conflict_resolution keep b")
	r = e.mustRun(0, "resolve-conflicts")
	if !strings.Contains(r.stdout, "resolved automatically by sync") {
		t.Errorf("keep b: %s", r.stdout)
	}
	e.writeConfig("", "", "collections all")
	r = e.mustRun(1, "resolve-conflicts")
	if !strings.Contains(r.stderr, "has 1 item conflict but no conflict_resolution") {
		t.Errorf("none: %s", r.stderr)
	}
}

// TestResolvePrompt answers the y/n/q prompt on a real terminal (script(1) gives the
// process a pty).
func TestResolvePrompt(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script(1) not found: install the Debian package bsdutils")
	}
	e := newEnv(t, "collections all", "conflict_resolution cmd cp")
	for _, u := range []string{"p", "q", "r"} {
		e.write("a/c/"+u+".ics", event(u, "a"))
		e.write("b/c/"+u+".ics", event(u, "b"))
	}
	// Conflicts come in ident order: p, q, r. Answer: n (skip p), x (invalid: asked
	// again), y (resolve q), q (quit before r).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", binPath+" -c "+e.cfg+" resolve-conflicts", "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // script and pimsync
	// script(1) writes to a pipe here, so a terminal query (Bubble Tea v1's package
	// init asked for the background colour) would go unanswered and swallow the typed
	// answers; pimsync asks nothing (docs/DECISIONS.md, Terminal).
	cmd.Env = append(os.Environ(), "HOME="+e.home, "TERM=xterm-256color", raceNoSleep)
	cmd.Stdin = strings.NewReader("n\nx\ny\nq\n")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v:\n%s", err, out)
	}
	if n := strings.Count(string(out), "resolve now? [Y/n/q/k]"); n != 4 {
		t.Errorf("asked %d times:\n%s", n, out)
	}
	if !strings.Contains(e.read("b/c/q.ics"), "SUMMARY:a") {
		t.Error("q was not resolved")
	}
	if !strings.Contains(e.read("b/c/p.ics"), "SUMMARY:b") || !strings.Contains(e.read("b/c/r.ics"), "SUMMARY:b") {
		t.Error("p or r was changed")
	}
}

// TestResolveAgainstRadicale resolves a conflict between a vdir and real Radicale.
func TestResolveAgainstRadicale(t *testing.T) {
	srv := startServer(t, "radicale")
	e := newDavEnv(t, srv, "calendar")
	e.writeDavConfig(srv.Password, "collection "+e.id, "conflict_resolution cmd cp")
	e.write("a/"+e.id+"/x.ics", event("x", "local version"))
	e.put("x.ics", event("x", "server version"), nil)
	e.mustRun(3, "sync")
	r := e.mustRun(0, "resolve-conflicts")
	if !e.serverHas("local version") || e.serverHas("server version") {
		t.Fatalf("server not updated:\n%s", r)
	}
	e.mustRun(0, "sync")
	r = e.mustRun(0, "-v", "debug", "sync")
	if c := httpCounts(r.stderr); c["PUT"] != 0 {
		t.Errorf("sync after the resolution wrote again: %v", c)
	}
}

// Property conflicts are counted by sync, listed by resolve-conflicts -n and settled by
// choosing a side on a terminal (issue 9 item 5); without a terminal they are reported
// and left, and no conflict_resolution is needed for them.
func TestResolvePropertyConflict(t *testing.T) {
	e := newEnv(t, "collections all")
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/displayname", "Work")
	e.write("b/c/displayname", "Arbeit")
	r := e.mustRun(3, "sync")
	if !strings.Contains(r.stdout, "1 conflict") || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("sync did not report the conflict:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	r = e.mustRun(3, "resolve-conflicts", "-n")
	if !strings.Contains(r.stdout, "pair p: 1 conflict") || !strings.Contains(r.stdout, `p/c property displayname: "Work" on a, "Arbeit" on b`) {
		t.Errorf("-n does not list the property conflict:\n%s", r.stdout)
	}
	r = e.mustRun(3, "resolve-conflicts")
	if !strings.Contains(r.stderr, "on a terminal") {
		t.Errorf("without a terminal: %s", r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", binPath+" -c "+e.cfg+" resolve-conflicts", "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "HOME="+e.home, "TERM=xterm-256color", raceNoSleep)
	cmd.Stdin = strings.NewReader("x\nb\n") // x is asked again
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("resolve-conflicts on a terminal: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "Keep [a/b/n/q]?"); n != 2 {
		t.Errorf("asked %d times:\n%s", n, out)
	}
	if got := strings.TrimSpace(e.read("a/c/displayname")); got != "Arbeit" {
		t.Errorf("a's display name = %q, want b's", got)
	}
	e.mustRun(0, "sync")
	before := e.snapshot()
	if r := e.mustRun(0, "sync"); r.stdout != "" {
		t.Errorf("not a no-op: %s", r.stdout)
	}
	e.assertUnchanged(before)
}
