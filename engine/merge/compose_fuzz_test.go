package merge

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// The fuzz target of Compose: two random edits of an item (values changed, properties
// deleted and added, set elements added, alarms added, components removed) and random
// choices for every part; the result must hold exactly the chosen lines, byte for
// byte, and nothing else may change. The check reads the versions with a reader of its
// own (tcomp), not with the package's tree.

// tcomp is a component as the check sees it: its BEGIN line, its properties by name
// (each element its physical lines joined by CRLF) and its sub-components by label.
type tcomp struct {
	name  string
	pos   bool // labelled by its position
	begin string
	props map[string][]string
	kids  map[string]*tcomp
	order []string // labels of kids in document order
}

// tread reads text into labelled components: an override is labelled by its
// RECURRENCE-ID, a time zone by its TZID, a component without identity by its
// position among the siblings of its name (VALARM, VALARM 2, …).
func tread(t *testing.T, text string) *tcomp {
	t.Helper()
	type frame struct {
		c     *tcomp
		name  string
		uid   string
		ident string
	}
	root := &tcomp{props: map[string][]string{}, kids: map[string]*tcomp{}}
	stack := []*frame{{c: root}}
	counts := []map[string]int{{}}
	for _, raw := range contentLines(text) {
		cl := storage.SplitLine(unfold(raw))
		name := strings.ToUpper(cl.Name)
		top := stack[len(stack)-1]
		switch name {
		case "BEGIN":
			c := &tcomp{name: strings.ToUpper(cl.Value), begin: raw[0], props: map[string][]string{}, kids: map[string]*tcomp{}}
			stack = append(stack, &frame{c: c, name: strings.ToUpper(cl.Value)})
			counts = append(counts, map[string]int{})
			continue
		case "END":
			if len(stack) < 2 {
				t.Fatalf("END without BEGIN:\n%s", text)
			}
			stack = stack[:len(stack)-1]
			counts = counts[:len(counts)-1]
			parent := stack[len(stack)-1]
			label := top.name
			switch {
			case top.uid != "" && top.name != "VALARM":
				if top.ident != "" {
					label += " " + top.ident
				}
			case top.name == "VTIMEZONE" && top.ident != "":
				label += " " + top.ident
			default:
				top.c.pos = true
				n := counts[len(counts)-1][top.name]
				counts[len(counts)-1][top.name] = n + 1
				if n > 0 {
					label += fmt.Sprintf(" %d", n+1)
				}
			}
			if _, dup := parent.c.kids[label]; dup {
				t.Fatalf("two components labelled %s:\n%s", label, text)
			}
			parent.c.kids[label] = top.c
			parent.c.order = append(parent.c.order, label)
			continue
		case "UID":
			top.uid = cl.Value
		case "RECURRENCE-ID":
			top.ident = cl.Value
		case "TZID":
			if top.name == "VTIMEZONE" {
				top.ident = cl.Value
			}
		}
		top.c.props[name] = append(top.c.props[name], strings.Join(raw, "\r\n"))
	}
	if len(stack) != 1 {
		t.Fatalf("unbalanced:\n%s", text)
	}
	return root
}

// tcanons is the sorted canonical form of a property's elements.
func tcanons(name string, els []string) string {
	var out []string
	for _, e := range els {
		un := strings.ReplaceAll(strings.ReplaceAll(e, "\r\n ", ""), "\r\n\t", "")
		out = append(out, storage.CanonicalLine(name, storage.SplitLine(un)))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func tvalue(el string) string {
	un := strings.ReplaceAll(strings.ReplaceAll(el, "\r\n ", ""), "\r\n\t", "")
	return strings.ToLower(storage.SplitLine(un).Value)
}

// expectComp compares the composed component got with what the choices ask for when
// both sides have it.
func expectComp(t *testing.T, path string, got, a, b *tcomp, picks map[string]Pick) {
	t.Helper()
	if got == nil {
		t.Fatalf("component %q is missing", path)
	}
	if got.begin != a.begin {
		t.Fatalf("component %q begins with %q, not a's %q", path, got.begin, a.begin)
	}
	names := map[string]bool{}
	for n := range a.props {
		names[n] = true
	}
	for n := range b.props {
		names[n] = true
	}
	for n := range got.props {
		if !names[n] {
			t.Fatalf("%s %s is in neither version", path, n)
		}
	}
	for n := range names {
		ag, bg := a.props[n], b.props[n]
		var want []string
		key := strings.TrimPrefix(path+"/"+n, "/")
		switch {
		case tcanons(n, ag) == tcanons(n, bg):
			want = ag
		case n == "SEQUENCE" || storage.Volatile(n) || n == "REV":
			want = ag
			if laterBLines(n, ag, bg) {
				want = bg
			}
		default:
			switch picks[key] {
			case PickA:
				want = ag
			case PickB:
				want = bg
			case PickBoth:
				want = append([]string(nil), ag...)
				have := map[string]bool{}
				for _, e := range ag {
					have[tvalue(e)] = true
				}
				for _, e := range bg {
					if v := tvalue(e); !have[v] {
						have[v] = true
						want = append(want, e)
					}
				}
			}
		}
		if strings.Join(got.props[n], "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%s %s (pick %v):\ngot  %q\nwant %q", path, n, picks[key], got.props[n], want)
		}
	}
	labels := map[string]bool{}
	for l := range a.kids {
		labels[l] = true
	}
	for l := range b.kids {
		labels[l] = true
	}
	for l, k := range got.kids {
		if !labels[l] && !k.pos {
			t.Fatalf("component %s/%s is in neither version", path, l)
		}
	}
	sub := func(l string) string {
		if path == "" && strings.HasPrefix(l, "VCALENDAR") {
			return ""
		}
		return strings.TrimPrefix(path+"/"+l, "/")
	}
	// Components with identity (overrides, time zones) by label.
	for l := range labels {
		ac, bc, gc := a.kids[l], b.kids[l], got.kids[l]
		if (ac != nil && ac.pos) || (bc != nil && bc.pos) {
			continue
		}
		switch {
		case ac != nil && bc != nil:
			expectComp(t, sub(l), gc, ac, bc, picks)
		default:
			only, keep := ac, picks[sub(l)] == PickA
			if ac == nil {
				only, keep = bc, picks[sub(l)] == PickB
			}
			switch {
			case keep && gc == nil:
				t.Fatalf("component %s was chosen but is missing", sub(l))
			case !keep && gc != nil:
				t.Fatalf("component %s was left out but is there", sub(l))
			case keep && !sameTcomp(gc, only):
				t.Fatalf("component %s is not the chosen side's, line for line", sub(l))
			}
		}
	}
	// Components without identity (alarms) are in order: a's that are kept, then b's
	// that are chosen; those both sides have at a position are composed.
	type want struct {
		label  string
		a, b   *tcomp
		single *tcomp
	}
	wants := map[string][]want{}
	for _, l := range a.order {
		ac := a.kids[l]
		if !ac.pos {
			continue
		}
		if bc := b.kids[l]; bc != nil {
			wants[ac.name] = append(wants[ac.name], want{label: l, a: ac, b: bc})
		} else if picks[sub(l)] == PickA {
			wants[ac.name] = append(wants[ac.name], want{label: l, single: ac})
		}
	}
	for _, l := range b.order {
		bc := b.kids[l]
		if bc.pos && a.kids[l] == nil && picks[sub(l)] == PickB {
			wants[bc.name] = append(wants[bc.name], want{label: l, single: bc})
		}
	}
	gots := map[string][]*tcomp{}
	for _, l := range got.order {
		if k := got.kids[l]; k.pos {
			gots[k.name] = append(gots[k.name], k)
		}
	}
	for name := range gots {
		if _, ok := wants[name]; !ok {
			wants[name] = nil
		}
	}
	for name, ws := range wants {
		gs := gots[name]
		if len(gs) != len(ws) {
			t.Fatalf("%s holds %d %s, want %d", path, len(gs), name, len(ws))
		}
		for i, w := range ws {
			if w.single != nil {
				if !sameTcomp(gs[i], w.single) {
					t.Fatalf("%s %s #%d is not the chosen side's, line for line", path, name, i+1)
				}
				continue
			}
			expectComp(t, sub(w.label), gs[i], w.a, w.b, picks)
		}
	}
}

// laterBLines is laterB on the check's elements.
func laterBLines(name string, a, b []string) bool {
	if name == "SEQUENCE" {
		if len(a) > 1 || len(b) > 1 {
			return false
		}
		var x, y int
		if len(a) == 1 {
			if _, err := fmt.Sscanf(strings.TrimSpace(storage.SplitLine(a[0]).Value)+"\n", "%d\n", &x); err != nil {
				return false
			}
		}
		if len(b) != 1 {
			return false
		}
		if _, err := fmt.Sscanf(strings.TrimSpace(storage.SplitLine(b[0]).Value)+"\n", "%d\n", &y); err != nil {
			return false
		}
		return y > x
	}
	m := func(els []string) string {
		s := ""
		for _, e := range els {
			s = max(s, storage.SplitLine(e).Value)
		}
		return s
	}
	return m(b) > m(a)
}

func sameTcomp(x, y *tcomp) bool {
	if x.begin != y.begin || len(x.props) != len(y.props) || len(x.kids) != len(y.kids) || len(x.order) != len(y.order) {
		return false
	}
	for i := range x.order {
		if x.order[i] != y.order[i] {
			return false
		}
	}
	for n, els := range x.props {
		if strings.Join(els, "\x00") != strings.Join(y.props[n], "\x00") {
			return false
		}
	}
	for l, k := range x.kids {
		if y.kids[l] == nil || !sameTcomp(k, y.kids[l]) {
			return false
		}
	}
	return true
}

// cedit is one random edit of a flattened item.
type cedit struct {
	i, kind int
	value   string
}

// cedits turns fuzz bytes into edits: 0 replace a value, 1 delete a property, 2 add a
// property, 3 add a set element, 4 remove the component the line is in, 5 add an alarm,
// 6 fold the line differently (the same content).
func cedits(es []entry, data []byte) []cedit {
	var idx []int
	for i, e := range es {
		switch e.name {
		case "", "UID", "RECURRENCE-ID", "TZID", "VERSION":
			continue
		}
		idx = append(idx, i)
	}
	var out []cedit
	used := map[int]bool{}
	for k := 0; k+1 < len(data) && len(out) < 4; k += 2 {
		i := idx[int(data[k])%len(idx)]
		if used[i] {
			continue
		}
		used[i] = true
		out = append(out, cedit{i: i, kind: int(data[k+1]) % 7, value: fmt.Sprintf("v%d-%d", data[k], data[k+1])})
	}
	return out
}

func capply(es []entry, eds []cedit, side string, card bool) string {
	by := map[int]cedit{}
	drop := map[string]bool{} // component paths removed
	for _, ed := range eds {
		by[ed.i] = ed
		if ed.kind == 4 && strings.Count(es[ed.i].path, "/") >= 1 {
			drop[es[ed.i].path] = true
		}
	}
	var b strings.Builder
	for i, e := range es {
		gone := false
		for p := range drop {
			gone = gone || e.path == p || strings.HasPrefix(e.path, p+"/")
		}
		if gone {
			continue
		}
		ed, ok := by[i]
		raw := strings.Join(e.raw, "\r\n") + "\r\n"
		switch {
		case !ok || ed.kind == 4:
			b.WriteString(raw)
		case ed.kind == 0:
			fmt.Fprintf(&b, "%s:%s\r\n", strings.SplitN(e.raw[0], ":", 2)[0], ed.value)
		case ed.kind == 1:
		case ed.kind == 2:
			b.WriteString(raw)
			fmt.Fprintf(&b, "X-FUZZ-%s-%d:%s\r\n", side, i, ed.value)
		case ed.kind == 3 && card:
			b.WriteString(raw)
			fmt.Fprintf(&b, "TEL;TYPE=%s:+49 %d\r\n", side, i)
		case ed.kind == 3:
			b.WriteString(raw)
			fmt.Fprintf(&b, "ATTENDEE;CN=%s:mailto:%s-%d@example.org\r\n", ed.value, side, i)
		case ed.kind == 6:
			un := e.raw[0]
			for _, l := range e.raw[1:] {
				un += l[1:]
			}
			if len(un) > 12 {
				fmt.Fprintf(&b, "%s\r\n %s\r\n", un[:10], un[10:])
			} else {
				b.WriteString(raw)
			}
		case ed.kind == 5:
			b.WriteString(raw)
			fmt.Fprintf(&b, "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT%dM\r\nEND:VALARM\r\n", i)
		}
	}
	return b.String()
}

func FuzzCompose(f *testing.F) {
	f.Add(uint8(0), []byte{1, 0, 7, 1}, []byte{3, 2, 9, 0}, []byte{1, 2, 0, 1, 2})
	f.Add(uint8(1), []byte{0, 3, 4, 0}, []byte{0, 3, 5, 1}, []byte{2, 2, 2})
	f.Add(uint8(0), []byte{20, 4, 6, 5}, []byte{30, 4, 9, 3}, []byte{1, 1, 1, 1, 1})
	f.Add(uint8(2), []byte{5, 1, 6, 2, 9, 0}, []byte{5, 0, 11, 3}, []byte{0, 1})
	f.Add(uint8(1), []byte("0A1A"), []byte("00"), []byte("01")) // two alarms added on a, the first left out
	f.Add(uint8(0), []byte{7, 6, 9, 6}, []byte{8, 6, 3, 0}, []byte{1, 1})
	f.Fuzz(func(t *testing.T, which uint8, da, db, dc []byte) {
		base := []string{baseEvent, baseCard, eventB}[int(which)%3]
		card := base == baseCard
		es := flatten(base)
		a, b := capply(es, cedits(es, da), "a", card), capply(es, cedits(es, db), "b", card)
		rows, err := Align(a, b)
		if err != nil {
			t.Fatalf("align: %v\na\n%s\nb\n%s", err, a, b)
		}
		// A pick for every part, from dc: picks by row path and name for the check,
		// by part key for Compose.
		choices := Choices{}
		picks := map[string]Pick{}
		k := 0
		for _, r := range rows {
			if r.Part == "" {
				continue
			}
			p, seen := choices[r.Part]
			if !seen {
				if k < len(dc) {
					p = Pick(dc[k] % 3)
				}
				k++
				if p == PickBoth && (!r.Multi || r.Only != Both) {
					p = PickB
				}
				choices[r.Part] = p
			}
			path := strings.Join(r.Path, "/")
			if r.Only != Both {
				// The part of a one-sided component: its outermost one-sided path.
				for _, o := range rows {
					if o.Part == r.Part && len(o.Path) < len(r.Path) {
						path = strings.Join(o.Path, "/")
					}
				}
				picks[path] = p
			} else {
				picks[strings.TrimPrefix(path+"/"+r.Name, "/")] = p
			}
		}
		got, err := Compose(a, b, choices)
		if err != nil {
			t.Fatalf("compose: %v", err)
		}
		// Every line is a line of a or of b.
		have := map[string]bool{}
		for _, l := range append(physical(a), physical(b)...) {
			have[l] = true
		}
		for _, l := range physical(got) {
			if !have[l] {
				t.Fatalf("line %q is in neither version:\n%s", l, got)
			}
		}
		ta, tb, tg := tread(t, a), tread(t, b), tread(t, got)
		expectComp(t, "", tg, ta, tb, picks)
	})
}
