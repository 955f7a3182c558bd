package tui

import (
	"strings"
	"testing"
)

// Full flows through the real program (teatest) at 80×24 with the ASCII colour
// profile; screens are compared with golden files in testdata/ (update: go test
// ./tui -run Flow -update).

func TestFlowOverviewAfterDiscovery(t *testing.T) {
	f := newFixture(t, fixtureOpts{broken: true})
	s := start(t, f.options())
	view := s.waitText("cal", "contacts", "broken", "in sync")
	checkScreen(t, view, 80, 24)
	golden(t, "", view)

	// The discovery error of the broken pair is shown in place, not as a failure of
	// the screen; the other pairs are fully there.
	for _, want := range []string{
		"b (broken_b): error:", // per-storage error in place
		"401 Unauthorized",
		"work", "Work ↔ Work", "a 3 · b 4", // display names and item counts
		"2 changes · 1 conflict", // pending, from the read-only plan
		"synced 2 h ago",         // the last sync from the status dir
		"home", "a 1 · b 1", "friends", "a 2 · b 1",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// Selecting the broken pair shows the whole error in the details.
	s.keys("G")
	view = s.waitText("storage broken_b (side b):")
	if !strings.Contains(view, "check username and password") {
		t.Errorf("details do not show the whole error:\n%s", view)
	}
}

func TestFlowSyncAllToCompletion(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	s.keys("S")
	view := s.waitText("Sync of everything finished")
	checkScreen(t, view, 80, 24)
	golden(t, "", view)
	for _, want := range []string{
		"work     [##############] 2/2",
		"a +1 ~1 -0, b +0 ~0 -0  done · 1 conflict",
		"friends  [##############] 1/1",
		"a +1 ~1 -0, b +1 ~0 -0 · 1 conflict · 0 errors",
		"c: resolve the conflicts",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("sync page lacks %q", want)
		}
	}
	// The files are on disk, and the overview is refreshed from a new plan.
	if got := f.read(f.find("a/cal/work", "offsite")); !strings.Contains(got, "SUMMARY:Team offsite") {
		t.Errorf("offsite not created on a: %q", got)
	}
	if got := f.read(f.find("a/cal/work", "standup")); !strings.Contains(got, "SUMMARY:Standup (moved)") {
		t.Errorf("standup not updated on a: %q", got)
	}
	f.find("b/contacts/friends", "bob")
	s.keys("esc")
	view = s.waitText("1 conflict", "last sync 2 h ago: a +1 ~1 -0, b +0 ~0 -0 · 1 conflict left")
	if strings.Contains(view, "changes") {
		t.Errorf("changes left after the sync:\n%s", view)
	}
}

func TestFlowPlanPreview(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	// cal, home, work: preview the plan of cal/work.
	s.keys("j", "j", "p")
	view := s.waitText("Plan for cal/work", "Apply this plan?")
	checkScreen(t, view, 80, 24)
	golden(t, "", view)
	for _, want := range []string{
		"a +1 ~1 -0, b +0 ~0 -0 · 1 conflict",
		`update on a  standup`, `"Standup (moved)"`,
		`create on a  offsite`, `"Team offsite"`,
		`conflict     dentist`, "differs in DTSTART, SUMMARY, DESCRIPTION, LOCATION",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	// Nothing was written by the preview.
	if strings.Contains(f.read(f.find("a/cal/work", "standup")), "moved") {
		t.Fatal("the preview wrote to a")
	}
	// Confirm: only cal/work is synced.
	s.keys("y")
	view = s.waitText("Sync of cal/work finished")
	if strings.Contains(view, "friends") || strings.Contains(view, "home") {
		t.Errorf("the sync went beyond cal/work:\n%s", view)
	}
	if !strings.Contains(f.read(f.find("a/cal/work", "standup")), "SUMMARY:Standup (moved)") {
		t.Error("standup not updated on a")
	}
	if f.has("b/contacts/friends", "bob") {
		t.Error("contacts were synced too")
	}
}

func TestFlowConflictKeepA(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	s.keys("c")
	s.waitText("Conflicts (1)", "dentist")
	s.keys("enter")
	view := s.waitText("Conflict 1/1", "b: cal_b")
	checkScreen(t, view, 80, 24)
	golden(t, "viewer", view)
	for _, want := range []string{
		">! DTSTART     ✓ 2025-01-08 Wed 16:00", "≠   2025-01-08 Wed 10:00", // the cursor on the first choice, a's value taken
		" ! SUMMARY     ✓ Dentist", "Dentist (bring X-rays)",
		"   UID           dentist",   // equal properties are shown unmarked
		"a▸ DTSTART:20250108T160000", // the preview of the result
	} {
		if !strings.Contains(view, want) {
			t.Errorf("viewer lacks %q", want)
		}
	}
	// The raw text toggle shows the lines themselves.
	s.keys("r")
	raw := s.waitText("r: properties", "SUMMARY:Dentist (bring X-rays)", "BEGIN:VEVENT")
	checkScreen(t, raw, 80, 24)
	s.keys("r")
	s.waitText("r: raw text", "! SUMMARY")

	wantA := f.read(f.find("a/cal/work", "dentist"))
	s.keys("a")
	// The only conflict: the list with the summary and the undo on offer.
	view = s.waitText("Resolved dentist: kept a; uploaded to b. u: undo", "Done: 1 resolved, 0 skipped.")
	checkScreen(t, view, 80, 24)
	golden(t, "resolved", view)
	// On disk: b now holds exactly a's version; a is untouched.
	if got := f.read(f.find("b/cal/work", "dentist")); got != wantA {
		t.Errorf("b after keep a:\n%q\nwant\n%q", got, wantA)
	}
	if got := f.read(f.find("a/cal/work", "dentist")); got != wantA {
		t.Errorf("a changed: %q", got)
	}
	// The overview no longer counts the conflict (re-planned).
	s.keys("esc")
	view = s.waitText("overview", "2 changes")
	if strings.Contains(view, "1 conflict") {
		t.Errorf("conflict still pending:\n%s", view)
	}
}

func TestFlowExternalResolver(t *testing.T) {
	// The merge tool gets file A and file B; this one makes a third version (SUMMARY
	// "Merged") and writes it to both, as the protocol asks.
	script := `sed 's/^SUMMARY:.*/SUMMARY:Merged/' "$1" > "$1.new" && mv "$1.new" "$1" && cp "$1" "$2"`
	f := newFixture(t, fixtureOpts{resolver: []string{"sh", "-c", script, "merge"}})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	s.keys("c", "enter")
	s.waitText("Conflict 1/1", "b: cal_b")
	s.keys("e")
	view := s.waitText("Resolved dentist: merged; uploaded to a and b.")
	checkScreen(t, view, 80, 24)
	golden(t, "", view)
	for _, side := range []string{"a", "b"} {
		got := f.read(f.find(side+"/cal/work", "dentist"))
		if !strings.Contains(got, "SUMMARY:Merged\r\n") || !strings.Contains(got, "DTSTART:20250108T160000") {
			t.Errorf("%s after the merge tool: %q", side, got)
		}
	}
}

func TestFlowExternalResolverFailure(t *testing.T) {
	// A tool that leaves the files different: nothing is uploaded, the error is shown.
	f := newFixture(t, fixtureOpts{resolver: []string{"true"}})
	s := start(t, f.options())
	s.waitText("2 changes · 1 conflict")
	before := [2]string{f.read(f.find("a/cal/work", "dentist")), f.read(f.find("b/cal/work", "dentist"))}
	s.keys("c", "enter")
	s.waitText("Conflict 1/1", "b: cal_b")
	s.keys("e")
	s.waitText("Not resolved, nothing was uploaded", "the two files", "differ after the merge tool ran")
	after := [2]string{f.read(f.find("a/cal/work", "dentist")), f.read(f.find("b/cal/work", "dentist"))}
	if before != after {
		t.Error("a failed merge wrote something")
	}
	// Still pending: it can be resolved another way.
	s.keys("b")
	s.waitText("Resolved dentist: kept b; uploaded to a.")
	if got := f.read(f.find("a/cal/work", "dentist")); got != before[1] {
		t.Errorf("a after keep b: %q", got)
	}
}
