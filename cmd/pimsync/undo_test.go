package main

// The trash and undo (issue 11 item 4): whatever pimsync overwrites or deletes can be
// put back.

import (
	"regexp"
	"strings"
	"testing"
)

func TestUndoSync(t *testing.T) {
	e := newEnv(t)
	v1, v2 := event("x", "v1"), event("x", "v2")
	e.write("a/c/x.ics", v1)
	e.write("a/c/d.ics", event("d", "to delete"))
	e.write("a/c/k.ics", event("k", "kept"))
	e.mustRun(0, "sync")
	// The next sync updates x on b, deletes d there and creates n there.
	e.write("a/c/x.ics", v2)
	e.remove("a/c/d.ics")
	e.write("a/c/n.ics", event("n", "new"))
	e.mustRun(0, "sync")
	if e.read("b/c/x.ics") != v2 || e.exists("b/c/d.ics") || !e.exists("b/c/n.ics") {
		t.Fatal("the sync did not do what the test expects")
	}
	r := e.mustRun(0, "trash", "list")
	for _, want := range []string{"update on b", "delete on b", "create on b", `c/x.ics (UID "x", "v2")`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trash list lacks %q:\n%s", want, r.stdout)
		}
	}
	id := regexp.MustCompile(`(\S+/\d+)\s+\S+ \S+\s+update on b`).FindStringSubmatch(r.stdout)
	if id == nil {
		t.Fatalf("no id in:\n%s", r.stdout)
	}
	if r := e.mustRun(0, "trash", "show", "p", id[1]); r.stdout != v1 {
		t.Errorf("trash show = %q, want the bytes replaced", r.stdout)
	}
	r = e.mustRun(0, "undo")
	if !strings.Contains(r.stdout, "3 writes reverted") {
		t.Errorf("undo: %s", r.stdout)
	}
	if e.read("b/c/x.ics") != v1 || e.read("b/c/d.ics") != event("d", "to delete") || e.exists("b/c/n.ics") {
		t.Fatalf("b is not as before the sync: %v", e.files("b/c"))
	}
	// The next sync takes the reverted items as unsynced: d comes back to a, n is
	// copied again, x is a conflict between a's edit and b's restored version.
	r = e.mustRun(3, "sync")
	if !e.exists("a/c/d.ics") || !e.exists("b/c/n.ics") || e.read("a/c/x.ics") != v2 || e.read("b/c/x.ics") != v1 {
		t.Errorf("after undo and sync: a %v, b %v\n%s", e.files("a/c"), e.files("b/c"), r)
	}
	// Undo again reverts the undo itself.
	if r := e.mustRun(0, "undo"); !strings.Contains(r.stdout, "reverted") {
		t.Errorf("second undo: %s", r.stdout)
	}
}

// Undo leaves an item that changed since alone and says so; restore puts an entry back
// anyway.
func TestUndoRefusesChangedItems(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "v1"))
	e.write("a/c/k.ics", event("k", "kept"))
	e.mustRun(0, "sync")
	e.write("a/c/x.ics", event("x", "v2"))
	e.mustRun(0, "sync")
	e.write("b/c/x.ics", event("x", "v3 by hand"))
	r := e.mustRun(1, "undo")
	if !strings.Contains(r.stderr, "changed since") || e.read("b/c/x.ics") != event("x", "v3 by hand") {
		t.Fatalf("undo overwrote a changed item:\n%s", r)
	}
	list := e.mustRun(0, "trash", "list").stdout
	id := regexp.MustCompile(`(\S+/\d+)\s+\S+ \S+\s+update on b`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("no update entry:\n%s", list)
	}
	e.mustRun(0, "trash", "restore", "p", id[1])
	if e.read("b/c/x.ics") != event("x", "v1") {
		t.Errorf("restore did not put v1 back: %q", e.read("b/c/x.ics"))
	}
	// What restore overwrote is in the trash too.
	if !strings.Contains(e.mustRun(0, "trash", "list").stdout, "restore") {
		t.Error("the version restore replaced is not in the trash")
	}
}

// A conflict choice can be undone: resolve-conflicts with cp keeps a; undo brings b's
// version back and the conflict is there again.
func TestUndoConflictChoice(t *testing.T) {
	va, vb := event("x", "version a"), event("x", "version b")
	e := conflictEnv(t, va, vb, "conflict_resolution cmd cp")
	e.mustRun(0, "resolve-conflicts")
	if e.read("b/c/x.ics") != va {
		t.Fatal("not resolved")
	}
	e.mustRun(0, "undo")
	if e.read("b/c/x.ics") != vb {
		t.Fatalf("undo did not bring b's version back: %q", e.read("b/c/x.ics"))
	}
	e.mustRun(3, "sync")
}

// repair keeps what it replaces: the item without UID is in the trash, byte for byte.
func TestRepairKeepsTheEarlierVersion(t *testing.T) {
	e := newEnv(t)
	noUID := strings.Replace(event("", "no uid"), "UID:\r\n", "", 1)
	e.write("a/c/n.ics", noUID)
	r := e.mustRun(0, "repair", "a")
	if !strings.Contains(r.stdout, "in the trash") {
		t.Errorf("repair does not say where the earlier version is:\n%s", r.stdout)
	}
	list := e.mustRun(0, "trash", "list").stdout
	id := regexp.MustCompile(`repair\.a\s+(\S+/\d+)`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("the repair is not in the trash:\n%s", list)
	}
	if got := e.mustRun(0, "trash", "show", "repair.a", id[1]).stdout; got != noUID {
		t.Errorf("trash show = %q, want the item as it was", got)
	}
}
