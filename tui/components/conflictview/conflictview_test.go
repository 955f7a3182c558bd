package conflictview

import (
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// newCommon is pagetest.New over in-memory storages.
func newCommon(t *testing.T) *common.Common {
	return pagetest.New(t, func(k storage.Kind) storage.Storage { return memstore.New(k) })
}

// has reports whether view contains want, blanks collapsed.
func has(view, want string) bool {
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	return strings.Contains(view, want) || strings.Contains(flat(view), flat(want))
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

func versions(a, b string) *engine.Versions {
	ia, ib := storage.MustItem(a), storage.MustItem(b)
	return &engine.Versions{A: pagetest.State("a", ia), B: pagetest.State("b", ib)}
}

// newModel shows a and b with values in UTC.
func newModel(t *testing.T, a, b string) *Model {
	t.Helper()
	m := New(newCommon(t))
	m.Loc = time.UTC
	m.Set(versions(a, b), [2]string{"local", "server"})
	return m
}

// view renders m and checks that the screen is exactly w×h.
func view(t *testing.T, m *Model, w, h int) string {
	t.Helper()
	v := m.View(w, h)
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for _, l := range lines {
		if common.Width(l) != w {
			t.Fatalf("line of %d cells: %q", common.Width(l), l)
		}
	}
	return v
}

func render(t *testing.T, a, b string, raw bool, w, h int) string {
	t.Helper()
	m := newModel(t, a, b)
	if raw {
		m.ToggleRaw()
	}
	return view(t, m, w, h)
}

var (
	standupA = crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250101T000000Z", "SUMMARY:Standup",
		"DTSTART;TZID=Europe/Berlin:20250106T090000", "RRULE:FREQ=WEEKLY", "BEGIN:VALARM", "TRIGGER:-PT15M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (late)", "END:VEVENT", "END:VCALENDAR")
	// Same content in another order, one difference in the alarm and one in the override.
	standupB = crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250202T000000Z", "RRULE:FREQ=WEEKLY",
		"DTSTART;TZID=Europe/Berlin:20250106T090000", "SUMMARY:Standup", "BEGIN:VALARM", "TRIGGER:-PT5M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (later)", "END:VEVENT", "END:VCALENDAR")
)

func TestEventAlignedByComponentAndProperty(t *testing.T) {
	v := render(t, standupA, standupB, false, 120, 24)
	for _, want := range []string{
		"a: local", "b: server",
		"   SUMMARY         Standup ", // equal, unmarked
		"   DTSTART         2025-01-06 Mon 08:00 UTC (09:00 Europe/Berlin)",
		"   RRULE           weekly",
		"VEVENT/VALARM",
		">! TRIGGER       ✓ 15 min before the start", "≠   5 min before the start", // the cursor on the first choice
		"VEVENT 20250113T090000", "RECURRENCE-ID   2025-01-13 Mon 09:00",
		" ! SUMMARY       ✓ Standup (late)", "≠   Standup (later)",
		"result · 2 from a · 0 from b", "a▸ TRIGGER:-PT15M",
	} {
		if !has(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "DTSTAMP") && !strings.Contains(v, "DTSTAMP:") {
		t.Errorf("volatile DTSTAMP shown as a row:\n%s", v)
	}
}

func TestContactAndLongValues(t *testing.T) {
	a := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna Schmidt", "EMAIL;TYPE=work:anna@example.org",
		"TEL:+49 170 555 0101", "NOTE:"+strings.Repeat("a long note ", 8), "END:VCARD")
	b := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna Schmidt", "EMAIL;TYPE=work:anna@example.org",
		"EMAIL;TYPE=home:anna@home.example", "END:VCARD")
	m := newModel(t, a, b)
	v := view(t, m, 80, 30)
	for _, want := range []string{
		"   FN        Anna Schmidt",
		// A set is aligned value by value: the work address is on both sides; a's
		// value (none) is taken for the home address only b has.
		">  EMAIL     work: anna@example.org              work: anna@example.org",
		" !                                           ≠   home: anna@home.example",
		" ! TEL     ✓ +49 170 555 0101", "≠   (absent)",
		" ! NOTE    ✓ a long note a long note", // wrapped, not cut
	} {
		if !has(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if n := strings.Count(v, "long"); n < 8 {
		t.Errorf("the long note is cut (%d of 8 shown):\n%s", n, v)
	}
}

func TestRawAlignedLineByLine(t *testing.T) {
	a := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna", "TEL:1", "END:VCARD")
	b := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna S.", "EMAIL:a@x", "TEL:1", "END:VCARD")
	v := render(t, a, b, true, 60, 10)
	lines := strings.Split(v, "\n")
	want := []struct {
		marked bool
		a, b   string
	}{
		{false, "BEGIN:VCARD", "BEGIN:VCARD"},
		{false, "VERSION:3.0", "VERSION:3.0"},
		{false, "UID:c", "UID:c"},
		{true, "FN:Anna", "FN:Anna S."},
		{true, "", "EMAIL:a@x"},
		{false, "TEL:1", "TEL:1"},
		{false, "END:VCARD", "END:VCARD"},
	}
	for i, w := range want {
		l := lines[i+1]
		if strings.HasPrefix(l, " ! ") != w.marked {
			t.Errorf("line %d marked=%v: %q", i, !w.marked, l)
		}
		fields := strings.Fields(strings.NewReplacer("!", "", "≠", "").Replace(l))
		got := strings.Join(fields, " ")
		exp := strings.TrimSpace(w.a + " " + w.b)
		if got != exp {
			t.Errorf("line %d: %q, want %q", i, got, exp)
		}
	}
	if strings.Contains(v, "result ·") {
		t.Errorf("the preview is shown with the raw text:\n%s", v)
	}
}

func TestScrolling(t *testing.T) {
	var a, b []string
	a = append(a, "BEGIN:VCARD", "UID:c")
	b = append(b, "BEGIN:VCARD", "UID:c")
	for i := range 30 {
		a = append(a, "X-P"+string(rune('A'+i))+":1")
		b = append(b, "X-P"+string(rune('A'+i))+":2")
	}
	a, b = append(a, "END:VCARD"), append(b, "END:VCARD")
	m := newModel(t, crlf(a...), crlf(b...))
	v := view(t, m, 60, 12)
	if !strings.Contains(v, "X-PA") || strings.Contains(v, "X-PZ") {
		t.Fatalf("first page:\n%s", v)
	}
	m.Update(pagetest.Key("G")) // the cursor to the last choice: the table follows
	v = view(t, m, 60, 12)
	if strings.Contains(v, "X-PA ") || !strings.Contains(v, ">! X-P^") || !strings.Contains(v, "a▸ X-P^:1") {
		t.Fatalf("bottom:\n%s", v)
	}
	if !strings.Contains(v, "a: local") {
		t.Fatalf("the heading scrolled away:\n%s", v)
	}
	m.Update(pagetest.Key("g"))
	if v = view(t, m, 60, 12); !strings.Contains(v, ">! X-PA") {
		t.Fatalf("top:\n%s", v)
	}
	// Without anything to choose (the raw text), the keys scroll.
	m.ToggleRaw()
	m.Update(pagetest.Key("G"))
	if v = view(t, m, 60, 12); !strings.Contains(v, "END:VCARD") || strings.Contains(v, "X-PA:1") {
		t.Fatalf("raw bottom:\n%s", v)
	}
}

// A person picks per property; the marks and the preview follow, and the choices are
// what merge.Compose takes.
func TestChoosePerProperty(t *testing.T) {
	a := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:d", "SUMMARY:Dentist", "DTSTART:20250108T160000",
		"ATTENDEE;CN=Ann:mailto:ann@example.org", "ATTENDEE:mailto:bob@example.org", "END:VEVENT", "END:VCALENDAR")
	b := crlf("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:d", "SUMMARY:Dentist (bring X-rays)", "DTSTART:20250108T100000",
		"LOCATION:Market Square 1", "ATTENDEE;X=1:mailto:ann@example.org", "ATTENDEE:mailto:cy@example.org", "END:VEVENT",
		"BEGIN:VEVENT", "UID:d", "RECURRENCE-ID:20250115T160000", "STATUS:CANCELLED", "END:VEVENT", "END:VCALENDAR")
	m := newModel(t, a, b)
	if !m.Choosable() {
		t.Fatal("nothing to choose")
	}
	// Choices: SUMMARY, DTSTART, ATTENDEE, LOCATION (only b), the override (only b).
	if got := m.Current(); got != "SUMMARY" {
		t.Fatalf("cursor on %q", got)
	}
	if m.Pick(merge.PickBoth) {
		t.Fatal("both values of SUMMARY")
	}
	m.Pick(merge.PickB)
	m.Move(1) // DTSTART: a's
	m.Move(1)
	if got := m.Current(); got != "ATTENDEE" {
		t.Fatalf("cursor on %q", got)
	}
	m.Toggle() // b
	m.Toggle() // both
	m.Move(1)
	m.Pick(merge.PickB) // LOCATION
	m.Move(5)           // clamped: the override
	if got := m.Current(); got != "VEVENT 20250115T160000" {
		t.Fatalf("cursor on %q", got)
	}
	m.Pick(merge.PickB)
	v := view(t, m, 100, 30)
	for _, want := range []string{
		" ! SUMMARY         Dentist                                ≠ ✓ Dentist (bring X-rays)",
		" ! DTSTART       ✓ 2025-01-08 Wed 16:00",
		// Both values: a's Ann (b has her with another parameter), a's Bob, b's Cy.
		" ! ATTENDEE      ✓ Ann <ann@example.org>                  ≠   ann@example.org  [X=1]",
		" !               ✓ bob@example.org                        ≠",
		" !                                                        ≠ ✓ cy@example.org",
		" ! LOCATION        (absent)                               ≠ ✓ Market Square 1",
		">VEVENT 20250115T160000 · only on b",
		"result · 1 from a · 3 from b · 1 with both",
		"b  SUMMARY:Dentist (bring X-rays)", "a  DTSTART:20250108T160000", "b▸ STATUS:CANCELLED",
	} {
		if !has(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	comp, err := m.Composition()
	if err != nil {
		t.Fatal(err)
	}
	want, err := merge.Compose(a, b, m.Choices())
	if err != nil || comp.Text != want {
		t.Fatalf("preview %q\nis not the composition %q (%v)", comp.Text, want, err)
	}
	for _, line := range []string{"SUMMARY:Dentist (bring X-rays)", "DTSTART:20250108T160000", "LOCATION:Market Square 1",
		"ATTENDEE;CN=Ann:mailto:ann@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:cy@example.org", "STATUS:CANCELLED"} {
		if !strings.Contains(comp.Text, line+"\r\n") {
			t.Errorf("the result lacks %s:\n%s", line, comp.Text)
		}
	}
	if a, b, both := m.Tally(); a != 1 || b != 3 || both != 1 {
		t.Errorf("tally %d %d %d", a, b, both)
	}
	// Set starts over.
	m.Set(versions(a, b), [2]string{"local", "server"})
	if a, b, both := m.Tally(); a != 5 || b != 0 || both != 0 {
		t.Errorf("after Set: tally %d %d %d", a, b, both)
	}
	if comp, _ := m.Composition(); comp.Text != a {
		t.Errorf("the result does not start as a's version:\n%s", comp.Text)
	}
}

// Versions that do not nest have nothing to choose: the view still compares them.
func TestNothingToChoose(t *testing.T) {
	a := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "SUMMARY:A", "END:VCALENDAR")
	b := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "SUMMARY:B", "END:VEVENT", "END:VCALENDAR")
	m := newModel(t, a, b)
	if m.Choosable() || m.Pick(merge.PickB) || m.Toggle() {
		t.Fatal("a choice on unaligned versions")
	}
	v := view(t, m, 80, 12)
	if !has(v, " ! SUMMARY A ≠ B") || strings.Contains(v, "result ·") || strings.Contains(v, Mark) {
		t.Fatalf("view:\n%s", v)
	}
}

func TestSizes(t *testing.T) {
	m := newModel(t, standupA, standupB)
	for _, sz := range [][2]int{{80, 18}, {40, 8}, {160, 50}, {30, 3}, {80, 10}, {80, 9}} {
		view(t, m, sz[0], sz[1])
	}
}
