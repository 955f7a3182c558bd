package conflictview

import (
	"github.com/pimsync-go/pimsync/storage/memstore"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
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

func render(t *testing.T, a, b string, raw bool, w, h int) string {
	t.Helper()
	m := New(newCommon(t))
	m.Set(versions(a, b), [2]string{"local", "server"})
	if raw {
		m.ToggleRaw()
	}
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

func TestEventAlignedByComponentAndProperty(t *testing.T) {
	a := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250101T000000Z", "SUMMARY:Standup",
		"DTSTART;TZID=Europe/Berlin:20250106T090000", "RRULE:FREQ=WEEKLY", "BEGIN:VALARM", "TRIGGER:-PT15M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (late)", "END:VEVENT", "END:VCALENDAR")
	// Same content in another order, one difference in the alarm and one in the override.
	b := crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "DTSTAMP:20250202T000000Z", "RRULE:FREQ=WEEKLY",
		"DTSTART;TZID=Europe/Berlin:20250106T090000", "SUMMARY:Standup", "BEGIN:VALARM", "TRIGGER:-PT5M", "END:VALARM",
		"END:VEVENT", "BEGIN:VEVENT", "UID:x", "RECURRENCE-ID:20250113T090000", "SUMMARY:Standup (later)", "END:VEVENT", "END:VCALENDAR")
	v := render(t, a, b, false, 120, 20)
	for _, want := range []string{
		"a: local", "b: server",
		"  SUMMARY        Standup ", // equal, unmarked
		"  DTSTART        2025-01-06 Mon 09:00  [TZID=Europe/Berlin]",
		"  RRULE          FREQ=WEEKLY",
		"VEVENT/VALARM",
		"! TRIGGER        -PT15M", "≠ -PT5M",
		"VEVENT 20250113T090000", "RECURRENCE-ID  2025-01-13 Mon 09:00",
		"! SUMMARY        Standup (late)", "≠ Standup (later)",
	} {
		if !has(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "DTSTAMP") {
		t.Errorf("volatile DTSTAMP shown:\n%s", v)
	}
}

func TestContactAndLongValues(t *testing.T) {
	a := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna Schmidt", "EMAIL;TYPE=work:anna@example.org",
		"TEL:+49 170 555 0101", "NOTE:"+strings.Repeat("a long note ", 8), "END:VCARD")
	b := crlf("BEGIN:VCARD", "VERSION:3.0", "UID:c", "FN:Anna Schmidt", "EMAIL;TYPE=work:anna@example.org",
		"EMAIL;TYPE=home:anna@home.example", "END:VCARD")
	v := render(t, a, b, false, 80, 16)
	for _, want := range []string{
		"  FN      Anna Schmidt",
		"! EMAIL   anna@example.org  [TYPE=work]", "≠ anna@example.org  [TYPE=work]",
		"anna@home.example  [TYPE=home]",
		"! TEL     +49 170 555 0101", "≠ (absent)",
		"! NOTE    a long note a long note", // wrapped, not cut
	} {
		if !has(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if n := strings.Count(v, "long"); n != 8 {
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
		if strings.HasPrefix(l, "! ") != w.marked {
			t.Errorf("line %d marked=%v: %q", i, !w.marked, l)
		}
		fields := strings.Fields(strings.NewReplacer("!", "", "≠", "").Replace(l))
		got := strings.Join(fields, " ")
		exp := strings.TrimSpace(w.a + " " + w.b)
		if got != exp {
			t.Errorf("line %d: %q, want %q", i, got, exp)
		}
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
	c := newCommon(t)
	m := New(c)
	m.Set(versions(crlf(a...), crlf(b...)), [2]string{"a", "b"})
	v := m.View(60, 10)
	if !strings.Contains(v, "X-PA") || strings.Contains(v, "X-PZ") {
		t.Fatalf("first page:\n%s", v)
	}
	m.Update(pagetest.Key("G"))
	v = m.View(60, 10)
	if strings.Contains(v, "X-PA ") || !strings.Contains(v, "X-P^") {
		t.Fatalf("bottom:\n%s", v)
	}
	if !strings.Contains(v, "a: a") {
		t.Fatalf("the heading scrolled away:\n%s", v)
	}
	m.Update(pagetest.Key("g"))
	if v = m.View(60, 10); !strings.Contains(v, "X-PA") {
		t.Fatalf("top:\n%s", v)
	}
}
