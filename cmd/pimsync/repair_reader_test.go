package main

// repair as issue 13 and issue 9 (item 10) want it: only the added lines change, a file
// of independent components is split instead of getting one UID for all, and nothing
// suggests or attempts a repair of a read-only storage.

import (
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
)

// TestRepairKeepsLineEnds: repairing an LF-only and a CR-only file adds the UID line
// with the file's own line break and changes no other byte.
func TestRepairKeepsLineEnds(t *testing.T) {
	e := newEnv(t)
	lfText := strings.ReplaceAll(event("", "LF only"), "\r\n", "\n")
	crText := storage.BOM + strings.ReplaceAll(event("", "CR only"), "\r\n", "\r")
	e.write("a/c/lf.ics", lfText)
	e.write("a/c/cr.ics", crText)
	r := e.mustRun(0, "repair", "a")
	for file, text := range map[string]string{"lf.ics": lfText, "cr.ics": crText} {
		br := "\n"
		if file == "cr.ics" {
			br = "\r"
		}
		uid := storage.MustItem(text).Hash()
		want := strings.Replace(text, "BEGIN:VEVENT"+br, "BEGIN:VEVENT"+br+"UID:"+uid+br, 1)
		if got := e.read("a/c/" + file); got != want {
			t.Errorf("%s:\n%q\nwant\n%q", file, got, want)
		}
		if !strings.Contains(r.stdout, "a: c/"+file+": added UID "+uid) {
			t.Errorf("stdout lacks %s: %s", file, r.stdout)
		}
	}
}

// TestRepairSplitsIndependentEvents: a calendar file with three independent events and
// no UID (an imported holiday list) becomes three items with their own UIDs; the next
// sync replaces the other side's copy of the old file with the three events.
func TestRepairSplitsIndependentEvents(t *testing.T) {
	e := newEnv(t)
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"}
	for _, s := range []string{"New Year", "Easter", "Christmas"} {
		lines = append(lines, "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20240101", "SUMMARY:"+s, "END:VEVENT")
	}
	text := strings.Join(append(lines, "END:VCALENDAR"), "\n") + "\n"
	e.write("a/c/holidays.ics", text)
	e.mustRun(0, "sync")
	if len(e.files("b/c")) != 1 {
		t.Fatalf("b: %v", e.files("b"))
	}
	parts, err := engine.PlanRepair(text, storage.Calendars, storage.MustItem(text).Hash())
	if err != nil || len(parts) != 3 {
		t.Fatal(parts, err)
	}

	before := e.snapshot()
	r := e.mustRun(0, "repair", "-n", "a")
	e.assertUnchanged(before)
	if !strings.Contains(r.stdout, "a: c/holidays.ics: would split into 3 items, one per component, with UIDs "+parts[0].UID+", "+parts[1].UID+", "+parts[2].UID) {
		t.Fatalf("repair -n: %s", r)
	}
	r = e.mustRun(0, "repair", "a")
	if !strings.Contains(r.stdout, "a: c/holidays.ics: split into 3 items") || e.exists("a/c/holidays.ics") {
		t.Fatalf("repair: %s; a = %v", r, e.files("a"))
	}
	for _, p := range parts {
		if got := e.read("a/c/" + p.UID + ".ics"); got != p.Text || !strings.Contains(got, "\nUID:"+p.UID+"\n") {
			t.Fatalf("a/c/%s.ics = %q", p.UID, got)
		}
	}
	e.mustRun(0, "sync")
	if got := e.files("b/c"); len(got) != 3 {
		t.Fatalf("b after the sync: %v", got)
	}
	for _, p := range parts {
		if !e.holdsUID("b/c", p.UID) {
			t.Fatalf("b lacks %s", p.UID)
		}
	}
	before = e.snapshot()
	if r := e.mustRun(0, "sync"); r.stdout != "" {
		t.Errorf("the sync after was not a no-op: %s", r)
	}
	e.assertUnchanged(before)
	if r := e.mustRun(0, "repair", "a"); !strings.Contains(r.stdout, "a: nothing to repair") {
		t.Errorf("second repair: %s", r)
	}
}

// TestRepairRefusesAmbiguousItems: several events and overrides without UID cannot be
// told apart; repair says so, changes nothing and exits 1.
func TestRepairRefusesAmbiguousItems(t *testing.T) {
	e := newEnv(t)
	text := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:b\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nRECURRENCE-ID:20240101T100000Z\r\nSUMMARY:b moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	e.write("a/c/mixed.ics", text)
	r := e.mustRun(1, "repair", "a")
	if !strings.Contains(r.stderr, "error: a: c/mixed.ics: cannot be repaired: it holds 2 independent components and 1 overrides (RECURRENCE-ID) without UID") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if e.read("a/c/mixed.ics") != text || len(e.files("a")) != 1 {
		t.Error("the item was touched")
	}
}

// TestWebcalItemWithoutUIDNeverSuggestsRepair: the notice for a UID-less item of a
// feed does not suggest `pimsync repair feed`, and that repair fails at once, with -n
// too, instead of claiming it "would add UID".
func TestWebcalItemWithoutUIDNeverSuggestsRepair(t *testing.T) {
	w := newWebcalServer(t)
	w.mu.Lock()
	w.body = icsLines(feedHeader, feedHoliday, []string{"BEGIN:VEVENT", "DTSTART;VALUE=DATE:20241225", "SUMMARY:No UID", "END:VEVENT"}, []string{"END:VCALENDAR"})
	w.mu.Unlock()
	e := newEnv(t)
	e.writeWebcalConfig(w.URL)
	r := e.mustRun(0, "sync")
	if !strings.Contains(r.stderr, "has no UID; it is synced by its content hash. Storage feed is read-only, so no UID can be added there") ||
		strings.Contains(r.stderr, "repair") {
		t.Errorf("notice: %s", r.stderr)
	}
	for _, args := range [][]string{{"repair", "-n", "feed"}, {"repair", "feed"}} {
		r := e.mustRun(1, args...)
		if !strings.Contains(r.stderr, "error: storage feed: the storage is read-only (a webcal feed, or read_only in its configuration): repair cannot write to it") ||
			strings.Contains(r.stdout, "would add") {
			t.Errorf("%v: %s", args, r)
		}
	}
}
