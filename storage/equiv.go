package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Volatile reports whether a property name (upper case) is one that servers and clients
// rewrite on their own: the hash ignores PRODID, DTSTAMP and LAST-MODIFIED (sync.md
// §2.4); Fingerprint also ignores REV, the vCard revision stamp that servers such as
// DAViCal add to every card they store.
func Volatile(name string) bool {
	switch name {
	case "PRODID", "DTSTAMP", "LAST-MODIFIED":
		return true
	}
	return false
}

// Fingerprint is a digest of an item's content that stays the same when a server
// re-serialises it: line folding and line ends, the order of properties and of
// sub-components, the order, case and quoting of parameters, the case of property
// names, and the volatile properties (plus REV) are all left out. Two texts with the same
// fingerprint carry the same information, so one is a server's normalisation of the
// other. It is never used as an ident or to decide which side changed (that is the hash,
// sync.md §2.4); it only recognises our own uploads after a server rewrote them.
func Fingerprint(text string) string {
	root := &fpNode{}
	stack := []*fpNode{root}
	Unfold(text, func(line string) {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return
		}
		cl := SplitLine(line)
		name := strings.ToUpper(cl.Name)
		top := stack[len(stack)-1]
		switch name {
		case "BEGIN":
			n := &fpNode{name: strings.ToUpper(cl.Value)}
			top.children = append(top.children, n)
			stack = append(stack, n)
			return
		case "END":
			if len(stack) > 1 && strings.EqualFold(top.name, cl.Value) {
				stack = stack[:len(stack)-1]
			}
			return
		}
		if Volatile(name) || name == "REV" {
			return
		}
		top.lines = append(top.lines, CanonicalLine(name, cl))
	})
	var b strings.Builder
	root.write(&b)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Equivalent reports whether a and b have the same Fingerprint.
func Equivalent(a, b string) bool { return a == b || Fingerprint(a) == Fingerprint(b) }

type fpNode struct {
	name     string
	lines    []string
	children []*fpNode
}

func (n *fpNode) write(b *strings.Builder) {
	slices.Sort(n.lines)
	kids := make([]string, len(n.children))
	for i, c := range n.children {
		var cb strings.Builder
		c.write(&cb)
		kids[i] = cb.String()
	}
	slices.Sort(kids)
	b.WriteString("BEGIN:" + n.name + "\n")
	for _, l := range n.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, k := range kids {
		b.WriteString(k)
	}
	b.WriteString("END:" + n.name + "\n")
}

// CanonicalLine renders a content line (name upper case) so that what servers and
// clients vary without meaning anything by it does not show: parameters sorted, their
// names upper case, their values unquoted and sorted (a parameter given twice is one
// list; TYPE values upper case), and \N written \n.
func CanonicalLine(name string, cl ContentLine) string {
	// A parameter given twice is one list: TYPE=a;TYPE=b is TYPE=a,b (Radicale joins
	// them).
	byName := map[string][]string{}
	for _, p := range SplitQuoted(cl.Params, ';') {
		if p == "" {
			continue
		}
		pn, pv, _ := strings.Cut(p, "=")
		pn = strings.ToUpper(pn)
		for _, v := range SplitQuoted(pv, ',') {
			v = strings.Trim(v, `"`)
			if pn == "TYPE" {
				v = strings.ToUpper(v)
			}
			byName[pn] = append(byName[pn], v)
		}
	}
	var params []string
	for pn, vals := range byName {
		slices.Sort(vals)
		params = append(params, pn+"="+strings.Join(vals, ","))
	}
	slices.Sort(params)
	var b strings.Builder
	b.WriteString(name)
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p)
	}
	b.WriteByte(':')
	// An escaped line break may be written \N or \n.
	b.WriteString(strings.ReplaceAll(cl.Value, `\N`, `\n`))
	return b.String()
}

// SplitQuoted splits s at sep where sep is not inside double quotes.
func SplitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
