package present

import (
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/engine/merge"
)

func crlf(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

var (
	eventA = crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//a//EN", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250101T000000Z",
		"SUMMARY:Standup", "DTSTART;TZID=Europe/Berlin:20250106T090000", "RRULE:FREQ=WEEKLY",
		`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:ann@example.org`,
		"ATTENDEE;CN=Bob:mailto:bob@example.org", "SEQUENCE:1",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (late)", "END:VEVENT", "END:VCALENDAR")
	// The same content in another order (parameters too), with changes in the alarm,
	// the override and the attendees, and a new override.
	eventB = crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//b//EN", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250202T000000Z",
		"RRULE:FREQ=WEEKLY", "DTSTART;TZID=Europe/Berlin:20250106T090000", "SUMMARY:Standup",
		`ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR;CN="Ann, the lead":mailto:ann@example.org`,
		"ATTENDEE;CN=Cy:mailto:cy@example.org", "SEQUENCE:2",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (later)", "END:VEVENT",
		"BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250120T090000", "DTSTAMP:20250202T000000Z", "STATUS:CANCELLED", "END:VEVENT",
		"END:VCALENDAR")
)

func field(t *testing.T, fs []Field, comp, name string) Field {
	t.Helper()
	for _, f := range fs {
		if f.Component == comp && f.Name == name {
			return f
		}
	}
	t.Fatalf("no field %s %s", comp, name)
	return Field{}
}

func TestCompareItems(t *testing.T) {
	fs := CompareItems(eventA, eventB)
	for _, f := range fs {
		if f.Name == "DTSTAMP" || f.Name == "PRODID" {
			t.Errorf("volatile %s shown", f.Name)
		}
	}
	for _, c := range []struct {
		comp, name string
		differs    bool
		chosen     bool
		multi      bool
		auto       bool
		only       merge.Origin
	}{
		{"", "VERSION", false, false, false, false, merge.Both},
		{"VEVENT", "SUMMARY", false, false, false, false, merge.Both},
		{"VEVENT", "DTSTART", false, false, false, false, merge.Both},
		{"VEVENT", "ATTENDEE", true, true, true, false, merge.Both}, // Ann's reordered parameters are not a difference; Bob and Cy are
		{"VEVENT", "SEQUENCE", true, false, false, true, merge.Both},
		{"VEVENT/VALARM", "TRIGGER", true, true, false, false, merge.Both},
		{"VEVENT/VALARM", "ACTION", false, false, false, false, merge.Both},
		{"VEVENT 20250113T090000", "SUMMARY", true, true, false, false, merge.Both},
		{"VEVENT 20250120T090000", "STATUS", true, true, false, false, merge.FromB},
	} {
		f := field(t, fs, c.comp, c.name)
		if f.Differs() != c.differs || (f.Part != "") != c.chosen || f.Multi != c.multi || f.Auto != c.auto || f.Only != c.only {
			t.Errorf("%s %s: %+v", c.comp, c.name, f)
		}
	}
	// Only the reordered parameters: nothing differs.
	a := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", `ATTENDEE;CN="Ann, the lead";ROLE=CHAIR:mailto:ann@example.org`, "END:VEVENT", "END:VCALENDAR")
	b := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", `ATTENDEE;role=CHAIR;CN="Ann, the lead":mailto:ann@example.org`, "END:VEVENT", "END:VCALENDAR")
	if !SameProperties(a, b) || DiffSummary(a, b) != "no property differs (line order or folding only)" {
		t.Errorf("reordered parameters count as a difference: %s", DiffSummary(a, b))
	}
	if got := DiffSummary(eventA, eventB); got != "differs in ATTENDEE, SEQUENCE, TRIGGER (VEVENT/VALARM), SUMMARY (VEVENT 20250113T090000), UID (VEVENT 20250120T090000), RECURRENCE-ID (VEVENT 20250120T090000), STATUS (VEVENT 20250120T090000)" {
		t.Errorf("summary: %s", got)
	}
	if SameProperties(eventA, eventB) {
		t.Error("different versions have the same properties")
	}
}

// Versions that do not nest are still compared, by component name, with nothing to
// choose.
func TestCompareUnaligned(t *testing.T) {
	a := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "SUMMARY:A", "END:VCALENDAR")
	b := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "SUMMARY:B", "END:VEVENT", "END:VCALENDAR")
	fs := CompareItems(a, b)
	f := field(t, fs, "VEVENT", "SUMMARY")
	if !f.Differs() || f.Part != "" {
		t.Errorf("SUMMARY: %+v", f)
	}
	if u := field(t, fs, "VEVENT", "UID"); u.Differs() {
		t.Errorf("UID: %+v", u)
	}
}

func TestValue(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		line string
		card bool
		loc  *time.Location
		want string
	}{
		// Dates and times.
		{"DTSTART:20250108T160000", false, time.UTC, "2025-01-08 Wed 16:00"},
		{"DTSTART;VALUE=DATE:20250108", false, time.UTC, "2025-01-08 Wed"},
		{"DTSTART;TZID=Europe/Berlin:20250106T090000", false, time.UTC, "2025-01-06 Mon 08:00 UTC (09:00 Europe/Berlin)"},
		{"DTSTART;TZID=Europe/Berlin:20250106T090000", false, berlin, "2025-01-06 Mon 09:00 CET"},
		{"DTSTART;TZID=America/New_York:20250106T220000", false, berlin, "2025-01-07 Tue 04:00 CET (2025-01-06 Mon 22:00 America/New_York)"},
		{"DTEND:20250706T070000Z", false, berlin, "2025-07-06 Sun 09:00 CEST (07:00 UTC)"},
		{"DUE;TZID=W. Europe Standard Time:20250106T090000", false, time.UTC, "2025-01-06 Mon 09:00 W. Europe Standard Time"},
		{"EXDATE;TZID=Europe/Berlin:20250113T090000,20250120T090000", false, time.UTC,
			"2025-01-13 Mon 08:00 UTC (09:00 Europe/Berlin), 2025-01-20 Mon 08:00 UTC (09:00 Europe/Berlin)"},
		{"RECURRENCE-ID;RANGE=THISANDFUTURE:20250113T090000", false, time.UTC, "2025-01-13 Mon 09:00  [RANGE=THISANDFUTURE]"},
		// Durations.
		{"TRIGGER:-PT15M", false, time.UTC, "15 min before the start"},
		{"TRIGGER;RELATED=END:PT1H30M", false, time.UTC, "1 h 30 min after the end"},
		{"TRIGGER;VALUE=DATE-TIME:20250106T080000Z", false, time.UTC, "2025-01-06 Mon 08:00 UTC"},
		{"DURATION:P1W", false, time.UTC, "1 week"},
		{"DURATION:P1DT2H", false, time.UTC, "1 day 2 h"},
		// Recurrence rules.
		{"RRULE:FREQ=WEEKLY", false, time.UTC, "weekly"},
		{"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10", false, time.UTC, "every 2 weeks on Monday, Wednesday, 10 times"},
		{"RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20251231T000000Z", false, time.UTC, "monthly on the last Friday, until 2025-12-31"},
		{"RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15", false, time.UTC, "yearly in March on day 15"},
		{"RRULE:FREQ=DAILY;BYHOUR=9,17", false, time.UTC, "daily [BYHOUR=9,17]"},
		// People.
		{`ATTENDEE;CN="Ann, the lead";ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:ann@example.org`, false, time.UTC,
			"Ann, the lead <ann@example.org> · chair · accepted"},
		{`ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR;CN="Ann, the lead":mailto:ann@example.org`, false, time.UTC,
			"Ann, the lead <ann@example.org> · chair · accepted"},
		{"ATTENDEE;RSVP=TRUE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:room2@example.org", false, time.UTC,
			"room2@example.org · has not answered · reply requested  [CUTYPE=ROOM]"},
		{"ORGANIZER;CN=Bob:mailto:bob@example.org", false, time.UTC, "Bob <bob@example.org>"},
		// Text.
		{`SUMMARY:Lunch\, then a walk`, false, time.UTC, "Lunch, then a walk"},
		{`DESCRIPTION;LANGUAGE=en:Line one\nline two`, false, time.UTC, "Line one ⏎ line two  [LANGUAGE=en]"},
		{"TRANSP:TRANSPARENT", false, time.UTC, "free"},
		{"STATUS:CONFIRMED", false, time.UTC, "confirmed"},
		{"X-WR-SOMETHING;X-B=2;X-A=1:value", false, time.UTC, "value  [X-A=1;X-B=2]"},
		// vCards.
		{"N:Schmidt;Anna;Maria;Dr.;", true, time.UTC, "Dr. Anna Maria Schmidt"},
		{`FN:Schmidt\, Anna`, true, time.UTC, "Schmidt, Anna"},
		{"EMAIL;TYPE=INTERNET,WORK:anna@example.org", true, time.UTC, "work: anna@example.org"},
		{"EMAIL;TYPE=work;TYPE=pref:anna@example.org", true, time.UTC, "work, preferred: anna@example.org"},
		{"item1.EMAIL;TYPE=INTERNET:anna@example.org", true, time.UTC, "anna@example.org"},
		{"TEL;TYPE=cell:+49 170 555 0101", true, time.UTC, "cell: +49 170 555 0101"},
		{"TEL;VALUE=uri;TYPE=home:tel:+1-555-0100", true, time.UTC, "home: +1-555-0100"},
		{"ADR;TYPE=home:;;Market Square 1;Berlin;;10115;Germany", true, time.UTC, "home: Market Square 1, 10115 Berlin, Germany"},
		{"BDAY:19850412", true, time.UTC, "1985-04-12 Fri"},
		{"BDAY:--0412", true, time.UTC, "12 April (no year)"},
		{`NOTE:Likes tea\, not coffee\; really`, true, time.UTC, "Likes tea, not coffee; really"},
		{"ORG:Example GmbH;Sales", true, time.UTC, "Example GmbH, Sales"},
		{"PHOTO;ENCODING=b;TYPE=JPEG:" + strings.Repeat("QUJD", 1000), true, time.UTC, "photo, JPEG, 2.9 kB"},
		{"PHOTO:https://example.org/ann.jpg", true, time.UTC, "photo: https://example.org/ann.jpg"},
		{"item1.X-ABLabel:_$!<Work>!$_", true, time.UTC, "Work"},
		{"REV:20250101T120000Z", true, berlin, "2025-01-01 Wed 13:00 CET"},
	} {
		if got := Value(c.line, c.card, c.loc); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.line, got, c.want)
		}
	}
}

// go-ical panics on some malformed lines: the value is shown raw instead.
func TestValueMalformed(t *testing.T) {
	for _, line := range []string{"DTSTART;TZID=Europe/Berlin", `X-A;A="b"c:v`} {
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			icalProp(line)
			return false
		}()
		if !panicked {
			t.Errorf("go-ical no longer panics on %q; keep the test honest with another line", line)
		}
	}
	for line, want := range map[string]string{
		"DTSTART;TZID=Europe/Berlin":      "  [TZID=Europe/Berlin]",
		`X-A;A="b"c:v`:                    `v  [A="b"c]`,
		"DTSTART:2025-13-45":              "2025-13-45",
		"RRULE:FREQ=SOMETIMES":            "FREQ=SOMETIMES",
		"TRIGGER:-P15X":                   "-P15X",
		`SUMMARY:bad \q escape`:           `bad \q escape`,
		"TEL;CELL:+49 170":                "+49 170  [CELL]",
		"ATTENDEE;CN=\"open:mailto:a@b.c": `  [CN="open:mailto:a@b.c]`, // the quote never closes
	} {
		card := strings.HasPrefix(line, "TEL")
		if got := Value(line, card, time.UTC); got != want {
			t.Errorf("%s: %q, want %q", line, got, want)
		}
	}
}
