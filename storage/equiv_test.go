package storage

import (
	"strings"
	"testing"
)

func TestFingerprintIgnoresServerRewrites(t *testing.T) {
	orig := strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//us//EN",
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:x", "DTSTAMP:20240101T000000Z",
		`ATTENDEE;CN="Bob";ROLE=REQ-PARTICIPANT:mailto:bob@example.com`,
		"DESCRIPTION:a long description that a server may well fold somewhere in the middle of it",
		"SUMMARY:Lunch", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	rewritten := strings.Join([]string{
		"BEGIN:VCALENDAR", "PRODID:-//server//EN", "VERSION:2.0",
		"BEGIN:VEVENT", "SUMMARY:Lunch", "UID:x", "DTSTAMP:20991231T000000Z",
		"attendee;role=REQ-PARTICIPANT;cn=Bob:mailto:bob@example.com",
		"DESCRIPTION:a long description that a server may well fold somewhere in",
		"  the middle of it",
		"END:VEVENT",
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "END:VTIMEZONE",
		"END:VCALENDAR", ""}, "\n")
	if !Equivalent(orig, rewritten) {
		t.Fatalf("a re-serialised copy is not equivalent:\n%s\n%s", orig, rewritten)
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c\r\nFN:Ann\r\nEMAIL;TYPE=home:a@x\r\nEND:VCARD\r\n"
	withRev := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c\r\nFN:Ann\r\nEMAIL;TYPE=HOME:a@x\r\nREV:20240101T000000Z\r\nEND:VCARD\r\n"
	if !Equivalent(card, withRev) {
		t.Fatal("a card with a server-added REV is not equivalent")
	}
	twice := "BEGIN:VCARD\r\nUID:c\r\nTEL;TYPE=home;TYPE=voice:1\r\nNOTE:a\\Nb\r\nEND:VCARD\r\n"
	joined := "BEGIN:VCARD\r\nUID:c\r\nTEL;TYPE=VOICE,HOME:1\r\nNOTE:a\\nb\r\nEND:VCARD\r\n"
	if !Equivalent(twice, joined) {
		t.Fatal("TYPE given twice, or \\N for \\n, is not equivalent")
	}
}

func TestFingerprintSeesRealChanges(t *testing.T) {
	base := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c\r\nFN:Ann\r\nEMAIL;TYPE=home:a@x\r\nEND:VCARD\r\n"
	for _, changed := range []string{
		strings.Replace(base, "FN:Ann", "FN:Anne", 1),
		strings.Replace(base, "TYPE=home", "TYPE=work", 1),
		strings.Replace(base, "EMAIL;TYPE=home:a@x\r\n", "", 1),
		strings.Replace(base, "END:VCARD", "NOTE:new\r\nEND:VCARD", 1),
		strings.Replace(base, "FN:Ann", "FN:Ann\r\nFN:Ann", 1),
	} {
		if Equivalent(base, changed) {
			t.Errorf("a real change is equivalent:\n%s", changed)
		}
	}
	// The same lines in another component are a change.
	a := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nSUMMARY:s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	b := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nACTION:DISPLAY\r\nBEGIN:VALARM\r\nSUMMARY:s\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if Equivalent(a, b) {
		t.Error("moving a property into a sub-component is not a change")
	}
}
