package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
)

// Flows of the conflict viewer (issue 11): a choice per property with the preview,
// the upload, the move to the next conflict, the undo; keep both and the summary.
// Screens at 80×24 against golden files; the files on disk are checked after each
// choice.

func init() {
	// Values are rendered in local time: the same for everyone who runs the tests.
	time.Local = time.UTC
}

// twoConflicts is the fixture with a second conflict: standup edited on a too (b
// moved it).
func twoConflicts(t *testing.T) *fixture {
	f := newFixture(t, fixtureOpts{})
	f.replace("a/cal/work", "standup", event("standup", "Standup (a)", "20250106T090000", "LOCATION:Room 1"))
	return f
}

func TestFlowChoosePerProperty(t *testing.T) {
	f := twoConflicts(t)
	beforeA, beforeB := f.read(f.find("a/cal/work", "dentist")), f.read(f.find("b/cal/work", "dentist"))
	s := start(t, f.options())
	s.waitText("1 change · 2 conflicts")
	s.keys("c")
	s.waitText("Conflicts (2)", "dentist", "standup")
	s.keys("enter")
	s.waitText("Conflict 1/2", "b: cal_b", "result · 4 from a · 0 from b")
	// DTSTART stays a's; SUMMARY and LOCATION take b's; DESCRIPTION stays a's.
	s.keys("down", "right", "down", "down", "right")
	view := s.waitText("result · 2 from a · 2 from b", "b▸ LOCATION:Market Square 1")
	checkScreen(t, view, 80, 24)
	golden(t, "choices", view)
	for _, want := range []string{
		" ! DTSTART     ✓ 2025-01-08 Wed 16:00          ≠   2025-01-08 Wed 10:00",
		" ! SUMMARY       Dentist                       ≠ ✓ Dentist (bring X-rays)",
		" ! DESCRIPTION ✓ moved to the afternoon        ≠   (absent)",
		">! LOCATION      (absent)                      ≠ ✓ Market Square 1",
		"b  SUMMARY:Dentist (bring X-rays)",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("viewer lacks %q", want)
		}
	}
	// Apply: both sides get the result; the viewer moves on to standup.
	s.keys("enter")
	view = s.waitText("Conflict 2/2", "standup", "Resolved dentist: your choices, 2 from a, 2 from b; uploaded to a and b. u: undo")
	checkScreen(t, view, 80, 24)
	golden(t, "next", view)
	want := strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:dentist",
		"DTSTAMP:20250101T000000Z", "DTSTART:20250108T160000", "SUMMARY:Dentist (bring X-rays)", "LOCATION:Market Square 1",
		"DESCRIPTION:moved to the afternoon", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	for _, side := range []string{"a", "b"} {
		if got := f.read(f.find(side+"/cal/work", "dentist")); got != want {
			t.Errorf("%s after the choices:\n%q\nwant\n%q", side, got, want)
		}
	}
	// u: both versions are back and dentist is shown again.
	s.keys("u")
	view = s.waitText("Undone: dentist has both versions back (2 writes reverted); choose again.", "Conflict 1/2", "result · 4 from a")
	checkScreen(t, view, 80, 24)
	golden(t, "undone", view)
	if got := f.read(f.find("a/cal/work", "dentist")); got != beforeA {
		t.Errorf("a after undo: %q", got)
	}
	if got := f.read(f.find("b/cal/work", "dentist")); got != beforeB {
		t.Errorf("b after undo: %q", got)
	}
	// The overview counts the conflict again.
	s.keys("esc", "esc")
	s.waitText("1 change · 2 conflicts")
}

func TestFlowKeepBothAndSummary(t *testing.T) {
	f := twoConflicts(t)
	versionA := f.read(f.find("a/cal/work", "dentist"))
	versionB := f.read(f.find("b/cal/work", "dentist"))
	copyUID := engine.CopyUID("dentist", storage.MustItem(versionB).Hash())
	s := start(t, f.options())
	s.waitText("1 change · 2 conflicts")
	s.keys("c", "enter")
	s.waitText("Conflict 1/2", "b: cal_b")
	s.keys("K")
	s.waitText("Conflict 2/2", "standup", "Resolved dentist: kept both (b's as a conflict copy); uploaded to b. u: undo")
	if got := f.read(f.find("b/cal/work", "dentist")); got != versionA {
		t.Errorf("b's dentist after keep both: %q", got)
	}
	cp := f.read(f.find("b/cal/work", copyUID))
	if want := strings.Replace(strings.Replace(versionB, "UID:dentist\r\n", "UID:"+copyUID+"\r\n", 1),
		"SUMMARY:Dentist (bring X-rays)\r\n", "SUMMARY:Dentist (bring X-rays) (conflict copy)\r\n", 1); cp != want {
		t.Errorf("the conflict copy:\n%q\nwant\n%q", cp, want)
	}
	// b keeps b's standup: the last conflict, so the summary.
	s.keys("b")
	view := s.waitText("Done: 2 resolved, 0 skipped.", "Resolved standup: kept b; uploaded to a. u: undo")
	checkScreen(t, view, 80, 24)
	golden(t, "summary", view)
	for _, want := range []string{
		`dentist  "Dentist"  resolved (kept both): uploaded to b`,
		`standup  "Standup (a)"  resolved (kept b): uploaded to a`,
	} {
		if !strings.Contains(view, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	// The next sync brings the copy to a.
	s.keys("esc")
	s.waitText("2 changes")
	s.keys("S")
	s.waitText("Sync of everything finished")
	if got := f.read(f.find("a/cal/work", copyUID)); got != cp {
		t.Errorf("the copy on a: %q", got)
	}
}
