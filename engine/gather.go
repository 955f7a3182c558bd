package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// planPair does the reads of sync.md §4 steps 3–6 and returns the plan. It never
// writes.
func (e *Engine) planPair(ctx context.Context, p *Pair, db *status.DB) *PairPlan {
	pp := &PairPlan{Pair: p}
	st, names := p.storages(), p.names()
	var disc [2][]storage.Collection
	var errs [2]error
	need := needDiscovery(p.Config, st)
	var wg sync.WaitGroup
	for s := range 2 {
		if need[s] {
			wg.Go(func() { disc[s], errs[s] = st[s].Discover(ctx) })
		}
	}
	wg.Wait()
	for s := range 2 {
		if errs[s] != nil {
			pp.Err = fmt.Errorf("pair %s: discovering collections of storage %s: %w", p.Name, names[s], errs[s])
			return pp
		}
	}
	specs, err := resolveMappings(p.Config, disc, need, st, names)
	if err != nil {
		pp.Err = fmt.Errorf("pair %s: %w", p.Name, err)
		return pp
	}
	existing, err := db.Mappings()
	if err != nil {
		pp.Err = &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
		return pp
	}
	current := map[[2]string]bool{}
	for _, m := range specs {
		current[[2]string{m.href[A], m.href[B]}] = true
	}
	for _, m := range existing {
		if !current[[2]string{m.HrefA, m.HrefB}] {
			pp.Stale = append(pp.Stale, m)
		}
	}
	pol := p.policy()
	pendingColls, err := db.PendingCollections()
	if err != nil {
		pp.Err = &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
		return pp
	}
	pp.Mappings = make([]*MappingPlan, len(specs))
	var mu sync.Mutex // guards the first status error
	sem := make(chan struct{}, 4)
	for i, spec := range specs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			mp, err := e.planMapping(ctx, p, db, spec, pol, pendingColls)
			pp.Mappings[i] = mp
			if err != nil {
				mu.Lock()
				if pp.Err == nil {
					pp.Err = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return pp
}

// planMapping gathers one mapping's listings and decides its actions. A returned error
// is a pair-level failure (status unreadable); collection-level problems are recorded
// in the plan.
func (e *Engine) planMapping(ctx context.Context, p *Pair, db *status.DB, spec *mappingSpec, pol policy,
	pendingColls map[status.Side]map[string]map[string]string) (*MappingPlan, error) {
	m := &MappingPlan{Alias: spec.alias, HrefA: spec.href[A], HrefB: spec.href[B]}
	fail := func(format string, args ...any) (*MappingPlan, error) {
		m.Action, m.ReasonIsError = CollSkipped, true
		m.Reason = fmt.Sprintf(format, args...)
		return m, nil
	}
	in := &mappingInput{}
	st, names := p.storages(), p.names()
	if spec.href[A] != "" && spec.href[B] != "" {
		uid, ok, err := db.FindMapping(spec.href[A], spec.href[B])
		if err != nil {
			return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
		}
		if ok {
			m.MappingUID, in.inStatus = uid, true
			if in.rows, err = db.Rows(uid); err != nil {
				return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
			}
			if in.statusProps, err = db.Properties(uid); err != nil {
				return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
			}
			if in.pending, err = db.Pending(uid); err != nil {
				return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
			}
			if in.aliases, err = db.PropertyAliases(uid); err != nil {
				return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
			}
			if in.refused, err = db.PropertyRefusals(uid); err != nil {
				return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
			}
		}
	}
	m.rows, m.pending = in.rows, in.pending
	// Both sides are read at the same time, so a local listing overlaps the server's
	// answer.
	var failed [2]string
	var unf [2][]Unfetchable
	var wg sync.WaitGroup
	for s := range 2 {
		side := &in.side[s]
		side.exists = spec.exists[s]
		side.createErr = spec.createErr[s]
		if spec.href[s] == "" || (!spec.exists[s] && !spec.probe[s]) {
			continue // a missing collection costs no request (sync.md §6.1)
		}
		wg.Go(func() {
			l, err := e.listSide(ctx, st[s], Side(s), spec.href[s], m, in, db)
			switch {
			case spec.probe[s] && (errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrAccessDenied)):
				return
			case err != nil:
				failed[s] = fmt.Sprintf("listing %s on storage %s: %v", spec.href[s], names[s], err)
				return
			}
			side.exists = true
			side.items, side.listed, unf[s] = l.items, l.listed, l.unfetchable
			if pol.props {
				props, err := st[s].Properties(ctx, spec.href[s])
				if err != nil {
					failed[s] = fmt.Sprintf("reading properties of %s on storage %s: %v", spec.href[s], names[s], err)
					return
				}
				side.props = props
			}
		})
	}
	wg.Wait()
	for s := range 2 {
		if failed[s] != "" {
			return fail("%s", failed[s])
		}
		in.unfetchable = append(in.unfetchable, unf[s]...)
		if sent, ok := pendingColls[Side(s).status()][spec.href[s]]; ok && in.side[s].exists {
			// An earlier run created this collection and stopped before recording what
			// the server made of the properties it sent.
			m.pendingColl[s] = true
			m.newAliases = append(m.newAliases, creationAliases(Side(s), sent, in.side[s].props)...)
		}
	}
	in.aliases = append(in.aliases, m.newAliases...)
	for s := range 2 {
		in.side[s].props = translateProps(Side(s), in.side[s].props, in.aliases)
	}
	decide(m, in, pol)
	if pol.merge {
		if err := e.autoMerge(m, db, st[A].Kind(), pol); err != nil {
			return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
		}
	}
	m.ExistsA, m.ExistsB = in.side[A].exists, in.side[B].exists
	m.Listed = [2]int{in.side[A].listed, in.side[B].listed}
	return m, nil
}

// autoMerge turns conflicts into merges where the two sides changed different things
// since the last sync (conflict_resolution merge): the base is the text kept when the
// status row was written. A conflict that cannot be merged stays, with the reason.
func (e *Engine) autoMerge(m *MappingPlan, db *status.DB, kind storage.Kind, pol policy) error {
	for _, a := range m.Items {
		if a.Verb != VerbConflict || a.Status == nil || a.A == nil || a.B == nil || a.A.Item == nil || a.B.Item == nil {
			continue
		}
		base, ok, err := db.Base(m.MappingUID, a.Ident, a.Status.Hash)
		if err != nil {
			return err
		}
		if !ok {
			a.Warning = "no base kept for a merge (it is kept from the next sync of this item on)"
			continue
		}
		r, err := merge.Explain(base, a.A.Item.Text(), a.B.Item.Text())
		if err != nil {
			a.Warning = "not merged: " + err.Error()
			continue
		}
		item, err := storage.ParseItem([]byte(r.Text), kind)
		if err != nil || item.Ident() != a.Ident {
			a.Warning = "not merged: the merged item is not valid"
			continue
		}
		if ro := (item.Hash() != a.A.Hash && pol.readOnly[A]) || (item.Hash() != a.B.Hash && pol.readOnly[B]); ro {
			a.Warning = "not merged: the merge would write to a read-only storage"
			continue
		}
		a.Verb, a.Merged, a.MergedFrom, a.Warning = VerbMerge, &item, [2][]string{r.FromA, r.FromB}, ""
	}
	return nil
}

// creationAliases compares what a storage reports for a collection just created with the
// properties sent along (nil: none): every value it reports that was not sent as such
// is its own, which stands for nothing we wrote. (When it is its normalised form of a
// value we sent, the property plan writes that value once more and learns the alias
// from the read-back: learnNormalised.)
func creationAliases(side Side, sent, reported map[string]string) []status.PropertyAlias {
	var out []status.PropertyAlias
	for name, v := range reported {
		if v != strings.TrimSpace(sent[name]) {
			out = append(out, status.PropertyAlias{Side: side.status(), Property: name, Reported: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Property < out[j].Property })
	return out
}

// translateProps replaces the values a storage reports by what they stand for
// (x_property_aliases): an invented value becomes absent, a normalised one ours.
func translateProps(side Side, props map[string]string, aliases []status.PropertyAlias) map[string]string {
	var out map[string]string
	for _, al := range aliases {
		if al.Side != side.status() || props[al.Property] != al.Reported {
			continue
		}
		if out == nil {
			out = maps.Clone(props)
		}
		if al.Meant == "" {
			delete(out, al.Property)
		} else {
			out[al.Property] = al.Meant
		}
	}
	if out == nil {
		return props
	}
	return out
}

// needDiscovery reports for each side whether the pair's mappings need the collection
// list of that storage. A pair that names its collections explicitly (`collection ID`,
// `collection { … }`) does not, when the storage can derive each id's href: each
// collection is then probed directly, which on a server costs one request for that
// collection instead of one over the whole home set.
func needDiscovery(cfg *config.Pair, st [2]storage.Storage) [2]bool {
	if len(cfg.Collections) > 0 {
		return [2]bool{true, true}
	}
	var need [2]bool
	for _, x := range cfg.Explicit {
		for s, id := range [2]string{x.IDA, x.IDB} {
			if id == "" {
				continue
			}
			if _, err := st[s].CollectionHref(id); err != nil {
				need[s] = true // only discovery can find it (second-last ids)
			}
		}
	}
	return need
}

type sideListing struct {
	items       []*ItemState
	listed      int
	unfetchable []Unfetchable
}

// listSide lists one side of a mapping (sync.md §6.1): token fast path or delta where
// the storage offers it, otherwise a full listing; then it fetches only the items whose
// href and etag are not already in the status.
func (e *Engine) listSide(ctx context.Context, st storage.Storage, side Side, coll string, m *MappingPlan, in *mappingInput, db *status.DB) (*sideListing, error) {
	rows := in.rows
	byHref := make(map[string]*status.Row, len(rows))
	for i := range rows {
		byHref[rowHref(&rows[i], side)] = &rows[i]
	}
	var refs []storage.ItemRef
	out := &sideListing{}
	if inc, ok := st.(storage.Incremental); ok {
		saved := e.savedToken(db, m, in, side, coll)
		l, err := inc.ListSince(ctx, coll, saved)
		if err != nil {
			return nil, err
		}
		m.tokens[side] = l.Token
		switch {
		case l.Unchanged:
			for i := range rows {
				r := &rows[i]
				out.items = append(out.items, &ItemState{Href: rowHref(r, side), ETag: rowETag(r, side), Ident: r.Ident, Hash: r.Hash})
			}
			out.listed = len(out.items)
			return out, nil
		case l.Delta:
			refs = applyDelta(rows, side, l.Refs, l.Removed)
		default:
			refs = l.Refs
		}
	} else {
		var err error
		if refs, err = st.List(ctx, coll); err != nil {
			return nil, err
		}
	}
	var queue []string
	seen := make(map[string]bool, len(refs))
	for _, r := range refs {
		if seen[r.Href] {
			e.log().Warn("storage listed an href twice; keeping the first", "href", r.Href)
			continue
		}
		seen[r.Href] = true
		out.listed++
		if row := byHref[r.Href]; row != nil && r.ETag != "" && rowETag(row, side) == r.ETag {
			out.items = append(out.items, &ItemState{Href: r.Href, ETag: r.ETag, Ident: row.Ident, Hash: row.Hash})
			continue
		}
		queue = append(queue, r.Href)
	}
	if len(queue) == 0 {
		return out, nil
	}
	fetched, err := st.Get(ctx, coll, queue)
	if err != nil {
		return nil, err
	}
	got := make(map[string]bool, len(fetched))
	for _, f := range fetched {
		if !seen[f.Href] || got[f.Href] {
			continue
		}
		got[f.Href] = true
		if f.Err != nil {
			out.unfetchable = append(out.unfetchable, unfetchable(side, f.Href, byHref, f.Err))
			continue
		}
		item := f.Item
		out.items = append(out.items, &ItemState{Href: f.Href, ETag: f.ETag, Ident: item.Ident(), Hash: item.Hash(), Item: &item})
	}
	for _, h := range queue {
		if !got[h] {
			out.unfetchable = append(out.unfetchable, unfetchable(side, h, byHref, errors.New("the storage did not return it")))
		}
	}
	return out, nil
}

func unfetchable(side Side, href string, byHref map[string]*status.Row, err error) Unfetchable {
	u := Unfetchable{Side: side, Href: href, Err: err}
	if row := byHref[href]; row != nil {
		u.Ident = row.Ident
	}
	return u
}

// savedToken returns the saved token of a side if it may be used (sync.md §3.7), and
// marks an unusable saved row for deletion.
func (e *Engine) savedToken(db *status.DB, m *MappingPlan, in *mappingInput, side Side, coll string) storage.Token {
	if !in.inStatus {
		return storage.Token{}
	}
	t, ok, err := db.Token(m.MappingUID, side.status())
	if err != nil || !ok {
		return storage.Token{}
	}
	m.saved[side], m.hasSaved[side] = t, true
	usable := t.Href == coll && t.ItemCount == len(in.rows)
	for i := range in.rows {
		if rowETag(&in.rows[i], side) == "" {
			usable = false
			break
		}
	}
	if !usable {
		return storage.Token{}
	}
	return storage.Token{Kind: t.Kind, Value: t.Value}
}

// applyDelta turns the status rows plus a sync-collection delta into a full listing.
func applyDelta(rows []status.Row, side Side, changed []storage.ItemRef, removed []string) []storage.ItemRef {
	gone := make(map[string]bool, len(removed))
	for _, h := range removed {
		gone[h] = true
	}
	etags := make(map[string]string, len(changed))
	for _, r := range changed {
		etags[r.Href] = r.ETag
	}
	out := make([]storage.ItemRef, 0, len(rows)+len(changed))
	for i := range rows {
		h := rowHref(&rows[i], side)
		if gone[h] {
			continue
		}
		if et, ok := etags[h]; ok {
			out = append(out, storage.ItemRef{Href: h, ETag: et})
			delete(etags, h)
			continue
		}
		out = append(out, storage.ItemRef{Href: h, ETag: rowETag(&rows[i], side)})
	}
	for _, r := range changed {
		if _, ok := etags[r.Href]; ok && !gone[r.Href] {
			out = append(out, r)
			delete(etags, r.Href)
		}
	}
	return out
}

func rowHref(r *status.Row, s Side) string {
	if s == A {
		return r.HrefA
	}
	return r.HrefB
}

func rowETag(r *status.Row, s Side) string {
	if s == A {
		return r.ETagA
	}
	return r.ETagB
}
