package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/config"
)

// migrate runs `pimsync migrate-vdirsyncer` on a vdirsyncer config written into the
// workspace and returns the generated pimsync.conf, which must parse without errors.
func (e *env) migrate(vdsConfig string, wantDirectives ...string) (string, *config.Config) {
	e.t.Helper()
	e.write("vdirsyncer.conf", vdsConfig)
	r := e.runWith(nil, "", "migrate-vdirsyncer", e.path("vdirsyncer.conf"))
	if r.code != 0 {
		e.t.Fatalf("migrate-vdirsyncer: %s", r)
	}
	cfg, err := config.Parse("generated.conf", []byte(r.stdout))
	if err != nil {
		e.t.Fatalf("the generated config does not parse: %v\n%s", err, r.stdout)
	}
	// Directives are compared one per line with their indentation removed.
	lines := map[string]bool{}
	for _, l := range strings.Split(r.stdout, "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range wantDirectives {
		if !lines[want] {
			e.t.Errorf("the generated config has no line %q:\n%s", want, r.stdout)
		}
	}
	return r.stdout, cfg
}

func TestMigrateErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ config, want string }{
		{"[general]\nstatus_path = ~/.vdirsyncer/status\n", "vdirsyncer.conf:2: option status_path: the value is not valid JSON"},
		{"status_path = \"x\"\n", "vdirsyncer.conf:1: option outside of a section"},
		{"[general]\nstatus_path = \"x\"\n[pair p]\na = \"x\"\na = \"y\"\n", "vdirsyncer.conf:5: option a already given"},
		{"[storage s]\ntype = \"filesystem\"\n", "no [general] section"},
		{"[general]\nstatus_path = \"x\"\n[pair p]\ncollections = [\"a\",\n", "vdirsyncer.conf:4"},
	} {
		e.write("vdirsyncer.conf", c.config)
		r := e.runWith(nil, "", "migrate-vdirsyncer", e.path("vdirsyncer.conf"))
		if r.code != exitError || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("config %q: want exit 1 and %q on stderr, got %s", c.config, c.want, r)
		}
	}
	r := e.runWith(nil, "", "migrate-vdirsyncer", e.path("missing"))
	if r.code != exitError || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing file: %s", r)
	}
	r = e.runWith(nil, "", "migrate-vdirsyncer", "a", "b")
	if r.code != exitUsage {
		t.Errorf("two files: %s", r)
	}
}

// The default file: $VDIRSYNCER_CONFIG, else ~/.vdirsyncer/config, else
// $XDG_CONFIG_HOME/vdirsyncer/config.
func TestMigrateDefaultFile(t *testing.T) {
	e := newEnv(t)
	conf := func(name string) string {
		return fmt.Sprintf("[general]\nstatus_path = \"x\"\n[storage %s]\ntype = \"filesystem\"\npath = \"/x\"\nfileext = \".ics\"\n", name)
	}
	e.write("xdg/vdirsyncer/config", conf("from_xdg"))
	run := func(extra ...string) string {
		t.Helper()
		r := e.runWith(append(extra, raceNoSleep), "", "migrate-vdirsyncer")
		if r.code != 0 {
			t.Fatalf("migrate-vdirsyncer: %s", r)
		}
		return r.stdout
	}
	if out := run("XDG_CONFIG_HOME=" + e.path("xdg")); !strings.Contains(out, "storage from_xdg {") {
		t.Errorf("XDG_CONFIG_HOME was not used:\n%s", out)
	}
	e.write("home/.vdirsyncer/config", conf("from_home"))
	if out := run("XDG_CONFIG_HOME=" + e.path("xdg")); !strings.Contains(out, "storage from_home {") {
		t.Errorf("~/.vdirsyncer/config was not preferred:\n%s", out)
	}
	e.write("env.conf", conf("from_env"))
	if out := run("VDIRSYNCER_CONFIG=" + e.path("env.conf")); !strings.Contains(out, "storage from_env {") {
		t.Errorf("VDIRSYNCER_CONFIG was not used:\n%s", out)
	}
}

// The switch-over that docs/migrating-from-vdirsyncer.md describes: vdirsyncer syncs,
// its configuration is converted, and pimsync's first sync with an empty status
// writes nothing; then it carries on syncing normally.
func TestMigrateRoundTripAfterVdirsyncer(t *testing.T) {
	vdirsyncer := requireTool(t, "vdirsyncer", "vdirsyncer")
	e := newEnv(t)
	e.write("a/work/one.ics", event("one@example.com", "Standup"))
	e.write("a/work/two.ics", event("two@example.com", "Lunch", "SEQUENCE:1"))
	e.write("a/home/three.ics", event("three@example.com", "Dentist"))
	e.write("b/work/.keep", "")
	e.write("b/home/four.ics", event("four@example.com", "Gym"))
	e.write("single-a/cal/five.ics", event("five@example.com", "Flight"))
	e.write("single-b/cal/.keep", "")
	vds := fmt.Sprintf(`[general]
status_path = %q

[pair p]
a = "local_a"
b = "local_b"
collections = ["from a", "from b"]
conflict_resolution = "a wins"

[storage local_a]
type = "filesystem"
path = %q
fileext = ".ics"

[storage local_b]
type = "filesystem"
path = %q
fileext = ".ics"

[pair single]
a = "one_a"
b = "one_b"
collections = null

[storage one_a]
type = "filesystem"
path = %q
fileext = ".ics"

[storage one_b]
type = "filesystem"
path = %q
fileext = ".ics"
`, e.path("vds-status"), e.path("a")+"/", e.path("b")+"/", e.path("single-a/cal")+"/", e.path("single-b/cal")+"/")
	e.write("vdirsyncer.conf", vds)
	vdsEnv := append(os.Environ(), "VDIRSYNCER_CONFIG="+e.path("vdirsyncer.conf"), "HOME="+e.home, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	for _, args := range [][]string{{"discover"}, {"sync"}} {
		cmd := exec.Command(vdirsyncer, args...)
		cmd.Env = vdsEnv
		cmd.Dir = e.dir
		cmd.Stdin = strings.NewReader(strings.Repeat("y\n", 10))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %v: %v\n%s", args, err, out)
		}
	}
	for _, want := range []struct{ dir, uid string }{
		{"b/work", "one@example.com"}, {"a/home", "four@example.com"}, {"single-b/cal", "five@example.com"},
	} {
		if !e.holdsUID(want.dir, want.uid) {
			t.Fatalf("vdirsyncer did not sync %s to %s: a %v, b %v", want.uid, want.dir, e.files("a"), e.files("b"))
		}
	}

	out, _ := e.migrate(vds, "collections all", "conflict_resolution keep a", "path "+e.path("single-a"), "id_a cal", "id_b cal")
	e.write("pimsync.conf", out)
	before := e.snapshot()
	if r := e.mustRun(0, "sync", "-n"); !regexp.MustCompile(`(?m)^\s+record\s`).MatchString(r.stdout) ||
		regexp.MustCompile(`(?m)^\s+(create|update|delete) on`).MatchString(r.stdout) {
		t.Errorf("the plan of the first pimsync sync should only record items:\n%s", r)
	}
	r := e.mustRun(0, "sync")
	if r.stdout != "" {
		t.Errorf("the first pimsync sync after vdirsyncer reported changes:\n%s", r)
	}
	e.assertUnchanged(before)
	if !e.exists("home/.local/share/pimsync/status/p.status") || !e.exists("home/.local/share/pimsync/status/single.status") {
		t.Errorf("no fresh status under ~/.local/share/pimsync/status/")
	}

	// From then on pimsync syncs as usual.
	e.write("b/work/six.ics", event("six@example.com", "Retro"))
	e.write("single-b/cal/seven.ics", event("seven@example.com", "Train"))
	e.mustRun(0, "sync")
	if !e.holdsUID("a/work", "six@example.com") || !e.holdsUID("single-a/cal", "seven@example.com") {
		t.Errorf("pimsync did not sync new items: a %v, single-a %v", e.files("a"), e.files("single-a"))
	}
	if _, err := os.Stat(filepath.Join(e.path("vds-status"))); err != nil {
		t.Errorf("vdirsyncer's status should be left alone: %v", err)
	}
}

// holdsUID reports whether a file of the directory holds an item with the UID.
func (e *env) holdsUID(dir, uid string) bool {
	for _, f := range e.files(dir) {
		if strings.Contains(e.read(dir+"/"+f), "UID:"+uid+"\r\n") {
			return true
		}
	}
	return false
}
