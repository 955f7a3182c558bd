package merge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// A person's per-property choice between two versions of an item (the conflict viewer):
// Align lists the properties of both versions aligned by component, each with the part
// a choice is made for; Compose builds the item from the chosen lines.

// ErrCannotAlign: a version's BEGIN and END lines do not nest, or a component has two
// siblings that cannot be told apart; there is nothing to choose per property.
var ErrCannotAlign = errors.New("the two versions cannot be aligned property by property")

// Pick is what a composition takes for one part.
type Pick uint8

const (
	// PickA takes a's lines (the default for a part without a choice).
	PickA Pick = iota
	// PickB takes b's lines.
	PickB
	// PickBoth keeps both values of a multi-valued property (ATTENDEE, EXDATE, EMAIL,
	// TEL, …): every element of a, then every element of b whose value a does not
	// have.
	PickBoth
)

func (p Pick) String() string {
	switch p {
	case PickA:
		return "a"
	case PickB:
		return "b"
	case PickBoth:
		return "both"
	}
	return fmt.Sprintf("Pick(%d)", p)
}

// Choices maps the Part of a Row to what the composition takes for it.
type Choices map[string]Pick

// Origin says which side a row's component exists on, or where a line of a
// composition comes from.
type Origin uint8

const (
	// Both: the content is the same on both sides (a's lines are taken), or it is
	// structure (BEGIN and END lines).
	Both Origin = iota
	FromA
	FromB
)

// Row is one property of one component, aligned across a and b.
type Row struct {
	// Path labels the enclosing components from the top (a VCALENDAR left out):
	// "VEVENT", "VALARM"; an override is "VEVENT <RECURRENCE-ID>", a time zone
	// "VTIMEZONE <TZID>", the second alarm of an event "VALARM 2".
	Path []string
	Name string   // upper case, with a vCard group ("ITEM1.EMAIL")
	A, B []string // the property's lines on each side, unfolded, in document order
	// Same: both sides hold the same content (parameter order, quoting and folding
	// aside).
	Same bool
	// Part is the key of the choice this row belongs to; "" when there is nothing to
	// choose (Same, or Auto). Every row of a component only one side has shares the
	// component's part: it is kept or left out as a whole.
	Part string
	// Only is FromA or FromB when the row's component exists on that side only.
	Only Origin
	// Multi: the property is a set, PickBoth can keep both values.
	Multi bool
	// Auto: a differing stamp (DTSTAMP, LAST-MODIFIED, PRODID, REV: the later wins) or
	// SEQUENCE (the higher wins), decided by Compose without a choice; Winner says
	// which side's lines Compose takes.
	Auto   bool
	Winner Pick
}

// Align aligns two versions of an item by component and property: the components of
// a, then those only b has; in each, the properties in order of first appearance (a's,
// then b's new ones), then its sub-components.
func Align(a, b string) ([]Row, error) {
	x, ok1 := parse(a)
	y, ok2 := parse(b)
	if !ok1 || !ok2 {
		return nil, ErrCannotAlign
	}
	var rows []Row
	var walk func(path []string, keys string, x, y *comp, only Origin, part string)
	walk = func(path []string, keys string, x, y *comp, only Origin, part string) {
		one := x
		if one == nil {
			one = y
		}
		var names []string
		if x != nil && y != nil {
			names = union(x.names(), y.names())
		} else {
			names = one.names()
		}
		for _, n := range names {
			r := Row{Path: path, Name: n, Only: only, Multi: isMulti(n), Auto: auto(n)}
			var ag, bg []*prop
			if x != nil {
				ag = x.group(n)
			}
			if y != nil {
				bg = y.group(n)
			}
			r.A, r.B = unfolded(ag), unfolded(bg)
			r.Same = only == Both && sameCanons(ag, bg)
			if r.Auto && !r.Same && laterB(n, ag, bg) {
				r.Winner = PickB
			}
			switch {
			case only != Both:
				r.Part, r.Auto = part, false
			case r.Same || r.Auto:
			default:
				r.Part = keys + "\x1e" + n
			}
			rows = append(rows, r)
		}
		var order []string
		if x != nil && y != nil {
			order = union(x.childOrder(), y.childOrder())
		} else {
			order = one.childOrder()
		}
		for _, k := range order {
			var cx, cy *comp
			if x != nil {
				cx = x.children[k]
			}
			if y != nil {
				cy = y.children[k]
			}
			c := cx
			if c == nil {
				c = cy
			}
			sub := append(append([]string(nil), path...), label(c))
			if len(path) == 0 && c.name == "VCALENDAR" {
				sub = nil
			}
			ck := keys + "\x1d" + k
			switch {
			case only != Both:
				walk(sub, ck, cx, cy, only, part)
			case cx != nil && cy != nil:
				walk(sub, ck, cx, cy, Both, "")
			case cx != nil:
				walk(sub, ck, cx, nil, FromA, ck)
			default:
				walk(sub, ck, nil, cy, FromB, ck)
			}
		}
	}
	walk(nil, "", x, y, Both, "")
	return rows, nil
}

// label names a component for people: its name, the RECURRENCE-ID of an override, the
// TZID of a time zone, the position of a second alarm.
func label(c *comp) string {
	if i := strings.Index(c.key, "#"); i >= 0 {
		n := 0
		for _, ch := range c.key[i+1:] {
			if ch >= '0' && ch <= '9' {
				n = int(ch - '0')
			} else {
				n += 10
			}
		}
		if n > 0 {
			return c.name + " " + strconv.Itoa(n+1)
		}
		return c.name
	}
	for _, e := range c.elems {
		if e.prop == nil {
			continue
		}
		if e.prop.name == "RECURRENCE-ID" || (c.name == "VTIMEZONE" && e.prop.name == "TZID") {
			return c.name + " " + e.prop.value
		}
	}
	return c.name
}

// auto reports whether a property is decided without a choice: the stamps take the
// later value, SEQUENCE the higher.
func auto(name string) bool {
	return storage.Volatile(name) || name == "REV" || name == "SEQUENCE"
}

func unfolded(ps []*prop) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		var b strings.Builder
		for k, l := range p.raw {
			if k > 0 {
				l = l[1:]
			}
			b.WriteString(l)
		}
		out[i] = b.String()
	}
	return out
}

// Line is one physical line of a composition.
type Line struct {
	Text string // without the line break
	From Origin
	Part string // the part the line was chosen for ("" for lines not chosen)
}

// Composition is the item Compose builds, line by line.
type Composition struct {
	Text  string // CRLF line breaks
	Lines []Line
}

// Compose builds an item from a and b by the choices: for every part, the lines of the
// side picked (a's when there is no choice); where both sides are the same, a's lines.
// The stamps take the later value and SEQUENCE the higher, from whichever side. The
// result is made of a's lines in a's order, with b's lines for what was picked from b
// in the place of a's (a property only b has goes after the property that precedes it
// in b; a component only b has after a's components): every line is a line of a or of
// b, byte for byte, folding and parameters included. Nothing is decoded or encoded.
//
// A choice for a part Align does not list, or PickBoth for a part that is not a set,
// is an error; so are versions that cannot be aligned (ErrCannotAlign).
func Compose(a, b string, choices Choices) (string, error) {
	c, err := ComposeLines(a, b, choices)
	return c.Text, err
}

// ComposeLines is Compose with where each line comes from (for a preview).
func ComposeLines(a, b string, choices Choices) (Composition, error) {
	x, ok1 := parse(a)
	y, ok2 := parse(b)
	if !ok1 || !ok2 {
		return Composition{}, ErrCannotAlign
	}
	c := &composer{choices: choices, used: map[string]bool{}}
	root := c.comp("", x, y)
	if c.err != nil {
		return Composition{}, c.err
	}
	for k := range choices {
		if !c.used[k] {
			return Composition{}, fmt.Errorf("no part %q to choose in these versions", k)
		}
	}
	var comp Composition
	var b2 strings.Builder
	var walk func(o *out)
	line := func(text string, from Origin, part string) {
		b2.WriteString(text)
		b2.WriteString("\r\n")
		comp.Lines = append(comp.Lines, Line{Text: text, From: from, Part: part})
	}
	walk = func(o *out) {
		for _, l := range o.begin {
			line(l, o.from, o.part)
		}
		for _, e := range o.elems {
			if e.child != nil {
				walk(e.child)
				continue
			}
			for _, l := range e.raw {
				line(l, e.from, e.part)
			}
		}
		for _, l := range o.end {
			line(l, o.from, o.part)
		}
	}
	walk(root)
	comp.Text = b2.String()
	return comp, nil
}

type composer struct {
	choices Choices
	used    map[string]bool
	err     error
}

func (c *composer) pick(key string) Pick {
	if _, ok := c.choices[key]; ok {
		c.used[key] = true
	}
	return c.choices[key]
}

// group is the result of one property name of a component on both sides.
type group struct {
	keepA  bool     // a's lines at their own places (plus extra after the last)
	extra  []*prop  // PickBoth: b's elements a does not have
	lines  []*prop  // !keepA: these lines at the first place of the name
	from   Origin   // where the lines come from
	fromX  Origin   // where extra comes from
	part   string   // the part chosen for, "" if none
	placed int      // a's elements of the name emitted so far
	total  int      // a's elements of the name
	done   bool     // !keepA: the lines were emitted
	after  []string // names only b has, emitted after this one
}

// comp composes a component both sides have.
func (c *composer) comp(keys string, a, b *comp) *out {
	res := &out{begin: a.begin, end: a.end}
	names := union(a.names(), b.names())
	groups := map[string]*group{}
	for _, n := range names {
		ag, bg := a.group(n), b.group(n)
		g := &group{total: len(ag)}
		key := keys + "\x1e" + n
		switch {
		case sameCanons(ag, bg):
			g.keepA, g.from = true, Both
		case auto(n):
			g.keepA = !laterB(n, ag, bg)
			if !g.keepA {
				g.lines, g.from = bg, FromB
			} else {
				g.from = FromA
			}
		default:
			g.part = key
			switch p := c.pick(key); p {
			case PickA:
				g.keepA, g.from = true, FromA
			case PickB:
				g.lines, g.from = bg, FromB
			case PickBoth:
				if !isMulti(n) {
					c.fail(fmt.Errorf("%s is not a multi-valued property; both values cannot be kept", n))
				}
				g.keepA, g.from, g.fromX = true, FromA, FromB
				have := map[string]bool{}
				for _, p := range ag {
					have[strings.ToLower(p.value)] = true
				}
				for _, p := range bg {
					if v := strings.ToLower(p.value); !have[v] {
						have[v] = true
						g.extra = append(g.extra, p)
					}
				}
			default:
				c.fail(fmt.Errorf("unknown choice %v for %s", p, n))
			}
		}
		if g.keepA && g.total == 0 {
			// Nothing of a's to keep in place: the extra lines go where b has them.
			g.keepA, g.lines, g.extra, g.from = false, g.extra, nil, g.fromX
		}
		groups[n] = g
	}
	// Names only b has follow the name that precedes them in b.
	inA := map[string]bool{}
	for _, n := range a.names() {
		inA[n] = true
	}
	var first []string
	prev := ""
	for _, n := range b.names() {
		if inA[n] {
			prev = n
			continue
		}
		if prev == "" {
			first = append(first, n)
		} else {
			groups[prev].after = append(groups[prev].after, n)
		}
	}
	add := func(ps []*prop, from Origin, part string) {
		for _, p := range ps {
			res.elems = append(res.elems, outElem{raw: p.raw, from: from, part: part})
		}
	}
	var emitNew func(n string)
	emitNew = func(n string) { // a name a does not have
		g := groups[n]
		if g.done {
			return
		}
		g.done = true
		add(g.lines, g.from, g.part)
		for _, m := range g.after {
			emitNew(m)
		}
	}
	for _, n := range first {
		emitNew(n)
	}
	kids := c.children(keys, a, b)
	for _, e := range a.elems {
		if e.child != nil {
			if k := kids[e.child.key]; k != nil {
				res.elems = append(res.elems, outElem{child: k})
			}
			continue
		}
		g := groups[e.prop.name]
		if g.keepA {
			add([]*prop{e.prop}, g.from, g.part)
			g.placed++
			if g.placed < g.total {
				continue
			}
			add(g.extra, g.fromX, g.part)
		} else {
			if g.done {
				continue
			}
			g.done = true
			add(g.lines, g.from, g.part)
		}
		for _, m := range g.after {
			emitNew(m)
		}
	}
	// Components only b has, when picked, after a's.
	for _, k := range b.childOrder() {
		if a.children[k] == nil {
			if o := kids[k]; o != nil {
				res.elems = append(res.elems, outElem{child: o})
			}
		}
	}
	return res
}

// children composes the sub-components of a and b by key: the result maps a key to its
// component, or to nil when it is left out.
func (c *composer) children(keys string, a, b *comp) map[string]*out {
	res := map[string]*out{}
	for _, k := range union(a.childOrder(), b.childOrder()) {
		ac, bc := a.children[k], b.children[k]
		ck := keys + "\x1d" + k
		switch {
		case ac != nil && bc != nil:
			res[k] = c.comp(ck, ac, bc)
		case ac != nil:
			switch c.pick(ck) {
			case PickA:
				res[k] = wholeFrom(ac, FromA, ck)
			case PickB:
			default:
				c.fail(fmt.Errorf("%s is on one side only: keep it (a) or leave it out (b)", ac.name))
			}
		default:
			switch c.pick(ck) {
			case PickB:
				res[k] = wholeFrom(bc, FromB, ck)
			case PickA:
			default:
				c.fail(fmt.Errorf("%s is on one side only: keep it (b) or leave it out (a)", bc.name))
			}
		}
	}
	return res
}

// wholeFrom is one side's component unchanged, every line marked as from that side.
func wholeFrom(cm *comp, from Origin, part string) *out {
	o := &out{begin: cm.begin, end: cm.end, from: from, part: part}
	for _, e := range cm.elems {
		if e.child != nil {
			o.elems = append(o.elems, outElem{child: wholeFrom(e.child, from, part)})
		} else {
			o.elems = append(o.elems, outElem{raw: e.prop.raw, from: from, part: part})
		}
	}
	return o
}

func (c *composer) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// laterB reports whether b's lines of an automatic property win: the later stamp, the
// higher SEQUENCE (a's on a tie, or when SEQUENCE is not a number).
func laterB(name string, a, b []*prop) bool {
	if name == "SEQUENCE" {
		seq := func(ps []*prop) (int, bool) {
			if len(ps) != 1 {
				return 0, len(ps) == 0
			}
			n, err := strconv.Atoi(strings.TrimSpace(ps[0].value))
			return n, err == nil
		}
		x, ok1 := seq(a)
		y, ok2 := seq(b)
		return ok1 && ok2 && y > x
	}
	return maxValue(b) > maxValue(a)
}
