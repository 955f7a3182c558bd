package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/storage"
)

// RepairOutcome is what Repair did (or would do) to one item.
type RepairOutcome int

const (
	Repaired     RepairOutcome = iota + 1 // a UID was added (or would be, in a dry run)
	Unrepairable                          // the item is broken in a way repair cannot fix
	RepairFailed                          // writing the repaired item failed
	Split                                 // the item was split into one item per component (or would be)
)

// RepairResult reports one item that needed attention. Valid items are never reported
// and never touched.
type RepairResult struct {
	Collection string
	Href       string
	Outcome    RepairOutcome
	UID        string   // Repaired: the UID added
	UIDs       []string // Split: the UIDs of the new items, in file order
	Hrefs      []string // Split (not a dry run): the hrefs of the new items
	Err        error    // why it is unrepairable or failed
}

// rawGetter is implemented by storages that can return an item's bytes exactly as they
// hold them (vdir), so that repair changes only the lines it adds. Other storages are
// repaired on the normalised text, which is also what they hold.
type rawGetter interface {
	GetRaw(ctx context.Context, href string) ([]byte, string, error)
}

// Repair adds a UID to every item of every collection of st that has none
// (docs/DECISIONS.md "repair"):
//
//   - An item that is one object (one VEVENT, VTODO, ... with its RECURRENCE-ID
//     overrides, or one vCard) gets `UID:<its hash>` in each of its components. The
//     ident stays what it was (the hash), so the status database keeps matching it
//     and the next sync propagates the repaired version. Only the added lines change:
//     on a vdir the file's own line breaks are kept.
//   - An item that holds several independent objects (several VEVENTs without
//     RECURRENCE-ID, several vCards) is split into one new item per object, each with
//     its own UID, and then the original is deleted; one UID for all would turn
//     independent events into duplicate masters of one. An item whose objects cannot
//     be told apart (several masters and overrides without UID, components repair does
//     not know) is reported unrepairable and left alone.
//
// Writes are conditional on the etag the item was read with. A read-only storage (a
// webcal feed, `read_only`) is refused before anything is read.
//
// What repair replaces or deletes goes to tr first (nil: no trash).
func Repair(ctx context.Context, st storage.Storage, tr *trash.Run, dryRun bool, report func(RepairResult)) (err error) {
	if storage.IsReadOnly(st) {
		return errors.New("the storage is read-only (a webcal feed, or read_only in its configuration): repair cannot write to it")
	}
	defer func() {
		if ferr := flush(ctx, st); err == nil {
			err = ferr
		}
	}()
	cols, err := st.Discover(ctx)
	if err != nil {
		return err
	}
	for _, c := range cols {
		refs, err := st.List(ctx, c.Href)
		if err != nil {
			return fmt.Errorf("listing %s: %w", c.Href, err)
		}
		hrefs := make([]string, len(refs))
		for i, r := range refs {
			hrefs[i] = r.Href
		}
		fetched, err := st.Get(ctx, c.Href, hrefs)
		if err != nil {
			return fmt.Errorf("reading %s: %w", c.Href, err)
		}
		idents := map[string]bool{}
		for _, f := range fetched {
			if f.Err == nil {
				idents[f.Item.Ident()] = true
			}
		}
		for _, f := range fetched {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res := RepairResult{Collection: c.Href, Href: f.Href}
			if f.Err != nil {
				res.Outcome, res.Err = Unrepairable, f.Err
				report(res)
				continue
			}
			if _, ok := f.Item.UID(); ok {
				continue
			}
			repairItem(ctx, st, tr, c.Href, f, idents, dryRun, &res)
			report(res)
		}
	}
	return nil
}

// repairItem repairs one item without UID and fills in res.
func repairItem(ctx context.Context, st storage.Storage, tr *trash.Run, coll string, f storage.Fetched, idents map[string]bool, dryRun bool, res *RepairResult) {
	keep := func(op trash.Op) (*trash.Entry, error) {
		return tr.Keep(trash.Entry{Side: "a", Collection: coll, Href: f.Href, Ident: f.Item.Ident(), Summary: storage.Summary(f.Item.Text()),
			Op: op, Why: "repair", ETagBefore: f.ETag, HashBefore: f.Item.Hash()}, f.Item.Bytes())
	}
	text := f.Item.Text()
	if rg, ok := st.(rawGetter); ok {
		raw, etag, err := rg.GetRaw(ctx, f.Href)
		switch {
		case err != nil:
			res.Outcome, res.Err = RepairFailed, err
			return
		case etag != f.ETag:
			res.Outcome, res.Err = RepairFailed, errors.New("the item changed while repair was reading it; run repair again")
			return
		}
		text = string(raw)
	}
	plan, err := PlanRepair(text, st.Kind(), f.Item.Hash())
	if err != nil {
		res.Outcome, res.Err = Unrepairable, err
		return
	}
	if len(plan) == 1 {
		res.Outcome, res.UID = Repaired, plan[0].UID
		if dryRun {
			return
		}
		item, err := storage.VerbatimItem([]byte(plan[0].Text))
		var kept *trash.Entry
		if err == nil {
			kept, err = keep(trash.OpUpdate)
		}
		var etag string
		if err == nil {
			etag, err = st.Update(ctx, f.Href, f.ETag, item)
		}
		if err != nil {
			res.Outcome, res.Err = RepairFailed, err
			return
		}
		tr.Done(kept, f.Href, etag, item.Hash())
		return
	}
	res.Outcome = Split
	for _, p := range plan {
		res.UIDs = append(res.UIDs, p.UID)
	}
	if dryRun {
		return
	}
	// Create every part first; the original goes only when all of them exist. A part
	// whose UID is already in the collection was created by an interrupted earlier run.
	for i, p := range plan {
		if idents[p.UID] {
			continue
		}
		item, err := storage.VerbatimItem([]byte(p.Text))
		var href string
		if err == nil {
			href, _, err = st.Create(ctx, coll, item)
		}
		if err != nil {
			res.Outcome, res.Err = RepairFailed, fmt.Errorf("creating item %d of %d (UID %s) failed, so the original was kept: %w", i+1, len(plan), p.UID, err)
			return
		}
		idents[p.UID] = true
		res.Hrefs = append(res.Hrefs, href)
	}
	kept, err := keep(trash.OpDelete)
	if err == nil {
		err = st.Delete(ctx, f.Href, f.ETag)
	}
	if err != nil {
		res.Outcome, res.Err = RepairFailed, fmt.Errorf("the %d new items exist, but removing the original failed (remove it yourself, or the events are there twice): %w", len(plan), err)
		return
	}
	tr.Done(kept, "", "", "")
}

// RepairPart is one item that PlanRepair makes: the full text and the UID it carries.
type RepairPart struct {
	Text string
	UID  string
}

// uidComponents are the calendar components that carry a UID.
var uidComponents = map[string]bool{"VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true, "VAVAILABILITY": true}

// unit is one component that repair looks at: a top-level component, or a direct child
// of a top-level VCALENDAR.
type unit struct {
	name       string
	start, end int    // bytes of the component in the text, its final line break included
	beginEnd   int    // offset just after the BEGIN line's own line break
	br         string // the line break of the BEGIN line ("\r\n" when there is none)
	afterVer   int    // vCard: offset after a VERSION line right after BEGIN (0 = none)
	brVer      string
	recurrence bool // it has a RECURRENCE-ID property of its own
	tzid       string
	tzRefs     []string
	line       int // line where it starts
	inCalendar bool
}

// PlanRepair works out how to give an item without UID its UID(s) (see Repair). text
// is the item as its storage holds it (any line breaks); hash is its normalised hash.
// It returns one part for an item repaired in place, whose UID is hash, or one part
// per independent object for an item to split, each with the hash of its text without
// UID as UID. Nothing but the added UID lines differs from text: a split part is the
// bytes of its object together with the item's calendar frame (BEGIN/END:VCALENDAR and
// the header lines) and the VTIMEZONEs it uses.
func PlanRepair(text string, kind storage.Kind, hash string) ([]RepairPart, error) {
	if _, ok := storage.ExtractUID(storage.NormalizeNewlines(text)); ok {
		return nil, errors.New("the item already has a UID")
	}
	units, calendars, junk := repairUnits(text)
	var objects, overrides, others, zones []unit
	bare := false // a component outside the VCALENDAR
	for _, u := range units {
		bare = bare || (!u.inCalendar && u.name != "VCALENDAR")
		switch {
		case kind == storage.Contacts && u.name == "VCARD":
			objects = append(objects, u)
		case kind == storage.Calendars && u.name == "VTIMEZONE":
			zones = append(zones, u)
		case kind == storage.Calendars && uidComponents[u.name] && u.recurrence:
			overrides = append(overrides, u)
		case kind == storage.Calendars && uidComponents[u.name]:
			objects = append(objects, u)
		case kind == storage.Calendars && u.name == "VCALENDAR": // its children are units
		default:
			others = append(others, u)
		}
	}
	what, one := "VEVENT, VTODO, VJOURNAL, VFREEBUSY or VAVAILABILITY", "event"
	if kind == storage.Contacts {
		what, one = "VCARD", "vCard"
	}
	switch {
	case len(objects)+len(overrides) == 0:
		return nil, fmt.Errorf("no %s to add a UID to", what)
	case len(objects) <= 1:
		// One object (and its overrides): one UID for all of its components.
		return []RepairPart{{Text: insertUIDs(text, append(objects, overrides...), kind, hash), UID: hash}}, nil
	case len(overrides) > 0:
		return nil, fmt.Errorf("it holds %d independent components and %d overrides (RECURRENCE-ID) without UID, and which override belongs to which component cannot be told; give each event and its overrides one UID yourself", len(objects), len(overrides))
	case len(others) > 0 || junk || calendars > 1 || (calendars == 1 && bare):
		return nil, fmt.Errorf("it holds %d independent components without UID besides other content (%s), and repair does not know where that belongs; split the file into one file per %s yourself", len(objects), describe(others, junk, calendars), one)
	}
	// Split: one part per object.
	var frame []unit // the VCALENDAR, when there is one
	for _, u := range units {
		if u.name == "VCALENDAR" {
			frame = append(frame, u)
		}
	}
	parts := make([]RepairPart, 0, len(objects))
	seen := map[string]int{}
	for _, o := range objects {
		body := o
		var used []unit
		refs := map[string]bool{}
		for _, r := range o.tzRefs {
			refs[r] = true
		}
		for _, z := range zones {
			if z.tzid != "" && refs[z.tzid] {
				used = append(used, z)
			}
		}
		build := func(uid string) string {
			var b strings.Builder
			comp := text[body.start:body.end]
			if uid != "" {
				comp = text[body.start:body.beginEnd] + "UID:" + uid + body.br + text[body.beginEnd:body.end]
				if kind == storage.Contacts && body.afterVer > 0 {
					comp = text[body.start:body.afterVer] + "UID:" + uid + body.brVer + text[body.afterVer:body.end]
				}
			}
			if len(frame) == 0 {
				for _, z := range used {
					b.WriteString(text[z.start:z.end])
				}
				b.WriteString(comp)
				return b.String()
			}
			// Inside the VCALENDAR: every byte that belongs to no child (the BEGIN
			// and END lines, the header, blank lines), with the VTIMEZONEs and the
			// object where the first child was.
			cal := frame[0]
			pos, placed := cal.start, false
			for _, u := range units {
				if !u.inCalendar {
					continue
				}
				b.WriteString(text[pos:u.start])
				pos = u.end
				if !placed {
					for _, z := range used {
						b.WriteString(text[z.start:z.end])
					}
					b.WriteString(comp)
					placed = true
				}
			}
			b.WriteString(text[pos:cal.end])
			return b.String()
		}
		uid := storage.Hash(storage.NormalizeNewlines(build("")))
		if first, dup := seen[uid]; dup {
			return nil, fmt.Errorf("it holds the same component twice (lines %d and %d); remove one copy, then run repair again", first, o.line)
		}
		seen[uid] = o.line
		parts = append(parts, RepairPart{Text: build(uid), UID: uid})
	}
	return parts, nil
}

func describe(others []unit, junk bool, calendars int) string {
	var what []string
	for _, o := range others {
		what = append(what, fmt.Sprintf("%s at line %d", o.name, o.line))
	}
	if junk {
		what = append(what, "text outside any component")
	}
	if calendars > 1 {
		what = append(what, fmt.Sprintf("%d VCALENDARs", calendars))
	}
	if len(what) == 0 {
		what = append(what, "components outside the VCALENDAR")
	}
	return strings.Join(what, ", ")
}

// repairUnits finds the top-level components of text and the direct children of a
// top-level VCALENDAR (the VCALENDAR itself is a unit too, spanning all of it). It
// also counts the VCALENDARs and reports non-blank text outside any component.
func repairUnits(text string) (units []unit, calendars int, junk bool) {
	var stack []string
	var cur *unit // the unit being read (depth 1, or depth 2 inside a VCALENDAR)
	var cal *unit // the top-level VCALENDAR being read
	storage.ScanLines(text, func(l storage.Line) bool {
		cl := storage.SplitLine(l.Text)
		name := strings.ToUpper(cl.Name)
		value := strings.ToUpper(strings.TrimSpace(cl.Value))
		br := text[l.End:l.Next]
		if br == "" {
			br = "\r\n"
		}
		switch {
		case name == "BEGIN" && cl.HasSep:
			stack = append(stack, value)
			switch {
			case len(stack) == 1 && value == "VCALENDAR":
				calendars++
				cal = &unit{name: value, start: l.Start, line: l.No}
			case len(stack) == 1 || (len(stack) == 2 && cal != nil):
				cur = &unit{name: value, start: l.Start, beginEnd: l.Next, br: br, line: l.No, inCalendar: len(stack) == 2}
			}
		case name == "END" && cl.HasSep:
			if len(stack) == 0 {
				junk = true
				return true
			}
			stack = stack[:len(stack)-1]
			switch {
			case cur != nil && (len(stack) == 0 || (len(stack) == 1 && cal != nil)):
				cur.end = l.Next
				units = append(units, *cur)
				cur = nil
			case cal != nil && len(stack) == 0:
				cal.end = l.Next
				units = append(units, *cal)
				cal = nil
			}
		case len(stack) == 0:
			if strings.TrimSpace(l.Text) != "" {
				junk = true
			}
		case cur != nil && len(stack) == 1+boolInt(cur.inCalendar):
			// A property of the unit itself.
			switch name {
			case "RECURRENCE-ID":
				cur.recurrence = true
			case "VERSION":
				if l.Start == cur.beginEnd {
					cur.afterVer, cur.brVer = l.Next, br
				}
			case "TZID":
				if cur.name == "VTIMEZONE" && cur.tzid == "" {
					cur.tzid = cl.Value
				}
			}
			if tz, ok := tzidOf(cl.Params); ok {
				cur.tzRefs = append(cur.tzRefs, tz)
			}
		case cur != nil:
			if tz, ok := tzidOf(cl.Params); ok {
				cur.tzRefs = append(cur.tzRefs, tz)
			}
		}
		return true
	})
	return units, calendars, junk
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tzidOf returns the value of a TZID parameter in params, without quotes.
func tzidOf(params string) (string, bool) {
	for _, p := range strings.Split(params, ";") {
		name, value, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(name), "TZID") {
			return strings.Trim(value, `"`), true
		}
	}
	return "", false
}

// insertUIDs adds "UID:<uid>" to each of the units: after its BEGIN line (a vCard: after
// a VERSION line that directly follows BEGIN, as RFC 6350 shows it), with the line
// break that line has. Every other byte is kept.
func insertUIDs(text string, units []unit, kind storage.Kind, uid string) string {
	type ins struct {
		at int
		br string
	}
	var at []ins
	for _, u := range units {
		if kind == storage.Contacts && u.afterVer > 0 {
			at = append(at, ins{u.afterVer, u.brVer})
		} else {
			at = append(at, ins{u.beginEnd, u.br})
		}
	}
	var b strings.Builder
	pos := 0
	for len(at) > 0 {
		// the next insertion point in text order
		k := 0
		for i := range at {
			if at[i].at < at[k].at {
				k = i
			}
		}
		b.WriteString(text[pos:at[k].at])
		b.WriteString("UID:" + uid + at[k].br)
		pos = at[k].at
		at = append(at[:k], at[k+1:]...)
	}
	b.WriteString(text[pos:])
	return b.String()
}
