package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// Field is one property of a conflicting item, aligned across both versions: the
// component path it lives in (e.g. "VEVENT" or "VEVENT/VALARM"; with a RECURRENCE-ID
// for overrides), its name, and its unfolded lines on each side.
type Field struct {
	Component string
	Name      string
	A, B      []string // "NAME;PARAMS:value" lines, unfolded
}

// Differs reports whether the two sides hold different lines.
func (f *Field) Differs() bool {
	if len(f.A) != len(f.B) {
		return true
	}
	for i := range f.A {
		if f.A[i] != f.B[i] {
			return true
		}
	}
	return false
}

// volatile properties are ignored by the hash, so they are not differences.
var volatile = map[string]bool{"PRODID": true, "DTSTAMP": true, "LAST-MODIFIED": true}

// CompareItems aligns two versions of an item by component and property, in the order
// they first appear (A first). Volatile properties and BEGIN/END lines are left out.
func CompareItems(a, b string) []Field {
	var order []string
	fields := map[string]*Field{}
	collect := func(text string, side Side) {
		for _, p := range properties(text) {
			key := p.comp + "\x00" + p.name
			f, ok := fields[key]
			if !ok {
				f = &Field{Component: p.comp, Name: p.name}
				fields[key] = f
				order = append(order, key)
			}
			if side == A {
				f.A = append(f.A, p.line)
			} else {
				f.B = append(f.B, p.line)
			}
		}
	}
	collect(a, A)
	collect(b, B)
	out := make([]Field, 0, len(order))
	for _, k := range order {
		out = append(out, *fields[k])
	}
	return out
}

// SameProperties reports whether two versions of an item hold the same content lines
// in every component, ignoring the order of properties, line folding and the volatile
// properties the hash ignores. Servers that re-serialise uploads produce such copies.
func SameProperties(a, b string) bool {
	for _, f := range CompareItems(a, b) {
		if len(f.A) != len(f.B) {
			return false
		}
		x, y := slices.Clone(f.A), slices.Clone(f.B)
		slices.Sort(x)
		slices.Sort(y)
		if !slices.Equal(x, y) {
			return false
		}
	}
	return true
}

// DiffSummary names the properties that differ, e.g. "SUMMARY, DTSTART (VEVENT)".
func DiffSummary(a, b string) string {
	var names []string
	for _, f := range CompareItems(a, b) {
		if f.Differs() {
			n := f.Name
			if c := f.Component; c != "" && c != "VCARD" && c != "VEVENT" && c != "VTODO" {
				n = fmt.Sprintf("%s (%s)", f.Name, c)
			}
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no property differs (line order or folding only)"
	}
	return "differs in " + strings.Join(names, ", ")
}

type property struct {
	comp, name, line string
}

// properties lists the content lines of an item with the component path they are in.
// Components are labelled by name, plus the RECURRENCE-ID for overrides, so that a
// master and its exceptions align separately.
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
		if volatile[name] {
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
