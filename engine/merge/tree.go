// Package merge combines versions of one item line by line: a three-way merge of two
// edits of a common base (`conflict_resolution merge`), and the per-property choices a
// person makes in the conflict viewer. The result is built from the original content
// lines of the versions — folding, parameters and the order of the kept lines stay
// byte for byte as they were; nothing is decoded and encoded again.
package merge

import (
	"slices"
	"sort"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// prop is one property of a component: an unfolded content line and the physical lines
// it was written as.
type prop struct {
	name  string // upper case, with a vCard group prefix ("ITEM1.EMAIL")
	value string // the value, for telling multi-valued elements apart
	canon string // canonical form: what counts as the same property
	raw   []string
}

// comp is one component with its properties and sub-components in document order.
type comp struct {
	name     string // upper case
	key      string // identity among its siblings (see keyOf)
	begin    []string
	end      []string
	elems    []elem
	children map[string]*comp
}

// elem is one entry of a component in document order: a property or a sub-component.
type elem struct {
	prop  *prop
	child *comp
}

// parse reads item text into its component tree under a synthetic root. ok is false
// for text whose BEGIN and END lines do not nest.
func parse(text string) (root *comp, ok bool) {
	root = &comp{children: map[string]*comp{}}
	stack := []*comp{root}
	ordinal := []map[string]int{{}}
	for _, raw := range contentLines(text) {
		line := unfold(raw)
		if line == "" {
			continue
		}
		cl := storage.SplitLine(line)
		name := strings.ToUpper(cl.Name)
		top := stack[len(stack)-1]
		switch name {
		case "BEGIN":
			c := &comp{name: strings.ToUpper(cl.Value), begin: raw, children: map[string]*comp{}}
			top.elems = append(top.elems, elem{child: c})
			stack = append(stack, c)
			ordinal = append(ordinal, map[string]int{})
			continue
		case "END":
			if len(stack) < 2 || !strings.EqualFold(top.name, cl.Value) {
				return nil, false
			}
			top.end = raw
			stack = stack[:len(stack)-1]
			ordinal = ordinal[:len(ordinal)-1]
			parent := stack[len(stack)-1]
			top.key = keyOf(top, ordinal[len(ordinal)-1])
			if _, dup := parent.children[top.key]; dup {
				return nil, false // two siblings we cannot tell apart
			}
			parent.children[top.key] = top
			continue
		}
		top.elems = append(top.elems, elem{prop: &prop{name: name, value: cl.Value, canon: storage.CanonicalLine(name, cl), raw: raw}})
	}
	return root, len(stack) == 1
}

// contentLines splits CRLF (or LF) text into its content lines, each as its physical
// lines: the first and its continuations (RFC 5545 §3.1 folding).
func contentLines(text string) [][]string {
	lines := physical(text)
	var out [][]string
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j] != "" && (lines[j][0] == ' ' || lines[j][0] == '\t') {
			j++
		}
		out = append(out, lines[i:j])
		i = j
	}
	return out
}

// unfold joins the physical lines of one content line.
func unfold(raw []string) string {
	if len(raw) == 1 {
		return raw[0]
	}
	var b strings.Builder
	for k, l := range raw {
		if k > 0 {
			l = l[1:]
		}
		b.WriteString(l)
	}
	return b.String()
}

// physical splits CRLF (or LF) text into physical lines, without the last empty one.
func physical(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// keyOf identifies a component among its siblings: calendar objects and cards by UID
// and RECURRENCE-ID, time zones by TZID, anything else by its name and position among
// the siblings of that name (VALARM#0, VALARM#1).
func keyOf(c *comp, ordinal map[string]int) string {
	var uid, rid, tzid string
	for _, e := range c.elems {
		if e.prop == nil {
			continue
		}
		switch e.prop.name {
		case "UID":
			uid = e.prop.value
		case "RECURRENCE-ID":
			rid = e.prop.value
		case "TZID":
			tzid = e.prop.value
		}
	}
	switch {
	case uid != "" && c.name != "VALARM":
		return c.name + "\x00" + uid + "\x00" + rid
	case tzid != "" && c.name == "VTIMEZONE":
		return c.name + "\x00" + tzid
	}
	n := ordinal[c.name]
	ordinal[c.name] = n + 1
	return c.name + "#" + string(rune('0'+n%10)) + strings.Repeat("'", n/10)
}

// group returns the properties of c with the given name, in document order.
func (c *comp) group(name string) []*prop {
	var out []*prop
	for _, e := range c.elems {
		if e.prop != nil && e.prop.name == name {
			out = append(out, e.prop)
		}
	}
	return out
}

// names returns the property names of c in order of first appearance.
func (c *comp) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range c.elems {
		if e.prop != nil && !seen[e.prop.name] {
			seen[e.prop.name] = true
			out = append(out, e.prop.name)
		}
	}
	return out
}

// childOrder returns the keys of c's sub-components in document order.
func (c *comp) childOrder() []string {
	var out []string
	for _, e := range c.elems {
		if e.child != nil {
			out = append(out, e.child.key)
		}
	}
	return out
}

// canons returns the sorted canonical forms of props (a multiset).
func canons(ps []*prop) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.canon
	}
	sort.Strings(out)
	return out
}

func sameCanons(a, b []*prop) bool { return slices.Equal(canons(a), canons(b)) }

// same reports whether two components hold the same content (recursively).
func same(a, b *comp) bool {
	if a == nil || b == nil {
		return a == b
	}
	an, bn := a.names(), b.names()
	if len(an) != len(bn) {
		return false
	}
	for _, n := range an {
		if !sameCanons(a.group(n), b.group(n)) {
			return false
		}
	}
	if len(a.children) != len(b.children) {
		return false
	}
	for k, ca := range a.children {
		if !same(ca, b.children[k]) {
			return false
		}
	}
	return true
}

// SameLines reports whether two lists of unfolded lines of one property hold the same
// content: the same elements, whatever their order, the order, case and quoting of
// their parameters and their folding.
func SameLines(a, b []string) bool {
	canon := func(ls []string) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			cl := storage.SplitLine(l)
			out[i] = storage.CanonicalLine(strings.ToUpper(cl.Name), cl)
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(canon(a), canon(b))
}
