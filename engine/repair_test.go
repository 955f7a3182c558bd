package engine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

func joinLines(br string, lines ...string) string { return strings.Join(lines, br) + br }

// withoutLine removes the first occurrence of line+br from text.
func withoutLine(t *testing.T, text, line string) string {
	t.Helper()
	i := strings.Index(text, line)
	if i < 0 {
		t.Fatalf("%q not in %q", line, text)
	}
	return text[:i] + text[i+len(line):]
}

// TestPlanRepairInPlace: an item that is one object gets UID:<its hash> in each of its
// components, and nothing else changes: not the line breaks of the rest of the file.
func TestPlanRepairInPlace(t *testing.T) {
	ev := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "DTSTART:20240102T100000Z", "RRULE:FREQ=DAILY", "SUMMARY:Standup", "END:VEVENT",
		"BEGIN:VEVENT", "RECURRENCE-ID:20240103T100000Z", "DTSTART:20240103T110000Z", "END:VEVENT", "END:VCALENDAR"}
	cases := map[string]struct {
		kind storage.Kind
		text string
		uid  string // the UID line(s) added, with their line break
		n    int    // how many
	}{
		"LF, master and override": {storage.Calendars, joinLines("\n", ev...), "UID:%s\n", 2},
		"CR only":                 {storage.Calendars, joinLines("\r", ev...), "UID:%s\r", 2},
		"CRLF":                    {storage.Calendars, joinLines("\r\n", ev...), "UID:%s\r\n", 2},
		"BOM and no final break":  {storage.Calendars, storage.BOM + strings.TrimSuffix(joinLines("\r\n", ev...), "\r\n"), "UID:%s\r\n", 2},
		"only overrides":          {storage.Calendars, joinLines("\n", slices.Concat(ev[:2], ev[7:])...), "UID:%s\n", 1},
		"bare VTODO":              {storage.Calendars, joinLines("\n", "BEGIN:VTODO", "SUMMARY:x", "END:VTODO"), "UID:%s\n", 1},
		"vCard after VERSION":     {storage.Contacts, joinLines("\n", "BEGIN:VCARD", "VERSION:3.0", "FN:x", "END:VCARD"), "UID:%s\n", 1},
		"vCard 2.1 quoted-printable": {storage.Contacts, joinLines("\r\n", "BEGIN:VCARD", "VERSION:2.1", "N;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=", "=C3=BCrgen", "END:VCARD"),
			"UID:%s\r\n", 1},
		"vCard without VERSION first": {storage.Contacts, joinLines("\r", "BEGIN:VCARD", "FN:x", "VERSION:4.0", "END:VCARD"), "UID:%s\r", 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			hash := storage.MustItem(c.text).Hash()
			parts, err := PlanRepair(c.text, c.kind, hash)
			if err != nil || len(parts) != 1 || parts[0].UID != hash {
				t.Fatalf("PlanRepair = %+v, %v", parts, err)
			}
			got := parts[0].Text
			line := strings.ReplaceAll(c.uid, "%s", hash)
			if strings.Count(got, line) != c.n {
				t.Fatalf("%d × %q in\n%q", strings.Count(got, line), line, got)
			}
			if strings.ReplaceAll(got, line, "") != c.text {
				t.Fatalf("more than the UID lines changed:\n%q\n%q", got, c.text)
			}
			it := storage.MustItem(got)
			if uid, ok := it.UID(); !ok || uid != hash {
				t.Fatalf("the repaired item's UID is %q", uid)
			}
			if err := storage.CheckSyntax(got, c.kind); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The UID goes right after BEGIN for a vCard whose VERSION comes later.
	parts, _ := PlanRepair("BEGIN:VCARD\rFN:x\rVERSION:4.0\rEND:VCARD\r", storage.Contacts, "H")
	if parts[0].Text != "BEGIN:VCARD\rUID:H\rFN:x\rVERSION:4.0\rEND:VCARD\r" {
		t.Fatalf("%q", parts[0].Text)
	}
}

// TestPlanRepairSplit (issue 9, item 10): several independent components never get one
// UID; the item is split into one item per component, each the original bytes of its
// component, the calendar frame and the VTIMEZONEs it uses, plus its own UID line.
func TestPlanRepairSplit(t *testing.T) {
	head := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//x//EN"}
	tz := []string{"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"}
	a := []string{"BEGIN:VEVENT", "DTSTART;TZID=Europe/Berlin:20240102T100000", "SUMMARY:A", "BEGIN:VALARM", "TRIGGER:-PT5M", "ACTION:DISPLAY", "END:VALARM", "END:VEVENT"}
	b := []string{"BEGIN:VEVENT", "DTSTART;VALUE=DATE:20240103", "SUMMARY:B", "END:VEVENT"}
	c := []string{"BEGIN:VTODO", "SUMMARY:C", "END:VTODO"}
	tail := []string{"X-WR-CALNAME:Holidays", "END:VCALENDAR"}
	text := joinLines("\n", slices.Concat(head, tz, a, b, c, tail)...)
	parts, err := PlanRepair(text, storage.Calendars, storage.MustItem(text).Hash())
	if err != nil || len(parts) != 3 {
		t.Fatalf("PlanRepair = %d parts, %v", len(parts), err)
	}
	want := []string{
		joinLines("\n", slices.Concat(head, tz, a, tail)...),
		joinLines("\n", slices.Concat(head, b, tail)...),
		joinLines("\n", slices.Concat(head, c, tail)...),
	}
	uids := map[string]bool{}
	for i, p := range parts {
		line := "UID:" + p.UID + "\n"
		if strings.Count(p.Text, line) != 1 || withoutLine(t, p.Text, line) != want[i] {
			t.Fatalf("part %d:\n%q\nwant\n%q plus %q", i, p.Text, want[i], line)
		}
		if p.UID != storage.MustItem(want[i]).Hash() {
			t.Fatalf("part %d: UID %s is not the hash of the part without UID", i, p.UID)
		}
		if id := storage.MustItem(p.Text).Ident(); id != p.UID {
			t.Fatalf("part %d: ident %q", i, id)
		}
		uids[p.UID] = true
	}
	if len(uids) != 3 {
		t.Fatalf("UIDs are not distinct: %v", uids)
	}
	// Deterministic: planning again gives the same parts.
	again, _ := PlanRepair(text, storage.Calendars, "")
	for i := range again {
		if again[i] != parts[i] {
			t.Fatal("PlanRepair is not deterministic")
		}
	}

	// Bare components and vCards are split alike.
	bare := joinLines("\r", slices.Concat(tz, b, a)...)
	parts, err = PlanRepair(bare, storage.Calendars, "")
	if err != nil || len(parts) != 2 || withoutLine(t, parts[0].Text, "UID:"+parts[0].UID+"\r") != joinLines("\r", b...) ||
		withoutLine(t, parts[1].Text, "UID:"+parts[1].UID+"\r") != joinLines("\r", slices.Concat(tz, a)...) {
		t.Fatalf("bare: %q, %v", parts, err)
	}
	cards := joinLines("\r\n", "BEGIN:VCARD", "VERSION:2.1", "FN:A", "END:VCARD", "", "BEGIN:VCARD", "VERSION:2.1", "FN:B", "END:VCARD")
	parts, err = PlanRepair(cards, storage.Contacts, "")
	if err != nil || len(parts) != 2 ||
		parts[1].Text != joinLines("\r\n", "BEGIN:VCARD", "VERSION:2.1", "UID:"+parts[1].UID, "FN:B", "END:VCARD") {
		t.Fatalf("vCards: %q, %v", parts, err)
	}
}

func TestPlanRepairRefuses(t *testing.T) {
	ev := func(summary string, extra ...string) []string {
		return slices.Concat([]string{"BEGIN:VEVENT", "SUMMARY:" + summary}, extra, []string{"END:VEVENT"})
	}
	cal := func(parts ...[]string) string {
		return joinLines("\r\n", slices.Concat([]string{"BEGIN:VCALENDAR"}, slices.Concat(parts...), []string{"END:VCALENDAR"})...)
	}
	cases := map[string]struct {
		kind storage.Kind
		text string
		want string
	}{
		"has a UID":          {storage.Calendars, cal(ev("a", "UID:x")), "already has a UID"},
		"has a UID after CR": {storage.Calendars, "BEGIN:VEVENT\rUID:x\rEND:VEVENT\r", "already has a UID"},
		"nothing to add to":  {storage.Calendars, cal([]string{"BEGIN:VTIMEZONE", "TZID:x", "END:VTIMEZONE"}), "no VEVENT, VTODO, VJOURNAL, VFREEBUSY or VAVAILABILITY to add a UID to"},
		"no vCard":           {storage.Contacts, "", "no VCARD to add a UID to"},
		"masters and overrides": {storage.Calendars, cal(ev("a"), ev("b"), ev("b moved", "RECURRENCE-ID:20240101T100000Z")),
			"it holds 2 independent components and 1 overrides (RECURRENCE-ID) without UID, and which override belongs to which component cannot be told"},
		"unknown component": {storage.Calendars, cal(ev("a"), ev("b"), []string{"BEGIN:X-THING", "END:X-THING"}),
			"it holds 2 independent components without UID besides other content (X-THING at line 8)"},
		"two calendars":        {storage.Calendars, cal(ev("a")) + cal(ev("b")), "besides other content (2 VCALENDARs)"},
		"text outside":         {storage.Contacts, "BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:b\r\nEND:VCARD\r\n-- \r\n", "besides other content (text outside any component), and repair does not know where that belongs; split the file into one file per vCard yourself"},
		"the same event twice": {storage.Calendars, cal(ev("a"), ev("b"), ev("a")), "it holds the same component twice (lines 2 and 8)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			parts, err := PlanRepair(c.text, c.kind, "H")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("PlanRepair = %q, %v; want an error with %q", parts, err, c.want)
			}
		})
	}
}

// TestRepairSplitsInTheStorage: Repair creates the parts, then deletes the original;
// an interrupted run is finished by the next one without duplicates; read-only storages
// are refused before anything is read, dry run or not.
func TestRepairSplitsInTheStorage(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(storage.Calendars)
	three := joinLines("\r\n", "BEGIN:VCALENDAR", "VERSION:2.0",
		"BEGIN:VEVENT", "SUMMARY:one", "END:VEVENT", "BEGIN:VEVENT", "SUMMARY:two", "END:VEVENT", "BEGIN:VEVENT", "SUMMARY:three", "END:VEVENT",
		"END:VCALENDAR")
	s.Put("c/all.ics", three)
	s.Put("c/ok.ics", joinLines("\r\n", "BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:ok", "END:VEVENT", "END:VCALENDAR"))
	plan, err := PlanRepair(three, storage.Calendars, "")
	if err != nil || len(plan) != 3 {
		t.Fatal(plan, err)
	}
	// The first run creates one part, then fails.
	s.FailNthWrite(2, errors.New("disk full"))
	var got []RepairResult
	collect := func(r RepairResult) { got = append(got, r) }
	if err := Repair(ctx, s, nil, false, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Outcome != RepairFailed || !strings.Contains(got[0].Err.Error(), "creating item 2 of 3 (UID "+plan[1].UID+") failed, so the original was kept") {
		t.Fatalf("first run: %+v", got)
	}
	if items := s.Snapshot()["c"].Items; len(items) != 3 || items["c/all.ics"] != three {
		t.Fatalf("after the failed run: %v", slices.Sorted(maps.Keys(items)))
	}
	// The second run finishes it.
	got = nil
	if err := Repair(ctx, s, nil, false, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Outcome != Split || !slices.Equal(got[0].UIDs, []string{plan[0].UID, plan[1].UID, plan[2].UID}) || len(got[0].Hrefs) != 2 {
		t.Fatalf("second run: %+v", got)
	}
	items := s.Snapshot()["c"].Items
	if len(items) != 4 {
		t.Fatalf("after the split: %v", slices.Sorted(maps.Keys(items)))
	}
	texts := slices.Sorted(maps.Values(items))
	for _, p := range plan {
		if !slices.Contains(texts, p.Text) {
			t.Fatalf("part %s missing: %q", p.UID, texts)
		}
	}
	// Nothing left to do.
	got = nil
	if err := Repair(ctx, s, nil, false, collect); err != nil || len(got) != 0 {
		t.Fatalf("third run: %+v, %v", got, err)
	}

	// Read-only storages: an error, and not a single read.
	ro := memstore.New(storage.Calendars)
	ro.Put("c/x.ics", joinLines("\r\n", "BEGIN:VEVENT", "END:VEVENT"))
	ro.ResetCounters()
	for _, dry := range []bool{true, false} {
		err := Repair(ctx, storage.ReadOnly(ro), nil, dry, func(r RepairResult) { t.Errorf("reported %+v", r) })
		if err == nil || !strings.Contains(err.Error(), "read-only") || ro.Reads() != 0 || ro.Lists() != 0 {
			t.Fatalf("dry %v: %v, %d reads", dry, err, ro.Reads())
		}
	}
}

// FuzzPlanRepair: for every item the reader accepts and that has no UID, PlanRepair
// never panics; a repair in place adds UID lines and nothing else; every part it makes
// is an item the reader accepts, whose ident is the UID it was given, and the UIDs of a
// split are distinct.
func FuzzPlanRepair(f *testing.F) {
	for _, s := range []string{
		joinLines("\n", "BEGIN:VCALENDAR", "BEGIN:VEVENT", "SUMMARY:a", "END:VEVENT", "END:VCALENDAR"),
		joinLines("\r", "BEGIN:VEVENT", "SUMMARY:a", "END:VEVENT", "BEGIN:VTODO", "END:VTODO"),
		joinLines("\r\n", "BEGIN:VCALENDAR", "BEGIN:VTIMEZONE", "TZID:X", "END:VTIMEZONE", "BEGIN:VEVENT", "DTSTART;TZID=X:1", "END:VEVENT",
			"BEGIN:VEVENT", "RECURRENCE-ID:2", "END:VEVENT", "END:VCALENDAR"),
		joinLines("\r\n", "BEGIN:VCARD", "VERSION:2.1", "N;QUOTED-PRINTABLE:a=", "b", "END:VCARD", "BEGIN:VCARD", "END:VCARD"),
		storage.BOM + joinLines("\n", "BEGIN:VCARD", "FN:x", "END:VCARD"),
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, contacts bool) {
		kind := storage.Calendars
		if contacts {
			kind = storage.Contacts
		}
		it, err := storage.ParseItem(raw, kind)
		if err != nil {
			return
		}
		if _, ok := it.UID(); ok {
			return
		}
		text := string(raw)
		parts, err := PlanRepair(text, kind, it.Hash())
		if err != nil {
			return
		}
		uids := map[string]bool{}
		for _, p := range parts {
			pit, err := storage.ParseItem([]byte(p.Text), kind)
			if err != nil {
				t.Fatalf("part does not read: %v\n%q\nfrom\n%q", err, p.Text, text)
			}
			if pit.Ident() != p.UID || uids[p.UID] {
				t.Fatalf("part ident %q, UID %q (seen %v)\n%q", pit.Ident(), p.UID, uids[p.UID], p.Text)
			}
			uids[p.UID] = true
		}
		if len(parts) == 1 {
			got := parts[0].Text
			// The line breaks the reader knows, longest first (CR CR LF is one break:
			// storage.ScanLines).
			for _, br := range []string{"\r\r\n", "\r\n", "\n", "\r"} {
				got = strings.ReplaceAll(got, "UID:"+parts[0].UID+br, "")
			}
			if got != text {
				t.Fatalf("repair in place changed more than UID lines:\n%q\n%q", parts[0].Text, text)
			}
		}
	})
}
