package merge

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// entry is one line group of an item: a BEGIN/END line, or a property with the path of
// the component it is in.
type entry struct {
	path    string // "VCALENDAR#0/VEVENT#1"
	name    string // property name, "" for BEGIN/END
	raw     []string
	struct_ bool
}

func flatten(text string) []entry {
	var out []entry
	var stack []string
	counts := []map[string]int{{}}
	for _, raw := range contentLines(text) {
		name, value, _ := strings.Cut(raw[0], ":")
		name = strings.ToUpper(strings.SplitN(name, ";", 2)[0])
		switch name {
		case "BEGIN":
			n := counts[len(counts)-1][value]
			counts[len(counts)-1][value] = n + 1
			stack = append(stack, fmt.Sprintf("%s#%d", value, n))
			counts = append(counts, map[string]int{})
			out = append(out, entry{path: strings.Join(stack, "/"), raw: raw, struct_: true})
		case "END":
			out = append(out, entry{path: strings.Join(stack, "/"), raw: raw, struct_: true})
			if len(stack) > 0 {
				stack, counts = stack[:len(stack)-1], counts[:len(counts)-1]
			}
		default:
			out = append(out, entry{path: strings.Join(stack, "/"), name: name, raw: raw})
		}
	}
	return out
}

// editOp changes property i of a flattened item: kind 0 replaces its value, 1 deletes
// it, 2 inserts a new property after it.
type editOp struct {
	i, kind int
	value   string
}

// editable reports whether a property may be edited by the fuzzer: not a set (their
// merge is tested on its own), not volatile, not SEQUENCE, not the UID.
func editable(e entry) bool {
	switch e.name {
	case "", "UID", "SEQUENCE", "DTSTAMP", "LAST-MODIFIED", "PRODID", "REV", "RECURRENCE-ID", "TZID", "VERSION":
		return false
	}
	return !isMulti(e.name)
}

func apply(es []entry, ops []editOp, side string) string {
	byIndex := map[int]editOp{}
	for _, op := range ops {
		byIndex[op.i] = op
	}
	var b strings.Builder
	for i, e := range es {
		op, ok := byIndex[i]
		switch {
		case !ok:
			b.WriteString(strings.Join(e.raw, "\r\n") + "\r\n")
		case op.kind == 0:
			fmt.Fprintf(&b, "%s:%s\r\n", e.name, op.value)
		case op.kind == 1:
		case op.kind == 2:
			b.WriteString(strings.Join(e.raw, "\r\n") + "\r\n")
			fmt.Fprintf(&b, "X-FUZZ-%s-%d:%s\r\n", side, i, op.value)
		}
	}
	return b.String()
}

// decodeOps turns fuzz bytes into at most three edits of editable properties.
func decodeOps(es []entry, data []byte) []editOp {
	var idx []int
	for i, e := range es {
		if editable(e) {
			idx = append(idx, i)
		}
	}
	var ops []editOp
	used := map[int]bool{}
	for k := 0; k+1 < len(data) && len(ops) < 3; k += 2 {
		i := idx[int(data[k])%len(idx)]
		if used[i] {
			continue
		}
		used[i] = true
		ops = append(ops, editOp{i: i, kind: int(data[k+1]) % 3, value: fmt.Sprintf("v%d-%d", data[k], data[k+1])})
	}
	return ops
}

// FuzzMerge: two random edits of a base merge with both edits present and every other
// line unchanged, byte for byte; or they conflict, which is allowed only when both
// edited the same property of the same component.
func FuzzMerge(f *testing.F) {
	f.Add(uint8(0), []byte{1, 0, 7, 1}, []byte{3, 2, 9, 0})
	f.Add(uint8(1), []byte{0, 0}, []byte{0, 0})
	f.Add(uint8(0), []byte{5, 1, 6, 2, 9, 0}, []byte{5, 0})
	f.Fuzz(func(t *testing.T, which uint8, da, db []byte) {
		base := []string{baseEvent, baseCard}[int(which)%2]
		es := flatten(base)
		opsA, opsB := decodeOps(es, da), decodeOps(es, db)
		a, b := apply(es, opsA, "a"), apply(es, opsB, "b")
		got, err := Merge(base, a, b)
		touched := func(ops []editOp) map[string]bool {
			m := map[string]bool{}
			for _, op := range ops {
				if op.kind != 2 { // an insert adds a new name; it touches nothing
					m[es[op.i].path+"\x00"+es[op.i].name] = true
				}
			}
			return m
		}
		ta, tb := touched(opsA), touched(opsB)
		overlap := false
		for k := range ta {
			overlap = overlap || tb[k]
		}
		if err != nil {
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("not a conflict error: %v", err)
			}
			if !overlap {
				t.Fatalf("edits of different properties conflict: %v\nbase\n%s\na\n%s\nb\n%s", err, base, a, b)
			}
			return
		}
		// Every edit is present, every other line is unchanged.
		for _, side := range []struct {
			name string
			ops  []editOp
		}{{"a", opsA}, {"b", opsB}} {
			for _, op := range side.ops {
				e := es[op.i]
				switch op.kind {
				case 0:
					if !strings.Contains(got, e.name+":"+op.value+"\r\n") && !(overlap && ta[e.path+"\x00"+e.name] && tb[e.path+"\x00"+e.name]) {
						t.Fatalf("%s's change of %s is missing:\n%s", side.name, e.name, got)
					}
				case 1:
					other := opsA
					if side.name == "a" {
						other = opsB
					}
					kept := false
					for _, o := range other {
						kept = kept || o.i == op.i && o.kind == 0
					}
					if !kept && strings.Contains(got, strings.Join(e.raw, "\r\n")+"\r\n") {
						t.Fatalf("%s's deletion of %s is missing:\n%s", side.name, e.name, got)
					}
				case 2:
					if !strings.Contains(got, fmt.Sprintf("X-FUZZ-%s-%d:%s\r\n", side.name, op.i, op.value)) {
						t.Fatalf("%s's insertion after %s is missing:\n%s", side.name, e.name, got)
					}
				}
			}
		}
		for i, e := range es {
			if e.struct_ {
				continue
			}
			if _, ok := ta[e.path+"\x00"+e.name]; ok {
				continue
			}
			if _, ok := tb[e.path+"\x00"+e.name]; ok {
				continue
			}
			editedHere := false
			for _, op := range append(append([]editOp{}, opsA...), opsB...) {
				editedHere = editedHere || op.i == i && op.kind != 2
			}
			if !editedHere && !strings.Contains(got, strings.Join(e.raw, "\r\n")+"\r\n") {
				t.Fatalf("untouched line %q is missing or changed:\n%s", e.raw[0], got)
			}
		}
		if _, ok := parse(got); !ok {
			t.Fatalf("the result does not nest:\n%s", got)
		}
	})
}
