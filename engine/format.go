package engine

import (
	"fmt"
	"io"
	"strings"
)

// CollectionLabel renders the collection action the way plans print it (sync.md §14.1).
func (m *MappingPlan) CollectionLabel() string {
	switch m.Action {
	case CollNone:
		return "none"
	case CollRecord:
		return "record mapping"
	case CollCreateA:
		return "create on a"
	case CollCreateB:
		return "create on b"
	case CollCreateAB:
		return "create on both"
	case CollDeleteA:
		return "delete on a"
	case CollDeleteB:
		return "delete on b"
	case CollSkipped:
		return "skipped: " + m.Reason
	case CollProtected:
		return m.Reason // already starts with "protected:"
	}
	return "?"
}

// Label renders the verb column of an item action.
func (a *ItemAction) Label() string {
	var v string
	switch a.Verb {
	case VerbCreate, VerbUpdate, VerbDelete:
		v = fmt.Sprintf("%s on %s", a.Verb, a.Target)
		if a.Keep != "" {
			v = fmt.Sprintf("keep %s: %s", a.Keep, v)
		}
	default:
		v = a.Verb.String()
	}
	if a.Skip != "" {
		return fmt.Sprintf("skip (%s) %s", a.Skip, v)
	}
	return v
}

// Label renders a property action.
func (p *PropAction) Label() string {
	var v string
	switch p.Verb {
	case VerbUpdate:
		v = fmt.Sprintf("write to %s %q", p.Target, p.Value())
		if p.Keep != "" {
			v = fmt.Sprintf("keep %s: %s", p.Keep, v)
		}
	case VerbDelete:
		v = fmt.Sprintf("delete on %s", p.Target)
	case VerbConflict:
		v = fmt.Sprintf("conflict %q vs %q", p.A, p.B)
	default:
		v = p.Verb.String()
	}
	if p.Skip != "" {
		v = fmt.Sprintf("skip (%s) %s", p.Skip, v)
	}
	return fmt.Sprintf("property %s: %s", p.Name, v)
}

// where renders the href column of an item action.
func (a *ItemAction) where() string {
	switch a.Verb {
	case VerbCreate:
		return fmt.Sprintf("from %s: %s", a.Target.Other(), a.Source().Href)
	case VerbUpdate:
		return fmt.Sprintf("%s: %s", a.Target, a.TargetItem().Href)
	case VerbDelete:
		return fmt.Sprintf("%s: %s", a.Target, a.TargetItem().Href)
	case VerbConflict:
		return fmt.Sprintf("a: %s  b: %s", a.A.Href, a.B.Href)
	case VerbMerge:
		var parts []string
		for s, f := range a.MergedFrom {
			if len(f) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", Side(s), strings.Join(f, ", ")))
			}
		}
		return "taking " + strings.Join(parts, "; ")
	}
	return ""
}

// WritePlan prints plans in the line format of sync.md §14.1.
func WritePlan(w io.Writer, plans []*PairPlan) error {
	var b strings.Builder
	for _, pp := range plans {
		writePairPlan(&b, pp)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePairPlan(b *strings.Builder, pp *PairPlan) {
	if pp.Err != nil {
		fmt.Fprintf(b, "pair %s: error: %v\n", pp.Name(), pp.Err)
		return
	}
	if !pp.HasChanges() && !pp.hasErrors() {
		fmt.Fprintf(b, "pair %s: no changes\n", pp.Name())
		return
	}
	fmt.Fprintf(b, "pair %s\n", pp.Name())
	for _, s := range pp.Stale {
		fmt.Fprintf(b, "  forget mapping %d (a: %s, b: %s)\n", s.UID, s.HrefA, s.HrefB)
	}
	for _, m := range pp.Mappings {
		fmt.Fprintf(b, "  collection %s (a: %s, b: %s): %s\n", m.Alias, m.HrefA, m.HrefB, m.CollectionLabel())
		for _, u := range m.Unfetchable {
			fmt.Fprintf(b, "    cannot read %s on %s: %v\n", u.Href, u.Side, u.Err)
		}
		for _, d := range m.Duplicates {
			fmt.Fprintf(b, "    error: %s\n", d)
		}
		for _, a := range m.Items {
			summary := ""
			if s := a.Summary(); s != "" {
				summary = fmt.Sprintf("%q", s)
			}
			line := fmt.Sprintf("    %-18s %-20s %-16s %s", a.Label(), a.Ident, summary, a.where())
			fmt.Fprintln(b, strings.TrimRight(line, " "))
		}
		for _, p := range m.Props {
			fmt.Fprintf(b, "    %s\n", p.Label())
		}
		if m.ReasonIsError && m.Action != CollSkipped && m.Action != CollProtected {
			fmt.Fprintf(b, "    error: %s\n", m.Reason)
		}
	}
}

// PlanErrors lists the errors a dry run found, one line each (what the real run would
// report): pair failures, refused or protected collections, unreadable and duplicated
// items.
func PlanErrors(plans []*PairPlan) []string {
	var out []string
	for _, pp := range plans {
		if pp.Err != nil {
			out = append(out, pp.Err.Error())
			continue
		}
		for _, m := range pp.Mappings {
			where := pp.Name() + "/" + m.Alias
			if m.ReasonIsError {
				out = append(out, where+": "+m.Reason)
			}
			for _, u := range m.Unfetchable {
				out = append(out, fmt.Sprintf("%s: cannot read %s on %s: %v", where, u.Href, u.Side, u.Err))
			}
			for _, d := range m.Duplicates {
				out = append(out, where+": "+d)
			}
		}
	}
	return out
}

func (p *PairPlan) hasErrors() bool {
	for _, m := range p.Mappings {
		if m.HasErrors() {
			return true
		}
	}
	return false
}

// HasErrors reports whether running the mapping's plan would report an error (and
// exit 1): a refused or protected collection, an unreadable or duplicated item.
func (m *MappingPlan) HasErrors() bool {
	return m.ReasonIsError || len(m.Unfetchable) > 0 || len(m.Duplicates) > 0
}

// Summary renders the one-line summary of a mapping result for `sync` output
// (sync.md §14.2), or "" when nothing worth saying happened.
func (r *MappingResult) Summary(pair string) string {
	var parts []string
	props := len(r.PropsWritten[A]) + len(r.PropsWritten[B])
	if r.Counts[A].Total()+r.Counts[B].Total() > 0 || r.Changed && props == 0 {
		a, b := r.Counts[A], r.Counts[B]
		parts = append(parts, fmt.Sprintf("a +%d ~%d -%d, b +%d ~%d -%d", a.Created, a.Updated, a.Deleted, b.Created, b.Updated, b.Deleted))
	}
	for _, s := range []Side{A, B} {
		if names := r.PropsWritten[s]; len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s written to %s", plural(len(names), "property", "properties"), strings.Join(names, ", "), s))
		}
	}
	if r.Merged > 0 {
		parts = append(parts, fmt.Sprintf("%d %s merged", r.Merged, plural(r.Merged, "conflict", "conflicts")))
	}
	if r.Conflicts > 0 {
		parts = append(parts, fmt.Sprintf("%d %s (run: pimsync resolve-conflicts %s)", r.Conflicts, plural(r.Conflicts, "conflict", "conflicts"), pair))
	}
	if n := len(r.Errors); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "error", "errors")))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s/%s: %s", pair, r.Alias, strings.Join(parts, "; "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
