package merge

import (
	"errors"
	"strings"
	"testing"
)

// part returns the part of the row with the given path ("VEVENT/VALARM") and name; it
// fails the test when there is none or the row has nothing to choose.
func part(t *testing.T, rows []Row, path, name string) string {
	t.Helper()
	for _, r := range rows {
		if strings.Join(r.Path, "/") == path && r.Name == name {
			if r.Part == "" {
				t.Fatalf("%s %s has nothing to choose: %+v", path, name, r)
			}
			return r.Part
		}
	}
	t.Fatalf("no row %s %s in %+v", path, name, rows)
	return ""
}

func mustAlign(t *testing.T, a, b string) []Row {
	t.Helper()
	rows, err := Align(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// The two sides of an event conflict with every shape: a changed the summary, the
// start, an attendee and the alarm; b changed the summary too, added a location,
// removed an attendee, refolded the description (same content), reordered an
// attendee's parameters (same content), changed the override and added another one.
var (
	eventA = edit(baseEvent,
		"DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "DTSTAMP:20240301T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T093000",
		"SUMMARY:Standup\r\n", "SUMMARY:Daily standup\r\n",
		"SEQUENCE:1", "ATTENDEE:mailto:cy@example.org\r\nSEQUENCE:2",
		"TRIGGER:-PT10M", "TRIGGER:-PT5M")
	eventB = edit(baseEvent,
		"DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000", "DTSTAMP:20240401T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000",
		"SUMMARY:Standup\r\n", "SUMMARY:Team standup\r\nLOCATION:Room 2\r\n",
		"more th\r\n an one", "more than\r\n  one",
		`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR:mailto:ann@example.org`, `ATTENDEE;ROLE=CHAIR;CN="Ann, the lead":mailto:ann@example.org`,
		"ATTENDEE;CN=Bob:mailto:bob@example.org\r\n", "",
		"SUMMARY:Standup (moved)", "SUMMARY:Standup (moved, room 3)",
		"END:VCALENDAR", "BEGIN:VEVENT\r\nUID:standup\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240122T090000\r\nDTSTAMP:20240401T000000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR")
)

func TestAlignEvent(t *testing.T) {
	rows := mustAlign(t, eventA, eventB)
	type want struct {
		path, name string
		chosen     bool // has a part
		only       Origin
		multi      bool
		auto       bool
		same       bool
	}
	for _, w := range []want{
		{path: "", name: "VERSION", same: true},
		{path: "VTIMEZONE Europe/Berlin", name: "TZID", same: true},
		{path: "VTIMEZONE Europe/Berlin/STANDARD", name: "TZOFFSETTO", same: true},
		{path: "VEVENT", name: "UID", same: true},
		{path: "VEVENT", name: "DTSTAMP", auto: true},
		{path: "VEVENT", name: "SEQUENCE", auto: true},
		{path: "VEVENT", name: "DTSTART", chosen: true},
		{path: "VEVENT", name: "SUMMARY", chosen: true},
		{path: "VEVENT", name: "LOCATION", chosen: true},
		{path: "VEVENT", name: "DESCRIPTION", same: true}, // refolded only
		{path: "VEVENT", name: "ATTENDEE", chosen: true, multi: true},
		{path: "VEVENT/VALARM", name: "TRIGGER", chosen: true},
		{path: "VEVENT/VALARM", name: "ACTION", same: true},
		{path: "VEVENT 20240115T090000", name: "SUMMARY", chosen: true},
		{path: "VEVENT 20240122T090000", name: "STATUS", chosen: true, only: FromB},
		{path: "VEVENT 20240122T090000", name: "DTSTAMP", chosen: true, only: FromB},
	} {
		found := false
		for _, r := range rows {
			if strings.Join(r.Path, "/") != w.path || r.Name != w.name {
				continue
			}
			found = true
			if (r.Part != "") != w.chosen || r.Only != w.only || r.Multi != w.multi || r.Auto != w.auto || r.Same != w.same {
				t.Errorf("%s %s: %+v, want %+v", w.path, w.name, r, w)
			}
		}
		if !found {
			t.Errorf("no row %s %s", w.path, w.name)
		}
	}
	// The stamps and SEQUENCE name the side Compose takes.
	for _, r := range rows {
		switch {
		case strings.Join(r.Path, "/") == "VEVENT" && r.Name == "DTSTAMP" && r.Winner != PickB:
			t.Errorf("DTSTAMP: b's is later, not %v", r.Winner)
		case strings.Join(r.Path, "/") == "VEVENT" && r.Name == "SEQUENCE" && r.Winner != PickA:
			t.Errorf("SEQUENCE: a's is higher, not %v", r.Winner)
		}
	}
	// Every row of the new override is one part: the component as a whole.
	p := part(t, rows, "VEVENT 20240122T090000", "STATUS")
	if q := part(t, rows, "VEVENT 20240122T090000", "UID"); q != p {
		t.Errorf("the rows of a one-sided component have different parts: %q %q", p, q)
	}
	// The unfolded lines of each side, in document order.
	for _, r := range rows {
		if strings.Join(r.Path, "/") == "VEVENT" && r.Name == "ATTENDEE" {
			if len(r.A) != 3 || r.A[2] != "ATTENDEE:mailto:cy@example.org" || len(r.B) != 1 {
				t.Errorf("ATTENDEE row: %q | %q", r.A, r.B)
			}
		}
		if strings.Join(r.Path, "/") == "VEVENT" && r.Name == "DESCRIPTION" && !strings.HasSuffix(r.B[0], "more than one line by the client that wrote it") {
			t.Errorf("DESCRIPTION not unfolded: %q", r.B)
		}
	}
}

func TestComposeEvent(t *testing.T) {
	rows := mustAlign(t, eventA, eventB)
	choices := Choices{
		part(t, rows, "VEVENT", "SUMMARY"):                 PickB,
		part(t, rows, "VEVENT", "DTSTART"):                 PickA,
		part(t, rows, "VEVENT", "LOCATION"):                PickB,
		part(t, rows, "VEVENT", "ATTENDEE"):                PickBoth,
		part(t, rows, "VEVENT/VALARM", "TRIGGER"):          PickA,
		part(t, rows, "VEVENT 20240115T090000", "SUMMARY"): PickB,
		part(t, rows, "VEVENT 20240122T090000", "STATUS"):  PickB, // keep the new override
	}
	got, err := Compose(eventA, eventB, choices)
	if err != nil {
		t.Fatal(err)
	}
	want := lines(
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
		"DTSTAMP:20240401T000000Z", // the later stamp, b's
		"DTSTART;TZID=Europe/Berlin:20240108T093000", // a's
		"DTEND;TZID=Europe/Berlin:20240108T091500",
		"RRULE:FREQ=WEEKLY;BYDAY=MO",
		"SUMMARY:Team standup", // b's
		"LOCATION:Room 2",      // b's, after the property before it in b
		"DESCRIPTION:A long description of the meeting that is folded over more th", // a's folding
		" an one line by the client that wrote it",
		`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR:mailto:ann@example.org`, // a's line (b reordered the parameters)
		"ATTENDEE;CN=Bob:mailto:bob@example.org",
		"ATTENDEE:mailto:cy@example.org",
		"SEQUENCE:2", // the higher, a's
		"BEGIN:VALARM",
		"ACTION:DISPLAY",
		"TRIGGER:-PT5M", // a's
		"DESCRIPTION:Standup",
		"END:VALARM",
		"END:VEVENT",
		"BEGIN:VEVENT",
		"UID:standup",
		"RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000",
		"DTSTAMP:20240101T000000Z",
		"DTSTART;TZID=Europe/Berlin:20240115T100000",
		"DTEND;TZID=Europe/Berlin:20240115T101500",
		"SUMMARY:Standup (moved, room 3)", // b's
		"END:VEVENT",
		"BEGIN:VEVENT", // b's new override, whole
		"UID:standup",
		"RECURRENCE-ID;TZID=Europe/Berlin:20240122T090000",
		"DTSTAMP:20240401T000000Z",
		"STATUS:CANCELLED",
		"END:VEVENT",
		"END:VCALENDAR",
	)
	if got != want {
		t.Fatalf("composed:\n%s\nwant\n%s", got, want)
	}

	// Where each line comes from, for the preview.
	c, err := ComposeLines(eventA, eventB, choices)
	if err != nil || c.Text != want {
		t.Fatalf("ComposeLines: %v", err)
	}
	from := map[string]Origin{}
	for _, l := range c.Lines {
		from[l.Text] = l.From
	}
	for text, o := range map[string]Origin{
		"SUMMARY:Team standup":           FromB,
		"LOCATION:Room 2":                FromB,
		"TRIGGER:-PT5M":                  FromA,
		"ATTENDEE:mailto:cy@example.org": FromA,
		"STATUS:CANCELLED":               FromB,
		"RRULE:FREQ=WEEKLY;BYDAY=MO":     Both,
		"BEGIN:VALARM":                   Both,
	} {
		if from[text] != o {
			t.Errorf("%s comes from %v, want %v", text, from[text], o)
		}
	}

	// No choice at all: a's lines, with the later stamp; the new override left out.
	got, err = Compose(eventA, eventB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := edit(eventA, "DTSTAMP:20240301T000000Z", "DTSTAMP:20240401T000000Z"); got != want {
		t.Fatalf("no choices:\n%s\nwant\n%s", got, want)
	}
	// Leaving out what only a has, keeping both sides' attendees where a has none.
	got, err = Compose(eventB, eventA, Choices{
		part(t, mustAlign(t, eventB, eventA), "VEVENT 20240122T090000", "STATUS"): PickB,
		part(t, mustAlign(t, eventB, eventA), "VEVENT", "LOCATION"):               PickB,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "STATUS:CANCELLED") || strings.Contains(got, "LOCATION") {
		t.Fatalf("what only the first side had was kept:\n%s", got)
	}
}

func TestComposeSame(t *testing.T) {
	for _, text := range []string{baseEvent, baseCard} {
		rows := mustAlign(t, text, text)
		for _, r := range rows {
			if r.Part != "" || !r.Same {
				t.Fatalf("equal versions have a part: %+v", r)
			}
		}
		got, err := Compose(text, text, nil)
		if err != nil || got != text {
			t.Fatalf("composing equal versions: %v\n%s", err, got)
		}
	}
}

func TestComposeCard(t *testing.T) {
	a := edit(baseCard,
		"item1.EMAIL;TYPE=INTERNET:ann@example.org", "item1.EMAIL;TYPE=INTERNET:ann@work.example",
		"TEL;TYPE=CELL:+49 170 1234567\r\n", "TEL;TYPE=CELL:+49 170 1234567\r\nTEL;TYPE=HOME:+49 30 123\r\n",
		"REV:20240101T000000Z", "REV:20240201T000000Z")
	b := edit(baseCard,
		"FN:Ann Example", "FN:Ann Example-Smith",
		"N:Example;Ann;;;", "N:Example-Smith;Ann;;;",
		"TEL;TYPE=CELL:+49 170 1234567\r\n", "TEL;TYPE=WORK:+49 40 987\r\nTEL;TYPE=CELL:+49 170 1234567\r\n",
		"NOTE:Likes tea\\, not coffee\\; really", "NOTE:Likes tea\\, and coffee\\nand cake",
		"/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhI", "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhJ",
		"REV:20240101T000000Z", "REV:20240301T000000Z")
	rows := mustAlign(t, a, b)
	if p := part(t, rows, "VCARD", "ITEM1.EMAIL"); p == "" {
		t.Fatal("no part for the grouped email")
	}
	for _, r := range rows {
		if r.Name == "ITEM1.EMAIL" && r.Multi {
			t.Error("a grouped property is one entry, not a set")
		}
		if r.Name == "ITEM1.X-ABLABEL" && !r.Same {
			t.Error("the group's label differs")
		}
	}
	got, err := Compose(a, b, Choices{
		part(t, rows, "VCARD", "FN"):          PickB,
		part(t, rows, "VCARD", "N"):           PickB,
		part(t, rows, "VCARD", "ITEM1.EMAIL"): PickA,
		part(t, rows, "VCARD", "TEL"):         PickBoth,
		part(t, rows, "VCARD", "NOTE"):        PickB,
		part(t, rows, "VCARD", "PHOTO"):       PickB,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := lines(
		"BEGIN:VCARD",
		"VERSION:3.0",
		"UID:ann",
		"FN:Ann Example-Smith",
		"N:Example-Smith;Ann;;;",
		"item1.EMAIL;TYPE=INTERNET:ann@work.example",
		"item1.X-ABLabel:_$!<Work>!$_",
		"TEL;TYPE=CELL:+49 170 1234567",
		"TEL;TYPE=HOME:+49 30 123",
		"TEL;TYPE=WORK:+49 40 987",
		"NOTE:Likes tea\\, and coffee\\nand cake",
		"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhJ",
		" QDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQU",
		"REV:20240301T000000Z",
		"END:VCARD",
	)
	if got != want {
		t.Fatalf("composed card:\n%s\nwant\n%s", got, want)
	}
}

// A time zone only one side has is chosen as a whole, with the start that uses it.
func TestComposeTimeZone(t *testing.T) {
	a := lines("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:x", "DTSTART:20250108T090000Z", "SUMMARY:Call", "END:VEVENT", "END:VCALENDAR")
	b := lines("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VTIMEZONE", "TZID:America/New_York", "BEGIN:STANDARD",
		"DTSTART:19701101T020000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:x", "DTSTART;TZID=America/New_York:20250108T040000", "SUMMARY:Call", "END:VEVENT", "END:VCALENDAR")
	rows := mustAlign(t, a, b)
	tz := part(t, rows, "VTIMEZONE America/New_York", "TZID")
	if q := part(t, rows, "VTIMEZONE America/New_York/STANDARD", "TZOFFSETTO"); q != tz {
		t.Fatalf("the standard time of a one-sided time zone is a part of its own: %q", q)
	}
	got, err := Compose(a, b, Choices{tz: PickB, part(t, rows, "VEVENT", "DTSTART"): PickB})
	if err != nil {
		t.Fatal(err)
	}
	// The time zone goes after a's components (here: after the event).
	want := lines("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:x", "DTSTART;TZID=America/New_York:20250108T040000",
		"SUMMARY:Call", "END:VEVENT", "BEGIN:VTIMEZONE", "TZID:America/New_York", "BEGIN:STANDARD",
		"DTSTART:19701101T020000", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE", "END:VCALENDAR")
	if got != want {
		t.Fatalf("composed:\n%s\nwant\n%s", got, want)
	}
}

// Alarms are aligned by position: a second alarm only one side has is a part of its
// own; the first alarm's properties are chosen one by one.
func TestComposeAlarms(t *testing.T) {
	a := edit(baseEvent, "TRIGGER:-PT10M", "TRIGGER:-PT15M")
	b := edit(baseEvent, "END:VALARM\r\n", "END:VALARM\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT1M\r\nEND:VALARM\r\n")
	rows := mustAlign(t, a, b)
	second := part(t, rows, "VEVENT/VALARM 2", "ACTION")
	trigger := part(t, rows, "VEVENT/VALARM", "TRIGGER")
	got, err := Compose(a, b, Choices{second: PickB, trigger: PickA})
	if err != nil {
		t.Fatal(err)
	}
	if want := edit(a, "END:VALARM\r\n", "END:VALARM\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT1M\r\nEND:VALARM\r\n"); got != want {
		t.Fatalf("composed:\n%s\nwant\n%s", got, want)
	}
	got, err = Compose(a, b, Choices{second: PickA, trigger: PickB})
	if err != nil || got != baseEvent {
		t.Fatalf("b's first alarm without the second one: %v\n%s", err, got)
	}
}

// Properties interleaved with others keep their places when a's lines are kept; a
// property b also has once is not moved.
func TestComposeKeepsPlaces(t *testing.T) {
	a := lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "CATEGORIES:a", "SUMMARY:S", "CATEGORIES:b", "COMMENT:one", "END:VEVENT", "END:VCALENDAR")
	b := lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "COMMENT:two", "SUMMARY:S", "CATEGORIES:c", "END:VEVENT", "END:VCALENDAR")
	rows := mustAlign(t, a, b)
	cat, com := part(t, rows, "VEVENT", "CATEGORIES"), part(t, rows, "VEVENT", "COMMENT")
	for _, c := range []struct {
		choices Choices
		want    string
	}{
		{Choices{cat: PickA, com: PickA}, a},
		{Choices{cat: PickBoth, com: PickB}, lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "CATEGORIES:a", "SUMMARY:S", "CATEGORIES:b", "CATEGORIES:c", "COMMENT:two", "END:VEVENT", "END:VCALENDAR")},
		{Choices{cat: PickB, com: PickBoth}, lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "CATEGORIES:c", "SUMMARY:S", "COMMENT:one", "COMMENT:two", "END:VEVENT", "END:VCALENDAR")},
	} {
		got, err := Compose(a, b, c.choices)
		if err != nil || got != c.want {
			t.Errorf("%v: %v\n%s\nwant\n%s", c.choices, err, got, c.want)
		}
	}
}

func TestComposeErrors(t *testing.T) {
	rows := mustAlign(t, eventA, eventB)
	for name, c := range map[string]Choices{
		"unknown part":            {"VEVENT\x1eNOPE": PickB},
		"both of a single value":  {part(t, rows, "VEVENT", "SUMMARY"): PickBoth},
		"both of a component":     {part(t, rows, "VEVENT 20240122T090000", "STATUS"): PickBoth},
		"a part of equal content": {"\x1dVCALENDAR#0\x1eVERSION": PickB},
	} {
		if _, err := Compose(eventA, eventB, c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	broken := strings.Replace(eventA, "END:VALARM\r\n", "", 1)
	if _, err := Compose(broken, eventB, nil); !errors.Is(err, ErrCannotAlign) {
		t.Errorf("unaligned versions: %v", err)
	}
	if _, err := Align(eventA, broken); !errors.Is(err, ErrCannotAlign) {
		t.Errorf("Align of unaligned versions: %v", err)
	}
}
