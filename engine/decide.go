package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// policy is the part of a pair's configuration that the decision tables depend on.
type policy struct {
	oneWay       bool
	onEmptySync  bool
	onDeleteSkip bool
	keep         config.Resolution // ResolveKeepA / ResolveKeepB apply during sync
	merge        bool              // conflict_resolution merge: keep bases, merge conflicts
	readOnly     [2]bool
	props        bool // property sync applies to this pair
}

// sideInput is what planning learned about one side of a mapping.
type sideInput struct {
	exists bool
	// createErr is set when the collection cannot be created on this side (read-only,
	// webcal, second-last ids): it is only consulted when the collection is missing.
	createErr error
	items     []*ItemState
	// packed are the new items of this side (unpack): each is created on the other
	// side unless the decision unpacks it into items (unpackNew).
	packed packedCreates
	listed int // hrefs listed, including unfetchable ones (sync.md §7)
	props  map[string]string
}

// mappingInput is everything the pure decision step needs for one mapping.
type mappingInput struct {
	side     [2]sideInput
	inStatus bool
	rows     []status.Row
	// clean is the number of status rows left out of rows because both sides list
	// their item exactly as recorded, so that they need no action (planMapping).
	clean       int
	statusProps map[string]string
	// aliases translate values a storage reports into what they stand for (applied to
	// side props before deciding); refused are values a storage would not store.
	aliases     []status.PropertyAlias
	refused     []status.PropertyRefusal
	unfetchable []Unfetchable
	// pending holds writes recorded as in flight by an earlier run whose outcome was
	// never recorded (a lost answer, a crash): ident → side written → the record.
	pending map[string]map[status.Side]status.Pending
}

// decide fills in the collection, item and property actions of m from in. It is a pure
// function: no I/O, no clock.
func decide(m *MappingPlan, in *mappingInput, pol policy) {
	m.in, m.pol = in, pol
	m.StatusRows = len(in.rows) + in.clean
	m.Unfetchable = in.unfetchable
	if !decideCollection(m, in, pol) {
		return
	}
	if guard(m, in, pol) {
		return
	}
	unpackNew(m, in, pol)
	dups := duplicates(m, in)
	decideItems(m, in, pol, dups)
	m.creates = [2]packedCreates{in.side[A].packed, in.side[B].packed}
	if pol.props && m.Action != CollDeleteA && m.Action != CollDeleteB {
		m.Props = decideProps(in, pol)
	}
}

// unpackNew gives the decision tables the new items (sideInput.packed) that are not
// plain creates on the other side: those of b in a one_way pair (deleted from b), those
// whose target is read-only (skipped), and all of them when a collection was deleted
// (nothing is created on its side).
func unpackNew(m *MappingPlan, in *mappingInput, pol policy) {
	for s := range 2 {
		side := &in.side[s]
		target := Side(s).Other()
		if len(side.packed.idx) == 0 ||
			!(pol.oneWay && Side(s) == B) && !pol.readOnly[target] && m.Action != CollDeleteA && m.Action != CollDeleteB {
			continue
		}
		for _, i := range side.packed.idx {
			side.items = append(side.items, side.packed.set.state(i))
		}
		side.packed.idx = nil
	}
}

// decideCollection applies the collection action tables (sync.md §5.2, §11.2). It
// returns false when the mapping gets no further actions.
func decideCollection(m *MappingPlan, in *mappingInput, pol policy) bool {
	ea, eb := in.side[A].exists, in.side[B].exists
	skip := func(reason string, isErr bool) bool {
		m.Action, m.Reason, m.ReasonIsError = CollSkipped, reason, isErr
		return false
	}
	// create returns the action to create on the given sides, or skips the mapping
	// when that is impossible.
	create := func(action CollAction, sides ...Side) bool {
		for _, s := range sides {
			if pol.readOnly[s] {
				return skip(fmt.Sprintf("collection missing on %s, which is read-only", s), false)
			}
			if err := in.side[s].createErr; err != nil {
				return skip(fmt.Sprintf("collection missing on %s and cannot be created: %v", s, err), true)
			}
		}
		m.Action = action
		return true
	}
	deleted := func(gone Side) bool {
		if pol.onDeleteSkip {
			return skip(fmt.Sprintf("collection was deleted on %s; on_delete skip leaves the mapping alone", gone), false)
		}
		if pol.readOnly[gone.Other()] {
			return skip(fmt.Sprintf("collection was deleted on %s; %s is read-only", gone, gone.Other()), false)
		}
		if gone == A {
			m.Action = CollDeleteB
		} else {
			m.Action = CollDeleteA
		}
		return true
	}
	if pol.oneWay {
		switch {
		case ea && !eb:
			return create(CollCreateB, B)
		case ea && eb && !in.inStatus:
			m.Action = CollRecord
		case ea && eb:
			m.Action = CollNone
		case !ea && eb && in.inStatus:
			return deleted(A)
		case !ea && eb:
			return skip("collection exists only on b; a one_way pair never creates on a", false)
		default:
			return skip("collection exists on neither side", false)
		}
		return true
	}
	switch {
	case !ea && !eb:
		return create(CollCreateAB, A, B)
	case ea && eb && !in.inStatus:
		m.Action = CollRecord
	case ea && eb:
		m.Action = CollNone
	case !ea && !in.inStatus:
		return create(CollCreateA, A)
	case !eb && !in.inStatus:
		return create(CollCreateB, B)
	case !ea:
		return deleted(A)
	default:
		return deleted(B)
	}
	return true
}

// duplicates finds idents carried by several hrefs on one side (sync.md §6.4, narrowed
// by issue 9: only those idents are left alone, never the whole collection). Each gets
// no action this run (so it is never read as a deletion, nor copied twice), and the
// mapping reports one error per duplicated ident naming every file in full.
func duplicates(m *MappingPlan, in *mappingInput) map[string]bool {
	dups := map[string]bool{}
	for _, s := range []Side{A, B} {
		byIdent := map[string][]string{}
		var order []string
		for _, it := range in.side[s].items {
			if _, seen := byIdent[it.Ident]; !seen {
				order = append(order, it.Ident)
			}
			byIdent[it.Ident] = append(byIdent[it.Ident], it.Href)
		}
		for _, ident := range order {
			hrefs := byIdent[ident]
			if len(hrefs) < 2 {
				continue
			}
			sort.Strings(hrefs)
			dups[ident] = true
			what := fmt.Sprintf("items with UID %q", ident)
			if isHashIdent(ident, in.side[s].items) {
				what = "identical items without UID"
			}
			m.Duplicates = append(m.Duplicates, fmt.Sprintf(
				"storage %s has %d %s, so none of them is synced: %s (remove the copies, or give each its own UID)",
				s, len(hrefs), what, strings.Join(hrefs, ", ")))
		}
	}
	return dups
}

// isHashIdent reports whether ident is a content hash rather than a UID.
func isHashIdent(ident string, items []*ItemState) bool {
	for _, it := range items {
		if it.Ident == ident && it.Item != nil {
			_, has := it.Item.UID()
			return !has
		}
	}
	return false
}

// guard implements the on_empty protection of sync.md §7.
func guard(m *MappingPlan, in *mappingInput, pol policy) bool {
	nA, nB, nS := in.side[A].listed, in.side[B].listed, len(in.rows)+in.clean
	if pol.onEmptySync {
		return false
	}
	var empty Side
	switch {
	case pol.oneWay && nA == 0 && nB > 0:
		empty = A
	case !pol.oneWay && nS > 0 && (nA == 0) != (nB == 0):
		empty = A
		if nB == 0 {
			empty = B
		}
	default:
		return false
	}
	m.Action, m.ReasonIsError = CollProtected, true
	if nS > 0 {
		m.Reason = fmt.Sprintf("protected: %s is empty, status has %d items", empty, nS)
	} else {
		m.Reason = fmt.Sprintf("protected: %s is empty and would empty %s", empty, empty.Other())
	}
	return true
}

// decideItems plans every ident of A ∪ B ∪ status, except the blocked ones (duplicated
// on one side, or listed but not fetchable).
func decideItems(m *MappingPlan, in *mappingInput, pol policy, blocked map[string]bool) {
	byIdent := [2]map[string]*ItemState{{}, {}}
	var order []string
	seen := map[string]bool{}
	add := func(ident string) {
		if !seen[ident] {
			seen[ident] = true
			order = append(order, ident)
		}
	}
	for _, s := range []Side{A, B} {
		for _, it := range in.side[s].items {
			byIdent[s][it.Ident] = it
			add(it.Ident)
		}
	}
	rows := make(map[string]*status.Row, len(in.rows))
	for i := range in.rows {
		r := &in.rows[i]
		rows[r.Ident] = r
		add(r.Ident)
	}
	for _, u := range in.unfetchable {
		if u.Ident != "" {
			blocked[u.Ident] = true
		}
	}
	deletedSide := Side(-1)
	switch m.Action {
	case CollDeleteA:
		deletedSide = B
	case CollDeleteB:
		deletedSide = A
	}
	kept := 0
	for _, ident := range order {
		if blocked[ident] {
			continue
		}
		a, b, s := byIdent[A][ident], byIdent[B][ident], rows[ident]
		a, b, eff, mineHash := applyPending(a, b, s, in.pending[ident])
		decideWith := s
		if eff != nil {
			decideWith = eff
		}
		var act *ItemAction
		if pol.oneWay {
			act = decideOneWay(a, b, decideWith)
		} else {
			act = decideTwoWay(a, b, decideWith, pol)
		}
		if eff != nil {
			switch {
			case act == nil || act.Verb == VerbRecord:
				// Our write took effect and nothing changed since: record it.
				act = &ItemAction{Verb: VerbRecord, RecordHash: mineHash}
			case act.Verb == VerbForget:
				// Our upload and its source are both gone: nothing to recover.
			default:
				act.Recover = eff
			}
		}
		if act == nil {
			continue
		}
		act.Ident, act.A, act.B, act.Status = ident, a, b, s
		if act.CopyB {
			act.CopyUID = CopyUID(ident, b.Hash)
			if byIdent[B][act.CopyUID] != nil {
				act.CopyB = false // an earlier run created it already
			}
		}
		// Nothing is ever created on the side whose collection was deleted (§5.3).
		if deletedSide >= 0 && act.Verb.writes() && act.Verb != VerbDelete && act.Target == deletedSide {
			kept++
			continue
		}
		if act.Verb.writes() && pol.readOnly[act.Target] {
			act.Skip = "read-only " + act.Target.String()
		}
		m.Items = append(m.Items, act)
	}
	if kept > 0 {
		m.ReasonIsError = true
		m.Reason = fmt.Sprintf("collection deleted on %s, but %s has %d items changed since; not deleted",
			deletedSide, deletedSide.Other(), kept)
	}
}

// applyPending interprets the pending-write records of one ident: uploads of an earlier
// run whose outcome was never recorded (the answer was lost, or the run was killed).
// When the target holds what we wrote — byte for byte, or as the server re-serialised
// it (same storage.Fingerprint) — the write took effect: eff is the status row that a
// completed write would have left, and the target counts as unchanged since then (its
// state is returned with the hash we wrote, mineHash). A create whose target now holds
// something else took effect and was edited afterwards (the href was free before), so
// eff is returned with the target's own hash: the edit is a change on that side. In
// every other case (target gone, update not applied or overwritten by someone else)
// eff is nil and the ident is planned from the status as it is, which never loses
// anything: a conflict where both sides may have changed.
func applyPending(a, b *ItemState, s *status.Row, pend map[status.Side]status.Pending) (na, nb *ItemState, eff *status.Row, mineHash string) {
	cur := [2]*ItemState{a, b}
	for _, target := range []Side{A, B} {
		p, ok := pend[target.status()]
		t := cur[target]
		if !ok || t == nil {
			continue
		}
		mine := t.Hash == p.Hash
		if !mine && t.Item != nil {
			if p.Fingerprint != "" {
				mine = storage.Fingerprint(t.Item.Text()) == p.Fingerprint
			} else if src := cur[target.Other()]; src != nil && src.Hash == p.Hash && src.Item != nil {
				// A record without fingerprint: an older version's, or a write to a
				// storage that keeps the bytes written (storage.Verbatim), where only a
				// change of form by someone else gets here.
				mine = storage.Equivalent(src.Item.Text(), t.Item.Text())
			}
		}
		editedSince := !mine && p.Create && t.Item != nil
		if !mine && !editedSince {
			continue
		}
		row := status.Row{Ident: p.Ident, Hash: p.Hash}
		setRowSide(&row, target, t.Href, t.ETag)
		setRowSide(&row, target.Other(), p.SrcHref, p.SrcETag)
		if mine {
			seen := *t
			seen.Hash = p.Hash
			cur[target] = &seen
			mineHash = p.Hash
		}
		return cur[A], cur[B], &row, mineHash
	}
	return a, b, nil, ""
}

func setRowSide(r *status.Row, s Side, href, etag string) {
	if s == A {
		r.HrefA, r.ETagA = href, etag
	} else {
		r.HrefB, r.ETagB = href, etag
	}
}

// decideTwoWay is the per-item table of sync.md §8 plus §9.2 (keep a/b).
func decideTwoWay(a, b *ItemState, s *status.Row, pol policy) *ItemAction {
	switch {
	case a == nil && b == nil:
		return &ItemAction{Verb: VerbForget}
	case b == nil && s == nil:
		return &ItemAction{Verb: VerbCreate, Target: B}
	case a == nil && s == nil:
		return &ItemAction{Verb: VerbCreate, Target: A}
	case b == nil:
		if a.Hash == s.Hash {
			return &ItemAction{Verb: VerbDelete, Target: A}
		}
		return &ItemAction{Verb: VerbCreate, Target: B, Warning: "deleted on b but changed on a; the change wins"}
	case a == nil:
		if b.Hash == s.Hash {
			return &ItemAction{Verb: VerbDelete, Target: B}
		}
		return &ItemAction{Verb: VerbCreate, Target: A, Warning: "deleted on a but changed on b; the change wins"}
	case a.Hash == b.Hash:
		if s != nil && s.Hash == a.Hash && s.HrefA == a.Href && s.ETagA == a.ETag && s.HrefB == b.Href && s.ETagB == b.ETag {
			return nil
		}
		return &ItemAction{Verb: VerbRecord}
	case s != nil && a.Hash == s.Hash:
		return &ItemAction{Verb: VerbUpdate, Target: A}
	case s != nil && b.Hash == s.Hash:
		return &ItemAction{Verb: VerbUpdate, Target: B}
	}
	// Conflict (rows 9 and 14).
	switch pol.keep {
	case config.ResolveKeepA:
		if pol.readOnly[B] {
			return &ItemAction{Verb: VerbConflict, Warning: "cannot keep a: storage b is read-only"}
		}
		return &ItemAction{Verb: VerbUpdate, Target: B, Keep: "a"}
	case config.ResolveKeepB:
		if pol.readOnly[A] {
			return &ItemAction{Verb: VerbConflict, Warning: "cannot keep b: storage a is read-only"}
		}
		return &ItemAction{Verb: VerbUpdate, Target: A, Keep: "b"}
	case config.ResolveKeepBoth:
		if pol.readOnly[B] || b.Item == nil {
			return &ItemAction{Verb: VerbConflict, Warning: "cannot keep both: storage b is read-only"}
		}
		return &ItemAction{Verb: VerbUpdate, Target: B, Keep: "both", CopyB: true}
	}
	return &ItemAction{Verb: VerbConflict}
}

// decideOneWay is the table of sync.md §11.1: B mirrors A.
func decideOneWay(a, b *ItemState, s *status.Row) *ItemAction {
	switch {
	case a == nil && b == nil:
		return &ItemAction{Verb: VerbForget}
	case b == nil:
		return &ItemAction{Verb: VerbCreate, Target: B}
	case a == nil:
		return &ItemAction{Verb: VerbDelete, Target: B}
	case a.Hash != b.Hash:
		return &ItemAction{Verb: VerbUpdate, Target: B}
	case s != nil && s.Hash == a.Hash && s.HrefA == a.Href && s.ETagA == a.ETag && s.HrefB == b.Href && s.ETagB == b.ETag:
		return nil
	}
	return &ItemAction{Verb: VerbRecord}
}

// decideProps is the property table of sync.md §12 (and §11.3 for one_way).
func decideProps(in *mappingInput, pol policy) []*PropAction {
	names := map[string]bool{}
	for _, m := range []map[string]string{in.side[A].props, in.side[B].props, in.statusProps} {
		for k := range m {
			names[k] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []*PropAction
	for _, name := range sorted {
		p := &PropAction{Name: name}
		p.A, p.HasA = in.side[A].props[name]
		p.B, p.HasB = in.side[B].props[name]
		p.Status, p.HasS = in.statusProps[name]
		if pol.oneWay {
			decidePropOneWay(p)
		} else {
			decidePropTwoWay(p, pol)
		}
		if p.Verb == 0 {
			continue
		}
		if (p.Verb == VerbUpdate || p.Verb == VerbDelete) && pol.readOnly[p.Target] {
			p.Skip = "read-only " + p.Target.String()
		}
		if r, ok := refusal(in.refused, p); ok {
			p.Skip, p.Refused = "refused by "+p.Target.String(), r.Reason
		}
		out = append(out, p)
	}
	return out
}

// refusal returns the recorded refusal that applies to p: its target storage refused to
// store exactly this value before. A removal "planned" because the target never stored
// the value it was sent is no removal either.
func refusal(refused []status.PropertyRefusal, p *PropAction) (status.PropertyRefusal, bool) {
	for _, r := range refused {
		if r.Property != p.Name {
			continue
		}
		switch {
		case p.Verb == VerbUpdate && r.Side == p.Target.status() && r.Value == p.Value():
			return r, true
		case p.Verb == VerbDelete && r.Side == p.Target.Other().status() && p.HasS && r.Value == p.Status:
			// The other side "removed" a value it never stored.
			return r, true
		case p.Verb == VerbDelete && r.Side == p.Target.status() && r.Value == "":
			return r, true
		}
	}
	return status.PropertyRefusal{}, false
}

func decidePropTwoWay(p *PropAction, pol policy) {
	write := func(t Side) { p.Verb, p.Target = VerbUpdate, t }
	del := func(t Side) { p.Verb, p.Target = VerbDelete, t }
	switch {
	case !p.HasA && !p.HasB:
		p.Verb = VerbForget
	case !p.HasA && !p.HasS:
		write(A)
	case !p.HasB && !p.HasS:
		write(B)
	case !p.HasA:
		if p.B == p.Status {
			del(B)
		} else {
			write(A)
		}
	case !p.HasB:
		if p.A == p.Status {
			del(A)
		} else {
			write(B)
		}
	case p.A == p.B:
		if !p.HasS || p.Status != p.A {
			p.Verb = VerbRecord
		}
	case p.HasS && p.A == p.Status:
		write(A)
	case p.HasS && p.B == p.Status:
		write(B)
	default:
		switch {
		case pol.keep == config.ResolveKeepA && !pol.readOnly[B]:
			write(B)
			p.Keep = "a"
		case pol.keep == config.ResolveKeepB && !pol.readOnly[A]:
			write(A)
			p.Keep = "b"
		default:
			p.Verb = VerbConflict
		}
	}
}

func decidePropOneWay(p *PropAction) {
	switch {
	case !p.HasA && !p.HasB:
		p.Verb = VerbForget
	case !p.HasA:
		p.Verb, p.Target = VerbDelete, B
	case !p.HasB || p.A != p.B:
		p.Verb, p.Target = VerbUpdate, B
	case !p.HasS || p.Status != p.A:
		p.Verb = VerbRecord
	}
}
