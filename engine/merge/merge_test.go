package merge

import (
	"errors"
	"strings"
	"testing"
)

func lines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

// An event with a time zone, an alarm, an override, folded lines and quoted
// parameters: the shapes merges meet.
var baseEvent = lines(
	"BEGIN:VCALENDAR",
	"VERSION:2.0",
	"PRODID:-//base//EN",
	"BEGIN:VTIMEZONE",
	"TZID:Europe/Berlin",
	"BEGIN:STANDARD",
	"DTSTART:19701025T030000",
	"TZOFFSETFROM:+0200",
	"TZOFFSETTO:+0100",
	"END:STANDARD",
	"END:VTIMEZONE",
	"BEGIN:VEVENT",
	"UID:standup",
	"DTSTAMP:20240101T000000Z",
	"DTSTART;TZID=Europe/Berlin:20240108T090000",
	"DTEND;TZID=Europe/Berlin:20240108T091500",
	"RRULE:FREQ=WEEKLY;BYDAY=MO",
	"SUMMARY:Standup",
	"DESCRIPTION:A long description of the meeting that is folded over more th",
	" an one line by the client that wrote it",
	`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR:mailto:ann@example.org`,
	"ATTENDEE;CN=Bob:mailto:bob@example.org",
	"SEQUENCE:1",
	"BEGIN:VALARM",
	"ACTION:DISPLAY",
	"TRIGGER:-PT10M",
	"DESCRIPTION:Standup",
	"END:VALARM",
	"END:VEVENT",
	"BEGIN:VEVENT",
	"UID:standup",
	"RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000",
	"DTSTAMP:20240101T000000Z",
	"DTSTART;TZID=Europe/Berlin:20240115T100000",
	"DTEND;TZID=Europe/Berlin:20240115T101500",
	"SUMMARY:Standup (moved)",
	"END:VEVENT",
	"END:VCALENDAR",
)

func edit(text string, pairs ...string) string {
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			panic("edit: no " + pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	return text
}

func TestMergeDisjointChanges(t *testing.T) {
	cases := []struct {
		name    string
		a, b    string
		want    string
		base    string
		changed []string // lines the result must contain
	}{
		{
			name: "summary on a, location added on b",
			a:    edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:Daily standup\r\n"),
			b:    edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:Standup\r\nLOCATION:Room 2\r\n"),
			want: edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:Daily standup\r\nLOCATION:Room 2\r\n"),
		},
		{
			name: "alarm changed on a, override changed on b",
			a:    edit(baseEvent, "TRIGGER:-PT10M", "TRIGGER:-PT5M"),
			b:    edit(baseEvent, "SUMMARY:Standup (moved)", "SUMMARY:Standup (moved again)"),
			want: edit(baseEvent, "TRIGGER:-PT10M", "TRIGGER:-PT5M", "SUMMARY:Standup (moved)", "SUMMARY:Standup (moved again)"),
		},
		{
			name: "attendee added on a, the other removed on b, folding and quoting kept",
			a:    edit(baseEvent, "SEQUENCE:1\r\n", "ATTENDEE:mailto:cy@example.org\r\nSEQUENCE:1\r\n"),
			b:    edit(baseEvent, "ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", ""),
			want: edit(baseEvent, "ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", "ATTENDEE:mailto:cy@example.org\r\n"),
		},
		{
			name: "both bump DTSTAMP and SEQUENCE, edit different properties",
			a:    edit(baseEvent, "DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "DTSTAMP:20240301T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T093000", "SEQUENCE:1", "SEQUENCE:2"),
			b:    edit(baseEvent, "DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "DTSTAMP:20240401T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "RRULE:FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "SEQUENCE:1", "SEQUENCE:3"),
			want: edit(baseEvent, "DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "DTSTAMP:20240401T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T093000", "RRULE:FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "SEQUENCE:1", "SEQUENCE:3"),
		},
		{
			name: "a new override on b, the description refolded on a (same content)",
			a:    edit(baseEvent, "more th\r\n an one", "more than\r\n  one"),
			b:    edit(baseEvent, "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:standup\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240122T090000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR"),
			want: edit(baseEvent, "more th\r\n an one", "more than\r\n  one", "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:standup\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240122T090000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR"),
		},
		{
			name: "the alarm removed on b, untouched on a",
			a:    edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:Team standup\r\n"),
			b:    edit(baseEvent, "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Standup\r\nEND:VALARM\r\n", ""),
			want: edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:Team standup\r\n", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Standup\r\nEND:VALARM\r\n", ""),
		},
	}
	for _, c := range cases {
		got, err := Merge(baseEvent, c.a, c.b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", c.name, got, c.want)
		}
		// The merge is symmetric in content.
		if rev, err := Merge(baseEvent, c.b, c.a); err != nil {
			t.Errorf("%s reversed: %v", c.name, err)
		} else if root, _ := parse(rev); !same(root, mustParse(t, got)) {
			t.Errorf("%s reversed differs:\n%s", c.name, rev)
		}
	}
}

func mustParse(t *testing.T, text string) *comp {
	t.Helper()
	root, ok := parse(text)
	if !ok {
		t.Fatalf("cannot parse:\n%s", text)
	}
	return root
}

func TestMergeConflicts(t *testing.T) {
	cases := []struct {
		name, a, b string
		field      string
	}{
		{"same property", edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:A\r\n"), edit(baseEvent, "SUMMARY:Standup\r\n", "SUMMARY:B\r\n"), "VEVENT/SUMMARY"},
		{"same attendee, different parameters",
			edit(baseEvent, "ATTENDEE;CN=Bob:mailto:bob@example.org", "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.org"),
			edit(baseEvent, "ATTENDEE;CN=Bob:mailto:bob@example.org", "ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT:mailto:bob@example.org"), "VEVENT/ATTENDEE"},
		{"alarm changed on a, removed on b",
			edit(baseEvent, "TRIGGER:-PT10M", "TRIGGER:-PT5M"),
			edit(baseEvent, "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Standup\r\nEND:VALARM\r\n", ""), "VALARM"},
		{"an alarm added on each side",
			edit(baseEvent, "END:VALARM\r\n", "END:VALARM\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT1M\r\nEND:VALARM\r\n"),
			edit(baseEvent, "END:VALARM\r\n", "END:VALARM\r\nBEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\n"), "VALARM"},
	}
	for _, c := range cases {
		_, err := Merge(baseEvent, c.a, c.b)
		var ce *ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
			t.Errorf("%s: err = %v, want a conflict", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v does not name %s", c.name, err, c.field)
		}
	}
}

var baseCard = lines(
	"BEGIN:VCARD",
	"VERSION:3.0",
	"UID:ann",
	"FN:Ann Example",
	"N:Example;Ann;;;",
	"item1.EMAIL;TYPE=INTERNET:ann@example.org",
	"item1.X-ABLabel:_$!<Work>!$_",
	"TEL;TYPE=CELL:+49 170 1234567",
	"NOTE:Likes tea\\, not coffee\\; really",
	"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhI",
	" QDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQU",
	"REV:20240101T000000Z",
	"END:VCARD",
)

func TestMergeCards(t *testing.T) {
	a := edit(baseCard, "TEL;TYPE=CELL:+49 170 1234567\r\n", "TEL;TYPE=CELL:+49 170 1234567\r\nTEL;TYPE=HOME:+49 30 123\r\n", "REV:20240101T000000Z", "REV:20240201T000000Z")
	b := edit(baseCard, "NOTE:Likes tea\\, not coffee\\; really", "NOTE:Likes tea\\, and coffee", "REV:20240101T000000Z", "REV:20240301T000000Z")
	want := edit(baseCard, "TEL;TYPE=CELL:+49 170 1234567\r\n", "TEL;TYPE=CELL:+49 170 1234567\r\nTEL;TYPE=HOME:+49 30 123\r\n",
		"NOTE:Likes tea\\, not coffee\\; really", "NOTE:Likes tea\\, and coffee", "REV:20240101T000000Z", "REV:20240301T000000Z")
	got, err := Merge(baseCard, a, b)
	if err != nil || got != want {
		t.Fatalf("merge = %v\n%s\nwant\n%s", err, got, want)
	}
	// The grouped email changed on both sides: a conflict on that group's property.
	a = edit(baseCard, "ann@example.org", "ann@work.example")
	b = edit(baseCard, "ann@example.org", "ann@home.example")
	if _, err := Merge(baseCard, a, b); err == nil || !strings.Contains(err.Error(), "ITEM1.EMAIL") {
		t.Fatalf("grouped email changed on both: %v", err)
	}
}

func TestMergeIdentical(t *testing.T) {
	for _, text := range []string{baseEvent, baseCard} {
		got, err := Merge(text, text, text)
		if err != nil || got != text {
			t.Fatalf("merging three equal versions: %v\n%s", err, got)
		}
	}
}

func TestCopy(t *testing.T) {
	got := Copy(baseEvent, "standup-copy")
	want := strings.ReplaceAll(baseEvent, "UID:standup\r\n", "UID:standup-copy\r\n")
	want = strings.Replace(want, "SUMMARY:Standup\r\n", "SUMMARY:Standup (conflict copy)\r\n", 1)
	want = strings.Replace(want, "SUMMARY:Standup (moved)\r\n", "SUMMARY:Standup (moved) (conflict copy)\r\n", 1)
	if got != want {
		t.Fatalf("copy:\n%s\nwant\n%s", got, want)
	}
	card := Copy(baseCard, "ann-2")
	if !strings.Contains(card, "UID:ann-2\r\nFN:Ann Example (conflict copy)\r\n") || strings.Contains(card, "UID:ann\r\n") {
		t.Fatalf("card copy:\n%s", card)
	}
}
