package present

import (
	"fmt"
	"io"
	"strings"

	"github.com/pimsync-go/pimsync/engine"
)

// CollectionLabel renders the collection action the way plans print it (sync.md §14.1).
func CollectionLabel(m *engine.MappingPlan) string {
	switch m.Action {
	case engine.CollNone:
		return "none"
	case engine.CollRecord:
		return "record mapping"
	case engine.CollCreateA:
		return "create on a"
	case engine.CollCreateB:
		return "create on b"
	case engine.CollCreateAB:
		return "create on both"
	case engine.CollDeleteA:
		return "delete on a"
	case engine.CollDeleteB:
		return "delete on b"
	case engine.CollSkipped:
		return "skipped: " + m.Reason
	case engine.CollProtected:
		return m.Reason // already starts with "protected:"
	}
	return "?"
}

// ActionLabel renders the verb column of an item action: "create on b", "keep a:
// update on b", "skip (read-only b) create on b", "conflict".
func ActionLabel(a *engine.ItemAction) string {
	var v string
	switch a.Verb {
	case engine.VerbCreate, engine.VerbUpdate, engine.VerbDelete:
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

// PropLabel renders a property action: `property displayname: write to b "Work"`.
func PropLabel(p *engine.PropAction) string {
	var v string
	switch p.Verb {
	case engine.VerbUpdate:
		v = fmt.Sprintf("write to %s %q", p.Target, p.Value())
		if p.Keep != "" {
			v = fmt.Sprintf("keep %s: %s", p.Keep, v)
		}
	case engine.VerbDelete:
		v = fmt.Sprintf("delete on %s", p.Target)
	case engine.VerbConflict:
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
func where(a *engine.ItemAction) string {
	switch a.Verb {
	case engine.VerbCreate:
		return fmt.Sprintf("from %s: %s", a.Target.Other(), a.Source().Href)
	case engine.VerbUpdate:
		return fmt.Sprintf("%s: %s", a.Target, a.TargetItem().Href)
	case engine.VerbDelete:
		return fmt.Sprintf("%s: %s", a.Target, a.TargetItem().Href)
	case engine.VerbConflict:
		return fmt.Sprintf("a: %s  b: %s", a.A.Href, a.B.Href)
	case engine.VerbMerge:
		var parts []string
		var from [2][]string
		if a.MergedFrom != nil {
			from = *a.MergedFrom
		}
		for s, f := range from {
			if len(f) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", engine.Side(s), strings.Join(f, ", ")))
			}
		}
		return "taking " + strings.Join(parts, "; ")
	}
	return ""
}

// WritePlan prints plans in the line format of sync.md §14.1.
func WritePlan(w io.Writer, plans []*engine.PairPlan) error {
	var b strings.Builder
	for _, pp := range plans {
		writePairPlan(&b, pp)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePairPlan(b *strings.Builder, pp *engine.PairPlan) {
	if pp.Err != nil {
		fmt.Fprintf(b, "pair %s: error: %v\n", pp.Name(), pp.Err)
		return
	}
	if !pp.HasChanges() && !hasErrors(pp) {
		fmt.Fprintf(b, "pair %s: no changes\n", pp.Name())
		return
	}
	fmt.Fprintf(b, "pair %s\n", pp.Name())
	for _, s := range pp.Stale {
		fmt.Fprintf(b, "  forget mapping %d (a: %s, b: %s)\n", s.UID, s.HrefA, s.HrefB)
	}
	for _, m := range pp.Mappings {
		fmt.Fprintf(b, "  collection %s (a: %s, b: %s): %s\n", m.Alias, m.HrefA, m.HrefB, CollectionLabel(m))
		for _, u := range m.Unfetchable {
			fmt.Fprintf(b, "    cannot read %s on %s: %v\n", u.Href, u.Side, u.Err)
		}
		for _, d := range m.Duplicates {
			fmt.Fprintf(b, "    error: %s\n", d)
		}
		for a := range m.Actions() {
			summary := ""
			if s := a.Summary(); s != "" {
				summary = fmt.Sprintf("%q", s)
			}
			line := fmt.Sprintf("    %-18s %-20s %-16s %s", ActionLabel(a), a.Ident, summary, where(a))
			fmt.Fprintln(b, strings.TrimRight(line, " "))
		}
		for _, p := range m.Props {
			fmt.Fprintf(b, "    %s\n", PropLabel(p))
		}
		if m.ReasonIsError && m.Action != engine.CollSkipped && m.Action != engine.CollProtected {
			fmt.Fprintf(b, "    error: %s\n", m.Reason)
		}
	}
}

// PlanErrors lists the errors a dry run found, one line each (what the real run would
// report): pair failures, refused or protected collections, unreadable and duplicated
// items.
func PlanErrors(plans []*engine.PairPlan) []string {
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

func hasErrors(p *engine.PairPlan) bool {
	for _, m := range p.Mappings {
		if m.HasErrors() {
			return true
		}
	}
	return false
}

// MappingSummary renders the one-line summary of a mapping result for `sync` output
// (sync.md §14.2), or "" when nothing worth saying happened.
func MappingSummary(r *engine.MappingResult, pair string) string {
	var parts []string
	props := len(r.PropsWritten[engine.A]) + len(r.PropsWritten[engine.B])
	if r.Counts[engine.A].Total()+r.Counts[engine.B].Total() > 0 || r.Changed && props == 0 {
		a, b := r.Counts[engine.A], r.Counts[engine.B]
		parts = append(parts, fmt.Sprintf("a +%d ~%d -%d, b +%d ~%d -%d", a.Created, a.Updated, a.Deleted, b.Created, b.Updated, b.Deleted))
	}
	for _, s := range []engine.Side{engine.A, engine.B} {
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

// Describe renders an item action as progress shows it: `create on b dentist-1
// "Dentist"`.
func Describe(a *engine.ItemAction) string {
	s := ActionLabel(a) + " " + a.Ident
	if sum := a.Summary(); sum != "" {
		s += fmt.Sprintf(" %q", sum)
	}
	return s
}
