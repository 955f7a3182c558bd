package merge

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// ErrConflict is wrapped by the error of a merge that cannot be done automatically.
var ErrConflict = errors.New("both sides changed the same thing")

// ConflictError names what both sides changed.
type ConflictError struct {
	Fields []string // "VEVENT/SUMMARY", "VEVENT/VALARM#0", …
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: %s", ErrConflict, strings.Join(e.Fields, ", "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// multiValued properties are sets: two sides adding or removing different elements
// merge. Everything else is one value (or a list compared as a whole).
var multiValued = map[string]bool{
	// iCalendar
	"ATTENDEE": true, "EXDATE": true, "RDATE": true, "CATEGORIES": true, "COMMENT": true,
	"CONTACT": true, "RESOURCES": true, "ATTACH": true, "RELATED-TO": true, "REQUEST-STATUS": true,
	// vCard
	"EMAIL": true, "TEL": true, "ADR": true, "URL": true, "IMPP": true, "MEMBER": true,
	"RELATED": true, "NICKNAME": true, "LANG": true, "KEY": true,
}

// isMulti reports whether a property name is a set. A grouped vCard property
// ("item1.EMAIL", labelled by "item1.X-ABLabel") is one entry, not a set.
func isMulti(name string) bool {
	return !strings.Contains(name, ".") && multiValued[name]
}

// Merge combines a and b, two edits of base: where only one side changed a property (or
// a sub-component), its version is taken; where both made the same change, it is
// taken once; sets (ATTENDEE, EMAIL, …) take every element either side added and drop
// every element either side removed. Anything else both sides changed is a conflict:
// the error is a *ConflictError naming it, and no text is returned. Changes to the
// volatile properties (DTSTAMP, LAST-MODIFIED, PRODID, REV) and to SEQUENCE never
// conflict: the later stamp and the higher sequence win.
//
// The result is made of a's lines, with b's lines for what b changed, in place; lines
// keep their folding and parameters byte for byte.
func Merge(base, a, b string) (string, error) {
	r, err := Explain(base, a, b)
	return r.Text, err
}

// Result is a merge with what it took from each side.
type Result struct {
	Text string
	// FromA and FromB name the properties and components each side's change
	// contributed ("VEVENT/SUMMARY"), sorted.
	FromA, FromB []string
}

// Explain is Merge that also says which side contributed what.
func Explain(base, a, b string) (Result, error) {
	o, ok1 := parse(base)
	x, ok2 := parse(a)
	y, ok3 := parse(b)
	if !ok1 || !ok2 || !ok3 {
		return Result{}, &ConflictError{Fields: []string{"(the items cannot be aligned)"}}
	}
	m := &merger{}
	res := m.comp("", o, x, y)
	if len(m.conflicts) > 0 {
		sort.Strings(m.conflicts)
		return Result{}, &ConflictError{Fields: m.conflicts}
	}
	sort.Strings(m.fromA)
	sort.Strings(m.fromB)
	return Result{Text: render(res), FromA: m.fromA, FromB: m.fromB}, nil
}

type merger struct {
	conflicts    []string
	fromA, fromB []string
}

func (m *merger) took(side *[]string, path, what string) {
	if path != "" {
		what = path + "/" + what
	}
	*side = append(*side, what)
}

func (m *merger) conflict(path, what string) {
	if path != "" {
		what = path + "/" + what
	}
	m.conflicts = append(m.conflicts, what)
}

// out is a component of the result: the raw lines of its BEGIN and END, and its
// entries in order.
type out struct {
	begin, end []string
	elems      []outElem
	// Compose: where the BEGIN and END lines come from, and the part chosen.
	from Origin
	part string
}

type outElem struct {
	raw   []string
	child *out
	// Compose: where the lines come from, and the part they were chosen for.
	from Origin
	part string
}

func render(root *out) string {
	var b strings.Builder
	var walk func(o *out)
	walk = func(o *out) {
		for _, l := range o.begin {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
		for _, e := range o.elems {
			if e.child != nil {
				walk(e.child)
				continue
			}
			for _, l := range e.raw {
				b.WriteString(l)
				b.WriteString("\r\n")
			}
		}
		for _, l := range o.end {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
	}
	walk(root)
	return b.String()
}

// whole renders a component of one side unchanged.
func whole(c *comp) *out {
	o := &out{begin: c.begin, end: c.end}
	for _, e := range c.elems {
		if e.child != nil {
			o.elems = append(o.elems, outElem{child: whole(e.child)})
		} else {
			o.elems = append(o.elems, outElem{raw: e.prop.raw})
		}
	}
	return o
}

// comp merges one component present on both a and b (o may be nil: new on both).
func (m *merger) comp(path string, o, a, b *comp) *out {
	if o == nil {
		o = &comp{children: map[string]*comp{}}
	}
	res := &out{begin: a.begin, end: a.end}
	// Property groups: the result lines of each name.
	names := union(a.names(), b.names(), o.names())
	result := map[string][][]string{}
	for _, n := range names {
		og, ag, bg := o.group(n), a.group(n), b.group(n)
		lines, ok := m.group(n, og, ag, bg)
		if !ok {
			m.conflict(path, n)
			continue
		}
		result[n] = lines
		if !storage.Volatile(n) && n != "REV" && n != "SEQUENCE" {
			if !sameCanons(ag, og) {
				m.took(&m.fromA, path, n)
			}
			if !sameCanons(bg, og) && !sameCanons(bg, ag) {
				m.took(&m.fromB, path, n)
			}
		}
	}
	// Sub-components.
	kids := m.children(path, o, a, b)
	// Properties only b has go right after the property that precedes them in b.
	inA := map[string]bool{}
	for _, n := range a.names() {
		inA[n] = true
	}
	after := map[string][]string{}
	prev := ""
	for _, n := range b.names() {
		if inA[n] {
			prev = n
			continue
		}
		after[prev] = append(after[prev], n)
	}
	emitted := map[string]bool{}
	var emit func(n string)
	emit = func(n string) {
		if emitted[n] {
			return
		}
		emitted[n] = true
		for _, raw := range result[n] {
			res.elems = append(res.elems, outElem{raw: raw})
		}
		for _, next := range after[n] {
			emit(next)
		}
	}
	for _, n := range after[""] {
		emit(n)
	}
	doneKids := map[string]bool{}
	for _, e := range a.elems {
		if e.prop != nil {
			emit(e.prop.name)
			continue
		}
		if k := kids[e.child.key]; k != nil {
			res.elems = append(res.elems, outElem{child: k})
		}
		doneKids[e.child.key] = true
	}
	for _, n := range names {
		emit(n)
	}
	for _, key := range b.childOrder() {
		if k := kids[key]; k != nil && !doneKids[key] {
			res.elems = append(res.elems, outElem{child: k})
			doneKids[key] = true
		}
	}
	return res
}

// group merges the lines of one property name; ok is false for a conflict.
func (m *merger) group(name string, o, a, b []*prop) ([][]string, bool) {
	raws := func(ps []*prop) [][]string {
		out := make([][]string, len(ps))
		for i, p := range ps {
			out[i] = p.raw
		}
		return out
	}
	switch {
	case sameCanons(a, b), sameCanons(b, o):
		return raws(a), true
	case sameCanons(a, o):
		return raws(b), true
	case storage.Volatile(name) || name == "REV":
		if maxValue(b) > maxValue(a) {
			return raws(b), true
		}
		return raws(a), true
	case name == "SEQUENCE" && len(a) == 1 && len(b) == 1:
		x, err1 := strconv.Atoi(strings.TrimSpace(a[0].value))
		y, err2 := strconv.Atoi(strings.TrimSpace(b[0].value))
		if err1 != nil || err2 != nil {
			return nil, false
		}
		if y > x {
			return raws(b), true
		}
		return raws(a), true
	case isMulti(name):
		return setMerge(o, a, b)
	}
	return nil, false
}

func maxValue(ps []*prop) string {
	m := ""
	for _, p := range ps {
		m = max(m, p.value)
	}
	return m
}

// setMerge merges a multi-valued property: an element is kept when both sides have it,
// or when one side added it; an element of the base one side removed is dropped. Two
// kept elements with the same value but different parameters (one side changed an
// attendee's PARTSTAT, the other its ROLE) are ambiguous: a conflict.
func setMerge(o, a, b []*prop) ([][]string, bool) {
	in := func(ps []*prop) map[string]bool {
		s := map[string]bool{}
		for _, p := range ps {
			s[p.canon] = true
		}
		return s
	}
	os, as, bs := in(o), in(a), in(b)
	var kept []*prop
	seen := map[string]bool{}
	keep := func(p *prop, other map[string]bool) {
		if seen[p.canon] {
			return
		}
		if other[p.canon] || !os[p.canon] {
			seen[p.canon] = true
			kept = append(kept, p)
		}
	}
	for _, p := range a {
		keep(p, bs)
	}
	for _, p := range b {
		keep(p, as)
	}
	values := map[string]string{}
	out := make([][]string, 0, len(kept))
	for _, p := range kept {
		v := strings.ToLower(p.value)
		if c, dup := values[v]; dup && c != p.canon {
			return nil, false
		}
		values[v] = p.canon
		out = append(out, p.raw)
	}
	return out, true
}

// children merges the sub-components of o, a and b by key. The result maps a key to
// its merged component, or to nil when it is dropped.
func (m *merger) children(path string, o, a, b *comp) map[string]*out {
	res := map[string]*out{}
	// Components told apart only by position (VALARM#0, …) are aligned only when no
	// side added or removed one of their name, or when the other side left all of
	// them alone; otherwise a position means different alarms on each side.
	counts := func(c *comp) map[string]int {
		n := map[string]int{}
		for k, ch := range c.children {
			if strings.Contains(k, "#") {
				n[ch.name]++
			}
		}
		return n
	}
	co, ca, cb := counts(o), counts(a), counts(b)
	positional := map[string]string{} // name → "a", "b" or "" (aligned)
	for _, name := range union(keysOf(co), keysOf(ca), keysOf(cb)) {
		switch {
		case co[name] == ca[name] && co[name] == cb[name]:
		case m.untouched(name, o, b):
			positional[name] = "a"
		case m.untouched(name, o, a):
			positional[name] = "b"
		default:
			m.conflict(path, name)
			positional[name] = "x"
		}
	}
	for _, key := range union(a.childOrder(), b.childOrder(), o.childOrder()) {
		oc, ac, bc := o.children[key], a.children[key], b.children[key]
		some := ac
		if some == nil {
			some = bc
		}
		if some == nil {
			continue
		}
		if p, ok := positional[some.name]; ok && strings.Contains(key, "#") {
			switch p {
			case "a":
				if ac != nil {
					res[key] = whole(ac)
				}
			case "b":
				if bc != nil {
					res[key] = whole(bc)
				}
			}
			continue
		}
		sub := path + "/" + some.name
		switch {
		case path == "" && some.name == "VCALENDAR":
			sub = "" // paths leave the calendar out: VEVENT/SUMMARY
		case path == "":
			sub = some.name
		}
		switch {
		case ac != nil && bc != nil:
			if same(ac, bc) {
				res[key] = whole(ac)
			} else {
				res[key] = m.comp(sub, oc, ac, bc)
			}
		case ac != nil: // b does not have it
			switch {
			case oc == nil:
				res[key] = whole(ac) // added by a
				m.took(&m.fromA, path, some.name)
			case same(ac, oc):
				res[key] = nil // removed by b, unchanged on a
				m.took(&m.fromB, path, some.name+" (removed)")
			default:
				m.conflict(path, some.name+" (changed on a, removed on b)")
			}
		default: // a does not have it
			switch {
			case oc == nil:
				res[key] = whole(bc)
				m.took(&m.fromB, path, some.name)
			case same(bc, oc):
				res[key] = nil
				m.took(&m.fromA, path, some.name+" (removed)")
			default:
				m.conflict(path, some.name+" (changed on b, removed on a)")
			}
		}
	}
	return res
}

// untouched reports whether side s holds exactly o's positional components of name.
func (m *merger) untouched(name string, o, s *comp) bool {
	for k, oc := range o.children {
		if oc.name == name && strings.Contains(k, "#") && !same(oc, s.children[k]) {
			return false
		}
	}
	for k, sc := range s.children {
		if sc.name == name && strings.Contains(k, "#") && o.children[k] == nil {
			return false
		}
	}
	return true
}

func keysOf(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// union returns the strings of the lists in order of first appearance.
func union(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
