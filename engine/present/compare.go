package present

import (
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/storage"
)

// Field is one property of a conflicting item, aligned across both versions.
type Field struct {
	// Component is the path of the component it lives in: "" for the calendar's own
	// properties, "VEVENT", "VEVENT/VALARM", "VEVENT 20250113T090000" for an override,
	// "VTIMEZONE Europe/Berlin", "VCARD".
	Component string
	Name      string   // upper case, with a vCard group ("ITEM1.EMAIL")
	A, B      []string // "NAME;PARAMS:value" lines, unfolded, in document order
	// Part is what a choice is made for (merge.Choices); "" when there is nothing to
	// choose: the sides are the same, or the property is decided on its own (Auto).
	Part string
	// Only is merge.FromA or merge.FromB when the component exists on that side only
	// (it is kept or left out as a whole).
	Only merge.Origin
	// Multi: a set (ATTENDEE, EXDATE, EMAIL, TEL, …) whose values can all be kept.
	Multi bool
	// Auto: SEQUENCE (the higher wins) or REV (the later wins); Winner is the side
	// whose lines a composition takes.
	Auto   bool
	Winner merge.Pick
	same   bool
}

// Differs reports whether the two sides hold different content. The order of
// parameters, their case and quoting, the order of a set's elements and folding are
// not differences.
func (f *Field) Differs() bool { return !f.same }

// Card reports whether the field belongs to a vCard.
func (f *Field) Card() bool {
	return f.Component == "VCARD" || strings.HasPrefix(f.Component, "VCARD/")
}

// CompareItems aligns two versions of an item by component and property (merge.Align):
// the components of a, then those only b has; in each, the properties in order of
// first appearance. The volatile properties (DTSTAMP, LAST-MODIFIED, PRODID) are left
// out: the hash ignores them and a composition takes the later one. Versions whose
// components do not nest are aligned by component name only, with nothing to choose.
func CompareItems(a, b string) []Field {
	rows, err := merge.Align(a, b)
	if err != nil {
		return flatCompare(a, b)
	}
	out := make([]Field, 0, len(rows))
	for _, r := range rows {
		if storage.Volatile(r.Name) {
			continue
		}
		out = append(out, Field{Component: strings.Join(r.Path, "/"), Name: r.Name, A: r.A, B: r.B,
			Part: r.Part, Only: r.Only, Multi: r.Multi, Auto: r.Auto, Winner: r.Winner, same: r.Same})
	}
	return out
}

// SameProperties reports whether two versions of an item hold the same content in
// every component, ignoring the order of properties and parameters, line folding and
// the volatile properties the hash ignores.
func SameProperties(a, b string) bool {
	for _, f := range CompareItems(a, b) {
		if f.Differs() {
			return false
		}
	}
	return true
}

// DiffSummary names the properties that differ, e.g. "differs in SUMMARY, TRIGGER
// (VEVENT/VALARM)".
func DiffSummary(a, b string) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range CompareItems(a, b) {
		if !f.Differs() {
			continue
		}
		n := f.Name
		if c := f.Component; c != "" && c != "VCARD" && c != "VEVENT" && c != "VTODO" && c != "VJOURNAL" {
			n = fmt.Sprintf("%s (%s)", f.Name, c)
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no property differs (line order or folding only)"
	}
	return "differs in " + strings.Join(names, ", ")
}

// flatCompare aligns the properties of versions whose components do not nest: by the
// path of component names they appear under.
func flatCompare(a, b string) []Field {
	var order []string
	fields := map[string]*Field{}
	collect := func(text string, first bool) {
		for _, p := range properties(text) {
			key := p.comp + "\x00" + p.name
			f, ok := fields[key]
			if !ok {
				f = &Field{Component: p.comp, Name: p.name}
				fields[key] = f
				order = append(order, key)
			}
			if first {
				f.A = append(f.A, p.line)
			} else {
				f.B = append(f.B, p.line)
			}
		}
	}
	collect(a, true)
	collect(b, false)
	out := make([]Field, 0, len(order))
	for _, k := range order {
		f := fields[k]
		f.same = merge.SameLines(f.A, f.B)
		out = append(out, *f)
	}
	return out
}

type property struct {
	comp, name, line string
}

// properties lists the content lines of an item with the component path they are in.
// Components are labelled by name, plus the RECURRENCE-ID for overrides.
func properties(text string) []property {
	var labels []string // component path, VCALENDAR left out
	var starts []int    // index in out where each open component began
	var out []property
	storage.Unfold(text, func(line string) {
		if line == "" {
			return
		}
		cl := storage.SplitLine(line)
		name := strings.ToUpper(cl.Name)
		switch name {
		case "BEGIN":
			v := strings.ToUpper(cl.Value)
			if v == "VCALENDAR" && len(labels) == 0 {
				return
			}
			labels = append(labels, v)
			starts = append(starts, len(out))
			return
		case "END":
			if n := len(labels); n > 0 && strings.ToUpper(cl.Value) == strings.SplitN(labels[n-1], " ", 2)[0] {
				labels, starts = labels[:len(labels)-1], starts[:len(starts)-1]
			}
			return
		}
		if storage.Volatile(name) {
			return
		}
		if name == "RECURRENCE-ID" && len(labels) > 0 {
			d := len(labels) - 1
			old := strings.Join(labels, "/")
			labels[d] += " " + cl.Value
			now := strings.Join(labels, "/")
			for i := starts[d]; i < len(out); i++ {
				out[i].comp = now + strings.TrimPrefix(out[i].comp, old)
			}
		}
		out = append(out, property{comp: strings.Join(labels, "/"), name: name, line: line})
	})
	return out
}
