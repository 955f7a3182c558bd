package webcal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// lines joins lines with CRLF and ends with CRLF.
func lines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

// Pieces of the test feed. Each is a list of complete lines.
var (
	feedBegin  = []string{"BEGIN:VCALENDAR"}
	feedHeader = []string{"VERSION:2.0", "PRODID:-//Example//Holidays//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Holidays"}
	feedEnd    = []string{"END:VCALENDAR"}
	tzBerlin   = []string{"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
		"TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	tzUnused = []string{"BEGIN:VTIMEZONE", "TZID:Unused/Zone", "BEGIN:STANDARD", "DTSTART:19700101T000000",
		"TZOFFSETFROM:+0000", "TZOFFSETTO:+0000", "END:STANDARD", "END:VTIMEZONE"}
	tzNewYork = []string{"BEGIN:VTIMEZONE", "TZID:America/New York", "BEGIN:STANDARD", "DTSTART:19701101T020000",
		"TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE"}
	// The recurring master: its TZID parameter is folded in the middle.
	evMaster = []string{"BEGIN:VEVENT", "UID:standup", "DTSTAMP:20240101T000000Z", "DTSTART;TZID=Europe/",
		" Berlin:20240102T090000", "RRULE:FREQ=DAILY", "SUMMARY:Standup with a long summary that is folded",
		"  onto a second line", "END:VEVENT"}
	evSingle = []string{"BEGIN:VEVENT", "UID:party", "DTSTAMP:20240101T000000Z",
		`DTSTART;VALUE=DATE-TIME;TZID="America/New York":20240105T200000`, "SUMMARY:Party",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM", "END:VEVENT"}
	evOverride = []string{"BEGIN:VEVENT", "UID:standup", "RECURRENCE-ID;TZID=Europe/Berlin:20240103T090000",
		"DTSTAMP:20240101T000000Z", "DTSTART;TZID=Europe/Berlin:20240103T100000", "SUMMARY:Standup (moved)", "END:VEVENT"}
	evNoUID  = []string{"BEGIN:VEVENT", "DTSTAMP:20240101T000000Z", "DTSTART:20240106T100000Z", "SUMMARY:No UID", "END:VEVENT"}
	todo     = []string{"BEGIN:VTODO", "UID:chores", "DTSTAMP:20240101T000000Z", "SUMMARY:Chores", "END:VTODO"}
	avail1   = []string{"BEGIN:VAVAILABILITY", "UID:avail", "DTSTAMP:20240101T000000Z", "BEGIN:AVAILABLE", "UID:slot-1", "DTSTART:20240101T090000Z", "END:AVAILABLE", "END:VAVAILABILITY"}
	avail2   = []string{"BEGIN:VAVAILABILITY", "UID:avail", "DTSTAMP:20240101T000000Z", "SUMMARY:second part", "END:VAVAILABILITY"}
	evNoUID2 = []string{"BEGIN:VEVENT", "DTSTAMP:20240101T000000Z", "DTSTART:20240107T100000Z", "SUMMARY:No UID 2", "END:VEVENT"}
)

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// testFeed is a feed with every case of storages.md §3 and the items it must give.
func testFeed() (feed string, want []string) {
	feed = lines(cat(feedBegin, feedHeader[:2], tzBerlin, tzUnused, evMaster, tzNewYork, evSingle,
		[]string{""}, feedHeader[2:4], evOverride, evNoUID, todo, avail1, feedHeader[4:], avail2, evNoUID2, feedEnd)...)
	item := func(parts ...[]string) string {
		return lines(cat(append(append([][]string{feedBegin, feedHeader}, parts...), feedEnd)...)...)
	}
	want = []string{
		item(tzBerlin, evMaster, evOverride),
		item(tzNewYork, evSingle),
		item(evNoUID),
		item(todo),
		item(avail1, avail2),
		item(evNoUID2),
	}
	return feed, want
}

// mustSplit splits a feed whose items must all be usable and returns their texts.
func mustSplit(t *testing.T, feed string) []string {
	t.Helper()
	items, err := split([]byte(feed))
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	texts := make([]string, len(items))
	for i, it := range items {
		if it.err != nil {
			t.Fatalf("item %d: %v", i, it.err)
		}
		texts[i] = it.text
	}
	return texts
}

func checkItems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("split gave %d items, want %d:\n%s", len(got), len(want), strings.Join(got, "\n----\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d =\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}

func TestSplit(t *testing.T) {
	feed, want := testFeed()
	got := mustSplit(t, feed)
	checkItems(t, got, want)
	for i, text := range got {
		if err := storage.CheckSyntax(text, storage.Calendars); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
}

// TestSplitGroupsByUID spells out the rules one by one on the test feed.
func TestSplitGroupsByUID(t *testing.T) {
	feed, _ := testFeed()
	got := mustSplit(t, feed)
	byIdent := map[string]string{}
	for _, text := range got {
		byIdent[storage.MustItem(text).Ident()] = text
	}
	standup := byIdent["standup"]
	switch {
	case standup == "":
		t.Fatal("no item for UID standup")
	case !strings.Contains(standup, "RRULE:FREQ=DAILY") || !strings.Contains(standup, "RECURRENCE-ID;TZID=Europe/Berlin:20240103T090000"):
		t.Fatal("the override is not in its master's item")
	case !strings.Contains(standup, lines(tzBerlin...)) || strings.Contains(standup, "America/New York"):
		t.Fatal("standup does not hold exactly the Berlin VTIMEZONE")
	case strings.Contains(standup, "Unused/Zone"):
		t.Fatal("an unreferenced VTIMEZONE was included")
	case !strings.Contains(standup, "DTSTART;TZID=Europe/\r\n Berlin:20240102T090000\r\n"):
		t.Fatal("the folded line was not kept as it was")
	}
	if party := byIdent["party"]; !strings.Contains(party, lines(tzNewYork...)) || strings.Contains(party, "Europe/Berlin") {
		t.Fatal("a quoted TZID parameter did not pull in its VTIMEZONE")
	}
	if a := byIdent["avail"]; !strings.Contains(a, "SUMMARY:second part") || !strings.Contains(a, "UID:slot-1") {
		t.Fatal("VAVAILABILITY components with one UID were not grouped")
	}
	if len(byIdent) != 6 {
		t.Fatalf("idents %v", byIdent)
	}
	// The header is the same, in feed order, in every item.
	header := lines(cat(feedBegin, feedHeader)...)
	for _, text := range got {
		if !strings.HasPrefix(text, header) {
			t.Fatalf("item does not start with the header:\n%s", text)
		}
	}
}

func TestSplitDeterministic(t *testing.T) {
	feed, _ := testFeed()
	a, b := mustSplit(t, feed), mustSplit(t, feed)
	checkItems(t, b, a)
	// The hashes ignore DTSTAMP: a feed that regenerates it gives the same etags.
	restamped := strings.ReplaceAll(feed, "DTSTAMP:20240101T000000Z", "DTSTAMP:20250601T120000Z")
	c := mustSplit(t, restamped)
	for i := range a {
		if storage.Hash(a[i]) != storage.Hash(c[i]) {
			t.Fatalf("item %d: hash changed with DTSTAMP", i)
		}
	}
}

func TestSplitLineEndings(t *testing.T) {
	feed, want := testFeed()
	lf := strings.ReplaceAll(feed, "\r\n", "\n")
	checkItems(t, mustSplit(t, lf), want)
	// BOM and leading blank lines.
	checkItems(t, mustSplit(t, "\uFEFF\r\n  \n"+feed), want)
	// No final line break.
	checkItems(t, mustSplit(t, strings.TrimSuffix(feed, "\r\n")), want)
	// CR-only line ends, with and without a BOM, give the same items.
	cr := strings.ReplaceAll(feed, "\r\n", "\r")
	checkItems(t, mustSplit(t, cr), want)
	checkItems(t, mustSplit(t, "\uFEFF"+cr), want)
	// Mixed line ends, as after an edit in another editor.
	mixed := strings.Replace(strings.Replace(feed, "\r\n", "\n", 7), "SUMMARY:Party\r\n", "SUMMARY:Party\r", 1)
	checkItems(t, mustSplit(t, mixed), want)
	// A lone CR inside a line is a line break, as it is in a vdir file (storage.NormalizeNewlines).
	stray := strings.Replace(feed, "SUMMARY:Party\r\n", "SUMMARY:Par\rty\r\n", 1)
	found := false
	for _, it := range mustSplit(t, stray) {
		found = found || strings.Contains(it, "SUMMARY:Par\r\nty\r\n")
	}
	if !found {
		t.Fatal("a lone CR did not become CRLF")
	}
}

// TestSplitCalendarUID (issue 9, item 9): a calendar-level UID (RFC 7986) names the
// feed; every item keeps the identity of its own components and none is lost.
func TestSplitCalendarUID(t *testing.T) {
	feed, want := testFeed()
	withUID := strings.Replace(feed, "PRODID:-//Example//Holidays//EN\r\n", "PRODID:-//Example//Holidays//EN\r\nUID:calendar-of-holidays\r\n", 1)
	if withUID == feed {
		t.Fatal("the test feed changed")
	}
	got := mustSplit(t, withUID)
	checkItems(t, got, want)
	idents := map[string]bool{}
	for _, text := range got {
		idents[storage.MustItem(text).Ident()] = true
		if strings.Contains(text, "calendar-of-holidays") {
			t.Fatalf("the calendar UID was copied into an item:\n%s", text)
		}
	}
	if len(idents) != len(want) {
		t.Fatalf("%d idents for %d items: %v", len(idents), len(want), idents)
	}
	// A UID with parameters, lower case, or folded is the calendar's too.
	for _, uid := range []string{"UID;X-A=1:cal", "uid:cal", "UID:c\r\n al"} {
		f := lines(cat(feedBegin, []string{"VERSION:2.0", uid}, evNoUID, todo, feedEnd)...)
		got := mustSplit(t, f)
		if len(got) != 2 || strings.Contains(got[0], "cal") || storage.MustItem(got[1]).Ident() != "chores" {
			t.Fatalf("%q: %q", uid, got)
		}
	}
}

// TestSplitBare: a feed of components without VCALENDAR gives the components as bare
// items, exactly as a vdir file with the same text would be read.
func TestSplitBare(t *testing.T) {
	got := mustSplit(t, lines(cat(tzBerlin, evMaster, todo, evOverride)...))
	checkItems(t, got, []string{lines(cat(tzBerlin, evMaster, evOverride)...), lines(todo...)})
	// Next to a VCALENDAR, a bare component is wrapped like the others.
	got = mustSplit(t, lines(cat(todo, feedBegin, feedHeader, evNoUID, feedEnd)...))
	checkItems(t, got, []string{lines(cat(feedBegin, feedHeader, todo, feedEnd)...), lines(cat(feedBegin, feedHeader, evNoUID, feedEnd)...)})
}

// TestSplitQuotedPrintable: a vCalendar 1.0 value continued after a soft line break is
// one line; its continuation is never read as a BEGIN or END.
func TestSplitQuotedPrintable(t *testing.T) {
	ev := []string{"BEGIN:VEVENT", "UID:qp", "DESCRIPTION;ENCODING=QUOTED-PRINTABLE:first=0D=0A=", "END:VEVENT and more=", "BEGIN:VALARM=", "x", "END:VEVENT"}
	got := mustSplit(t, lines(cat(feedBegin, []string{"VERSION:1.0"}, ev, todo, feedEnd)...))
	checkItems(t, got, []string{lines(cat(feedBegin, []string{"VERSION:1.0"}, ev, feedEnd)...), lines(cat(feedBegin, []string{"VERSION:1.0"}, todo, feedEnd)...)})
}

// TestSplitUnusableComponent: a component that is not UTF-8 is an item error with the
// feed line and byte; the other items are usable.
func TestSplitUnusableComponent(t *testing.T) {
	bad := []string{"BEGIN:VEVENT", "UID:latin1", "SUMMARY;CHARSET=ISO-8859-1:Caf\xe9", "END:VEVENT"}
	badTZ := []string{"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "X-NAME:\xff", "END:VTIMEZONE"}
	feed := lines(cat(feedBegin, feedHeader, todo, bad, evNoUID, badTZ, evMaster, feedEnd)...)
	items, err := split([]byte(feed))
	if err != nil || len(items) != 4 {
		t.Fatalf("split: %d items, %v", len(items), err)
	}
	if items[0].err != nil || items[2].err != nil {
		t.Fatalf("good items: %v, %v", items[0].err, items[2].err)
	}
	badOff := strings.Index(feed, "Caf\xe9") + 3
	var se *storage.SyntaxError
	if !errors.As(items[1].err, &se) || se.Line != 14 || se.Offset != badOff || items[1].href != "latin1" ||
		!strings.Contains(items[1].err.Error(), fmt.Sprintf("line 14, byte %d: not valid UTF-8 (bytes E9 0D 0A 45); the item declares CHARSET=ISO-8859-1", badOff)) {
		t.Fatalf("latin-1 item: %q %v", items[1].href, items[1].err)
	}
	// The event that uses the broken VTIMEZONE cannot be used either.
	if items[3].err == nil || items[3].href != "standup" || !strings.Contains(items[3].err.Error(), "line 23, byte") {
		t.Fatalf("item with a broken VTIMEZONE: %q %v", items[3].href, items[3].err)
	}
	if items[1].etag == "" || items[1].etag == items[3].etag {
		t.Fatalf("etags %q %q", items[1].etag, items[3].etag)
	}
	// Broken nesting inside a component is that item's error too.
	broken := []string{"BEGIN:VEVENT", "UID:broken", "BEGIN:VALARM", "END:VTODO", "END:VEVENT"}
	items, err = split([]byte(lines(cat(feedBegin, feedHeader, broken, todo, feedEnd)...)))
	if err != nil || len(items) != 2 || items[1].err != nil || items[0].href != "broken" ||
		!strings.Contains(fmt.Sprint(items[0].err), "line 10, byte 162: END:VTODO does not close BEGIN:VALARM of line 9") {
		t.Fatalf("broken nesting: %v %v %+v", err, items[0].err, items)
	}
}

func TestSplitSeveralCalendars(t *testing.T) {
	one := lines(cat(feedBegin, feedHeader, evNoUID, feedEnd)...)
	two := lines(cat(feedBegin, []string{"VERSION:2.0", "X-OTHER:ignored"}, tzBerlin, evOverride, feedEnd)...)
	got := mustSplit(t, one+"\r\n"+two)
	want := []string{
		lines(cat(feedBegin, feedHeader, evNoUID, feedEnd)...),
		lines(cat(feedBegin, feedHeader, tzBerlin, evOverride, feedEnd)...),
	}
	checkItems(t, got, want)
}

func TestSplitUIDRule(t *testing.T) {
	// sync.md §2.2: the first line starting with "UID:" counts, even inside a VALARM
	// before the component's own UID; "UID;X=1:" does not match.
	alarmFirst := []string{"BEGIN:VEVENT", "BEGIN:VALARM", "UID:alarm-uid", "END:VALARM", "UID:event-uid", "END:VEVENT"}
	withParam := []string{"BEGIN:VEVENT", "UID;VALUE=TEXT:x", "SUMMARY:param", "END:VEVENT"}
	got := mustSplit(t, lines(cat(feedBegin, alarmFirst, withParam, withParam, feedEnd)...))
	if len(got) != 3 {
		t.Fatalf("%d items", len(got))
	}
	if id := storage.MustItem(got[0]).Ident(); id != "alarm-uid" {
		t.Fatalf("ident %q", id)
	}
	if _, ok := storage.MustItem(got[1]).UID(); ok {
		t.Fatal("UID;VALUE=TEXT counted as a UID")
	}
}

func TestSplitErrors(t *testing.T) {
	feed, _ := testFeed()
	cases := map[string]struct{ body, want string }{
		"empty":             {"", "the body is empty"},
		"blank":             {" \r\n\t\n", "the body is empty"},
		"html":              {"<!DOCTYPE html>\n<html>", `line 1, byte 0: it starts with "<!DOCTYPE html>", not BEGIN:VCALENDAR`},
		"html with a BOM":   {"\uFEFF\n<html>", `line 2, byte 4: it starts with "<html>", not BEGIN:VCALENDAR`},
		"vcard":             {"BEGIN:VCARD\r\nEND:VCARD\r\n", `line 1, byte 0: BEGIN:VCARD: a feed holds calendar components, not vCards`},
		"utf-16":            {"\xff\xfeB\x00E\x00", "line 1, byte 0: the feed is UTF-16 (byte-order mark FF FE), not UTF-8"},
		"header not utf-8":  {"BEGIN:VCALENDAR\r\nX:\xff\r\nEND:VCALENDAR\r\n", "line 2, byte 17: the calendar's header is not UTF-8 text: byte 19: not valid UTF-8 (bytes FF)"},
		"truncated":         {feed[:len(feed)/2], "(truncated?)"},
		"truncated CR-only": {"BEGIN:VCALENDAR\rVERSION:2.0\rBEGIN:VEVENT\rUID:x\r", "line 3, byte 28: BEGIN:VEVENT is never closed: the feed ends at line 4 (truncated?)"},
		"truncated bare":    {lines(cat(todo, evMaster[:3])...), "line 6, byte 78: BEGIN:VEVENT is never closed"},
		"no end":            {strings.TrimSuffix(feed, "END:VCALENDAR\r\n"), "without END:VCALENDAR"},
		"stray end":         {lines("BEGIN:VCALENDAR", "VERSION:2.0", "END:VEVENT", "END:VCALENDAR"), "line 3, byte 30: END:VEVENT without BEGIN"},
		"content after end": {feed + "garbage\r\n", "content after END:VCALENDAR"},
		"junk after bare":   {lines(cat(todo, []string{"garbage"})...), `line 6, byte 78: content outside any component: "garbage"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := split([]byte(c.body))
			if err == nil || !strings.HasPrefix(err.Error(), errNotFeed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestTZIDParam(t *testing.T) {
	cases := map[string]string{
		"TZID=Europe/Berlin":                      "Europe/Berlin",
		`VALUE=DATE-TIME;TZID="A;B:C"`:            "A;B:C",
		`X-P="TZID=no";tzid=yes`:                  "yes",
		"VALUE=DATE":                              "",
		`X-Q="a;b";TZID=/mozilla.org/Europe/Rome`: "/mozilla.org/Europe/Rome",
	}
	for in, want := range cases {
		got, ok := tzidParam(in)
		if got != want || ok != (want != "") {
			t.Errorf("tzidParam(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// FuzzSplit: split never panics, is deterministic, and for a well-formed VCALENDAR
// (valid UTF-8 that passes storage.CheckSyntax) succeeds with items that all pass
// storage.CheckSyntax.
func FuzzSplit(f *testing.F) {
	feed, _ := testFeed()
	f.Add([]byte(feed))
	f.Add([]byte(strings.ReplaceAll(feed, "\r\n", "\n")))
	f.Add([]byte(lines(cat(feedBegin, evNoUID, feedEnd)...)))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:\r\nEND:VEVENT\r\nEND:VCALENDAR"))
	f.Add([]byte("\uFEFFBEGIN:VCALENDAR\n X:1\nBEGIN:X\nEND:X\nEND:VCALENDAR\n"))
	f.Add([]byte("<html>"))
	// CR-only line ends, a BOM, quoted-printable soft line breaks, bare components,
	// a calendar-level UID, bytes that are not UTF-8.
	f.Add([]byte(strings.ReplaceAll(feed, "\r\n", "\r")))
	f.Add([]byte("\uFEFF" + strings.ReplaceAll(feed, "\r\n", "\r")))
	f.Add([]byte(lines(cat(feedBegin, []string{"VERSION:1.0"}, []string{"BEGIN:VEVENT", "DESCRIPTION;ENCODING=QUOTED-PRINTABLE:a=", "END:VEVENT=", "=C3=91", "END:VEVENT"}, feedEnd)...)))
	f.Add([]byte(lines(cat(tzBerlin, evMaster, todo)...)))
	f.Add([]byte(lines(cat(feedBegin, []string{"UID:cal"}, evNoUID, todo, feedEnd)...)))
	f.Add([]byte(lines(cat(feedBegin, []string{"BEGIN:VEVENT", "UID:x", "SUMMARY:\xe9", "END:VEVENT"}, todo, feedEnd)...)))
	f.Fuzz(checkSplit)
}

// checkSplit checks the properties of FuzzSplit for one body.
func checkSplit(t *testing.T, body []byte) {
	items, err := split(body)
	again, err2 := split(body)
	if (err == nil) != (err2 == nil) || len(items) != len(again) {
		t.Fatal("split is not deterministic")
	}
	for i := range items {
		if items[i].text != again[i].text || fmt.Sprint(items[i].err) != fmt.Sprint(again[i].err) || items[i].href != again[i].href {
			t.Fatal("split is not deterministic")
		}
	}
	for _, it := range items {
		switch {
		case it.err == nil && it.text == "":
			t.Fatalf("an empty item from\n%q", body)
		case it.err == nil:
			if perr := storage.CheckSyntax(it.text, storage.Calendars); perr != nil {
				t.Fatalf("item fails CheckSyntax: %v\n%q\nfrom\n%q", perr, it.text, body)
			}
			if storage.NormalizeNewlines(it.text) != it.text {
				t.Fatalf("item line breaks are not CRLF: %q", it.text)
			}
		case it.href == "" || it.etag == "" || !errors.Is(it.err, storage.ErrInvalidData):
			t.Fatalf("unusable item without href, etag or kind: %+v", it)
		}
	}
	if !oneCalendar(string(body)) {
		return
	}
	if err != nil {
		t.Fatalf("a well-formed VCALENDAR failed to split: %v\n%q", err, body)
	}
	for _, it := range items {
		if it.err != nil {
			t.Fatalf("an item of a well-formed VCALENDAR is unusable: %v\n%q", it.err, body)
		}
	}
}

// oneCalendar reports whether text is one well-formed VCALENDAR: the item reader
// accepts it, and nothing but blank lines surrounds the VCALENDAR.
func oneCalendar(text string) bool {
	if storage.CheckSyntax(text, storage.Calendars) != nil {
		return false
	}
	depth, calendars, ok := 0, 0, true
	storage.ScanLines(text, func(l storage.Line) bool {
		cl := storage.SplitLine(l.Text)
		name := strings.ToUpper(cl.Name)
		switch {
		case depth == 0 && strings.TrimSpace(l.Text) == "":
		case depth == 0 && (name != "BEGIN" || strings.ToUpper(strings.TrimSpace(cl.Value)) != "VCALENDAR" || calendars > 0):
			ok = false
		case name == "BEGIN" && cl.HasSep:
			depth++
			calendars++
		case name == "END" && cl.HasSep:
			depth--
		}
		return ok
	})
	return ok && calendars > 0
}

// TestSplitMutations runs the FuzzSplit properties over seeded random mutations of the
// test feed, so that every test run covers more than the fuzz corpus.
func TestSplitMutations(t *testing.T) {
	feed, _ := testFeed()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\r\n \t:;=\"BEGINDVCALRTUZ\xff")
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		b := []byte(feed)
		for range r.IntN(6) {
			p := r.IntN(len(b))
			switch r.IntN(3) {
			case 0: // replace a byte
				b[p] = alphabet[r.IntN(len(alphabet))]
			case 1: // cut a span
				b = append(b[:p:p], b[min(len(b), p+r.IntN(40)):]...)
			case 2: // copy a span elsewhere
				q := r.IntN(len(b))
				span := slices.Clone(b[q:min(len(b), q+r.IntN(80))])
				b = slices.Concat(b[:p], span, b[p:])
			}
			if len(b) == 0 {
				b = []byte("BEGIN:VCALENDAR")
			}
		}
		checkSplit(t, b)
		if t.Failed() {
			return
		}
	}
}
