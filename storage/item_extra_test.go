package storage

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func lf(lines ...string) string { return strings.Join(lines, "\n") }

// lineBreak matches one line break of the reader: CR CR LF, CRLF, CR or LF.
var lineBreak = regexp.MustCompile("\r\r\n|\r\n|\r|\n")

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
		"a\rb":            "a\r\nb", // a lone CR is a line break too (docs/DECISIONS.md)
		"a\r":             "a\r\n",
		"\r":              "\r\n",
		"\n":              "\r\n",
		"\n\n":            "\r\n\r\n",
		"\r\r":            "\r\n\r\n",
		"a\r\r\nb":        "a\r\nb", // CR CR LF: a CRLF file converted twice
		"a\r\r\r\nb":      "a\r\n\r\nb",
		"a\r\r":           "a\r\n\r\n",
		"\r\r\n\n":        "\r\n\r\n",
		"a\r\n\nb":        "a\r\n\r\nb",
		"a\n\r\nb\n":      "a\r\n\r\nb\r\n",
		"a\n\rb":          "a\r\n\r\nb", // LF CR: two breaks
		"ä\nö\r\nü":       "ä\r\nö\r\nü",
		"mixed\r\n\rx\ny": "mixed\r\n\r\nx\r\ny",
		BOM + "X\rY":      BOM + "X\r\nY", // the byte-order mark stays
	}
	for in, want := range cases {
		if got := NormalizeNewlines(in); got != want {
			t.Errorf("NormalizeNewlines(%q) = %q, want %q", in, got, want)
		}
		if got := NormalizeNewlines(want); got != want {
			t.Errorf("NormalizeNewlines is not idempotent on %q: %q", want, got)
		}
	}
	// NewItem changes line breaks only.
	it := MustItem("BEGIN:VCARD\nFN:a\rUID:b\r\nEND:VCARD")
	if it.Text() != "BEGIN:VCARD\r\nFN:a\r\nUID:b\r\nEND:VCARD" {
		t.Errorf("NewItem text = %q", it.Text())
	}
	// A CR-only item has its UID and the hash of its CRLF form (sync.md §2.2, §2.4 on
	// the normalised text).
	cr := "BEGIN:VCALENDAR\rBEGIN:VEVENT\rUID:cr-only\r 2\rSUMMARY:x\rEND:VEVENT\rEND:VCALENDAR\r"
	crlfText := strings.ReplaceAll(cr, "\r", "\r\n")
	it = MustItem(cr)
	if uid, ok := it.UID(); uid != "cr-only2" || !ok || it.Hash() != Hash(crlfText) || it.Text() != crlfText {
		t.Errorf("CR-only item: UID %q %v, hash %s, text %q", uid, ok, it.Hash(), it.Text())
	}
	if Hash(cr) != Hash(crlfText) {
		t.Errorf("Hash does not read a lone CR as a line break")
	}
}

func TestVerbatimItem(t *testing.T) {
	raw := "BEGIN:VCARD\nUID:v\nFN:x\nEND:VCARD\n"
	it, err := VerbatimItem([]byte(raw))
	if err != nil || it.Text() != raw || string(it.Bytes()) != raw {
		t.Fatalf("VerbatimItem = %q, %v", it.Text(), err)
	}
	norm := MustItem(raw)
	if it.Ident() != "v" || it.Hash() != norm.Hash() {
		t.Errorf("VerbatimItem identity %q %s, want v %s", it.Ident(), it.Hash(), norm.Hash())
	}
	if _, err := VerbatimItem([]byte("\xff")); !errors.Is(err, ErrInvalidData) {
		t.Errorf("VerbatimItem of invalid UTF-8: %v", err)
	}
}

// TestCheckSyntax: what the reader accepts (everything that can be an item) and what it
// refuses, with the line and byte offset of each refusal.
func TestCheckSyntax(t *testing.T) {
	qp := "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=\r\n=C3=BCrgen\r\n" +
		"NOTE;QUOTED-PRINTABLE:END:VCARD is not the end=0D=0A=\r\nEND:VCARD still not=\r\n\r\nEND:VCARD\r\n"
	valid := []struct {
		name string
		kind Kind
		text string
	}{
		{"CRLF", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT", "END:VCALENDAR")},
		{"LF", Calendars, lf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT", "END:VCALENDAR", "")},
		{"CR", Calendars, strings.Join([]string{"BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT", "END:VCALENDAR", ""}, "\r")},
		{"BOM", Calendars, BOM + crlf("BEGIN:VCALENDAR", "END:VCALENDAR")},
		{"BOM and CR", Contacts, BOM + "BEGIN:VCARD\rFN:x\rEND:VCARD\r"},
		{"case and blank lines", Calendars, crlf("begin:vcalendar", "BEGIN:VTODO", "SUMMARY:a", " folded", "end:vtodo", "END:VCALENDAR", "", "", "")},
		{"quoted colon", Calendars, crlf("BEGIN:VCALENDAR", `X-A;P="x:y";Q=1:v:w`, "X-EMPTY:", "END:VCALENDAR")},
		{"vCard", Contacts, crlf("BEGIN:VCARD", "VERSION:3.0", "FN:x", "END:VCARD", "")},
		{"bare VEVENT", Calendars, crlf("BEGIN:VEVENT", "UID:bare", "END:VEVENT")},
		{"bare VTODO and VJOURNAL", Calendars, crlf("BEGIN:VTODO", "END:VTODO", "BEGIN:VJOURNAL", "END:VJOURNAL")},
		{"X- component", Calendars, crlf("BEGIN:X-THING", "X:1", "END:X-THING")},
		{"quoted-printable soft breaks", Contacts, qp},
		{"two vCards", Contacts, crlf("BEGIN:VCARD", "FN:a", "END:VCARD", "BEGIN:VCARD", "FN:b", "END:VCARD")},
		{"two calendars", Calendars, crlf("BEGIN:VCALENDAR", "END:VCALENDAR", "BEGIN:VCALENDAR", "END:VCALENDAR")},
		{"not a content line", Calendars, crlf("BEGIN:VCALENDAR", "this is no content line", ":value", "END:VCALENDAR")},
		{"text around the component", Calendars, crlf("Subject: invitation", "BEGIN:VCALENDAR", "END:VCALENDAR", "-- ", "sent from a phone")},
		{"nested vCard (vCard 2.1 AGENT)", Contacts, crlf("BEGIN:VCARD", "AGENT:", "BEGIN:VCARD", "FN:agent", "END:VCARD", "END:VCARD")},
	}
	for _, v := range valid {
		if err := CheckSyntax(v.text, v.kind); err != nil {
			t.Errorf("%s: CheckSyntax(%q): %v", v.name, v.text, err)
		}
		if _, err := ParseItem([]byte(v.text), v.kind); err != nil {
			t.Errorf("%s: ParseItem: %v", v.name, err)
		}
	}
	invalid := []struct {
		name      string
		kind      Kind
		text      string
		line, off int
		msg       string // part of the error message
	}{
		{"empty", Calendars, "", 0, 0, "the item is empty"},
		{"blank", Calendars, " \r\n\r\n", 0, 0, "the item is empty"},
		{"only a BOM", Contacts, BOM + "\n", 0, 0, "the item is empty"},
		{"plain text", Calendars, "\r\nHello, world!\n", 2, 2, `no component: no BEGIN line anywhere (expected BEGIN:VCALENDAR, or a bare VEVENT, VTODO, ...); the text starts with "Hello, world!"`},
		{"only properties", Contacts, crlf("FN:x", "UID:y"), 1, 0, "no component"},
		{"no END line", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x", "END:VEVENT"), 1, 0,
			"BEGIN:VCALENDAR is never closed: the text ends at line 4 (byte 48) without END:VCALENDAR (truncated?)"},
		{"no END of the inner component", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x"), 2, 17, "BEGIN:VEVENT is never closed"},
		{"truncated CR-only", Calendars, "BEGIN:VCALENDAR\rBEGIN:VTODO\rSUMMARY:cut", 2, 16, "BEGIN:VTODO is never closed: the text ends at line 3"},
		{"truncated with a BOM", Contacts, BOM + "BEGIN:VCARD\nFN:x\n", 1, 3, "BEGIN:VCARD is never closed"},
		{"wrong top component", Calendars, crlf("BEGIN:VCARD", "FN:x", "END:VCARD"), 1, 0,
			"BEGIN:VCARD: a vCard does not belong in a calendar (expected BEGIN:VCALENDAR, or a bare VEVENT, VTODO, ...)"},
		{"calendar as contact", Contacts, crlf("BEGIN:VCALENDAR", "END:VCALENDAR"), 1, 0, "BEGIN:VCALENDAR: a calendar does not belong in an address book (expected BEGIN:VCARD)"},
		{"event as contact", Contacts, crlf("BEGIN:VCARD", "END:VCARD", "BEGIN:VEVENT", "END:VEVENT"), 3, 24, "a VEVENT component does not belong in an address book"},
		{"nested mismatch", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VTODO", "END:VCALENDAR"), 3, 31, "END:VTODO does not close BEGIN:VEVENT of line 2"},
		{"END without BEGIN", Calendars, crlf("END:VCALENDAR"), 1, 0, "END:VCALENDAR without a BEGIN it could close"},
		{"END after the end", Calendars, crlf("BEGIN:VCALENDAR", "END:VCALENDAR", "END:VCALENDAR"), 3, 32, "END:VCALENDAR without a BEGIN"},
		{"BEGIN without name", Calendars, crlf("BEGIN:VCALENDAR", "BEGIN:", "END:VCALENDAR"), 2, 17, "BEGIN without a component name"},
		{"line numbers count physical lines", Calendars, crlf("BEGIN:VCALENDAR", "X-A:folded", " more", " more", "END:VEVENT"), 5, 43, "END:VEVENT does not close BEGIN:VCALENDAR of line 1"},
		{"NUL byte", Calendars, "BEGIN:VCALENDAR\r\nX:\x00\r\nEND:VCALENDAR", 2, 19, "a NUL byte"},
		{"UTF-16 without BOM", Calendars, "B\x00E\x00G\x00", 1, 1, "UTF-16 without a byte-order mark"},
		{"UTF-16 with BOM", Contacts, "\xff\xfeB\x00E\x00", 1, 0, "the text is UTF-16 (byte-order mark FF FE), not UTF-8; convert it"},
		{"Latin-1 with CHARSET", Contacts, "BEGIN:VCARD\r\nVERSION:2.1\nN;CHARSET=ISO-8859-1:M\xfcller\r\nEND:VCARD\r\n", 3, 47,
			"not valid UTF-8 (bytes FC 6C 6C 65); the item declares CHARSET=ISO-8859-1, but items must be UTF-8: convert it, for example with iconv -f ISO-8859-1 -t UTF-8"},
		{"Windows-1252 on a CR-only line", Calendars, "BEGIN:VCALENDAR\rSUMMARY:\x93quoted\x94\rEND:VCALENDAR", 2, 24, "not valid UTF-8 (bytes 93 71 75 6F); items must be UTF-8"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSyntax(c.text, c.kind)
			var se *SyntaxError
			if !errors.Is(err, ErrInvalidData) || !errors.As(err, &se) {
				t.Fatalf("CheckSyntax: %v, want a *SyntaxError matching ErrInvalidData", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("CheckSyntax error %q does not contain %q", err, c.msg)
			}
			if se.Line != c.line || se.Offset != c.off {
				t.Fatalf("error at line %d, byte %d; want line %d, byte %d (%v)", se.Line, se.Offset, c.line, c.off, err)
			}
			if c.line > 0 && !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d, byte %d: ", c.line, c.off)) {
				t.Fatalf("the message does not start with the position: %v", err)
			}
			if _, perr := ParseItem([]byte(c.text), c.kind); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("ParseItem: %v, want the same error as CheckSyntax", perr)
			}
		})
	}
	// A long component name is quoted truncated, on a rune boundary.
	long := crlf("BEGIN:VCALENDAR", "END:"+strings.Repeat("ä", 100))
	if err := CheckSyntax(long, Calendars); err == nil || !utf8.ValidString(err.Error()) || len(err.Error()) > 150 {
		t.Fatalf("CheckSyntax of a long bad line: %v", err)
	}
}

// TestScanLines: the logical lines of the reader, with folds and quoted-printable
// soft line breaks, and positions in the input.
func TestScanLines(t *testing.T) {
	text := BOM + "A:1\r\n fold\nN;ENCODING=QUOTED-PRINTABLE:x=\r=3D\r\n y=\nz\r\nQ;CHARSET=UTF-8:not qp=\nEND:X"
	type got struct {
		text                    string
		no, last, start, end, n int
	}
	var lines []got
	ScanLines(text, func(l Line) bool {
		lines = append(lines, got{l.Text, l.No, l.Last, l.Start, l.End, l.Next})
		return true
	})
	want := []got{
		{"A:1fold", 1, 2, 3, 13, 14},
		{"N;ENCODING=QUOTED-PRINTABLE:x=3Dyz", 3, 6, 14, 55, 57},
		{"Q;CHARSET=UTF-8:not qp=", 7, 7, 57, 80, 81},
		{"END:X", 8, 8, 81, 86, 86},
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("ScanLines:\n%+v\nwant\n%+v", lines, want)
	}
	var l Line
	ScanLines(text, func(x Line) bool { l = x; return false })
	if l.Raw(text) != "A:1\r\n fold" {
		t.Fatalf("Raw = %q", l.Raw(text))
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
		{"SUMMARY:cr\rDESCRIPTION:x\r", "cr"},
		{BOM + "BEGIN:VCARD\nFN:bom\nEND:VCARD", "bom"},
		// vCard 2.1 quoted-printable, continued after a soft line break.
		{crlf("BEGIN:VCARD", "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen=", "=20M=C3=BCller=0D=0Ajr.", "END:VCARD"), "Jürgen Müller jr."},
		{crlf("FN;QUOTED-PRINTABLE:broken =ZZ"), "broken =ZZ"},
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
		// CR-only line ends, a byte-order mark, quoted-printable soft line breaks.
		"BEGIN:VCALENDAR\rBEGIN:VEVENT\rUID:cr\r x\rEND:VEVENT\rEND:VCALENDAR\r",
		"BEGIN:VCALENDAR\r\rBEGIN:VTODO\r\r\nUID:crcrlf\r\r\nEND:VTODO\r\nEND:VCALENDAR",
		BOM + "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		BOM + "BEGIN:VCARD\rUID:bom-cr\rEND:VCARD",
		BOM,
		"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=\r\n=C3=91b=\r\nEND:VCARD\r\nEND:VCARD\r\n",
		"BEGIN:VCARD\nN;QUOTED-PRINTABLE;CHARSET=UTF-8:=\n=\n\nEND:VCARD",
		"BEGIN:VEVENT\nUID:bare\nEND:VEVENT\n",
		"\xff\xfeB\x00",
		"BEGIN:VCARD\r\nN;CHARSET=ISO-8859-1:M\xfcller\r\nEND:VCARD\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// Every file of the corpus: real shapes of every kind, refused ones included.
	for _, e := range readCorpus(f) {
		f.Add(e.raw)
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
		breaks := func(s string) string { return lineBreak.ReplaceAllString(s, "\n") }
		if breaks(norm) != breaks(text) || strings.Count(norm, "\r") != strings.Count(norm, "\n") {
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
		if uid, ok := it.UID(); ok && strings.ContainsAny(uid, "\r\n") {
			t.Fatalf("UID %q contains a line break", uid)
		}
		for _, k := range []Kind{Calendars, Contacts} {
			// The same refusal, at the same line, whatever the line breaks.
			e1, e2 := CheckSyntax(text, k), CheckSyntax(norm, k)
			var s1, s2 *SyntaxError
			if (e1 == nil) != (e2 == nil) || (e1 != nil && (!errors.As(e1, &s1) || !errors.As(e2, &s2) || s1.Line != s2.Line)) {
				t.Fatalf("CheckSyntax differs after normalisation: %v / %v", e1, e2)
			}
			if e1 != nil && !errors.Is(e1, ErrInvalidData) {
				t.Fatalf("CheckSyntax error %v is not ErrInvalidData", e1)
			}
			if s1 != nil && (s1.Offset < 0 || s1.Offset > len(text)) {
				t.Fatalf("error offset %d outside the input: %v", s1.Offset, e1)
			}
			pit, err := ParseItem(raw, k)
			if (err == nil) != (e1 == nil) {
				t.Fatalf("ParseItem and CheckSyntax disagree: %v / %v", err, e1)
			}
			if err == nil && (pit.Text() != it.Text() || pit.Ident() != it.Ident() || pit.Hash() != it.Hash()) {
				t.Fatalf("ParseItem and NewItem disagree")
			}
			// A byte-order mark is kept and never changes whether an item is accepted.
			if !strings.HasPrefix(text, BOM) {
				eb := CheckSyntax(BOM+text, k)
				if (eb == nil) != (e1 == nil) {
					t.Fatalf("a BOM changes CheckSyntax: %v / %v", eb, e1)
				}
			}
		}
		if s := Summary(text); !utf8.ValidString(s) {
			t.Fatalf("Summary %q is not valid UTF-8", s)
		}
	})
}
