package storage

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func lf(lines ...string) string { return strings.Join(lines, "\n") }

// TestExtractUID is the table of sync.md §2.2 plus the edge cases its rules imply.
func TestExtractUID(t *testing.T) {
	cases := []struct {
		name string
		text string
		uid  string
		ok   bool
	}{
		{"simple", crlf("BEGIN:VCARD", "UID:hello", "END:VCARD"), "hello", true},
		{"continuation needs a blank", crlf("BEGIN:VCARD", "UID:hel", "lo", "END:VCARD"), "hel", true},
		{"tab continuation", crlf("BEGIN:VCARD", "UID:hello", "\tthere", "END:VCARD"), "hellothere", true},
		{"stops at the next property", crlf("BEGIN:VCARD", "UID:hello", "\tthere", "REV:20210307T195614Z", "\tnope", "END:VCARD"), "hellothere", true},
		{"UIDX is not UID", crlf("BEGIN:VCARD", "UIDX:hello", "END:VCARD"), "", false},
		{"space continuation", crlf("UID:a", " b", "  c"), "ab c", true},
		{"parameters do not match", crlf("BEGIN:VCARD", "UID;VALUE=TEXT:x", "END:VCARD"), "", false},
		{"lower case does not match", crlf("BEGIN:VCARD", "uid:x", "END:VCARD"), "", false},
		{"not anchored", crlf("BEGIN:VCARD", " UID:x", "X-UID:y", "END:VCARD"), "", false},
		{"empty UID is a UID", crlf("BEGIN:VCARD", "UID:", "END:VCARD"), "", true},
		{"kept exactly, no trimming", crlf("UID: spaced \t", "END:VCARD"), " spaced \t", true},
		{"first match wins, even in a VALARM", crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "BEGIN:VALARM", "UID:alarm", "END:VALARM", "UID:event", "END:VEVENT", "END:VCALENDAR"), "alarm", true},
		{"last line without CRLF", "UID:end", "end", true},
		{"continuation at the end", "UID:a\r\n b", "ab", true},
		{"split on CRLF only", "X:1\nUID:lf\nEND:VCARD", "", false},
		{"lone CR is not a break", "X:1\rUID:cr\r\n", "", false},
		{"empty text", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uid, ok := ExtractUID(c.text)
			if uid != c.uid || ok != c.ok {
				t.Fatalf("ExtractUID(%q) = %q, %v; want %q, %v", c.text, uid, ok, c.uid, c.ok)
			}
		})
	}
	// NewItem normalises first, so LF-only items find their UID and continuation.
	it := MustItem(lf("BEGIN:VCARD", "UID:hello", "\tthere", "END:VCARD"))
	if uid, ok := it.UID(); uid != "hellothere" || !ok {
		t.Fatalf("UID of an LF-only item = %q, %v", uid, ok)
	}
}

func TestIdent(t *testing.T) {
	withUID := MustItem(crlf("BEGIN:VCARD", "UID:abc", "END:VCARD"))
	if withUID.Ident() != "abc" {
		t.Errorf("Ident = %q, want the UID", withUID.Ident())
	}
	empty := MustItem(crlf("BEGIN:VCARD", "UID:", "END:VCARD"))
	if id := empty.Ident(); id != "" {
		t.Errorf("Ident with an empty UID = %q, want the empty string (sync.md §2.3)", id)
	}
	noUID := MustItem(crlf("BEGIN:VCARD", "FN:x", "END:VCARD"))
	if noUID.Ident() != noUID.Hash() || len(noUID.Hash()) != 64 || strings.ToUpper(noUID.Hash()) != noUID.Hash() {
		t.Errorf("Ident without UID = %q, want the upper-case hash %q", noUID.Ident(), noUID.Hash())
	}
}

// TestHashProperties are the property tests of sync.md §2.4.
func TestHashProperties(t *testing.T) {
	tz := []string{"BEGIN:VTIMEZONE", "TZID:Europe/Amsterdam", "BEGIN:STANDARD", "DTSTART:19701025T030000",
		"TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	ev := []string{"BEGIN:VEVENT", "UID:tz-test", "DTSTAMP:20240101T000000Z", "DTSTART;TZID=Europe/Amsterdam:20240102T100000",
		"SUMMARY:Meeting", "SEQUENCE:1", "END:VEVENT"}
	cal := func(parts ...[]string) string {
		lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//a//b//EN"}
		for _, p := range parts {
			lines = append(lines, p...)
		}
		return crlf(append(lines, "END:VCALENDAR")...) + "\r\n"
	}
	base := cal(tz, ev)
	h := Hash(base)
	replace := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("%q not in the base item", old)
		}
		return strings.Replace(base, old, new, 1)
	}

	same := map[string]string{
		"VTIMEZONE after VEVENT":  cal(ev, tz),
		"LF only":                 strings.ReplaceAll(base, "\r\n", "\n"),
		"no final line break":     strings.TrimSuffix(base, "\r\n"),
		"other DTSTAMP":           replace("DTSTAMP:20240101T000000Z", "DTSTAMP:20250505T050505Z"),
		"DTSTAMP with parameters": replace("DTSTAMP:20240101T000000Z", "DTSTAMP;X-A=1:20250505T050505Z"),
		"added LAST-MODIFIED":     replace("SUMMARY:Meeting", "LAST-MODIFIED:20240101T000000Z\r\nSUMMARY:Meeting"),
		"other PRODID":            replace("PRODID:-//a//b//EN", "PRODID:-//other//client//DE"),
		"no PRODID":               replace("PRODID:-//a//b//EN\r\n", ""),
		"folded differently":      replace("SUMMARY:Meeting", "SUMMARY:Mee\r\n ting"),
		"tab folding":             replace("SUMMARY:Meeting", "SUMMARY:Meet\r\n\ting"),
		"blank lines":             replace("SUMMARY:Meeting\r\n", "SUMMARY:Meeting\r\n\r\n\r\n"),
	}
	for name, text := range same {
		if got := Hash(text); got != h {
			t.Errorf("%s: hash %s, want the same as the base %s", name, got, h)
		}
	}
	// With two events, the timezone may sit anywhere.
	ev2 := []string{"BEGIN:VEVENT", "UID:tz-test-2", "SUMMARY:Other", "END:VEVENT"}
	if a, b, c := Hash(cal(tz, ev, ev2)), Hash(cal(ev, tz, ev2)), Hash(cal(ev, ev2, tz)); a != b || b != c {
		t.Errorf("VTIMEZONE position changes the hash: %s %s %s", a, b, c)
	}
	different := map[string]string{
		"SEQUENCE":             replace("SEQUENCE:1", "SEQUENCE:2"),
		"swapped properties":   replace("SUMMARY:Meeting\r\nSEQUENCE:1", "SEQUENCE:1\r\nSUMMARY:Meeting"),
		"summary":              replace("SUMMARY:Meeting", "SUMMARY:Meeting!"),
		"lower-case dtstamp":   replace("DTSTAMP:20240101T000000Z", "dtstamp:20240101T000000Z"),
		"added CREATED":        replace("SEQUENCE:1", "SEQUENCE:1\r\nCREATED:20240101T000000Z"),
		"trailing space":       replace("SUMMARY:Meeting", "SUMMARY:Meeting "),
		"fold with two blanks": replace("SUMMARY:Meeting", "SUMMARY:Mee\r\n  ting"),
	}
	for name, text := range different {
		if got := Hash(text); got == h {
			t.Errorf("%s: hash unchanged, want a different one", name)
		}
	}
	// Item.Hash is Hash of the normalised text.
	if MustItem(strings.ReplaceAll(base, "\r\n", "\n")).Hash() != h {
		t.Errorf("Item.Hash of the LF-only item differs")
	}
	if HashBytes([]byte(base)) != h {
		t.Errorf("HashBytes differs from Hash")
	}
}

func TestNormalizeNewlines(t *testing.T) {
	cases := map[string]string{
		"":                "",
		"a":               "a",
		"a\nb":            "a\r\nb",
		"a\r\nb":          "a\r\nb",
		"a\rb":            "a\rb", // a lone CR stays
		"a\r":             "a\r",
		"\n":              "\r\n",
		"\n\n":            "\r\n\r\n",
		"a\r\r\nb":        "a\r\r\nb",
		"a\r\n\nb":        "a\r\n\r\nb",
		"a\n\r\nb\n":      "a\r\n\r\nb\r\n",
		"ä\nö\r\nü":       "ä\r\nö\r\nü",
		"mixed\r\n\rx\ny": "mixed\r\n\rx\r\ny",
	}
	for in, want := range cases {
		if got := NormalizeNewlines(in); got != want {
			t.Errorf("NormalizeNewlines(%q) = %q, want %q", in, got, want)
		}
		if got := NormalizeNewlines(want); got != want {
			t.Errorf("NormalizeNewlines is not idempotent on %q: %q", want, got)
		}
	}
	// NewItem keeps everything but lone LFs.
	it := MustItem("BEGIN:VCARD\nFN:a\rb\r\nEND:VCARD")
	if it.Text() != "BEGIN:VCARD\r\nFN:a\rb\r\nEND:VCARD" {
		t.Errorf("NewItem text = %q", it.Text())
	}
}

func TestCheckSyntax(t *testing.T) {
	valid := []struct {
		kind Kind
		text string
	}{
		{Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT", "END:VCALENDAR")},
		{Calendars, lf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT", "END:VCALENDAR", "")},
		{Calendars, crlf("begin:vcalendar", "BEGIN:VTODO", "SUMMARY:a", " folded", "end:vtodo", "END:VCALENDAR", "", "", "")},
		{Calendars, crlf("BEGIN:VCALENDAR", `X-A;P="x:y";Q=1:v:w`, "X-EMPTY:", "END:VCALENDAR")},
		{Contacts, crlf("BEGIN:VCARD", "VERSION:3.0", "FN:x", "END:VCARD", "")},
	}
	for _, v := range valid {
		if err := CheckSyntax(v.text, v.kind); err != nil {
			t.Errorf("CheckSyntax(%q): %v", v.text, err)
		}
	}
	invalid := []struct {
		name string
		kind Kind
		text string
		msg  string // part of the error message
	}{
		{"empty", Calendars, "", "empty"},
		{"blank", Calendars, " \r\n\r\n", "empty"},
		{"no END line", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT"), "missing END:VCALENDAR"},
		{"no END of the inner component", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x"), "missing END:VEVENT"},
		{"wrong top component", Calendars, crlf("BEGIN:VCARD", "FN:x", "END:VCARD"), "line 1: expected BEGIN:VCALENDAR, found BEGIN:VCARD"},
		{"calendar as contact", Contacts, crlf("BEGIN:VCALENDAR", "END:VCALENDAR"), "line 1: expected BEGIN:VCARD"},
		{"content after END", Calendars, crlf("BEGIN:VCALENDAR", "END:VCALENDAR", "", "X-MORE:1"), "line 4: content after END:VCALENDAR"},
		{"second component", Contacts, crlf("BEGIN:VCARD", "END:VCARD", "BEGIN:VCARD", "END:VCARD"), "line 3: content after END:VCARD"},
		{"nested mismatch", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VTODO", "END:VCALENDAR"), "line 3: END:VTODO does not close BEGIN:VEVENT"},
		{"END without BEGIN", Calendars, crlf("END:VCALENDAR"), "line 1: END:VCALENDAR without BEGIN"},
		{"property before BEGIN", Calendars, crlf("UID:x", "BEGIN:VCALENDAR", "END:VCALENDAR"), `line 1: expected BEGIN:VCALENDAR, found "UID:x"`},
		{"not a content line", Calendars, crlf("BEGIN:VCALENDAR", "this is garbage", "END:VCALENDAR"), "line 2: not a content line"},
		{"no name", Calendars, crlf("BEGIN:VCALENDAR", ":value", "END:VCALENDAR"), "line 2: not a content line"},
		{"BEGIN without name", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:", "END:VCALENDAR"), "line 2: BEGIN without a component name"},
		{"line numbers count physical lines", Calendars, crlf("BEGIN:VCALENDAR", "X-A:folded", " more", " more", "oops", "END:VCALENDAR"), "line 5:"},
		{"NUL byte", Calendars, "BEGIN:VCALENDAR\r\nX:\x00\r\nEND:VCALENDAR", "NUL"},
		{"plain text", Calendars, "Hello, world!\n", "line 1: not a content line"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSyntax(c.text, c.kind)
			if !errors.Is(err, ErrInvalidData) {
				t.Fatalf("CheckSyntax: %v, want ErrInvalidData", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("CheckSyntax error %q does not contain %q", err, c.msg)
			}
		})
	}
	// A long broken line is quoted truncated, on a rune boundary.
	long := crlf("BEGIN:VCALENDAR", strings.Repeat("ä", 100), "END:VCALENDAR")
	if err := CheckSyntax(long, Calendars); err == nil || !utf8.ValidString(err.Error()) || len(err.Error()) > 150 {
		t.Fatalf("CheckSyntax of a long bad line: %v", err)
	}
}

func TestNewItemAndParseItem(t *testing.T) {
	for _, raw := range [][]byte{{0xff, 0xfe, 0x00}, []byte("BEGIN:VCALENDAR\r\nX:\xc3\x28\r\nEND:VCALENDAR"), {0xed, 0xa0, 0x80}} {
		if _, err := NewItem(raw); !errors.Is(err, ErrInvalidData) {
			t.Errorf("NewItem(%q): %v, want ErrInvalidData", raw, err)
		}
		if _, err := ParseItem(raw, Calendars); !errors.Is(err, ErrInvalidData) {
			t.Errorf("ParseItem(%q): %v, want ErrInvalidData", raw, err)
		}
	}
	// Binary garbage that happens to be valid UTF-8 still fails the syntax check.
	if _, err := ParseItem([]byte("\x00\x01\x02\x03"), Calendars); !errors.Is(err, ErrInvalidData) {
		t.Errorf("ParseItem of binary: %v", err)
	}
	// NewItem accepts broken syntax; ParseItem does not.
	if _, err := NewItem([]byte("garbage")); err != nil {
		t.Errorf("NewItem(garbage): %v", err)
	}
	if _, err := ParseItem([]byte("garbage"), Contacts); !errors.Is(err, ErrInvalidData) {
		t.Errorf("ParseItem(garbage): %v", err)
	}
	it, err := ParseItem([]byte(lf("BEGIN:VCARD", "UID:u", "FN:x", "END:VCARD")), Contacts)
	if err != nil || it.Text() != crlf("BEGIN:VCARD", "UID:u", "FN:x", "END:VCARD") {
		t.Errorf("ParseItem = %q, %v", it.Text(), err)
	}
	b := it.Bytes()
	b[0] = 'X'
	if it.Text()[0] != 'B' {
		t.Errorf("Bytes does not return a copy")
	}
	if it.IsZero() || !(Item{}).IsZero() {
		t.Errorf("IsZero is wrong")
	}
	defer func() {
		if recover() == nil {
			t.Errorf("MustItem of invalid UTF-8 did not panic")
		}
	}()
	MustItem("\xff")
}

func TestSummary(t *testing.T) {
	cases := []struct{ text, want string }{
		{crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "SUMMARY:Team meeting", "END:VEVENT", "END:VCALENDAR"), "Team meeting"},
		{crlf("BEGIN:VCARD", "FN:Jane Doe", "END:VCARD"), "Jane Doe"},
		{crlf("SUMMARY;LANGUAGE=de:Besprechung"), "Besprechung"},
		{crlf("SUMMARY:Lunch\\, then\\; coffee\\nand cake \\\\o/"), "Lunch, then; coffee and cake \\o/"},
		{crlf("SUMMARY:fol", " ded"), "folded"},
		{crlf("summary:lower"), "lower"},
		{crlf("SUMMARY:  padded  "), "padded"},
		{crlf("SUMMARY:first", "SUMMARY:second"), "first"},
		{crlf("BEGIN:VCARD", "N:Doe;Jane", "END:VCARD"), ""},
		{"", ""},
		{crlf("SUMMARY:" + strings.Repeat("x", 60)), strings.Repeat("x", 40) + "…"},
	}
	for _, c := range cases {
		if got := Summary(c.text); got != c.want {
			t.Errorf("Summary(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	// Truncation never splits a character.
	got := Summary("SUMMARY:" + strings.Repeat("ä", 60))
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 40+len("…") {
		t.Errorf("Summary of a long non-ASCII value = %q", got)
	}
}

func FuzzItem(f *testing.F) {
	seeds := []string{
		"",
		"\n",
		"\r\n\r\n",
		crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART:19970714T170000Z", "DTEND:19970715T035959Z",
			"SUMMARY:Bastille Day Party", "UID:11bb6bed-c29b-4999-a627-12dee35f8395", "END:VEVENT", "END:VCALENDAR"),
		crlf("DESCRIPTION:Voor meer informatie zie https://nluug.nl/evenementen/nluug/na", " jaarsconferentie-2023/"),
		lf("BEGIN:VCARD", "UID:hello", "\tthere", "REV:20210307T195614Z", "\tnope", "END:VCARD"),
		crlf("BEGIN:VCALENDAR", "BEGIN:VTIMEZONE", "TZID:X", "END:VTIMEZONE", "BEGIN:VEVENT", "UID:a", "END:VEVENT", "END:VCALENDAR"),
		"BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:unterminated",
		"UID:a\r\n \r\n\t\r\n",
		"UID:\rx\n y\r\n z",
		`X;P="a:b;c":d` + "\n" + `X;P="unterminated:e`,
		"\r\r\n\n\r",
		"BEGIN:VCARD\r\nFN:\xc3\xa4\xe2\x9c\x93\r\nEND:VCARD",
		"\xff\xfe",
		"BEGIN:VCALENDAR\x00END:VCALENDAR",
		"SUMMARY:" + strings.Repeat("ä", 30) + "\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := NewItem(raw)
		if err != nil {
			if utf8.Valid(raw) || !errors.Is(err, ErrInvalidData) {
				t.Fatalf("NewItem(%q): %v", raw, err)
			}
			return
		}
		text := string(raw)
		norm := NormalizeNewlines(text)
		if it.Text() != norm {
			t.Fatalf("Text %q, want %q", it.Text(), norm)
		}
		if NormalizeNewlines(norm) != norm {
			t.Fatalf("NormalizeNewlines not idempotent on %q", text)
		}
		if strings.ReplaceAll(norm, "\r\n", "\n") != strings.ReplaceAll(text, "\r\n", "\n") {
			t.Fatalf("NormalizeNewlines changed more than line breaks: %q → %q", text, norm)
		}
		if h := Hash(text); h != Hash(norm) || h != it.Hash() {
			t.Fatalf("Hash differs between %q and its normalised form", text)
		}
		// Reading back what we wrote gives the same identity.
		again, err := NewItem(it.Bytes())
		if err != nil || again.Ident() != it.Ident() || again.Hash() != it.Hash() || again.Text() != it.Text() {
			t.Fatalf("identity not stable: %q vs %q (%v)", again.Ident(), it.Ident(), err)
		}
		if uid, ok := it.UID(); ok && strings.Contains(uid, "\r\n") {
			t.Fatalf("UID %q contains a line break", uid)
		}
		for _, k := range []Kind{Calendars, Contacts} {
			e1, e2 := CheckSyntax(text, k), CheckSyntax(norm, k)
			if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
				t.Fatalf("CheckSyntax differs after normalisation: %v / %v", e1, e2)
			}
			if e1 != nil && !errors.Is(e1, ErrInvalidData) {
				t.Fatalf("CheckSyntax error %v is not ErrInvalidData", e1)
			}
			if _, err := ParseItem(raw, k); (err == nil) != (e1 == nil) {
				t.Fatalf("ParseItem and CheckSyntax disagree: %v / %v", err, e1)
			}
		}
		if s := Summary(text); !utf8.ValidString(s) {
			t.Fatalf("Summary %q is not valid UTF-8", s)
		}
	})
}
