package main

// The acceptance scenarios of sync.md §16 that apply to local storages, driven only
// through the CLI and judged by files, output and exit status.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// statusRows returns the item rows of pair p (all mappings).
func (e *env) statusRows() []status.Row {
	e.t.Helper()
	db, err := status.OpenRead(e.path("status/p.status"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	ms, err := db.Mappings()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []status.Row
	for _, m := range ms {
		rows, err := db.Rows(m.UID)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

func (e *env) statusBytes() string {
	e.t.Helper()
	b, err := os.ReadFile(e.path("status/p.status"))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func crlf(s string) string { return storage.NormalizeNewlines(s) }

func TestScenario01FirstSyncCopies(t *testing.T) {
	e := newEnv(t)
	x := event("x", "X")
	e.write("a/c/x.ics", x)
	e.mustRun(0, "sync")
	if got := e.read("b/c/x.ics"); got != x {
		t.Fatalf("b/c/x.ics = %q", got)
	}
	if n := len(e.statusRows()); n != 1 {
		t.Fatalf("status rows = %d", n)
	}
}

func TestScenario01LFIsNormalisedToCRLF(t *testing.T) {
	e := newEnv(t)
	lf := strings.ReplaceAll(event("x", "X"), "\r\n", "\n")
	e.write("a/c/x.ics", lf)
	e.mustRun(0, "sync")
	if got := e.read("b/c/x.ics"); got != crlf(lf) || !strings.Contains(got, "\r\n") {
		t.Fatalf("b/c/x.ics = %q", got)
	}
	if e.read("a/c/x.ics") != lf {
		t.Fatal("a/c/x.ics was rewritten")
	}
}

func TestScenario02IdenticalSides(t *testing.T) {
	e := newEnv(t)
	x := event("x", "X")
	e.write("a/c/x.ics", x)
	e.write("b/c/x.ics", x)
	before := e.snapshot()
	r := e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if n := len(e.statusRows()); n != 1 {
		t.Fatalf("status rows = %d", n)
	}
	if r.stdout != "" {
		t.Errorf("output for a record-only run: %q", r.stdout)
	}
}

func TestScenario03Idempotence(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	before, st := e.snapshot(), e.statusBytes()
	for range 2 {
		r := e.mustRun(0, "sync")
		if r.stdout != "" || r.stderr != "" {
			t.Fatalf("no-op sync printed: %s", r)
		}
	}
	e.assertUnchanged(before)
	if e.statusBytes() != st {
		t.Fatal("status file changed on a no-op sync")
	}
}

func TestScenario04UpdateFlowsBothWays(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	v2 := event("x", "X edited on a")
	e.write("a/c/x.ics", v2)
	r := e.mustRun(0, "sync")
	if e.read("b/c/x.ics") != v2 {
		t.Fatal("edit on a did not reach b")
	}
	if !strings.Contains(r.stdout, "p/c: a +0 ~0 -0, b +0 ~1 -0") {
		t.Errorf("summary: %q", r.stdout)
	}
	v3 := event("x", "X edited on b")
	e.write("b/c/x.ics", v3)
	e.mustRun(0, "sync")
	if e.read("a/c/x.ics") != v3 {
		t.Fatal("edit on b did not reach a")
	}
}

func TestScenario05DeleteFlowsBothWays(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	e.remove("b/c/y.ics")
	e.mustRun(0, "sync")
	if e.exists("a/c/y.ics") {
		t.Fatal("y not deleted on a")
	}
	e.remove("a/c/x.ics")
	e.write("a/c/z.ics", event("z", "Z")) // keep the collection non-empty (on_empty)
	e.mustRun(0, "sync")
	if e.exists("b/c/x.ics") {
		t.Fatal("x not deleted on b")
	}
	for _, r := range e.statusRows() {
		if r.Ident == "x" || r.Ident == "y" {
			t.Fatalf("status still has %s", r.Ident)
		}
	}
}

func TestScenario06ChangeBeatsDelete(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	e.remove("b/c/x.ics")
	v2 := event("x", "X changed")
	e.write("a/c/x.ics", v2)
	r := e.run("-v", "warn", "sync")
	if r.code != 0 {
		t.Fatal(r)
	}
	if e.read("b/c/x.ics") != v2 {
		t.Fatal("b does not have a's new x")
	}
	if !strings.Contains(r.stderr, "warn:") || !strings.Contains(r.stderr, "the change wins") {
		t.Errorf("no warning: %s", r)
	}
}

func TestScenario07DeletedOnBoth(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	e.remove("a/c/x.ics")
	e.remove("b/c/x.ics")
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if rows := e.statusRows(); len(rows) != 1 || rows[0].Ident != "y" {
		t.Fatalf("status rows %v", rows)
	}
}

func TestScenario08StaleStatusBothEmpty(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	e.remove("a/c/x.ics")
	e.remove("b/c/x.ics")
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if rows := e.statusRows(); len(rows) != 0 {
		t.Fatalf("status rows %v", rows)
	}
}

func TestScenario09ConflictNewOnBoth(t *testing.T) {
	e := newEnv(t)
	v1, v2 := event("x", "v1"), event("x", "v2")
	e.write("a/c/x.ics", v1)
	e.write("b/c/x.ics", v2)
	plan := e.mustRun(3, "sync", "-n")
	if !strings.Contains(plan.stdout, "conflict") {
		t.Errorf("plan lacks conflict: %s", plan.stdout)
	}
	r := e.mustRun(3, "sync")
	if e.read("a/c/x.ics") != v1 || e.read("b/c/x.ics") != v2 {
		t.Fatal("a side was written")
	}
	if !strings.Contains(r.stdout, "1 conflict (run: pimsync resolve-conflicts p)") {
		t.Errorf("summary %q", r.stdout)
	}
	if rows := e.statusRows(); len(rows) != 0 {
		t.Fatalf("status rows %v", rows)
	}
}

func TestScenario10KeepAKeepB(t *testing.T) {
	for _, keep := range []string{"a", "b"} {
		t.Run(keep, func(t *testing.T) {
			e := newEnv(t, "collections all", "conflict_resolution keep "+keep)
			v1, v2 := event("x", "v1"), event("x", "v2")
			e.write("a/c/x.ics", v1)
			e.write("b/c/x.ics", v2)
			e.mustRun(0, "sync")
			want := v1
			if keep == "b" {
				want = v2
			}
			if e.read("a/c/x.ics") != want || e.read("b/c/x.ics") != want {
				t.Fatal("not resolved")
			}
			e.mustRun(0, "sync")
		})
	}
}

func TestScenario11ChangedOnBothAfterSync(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "v0"))
	e.mustRun(0, "sync")
	rows := e.statusRows()
	va, vb := event("x", "on a"), event("x", "on b")
	e.write("a/c/x.ics", va)
	e.write("b/c/x.ics", vb)
	e.mustRun(3, "sync")
	if e.read("a/c/x.ics") != va || e.read("b/c/x.ics") != vb {
		t.Fatal("written")
	}
	if after := e.statusRows(); len(after) != 1 || after[0] != rows[0] {
		t.Fatalf("status row changed: %v → %v", rows, after)
	}
	e.writeConfig("", "", "collections all", "conflict_resolution keep a")
	e.mustRun(0, "sync")
	if e.read("b/c/x.ics") != va {
		t.Fatal("keep a not applied")
	}
}

func TestScenario12ChangedIdentically(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "v0"))
	e.mustRun(0, "sync")
	v := event("x", "same edit")
	e.write("a/c/x.ics", v)
	e.write("b/c/x.ics", v)
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if rows := e.statusRows(); rows[0].Hash != storage.Hash(v) {
		t.Fatal("status hash not updated")
	}
}

func TestScenario13VolatileDifferencesOnly(t *testing.T) {
	e := newEnv(t)
	tz := []string{"BEGIN:VTIMEZONE", "TZID:Europe/Amsterdam", "BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	ev := []string{"BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Europe/Amsterdam:20240102T100000", "SUMMARY:A rather long summary line that is folded differently on the other side"}
	a := append(append([]string{"BEGIN:VCALENDAR", "PRODID:-//one//EN"}, tz...), append(ev, "DTSTAMP:20240101T000000Z", "LAST-MODIFIED:20240101T000000Z", "END:VEVENT", "END:VCALENDAR", "")...)
	evB := []string{"BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Europe/Amsterdam:20240102T100000", "SUMMARY:A rather long summary line that is fol", " ded differently on the other side"}
	b := append(append([]string{"BEGIN:VCALENDAR", "PRODID:-//two//EN"}, append(evB, "DTSTAMP:20250101T000000Z", "END:VEVENT")...), append(tz, "END:VCALENDAR", "")...)
	e.write("a/c/x.ics", strings.Join(a, "\r\n"))
	e.write("b/c/x.ics", strings.Join(b, "\r\n"))
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
}

func TestScenario14NonVolatileDifference(t *testing.T) {
	for name, other := range map[string]string{
		"sequence": event("x", "X", "SEQUENCE:1"),
		"swapped":  strings.Replace(event("x", "X"), "DTSTART:20240102T100000Z\r\nSUMMARY:X", "SUMMARY:X\r\nDTSTART:20240102T100000Z", 1),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.write("a/c/x.ics", event("x", "X"))
			e.write("b/c/x.ics", other)
			e.mustRun(3, "sync")
		})
	}
}

func TestScenario17TouchWithoutChange(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	old := e.statusRows()[0].ETagA
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(e.path("a/c/x.ics"), future, future); err != nil {
		t.Fatal(err)
	}
	snap := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(snap)
	if e.statusRows()[0].ETagA == old {
		t.Fatal("status etag not updated")
	}
}

func TestScenario18EtagChangedOnBothContentOnB(t *testing.T) {
	e := newEnv(t)
	x := event("x", "X")
	e.write("a/c/x.ics", x)
	e.mustRun(0, "sync")
	e.write("a/c/x.ics", x) // same bytes, new etag
	vb := event("x", "edited on b")
	e.write("b/c/x.ics", vb)
	bInfo, _ := os.Stat(e.path("b/c/x.ics"))
	e.mustRun(0, "sync")
	if e.read("a/c/x.ics") != vb {
		t.Fatal("a did not get b's content")
	}
	if info, _ := os.Stat(e.path("b/c/x.ics")); !info.ModTime().Equal(bInfo.ModTime()) {
		t.Fatal("b was written")
	}
}

func TestScenario19RenameSameContent(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	first := e.mustRun(0, "-v", "trace", "sync")
	if !strings.Contains(first.stderr, "read item") || !strings.Contains(first.stderr, "href=c/x.ics") {
		t.Fatalf("the trace log does not show item reads, so the check below would prove nothing:\n%s", first.stderr)
	}
	if err := os.Rename(e.path("b/c/x.ics"), e.path("b/c/renamed.ics")); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if rows := e.statusRows(); rows[0].HrefB != "c/renamed.ics" {
		t.Fatalf("href_b = %q", rows[0].HrefB)
	}
	// The second sync reads no item file; -v trace logs every item read.
	r := e.mustRun(0, "-v", "trace", "sync")
	if strings.Contains(r.stderr, "read item") {
		t.Fatalf("no-op sync read items:\n%s", r.stderr)
	}
}

func TestScenario20UIDChangedInPlace(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/p.ics", event("p", "P"))
	e.write("b/c/q.ics", event("q", "Q"))
	e.mustRun(0, "sync")
	q := e.read("a/c/q.ics")
	e.write("a/c/p.ics", event("r", "R"))
	e.mustRun(0, "sync")
	if got := e.files("b"); strings.Join(got, ",") != "c/q.ics,c/r.ics" {
		t.Fatalf("b = %v", got)
	}
	if e.read("a/c/q.ics") != q {
		t.Fatal("q touched")
	}
}

func TestScenario21ItemsWithoutUID(t *testing.T) {
	e := newEnv(t)
	p, q := event("", "P"), event("", "Q")
	e.write("a/c/p.ics", p)
	e.write("b/c/q.ics", q)
	e.mustRun(0, "sync")
	for _, side := range []string{"a", "b"} {
		if n := len(e.files(side)); n != 2 {
			t.Fatalf("%s has %d files", side, n)
		}
	}
	if !e.exists("b/c/"+storage.Hash(p)+".ics") || !e.exists("a/c/"+storage.Hash(q)+".ics") {
		t.Fatalf("hash-named files missing: a=%v b=%v", e.files("a"), e.files("b"))
	}
	e.mustRun(0, "sync")
}

func TestScenario22UnsafeAndOddUIDs(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("u", 300)
	slashes := event("these/slashes/are/not/okay", "S")
	umlaut := event("äää", "U")
	longEv := event(long, "L")
	e.write("a/c/1.ics", slashes)
	e.write("a/c/2.ics", umlaut)
	e.write("a/c/3.ics", longEv)
	e.mustRun(0, "sync")
	want := map[string]string{
		"b/c/theseslashesarenotokay.ics":       slashes,
		"b/c/" + storage.Hash(umlaut) + ".ics": umlaut,
		"b/c/" + storage.Hash(longEv) + ".ics": longEv,
	}
	for f, content := range want {
		if e.read(f) != content {
			t.Fatalf("%s differs", f)
		}
	}
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
}

// Scenarios 23 and 24, narrowed by issue 9 item 11: a UID carried by several files on
// one side leaves only that ident alone (no action, never read as a deletion); every
// other item of the collection syncs, and the error names every file in full.
func TestScenario23And24DuplicateIdents(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/1.ics", event("1", "one"))
	e.write("a/c/good.ics", event("good", "Good"))
	e.mustRun(0, "sync")
	if e.read("b/c/1.ics") != event("1", "one") {
		t.Fatal("first sync did not copy 1")
	}
	e.write("a/c/1-copy.ics", event("1", "one again"))
	e.write("a/c/x.ics", event("1", "one more"))
	e.write("a/c/good2.ics", event("good2", "Good too"))
	e.remove("a/c/good.ics")
	e.write("a/d/y.ics", event("y", "Y"))
	noUID := event("", "same")
	e.write("a/e/u1.ics", noUID)
	e.write("a/e/u2.ics", noUID)
	e.write("a/e/ok.ics", event("ok", "OK"))
	r := e.mustRun(1, "sync")
	for _, want := range []string{`storage a has 3 items with UID "1", so none of them is synced: c/1-copy.ics, c/1.ics, c/x.ics`,
		"identical items without UID", "e/u1.ics, e/u2.ics"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if e.read("b/c/1.ics") != event("1", "one") {
		t.Error("b's copy of the duplicated UID changed or was deleted")
	}
	if !e.exists("b/c/good2.ics") || e.exists("b/c/good.ics") {
		t.Error("the other items of collection c did not sync")
	}
	if !e.exists("b/e/ok.ics") || len(e.files("b/e")) != 1 {
		t.Errorf("collection e: b holds %v, want only ok.ics", e.files("b/e"))
	}
	if !e.exists("b/d/y.ics") {
		t.Error("collection d did not sync")
	}
	// Once the copies are gone, the ident syncs again.
	e.remove("a/c/1-copy.ics")
	e.remove("a/c/x.ics")
	e.remove("a/e/u2.ics")
	e.mustRun(0, "sync")
	if !e.exists("b/e/" + storage.Hash(noUID) + ".ics") {
		t.Errorf("collection e: b holds %v after the copy was removed", e.files("b/e"))
	}
}

func TestScenario25EmptiedSideIsProtected(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"x", "y", "z"} {
		e.write("a/c/"+u+".ics", event(u, u))
	}
	e.mustRun(0, "sync")
	for _, u := range []string{"x", "y", "z"} {
		e.remove("a/c/" + u + ".ics")
	}
	before := e.snapshot()
	r := e.mustRun(1, "sync")
	e.assertUnchanged(before)
	for _, want := range []string{"p/c", "protected", "a is empty", "on_empty sync"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r.stderr)
		}
	}
	e.writeConfig("", "", "collections all", "on_empty sync")
	e.mustRun(0, "sync")
	if n := len(e.files("b")); n != 0 {
		t.Fatalf("b still has %d files", n)
	}
}

func TestScenario26NewCollectionFromA(t *testing.T) {
	e := newEnv(t, "collections from a")
	e.write("a/d/x.ics", event("x", "X"))
	e.write("a/d/displayname", "My calendar\n")
	e.mustRun(0, "sync")
	if e.read("b/d/x.ics") != event("x", "X") {
		t.Fatal("item not copied")
	}
	if got := e.read("b/d/displayname"); got != "My calendar" {
		t.Fatalf("displayname = %q", got)
	}
}

func TestScenario27FromAIgnoresBOnly(t *testing.T) {
	e := newEnv(t, "collections from a")
	e.write("a/c/x.ics", event("x", "X"))
	e.write("b/e/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	if e.exists("a/e") {
		t.Fatal("a/e created")
	}
	for _, r := range e.statusRows() {
		if strings.HasPrefix(r.HrefB, "e/") {
			t.Fatal("e in status")
		}
	}
}

func TestScenario28ExplicitMapping(t *testing.T) {
	e := newEnv(t, "collection {\n    alias w\n    id_a work\n    id_b job\n}")
	e.write("a/work/x.ics", event("x", "X"))
	e.write("b/job/y.ics", event("y", "Y"))
	r := e.mustRun(0, "sync")
	if !e.exists("b/job/x.ics") || !e.exists("a/work/y.ics") {
		t.Fatalf("not synced: a=%v b=%v", e.files("a"), e.files("b"))
	}
	if !strings.Contains(r.stdout, "p/w:") {
		t.Errorf("summary does not use the alias: %q", r.stdout)
	}
}

func TestScenario29CollectionDeleted(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	e.remove("a/c")
	r := e.mustRun(1, "sync")
	if !e.exists("b/c/x.ics") || !strings.Contains(r.stderr, "protected") {
		t.Fatalf("b/c not protected: %s", r)
	}
	e.remove("b/c/x.ics")
	e.mustRun(0, "sync")
	if e.exists("b/c") {
		t.Fatal("b/c not removed")
	}
	db, _ := status.OpenRead(e.path("status/p.status"))
	defer db.Close()
	if ms, _ := db.Mappings(); len(ms) != 0 {
		t.Fatalf("mappings left: %v", ms)
	}
}

func TestScenario30Properties(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.mustRun(0, "sync")
	e.write("a/c/color", "#ff0000")
	e.mustRun(0, "sync")
	if e.read("b/c/color") != "#ff0000" {
		t.Fatal("color not copied to b")
	}
	e.write("b/c/color", "#00ff00\n")
	e.mustRun(0, "sync")
	if e.read("a/c/color") != "#00ff00" {
		t.Fatal("color change on b not copied")
	}
	e.remove("a/c/color")
	e.mustRun(0, "sync")
	if e.exists("b/c/color") {
		t.Fatal("color not deleted on b")
	}
	e2 := newEnv(t)
	e2.write("a/c/x.ics", event("x", "X"))
	e2.write("a/c/displayname", "One")
	e2.write("b/c/displayname", "Two")
	r := e2.mustRun(3, "sync")
	if !strings.Contains(r.stdout, "conflict") {
		t.Errorf("no conflict in summary: %s", r)
	}
}

func TestScenario31ReadOnlyB(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("", "read_only", "collections all")
	y := event("y", "Y")
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", y)
	e.write("b/c/y.ics", y)
	bBefore := e.snapshot()
	plan := e.mustRun(0, "sync", "-n")
	if !strings.Contains(plan.stdout, "skip (read-only b) create on b x") {
		t.Errorf("plan: %s", plan.stdout)
	}
	e.mustRun(0, "sync")
	e.assertUnchanged(bBefore)
	yb := event("y", "edited on b")
	e.write("b/c/y.ics", yb)
	e.mustRun(0, "sync")
	if e.read("a/c/y.ics") != yb {
		t.Fatal("a did not get b's y")
	}
}

func TestScenario32ReadOnlyBDeletionOnA(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("", "readonly", "collections all")
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", event("y", "Y"))
	e.write("b/c/x.ics", event("x", "X"))
	e.write("b/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	e.remove("a/c/x.ics")
	for range 2 {
		before := e.snapshot()
		e.mustRun(0, "sync")
		e.assertUnchanged(before)
		if e.exists("a/c/x.ics") {
			t.Fatal("x came back on a")
		}
	}
}

func TestScenario33BothReadOnly(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("read_only", "read_only", "collections all")
	r := e.mustRun(1, "sync")
	if !strings.Contains(r.stderr, "both storages are read-only") {
		t.Fatal(r)
	}
}

func TestScenario34OneWay(t *testing.T) {
	e := newEnv(t, "collections all", "one_way")
	x, y := event("x", "X"), event("y", "Y")
	e.write("a/c/y.ics", y)
	e.mustRun(0, "sync") // status with y
	e.write("a/c/x.ics", x)
	e.write("b/c/y.ics", event("y", "edited on b"))
	e.write("b/c/z.ics", event("z", "Z"))
	aBefore := map[string]string{}
	for k, v := range e.snapshot() {
		if strings.HasPrefix(k, "a/") {
			aBefore[k] = v
		}
	}
	e.mustRun(0, "sync")
	if got := strings.Join(e.files("b"), ","); got != "c/x.ics,c/y.ics" {
		t.Fatalf("b = %s", got)
	}
	if e.read("b/c/y.ics") != y {
		t.Fatal("y not reverted on b")
	}
	after := e.snapshot()
	for k, v := range aBefore {
		if after[k] != v {
			t.Fatalf("%s changed", k)
		}
	}
}

func TestScenario35OneWayProtectsFirstRun(t *testing.T) {
	e := newEnv(t, "collections all", "one_way")
	if err := os.MkdirAll(e.path("a/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("b/c/z.ics", event("z", "Z"))
	before := e.snapshot()
	e.mustRun(1, "sync")
	e.assertUnchanged(before)
	e.writeConfig("", "", "collections all", "one_way", "on_empty sync")
	e.mustRun(0, "sync")
	if len(e.files("b")) != 0 {
		t.Fatal("b not emptied")
	}
}

func TestScenario37PartialFailure(t *testing.T) {
	e := newEnv(t)
	e.unprivileged() // as root, permission bits would not stop the write
	e.write("a/c/0.ics", event("0", "zero"))
	e.write("b/c/1.ics", event("1", "one"))
	if err := os.Chmod(e.path("b/c"), 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(e.path("b/c"), 0o755)
	r := e.mustRun(1, "sync")
	if strings.Count(r.stderr, "error:") != 1 || !strings.Contains(r.stderr, `create of c/0.ics (UID "0") on b (storage b)`) {
		t.Fatalf("want exactly one error:\n%s", r.stderr)
	}
	if !e.exists("a/c/1.ics") {
		t.Fatal("a did not get 1")
	}
	for _, row := range e.statusRows() {
		if row.Ident == "0" {
			t.Fatal("status has 0")
		}
	}
	os.Chmod(e.path("b/c"), 0o755)
	e.mustRun(0, "sync")
	if !e.exists("b/c/0.ics") {
		t.Fatal("b did not get 0")
	}
}

func TestScenario40StatusLost(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"x", "y"} {
		e.write("a/c/"+u+".ics", event(u, u))
	}
	e.mustRun(0, "sync")
	os.Remove(e.path("status/p.status"))
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
	if n := len(e.statusRows()); n != 2 {
		t.Fatalf("status rebuilt with %d rows", n)
	}
}

func TestScenario43DryRun(t *testing.T) {
	e := newEnv(t, "collections from a")
	e.write("a/c/x.ics", event("x", "X"))
	before := e.snapshot()
	r := e.mustRun(0, "sync", "-n")
	e.assertUnchanged(before)
	for _, want := range []string{"pair p", "collection c (a: c, b: c): create on b", "create on b", `"X"`, "from a: c/x.ics"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if e.exists("status") {
		t.Fatal("dry run created the status directory")
	}
	e.mustRun(0, "sync")
	e.write("a/c/y.ics", event("y", "Y"))
	st := e.statusBytes()
	listing := func() string {
		var names []string
		filepath.WalkDir(e.path("status"), func(p string, d os.DirEntry, err error) error {
			names = append(names, p)
			return nil
		})
		return strings.Join(names, "\n")
	}
	files := listing()
	e.mustRun(0, "sync", "-n")
	if e.statusBytes() != st {
		t.Fatal("dry run changed the status")
	}
	if after := listing(); after != files {
		t.Fatalf("dry run changed the status directory:\nbefore\n%s\nafter\n%s", files, after)
	}
}

func TestScenario45CLIErrors(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun(1, "sync", "nosuchpair")
	if !strings.Contains(r.stderr, "nosuchpair") {
		t.Errorf("stderr: %s", r.stderr)
	}
	r = e.mustRun(100, "frobnicate")
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) || !strings.Contains(r.stderr, "pimsync --help") {
		t.Errorf("want one line naming the command and the help, got stderr: %s", r.stderr)
	}
	e.write("bad.conf", "status_path /tmp\nfrobnicate yes\n")
	r = e.runWith(nil, "", "-c", e.path("bad.conf"), "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "bad.conf:2:") {
		t.Errorf("bad config: %s", r)
	}
}

func TestItemBytesPreservedExactly(t *testing.T) {
	e := newEnv(t)
	folded := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:fold\r\nSUMMARY:a very long line that is folded at an odd place and conti\r\n nues here with ünïcödé\r\nDESCRIPTION:tab-folded\r\n\tcontinuation\r\nX-EMPTY:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	noFinal := strings.TrimSuffix(event("nofinal", "N"), "\r\n")
	e.write("a/c/fold.ics", folded)
	e.write("a/c/nofinal.ics", noFinal)
	e.mustRun(0, "sync")
	if e.read("b/c/fold.ics") != folded {
		t.Fatalf("fold.ics differs: %q", e.read("b/c/fold.ics"))
	}
	if e.read("b/c/nofinal.ics") != noFinal {
		t.Fatal("nofinal.ics differs")
	}
	info, err := os.Stat(e.path("b/c/fold.ics"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", info.Mode(), err)
	}
}

// TestProgressOnATerminal: on a terminal, a long sync draws a progress line on
// stderr; without one, stderr stays clean (TestScenario03Idempotence and others).
func TestProgressOnATerminal(t *testing.T) {
	e := newEnv(t)
	for i := range 200 {
		e.write(fmt.Sprintf("a/c/%d.ics", i), event(fmt.Sprint(i), "item"))
	}
	// script(1) gives the binary a terminal.
	cmd := exec.Command("script", "-qec", binPath+" -c "+e.cfg+" sync", "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+e.home, "TERM=xterm-256color", raceNoSleep)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\rp/c: 200/200") {
		t.Fatalf("no progress line:\n%q", out)
	}
	if strings.Contains(string(out), "\x1b") {
		t.Fatalf("the progress line uses escape sequences:\n%q", out)
	}
	if !strings.Contains(string(out), "p/c: a +0 ~0 -0, b +200 ~0 -0") {
		t.Fatalf("no summary:\n%q", out)
	}
}
