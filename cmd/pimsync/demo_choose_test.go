package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// `pimsync demo` in a real terminal: the dentist conflict is finished property by
// property — the local time and description, the server's summary and location — and
// the file on disk holds exactly that; u puts the local version back; the choice made
// again is there after the overview is planned anew, in sync.
func TestDemoChoosePerPropertyInTmux(t *testing.T) {
	env, outside := emptyDirs(t)
	ws := filepath.Join(t.TempDir(), "workspace")
	s := startTmux(t, 100, 34, t.TempDir(), append(env, raceNoSleep), binPath, "demo", "--workspace", ws)
	s.wait("pimsync demo · overview", "2 changes · 1 conflict")
	work := filepath.Join(ws, "local", "calendars", "work")
	before := itemWithUID(t, work, "dentist@pimsync.demo")
	if !strings.Contains(before, "SUMMARY:Dentist\r\n") || !strings.Contains(before, "LOCATION:Dr. Weber, Main Street 5\r\n") {
		t.Fatalf("the local dentist is not the demo's local version:\n%s", before)
	}
	want := strings.NewReplacer("SUMMARY:Dentist\r\n", "SUMMARY:Dentist (bring X-rays)\r\n",
		"LOCATION:Dr. Weber, Main Street 5\r\n", "LOCATION:Dr. Weber, Market Square 1\r\n").Replace(before)

	s.key("c")
	s.wait("Conflicts (1)", "dentist@pimsync.demo")
	s.key("Enter")
	// The choices, in the order of the rows: DTSTART, DTEND, SUMMARY, LOCATION,
	// DESCRIPTION. The result starts as the local version.
	s.wait("Conflict 1/1", "a: local_calendars", "b: server_calendars", "result · 5 from a · 0 from b")
	choose := func() {
		s.key("Down")
		s.key("Down")
		s.key("Right") // SUMMARY: the server's
		s.key("Down")
		s.key("Right") // LOCATION: the server's
		screen := s.wait("result · 3 from a · 2 from b", "b▸ LOCATION:Dr. Weber, Market Square 1")
		for _, want := range []string{"b  SUMMARY:Dentist (bring X-rays)", "a  DESCRIPTION:Moved to the afternoon"} {
			if !strings.Contains(screen, want) {
				t.Errorf("the preview lacks %q:\n%s", want, screen)
			}
		}
		s.key("Enter")
		s.wait("Resolved dentist@pimsync.demo: your choices, 3 from a, 2 from b; uploaded to a and b.", "Done: 1 resolved")
	}
	choose()
	if got := itemWithUID(t, work, "dentist@pimsync.demo"); got != want {
		t.Fatalf("the local dentist after the choices:\n%q\nwant\n%q", got, want)
	}

	// u: the local version is back, and the conflict is open again.
	s.key("u")
	s.wait("Undone: dentist@pimsync.demo has both versions back", "Conflict 1/1", "result · 5 from a · 0 from b")
	if got := itemWithUID(t, work, "dentist@pimsync.demo"); got != before {
		t.Fatalf("the local dentist after undo:\n%q\nwant\n%q", got, before)
	}

	// The same choices again; then the overview, planned anew, has nothing pending for
	// the dentist: the server holds the same result.
	choose()
	if got := itemWithUID(t, work, "dentist@pimsync.demo"); got != want {
		t.Fatalf("the local dentist after choosing again:\n%q\nwant\n%q", got, want)
	}
	s.key("Escape")
	screen := s.wait("pimsync demo · overview", "2 changes", "Work ↔ Work", "pending: a +1 ~1 -0, b +0 ~0 -0")
	if strings.Contains(screen, "1 conflict") {
		t.Errorf("a conflict is still pending:\n%s", screen)
	}
	s.key("S")
	s.wait("Sync of everything finished", "0 conflicts · 0 errors")
	if got := itemWithUID(t, work, "dentist@pimsync.demo"); got != want {
		t.Errorf("the sync changed the chosen dentist:\n%q", got)
	}
	s.key("q")
	s.wait("[exit 0]")
	outside()
}
