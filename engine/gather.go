package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
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
	// The status of every mapping is read once, one query per table, while the
	// collections are discovered and listed.
	snap := readSnapshot(db)
	defer snap.close() // once every mapping is planned: nothing refers to it then
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
	pol := p.policy()
	pp.Mappings = make([]*MappingPlan, len(specs))
	budget := &bodyBudget{left: maxPlanBodies}
	var mu sync.Mutex // guards the first status error
	sem := make(chan struct{}, 4)
	for i, spec := range specs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			mp, err := e.planMapping(ctx, p, db, snap, budget, spec, pol)
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
	st0, err := snap.get()
	if err != nil {
		if pp.Err == nil {
			pp.Err = &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
		}
		return pp
	}
	current := map[[2]string]bool{}
	for _, m := range specs {
		current[[2]string{m.href[A], m.href[B]}] = true
	}
	for _, m := range st0.Mappings {
		if !current[[2]string{m.HrefA, m.HrefB}] {
			pp.Stale = append(pp.Stale, m)
		}
	}
	return pp
}

// planMapping gathers one mapping's listings and decides its actions. A returned error
// is a pair-level failure (status unreadable); collection-level problems are recorded
// in the plan.
//
// Both sides are listed while the mapping's status is read. An item whose href and etag
// on a side are those of its status row is not read (sync.md §6.1); a row that is so
// on both sides, with no pending write and no other item of its ident, needs no action
// and is left out of the decision altogether (mappingInput.clean), so that an unchanged
// collection costs a listing and a lookup per item, and no object per item.
func (e *Engine) planMapping(ctx context.Context, p *Pair, db *status.DB, snap *snapshot, budget *bodyBudget,
	spec *mappingSpec, pol policy) (*MappingPlan, error) {
	m := &MappingPlan{Alias: spec.alias, HrefA: spec.href[A], HrefB: spec.href[B]}
	fail := func(format string, args ...any) (*MappingPlan, error) {
		m.Action, m.ReasonIsError = CollSkipped, true
		m.Reason = fmt.Sprintf(format, args...)
		return m, nil
	}
	in := &mappingInput{}
	st, names := p.storages(), p.names()
	ready := make(chan struct{}) // closed once the mapping's status is read
	var rs *status.RowSet
	var failed [2]string
	var listers [2]*sideLister
	var wg sync.WaitGroup
	for s := range 2 {
		side := &in.side[s]
		side.exists = spec.exists[s]
		side.createErr = spec.createErr[s]
		if spec.href[s] == "" || (!spec.exists[s] && !spec.probe[s]) {
			continue // a missing collection costs no request (sync.md §6.1)
		}
		l := &sideLister{e: e, st: st[s], side: Side(s), coll: spec.href[s], m: m, in: in, snap: snap, ready: ready, rs: &rs, budget: budget}
		listers[s] = l
		wg.Go(func() {
			err := l.list(ctx)
			switch {
			case spec.probe[s] && (errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrAccessDenied)):
				return
			case err != nil:
				failed[s] = fmt.Sprintf("listing %s on storage %s: %v", spec.href[s], names[s], err)
				return
			}
			side.exists = true
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
	serr := e.readMappingStatus(snap, spec, m, in, &rs)
	close(ready)
	wg.Wait()
	if serr != nil {
		return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, serr)}
	}
	sn, _ := snap.get() // read without error: readMappingStatus waited for it
	pendingColls := sn.PendingCollections
	for s := range 2 {
		if failed[s] != "" {
			return fail("%s", failed[s])
		}
	}
	if err := e.join(ctx, m, in, rs, listers); err != nil {
		return m, &StatusError{fmt.Errorf("pair %s: reading status: %w", p.Name, err)}
	}
	for s := range 2 {
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

// readMappingStatus looks up what the status holds for a mapping (its rows,
// properties, pending writes, property aliases and refusals).
func (e *Engine) readMappingStatus(snap *snapshot, spec *mappingSpec, m *MappingPlan, in *mappingInput, rs **status.RowSet) error {
	s, err := snap.get()
	if err != nil {
		return err
	}
	if spec.href[A] == "" || spec.href[B] == "" {
		return nil
	}
	uid, ok := s.FindMapping(spec.href[A], spec.href[B])
	if !ok {
		return nil
	}
	m.MappingUID, in.inStatus = uid, true
	*rs = s.Rows(uid)
	m.rowStats = rowStats{n: (*rs).Len(), emptyETag: [2]int{(*rs).EmptyETags(status.SideA), (*rs).EmptyETags(status.SideB)}}
	in.statusProps = s.Properties(uid)
	in.pending = s.Pending(uid)
	in.aliases = slices.Clone(s.PropertyAliases(uid)) // appended to by planning
	in.refused = s.PropertyRefusals(uid)
	m.pending = in.pending
	return nil
}

// snapshot reads the status of a pair in the background.
type snapshot struct {
	done chan struct{}
	snap *status.Snapshot
	err  error
}

func readSnapshot(db *status.DB) *snapshot {
	r := &snapshot{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.snap, r.err = db.Snapshot()
	}()
	return r
}

// get waits for the snapshot.
func (r *snapshot) get() (*status.Snapshot, error) {
	<-r.done
	return r.snap, r.err
}

// close gives back the rows' memory (status.Snapshot.Close).
func (r *snapshot) close() {
	<-r.done
	r.snap.Close()
}

// rowStats counts a mapping's status rows, and those with an empty etag on each side,
// as the executor's writes change them (for the token checks of sync.md §3.7).
type rowStats struct {
	n         int
	emptyETag [2]int
}

func (c *rowStats) add(r status.Row, d int) {
	c.n += d
	for s := range 2 {
		if rowETag(&r, Side(s)) == "" {
			c.emptyETag[s] += d
		}
	}
}

// maxPlanBodies bounds the bytes of item text a pair's plan keeps from its listings.
// Beyond it, an item read to learn its ident and hash keeps only those (and its
// summary), and the executor reads it again, a batch at a time, when it copies it: a
// first sync of a large collection never holds the whole collection's text.
const maxPlanBodies = 4 << 20

// bodyBudget is what is left of maxPlanBodies for one pair.
type bodyBudget struct {
	mu   sync.Mutex
	left int
}

// take reports whether n more bytes may be kept.
func (b *bodyBudget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// give returns n bytes to the budget.
func (b *bodyBudget) give(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left += n
}

// sideLister lists one side of a mapping and matches the listing with the status rows.
type sideLister struct {
	e      *Engine
	st     storage.Storage
	side   Side
	coll   string
	m      *MappingPlan
	in     *mappingInput
	snap   *snapshot
	ready  chan struct{}   // closed when *rs and the mapping's status are known
	rs     **status.RowSet // the mapping's rows
	budget *bodyBudget

	isReady  bool
	rows     *status.RowSet
	matched  []bool // rows whose href and etag on this side are listed as they are
	listed   int
	queue    refQueue // listed items to read
	buffered refQueue // entries streamed before the status was read
	packed   packedItems
	// overBudget: the side's items did not all fit the body budget, so their texts
	// are not kept (keep).
	overBudget bool
	fetched    []*ItemState // items read that could not be packed
	unf        []Unfetchable

	// The items of a side are planned as they always were: first those listed as the
	// status has them, in the order List gives them (sorted, for a vdir), then those
	// read, in the same order. order says which order that is; pos holds the listing
	// position of the matched rows of a full listing.
	order listOrder
	pos   []int32
}

// listOrder is the order in which a side's items are planned.
type listOrder int

const (
	orderHref    listOrder = iota // a streamed listing: by href, as vdir's List
	orderListing                  // a full listing: as listed
	orderIdent                    // token fast path or delta: rows by ident, then what was read
)

// list lists the side (sync.md §6.1): token fast path or delta where the storage offers
// it, otherwise a full listing (streamed where the storage can); then it reads the
// items whose href and etag are not in the status.
func (l *sideLister) list(ctx context.Context) error {
	switch st := l.st.(type) {
	case storage.Incremental:
		l.order = orderListing
		l.await()
		saved := l.e.savedToken(l.snap, l.m, l.in, l.rows, l.side, l.coll)
		lst, err := st.ListSince(ctx, l.coll, saved)
		if err != nil {
			return err
		}
		l.m.tokens[l.side] = lst.Token
		switch {
		case lst.Unchanged:
			l.order = orderIdent
			for i := range l.matched {
				l.matched[i] = true
			}
			l.listed = len(l.matched)
			return nil
		case lst.Delta:
			l.order = orderIdent
			l.applyDelta(lst.Refs, lst.Removed)
		default:
			l.joinRefs(lst.Refs)
		}
	case storage.Streamer:
		l.order = orderHref
		err := st.ListEach(ctx, l.coll, func(href, etag []byte) error {
			if !l.isReady {
				select {
				case <-l.ready:
					l.await()
				default:
					if l.buffered.size >= maxListBuffer {
						l.await() // wait for the status rather than hold the whole listing
						break
					}
					pushRef(&l.buffered, href, etag)
					return nil
				}
			}
			l.join(href, etag)
			return nil
		})
		if err != nil {
			return err
		}
		l.await()
	default:
		l.order = orderListing
		refs, err := l.st.List(ctx, l.coll)
		if err != nil {
			return err
		}
		l.await()
		l.joinRefs(refs)
	}
	return l.fetch(ctx)
}

// maxListBuffer bounds the bytes of a streamed listing kept while the status is still
// being read: beyond it, the listing waits for the status (a no-op of 100,000 items
// otherwise held most of both listings, 30 MB of heap).
var maxListBuffer = 1 << 20 // a variable for tests

// await waits for the status and then matches what was listed before it came.
func (l *sideLister) await() {
	if l.isReady {
		return
	}
	<-l.ready
	l.isReady = true
	l.rows = *l.rs
	l.matched = make([]bool, l.rows.Len())
	if l.order == orderListing {
		l.pos = make([]int32, l.rows.Len())
	}
	l.buffered.each(func(href, etag []byte) bool {
		l.join(href, etag)
		return true
	})
}

// joinRefs matches a listing that may name an href twice (a server's): the first
// entry is kept (sync.md §6.3).
func (l *sideLister) joinRefs(refs []storage.ItemRef) {
	seen := make(map[string]bool, len(refs))
	for _, r := range refs {
		if seen[r.Href] {
			l.e.log().Warn("storage listed an href twice; keeping the first", "href", r.Href)
			continue
		}
		seen[r.Href] = true
		l.joinRef(r)
	}
}

// join matches one listed item with the status: an href and etag as the status has
// them need no read.
func (l *sideLister) join(href, etag []byte) {
	l.listed++
	if i, ok := l.rows.FindHref(l.side.status(), href); ok && len(etag) > 0 && l.rows.ETagIs(i, l.side.status(), etag) {
		l.matched[i] = true
		return
	}
	pushRef(&l.queue, href, etag)
}

func (l *sideLister) joinRef(r storage.ItemRef) {
	l.listed++
	at := int32(l.listed - 1)
	if i, ok := l.rows.FindHref(l.side.status(), []byte(r.Href)); ok && r.ETag != "" && l.rows.ETagIs(i, l.side.status(), []byte(r.ETag)) {
		l.matched[i] = true
		if l.pos != nil {
			l.pos[i] = at
		}
		return
	}
	pushRef(&l.queue, r.Href, r.ETag)
}

// applyDelta takes the status rows plus a sync-collection delta for the listing.
func (l *sideLister) applyDelta(changed []storage.ItemRef, removed []string) {
	gone := make(map[string]bool, len(removed))
	for _, h := range removed {
		gone[h] = true
	}
	delta := make(map[string]bool, len(changed))
	for _, r := range changed {
		delta[r.Href] = true
	}
	side := l.side.status()
	for i := range l.matched {
		h := l.rows.Href(i, side)
		if gone[h] || delta[h] {
			continue
		}
		l.listed++
		if !l.rows.ETagIs(i, side, nil) {
			l.matched[i] = true
			continue
		}
		pushRef(&l.queue, h, "") // no etag known: read it
	}
	seen := make(map[string]bool, len(changed))
	for _, r := range changed {
		if gone[r.Href] || seen[r.Href] {
			continue
		}
		seen[r.Href] = true
		l.joinRef(r)
	}
}

// fetchChunk is how many items one read asks for: what planning holds of item text at
// once beyond the body budget.
const fetchChunk = 1024

// fetch reads the queued items, a chunk at a time, in the order they were listed (a
// streamed listing's items are put in order of href afterwards: see join).
func (l *sideLister) fetch(ctx context.Context) error {
	if l.order == orderHref {
		defer func() { slices.SortFunc(l.unf, func(a, b Unfetchable) int { return strings.Compare(a.Href, b.Href) }) }()
	}
	for chunk := range l.queue.drain(fetchChunk) {
		n := len(chunk)
		hrefs := make([]string, n)
		for i, r := range chunk {
			hrefs[i] = r.Href
		}
		fetched, err := l.st.Get(ctx, l.coll, hrefs)
		if err != nil {
			return err
		}
		got := make(map[string]int, n) // asked for (its index + 1), then 0 once answered
		for i, h := range hrefs {
			got[h] = i + 1
		}
		for _, f := range fetched {
			i := got[f.Href] - 1
			if i < 0 {
				continue // not asked for, or answered twice
			}
			got[f.Href] = 0
			if f.Err != nil {
				l.unf = append(l.unf, l.unfetchable(f.Href, f.Err))
				continue
			}
			l.keep(f)
		}
		for _, h := range hrefs {
			if got[h] > 0 {
				l.unf = append(l.unf, l.unfetchable(h, errors.New("the storage did not return it")))
			}
		}
	}
	return nil
}

// keep packs a fetched item (packedItems), keeping its text while the pair's body
// budget lasts; an item that cannot be packed becomes an ItemState.
func (l *sideLister) keep(f storage.Fetched) {
	item := f.Item
	text := !l.overBudget && l.budget.take(len(item.Text()))
	if !text && !l.overBudget {
		// Keep the text of all of a side's items or of none: beyond the budget the
		// executor reads them all again, and texts kept of a part would only add to
		// the peak (the budget goes back to the pair's other collections).
		l.overBudget = true
		l.budget.give(l.packed.dropTexts())
	}
	if l.packed.add(f.Href, f.ETag, &item, text) {
		return
	}
	st := &ItemState{Href: f.Href, ETag: f.ETag, Ident: item.Ident(), Hash: item.Hash(), Item: &item}
	if !text {
		st.Ident = strings.Clone(st.Ident)                   // a UID shares the text's memory
		st.sum = strings.Clone(storage.Summary(item.Text())) // not a slice of the text let go
		st.Item, st.dropped = nil, true
	}
	l.fetched = append(l.fetched, st)
}

func (l *sideLister) unfetchable(href string, err error) Unfetchable {
	u := Unfetchable{Side: l.side, Href: href, Err: err}
	if i, ok := l.rows.FindHref(l.side.status(), []byte(href)); ok {
		u.Ident = l.rows.Ident(i)
	}
	return u
}

// join builds the decision's input from both sides' listings and the status rows. A
// row listed as it is on both sides needs no action (see planMapping) unless an earlier
// write of its ident is pending, or another item on either side carries its ident (a
// copy, a rename): everything else goes to decide as before.
func (e *Engine) join(ctx context.Context, m *MappingPlan, in *mappingInput, rs *status.RowSet, ls [2]*sideLister) error {
	for s := range 2 {
		if ls[s] != nil && !in.side[s].exists {
			ls[s] = nil // probed, and not there
		}
	}
	n := rs.Len()
	dirty := make([]bool, n)
	for i := range n {
		for s := range 2 {
			if ls[s] == nil || !ls[s].matched[i] {
				dirty[i] = true
			}
		}
	}
	for ident := range in.pending {
		if i, ok := rs.FindIdent(ident); ok {
			dirty[i] = true
		}
	}
	for _, l := range ls {
		if l == nil {
			continue
		}
		for _, it := range l.fetched {
			if i, ok := rs.FindIdent(it.Ident); ok {
				dirty[i] = true
			}
		}
		for i := range int32(l.packed.n) {
			if j, ok := rs.FindIdentBytes(l.packed.ident(i)); ok {
				dirty[j] = true
			}
		}
	}
	var items [2][]keyedItem
	for i := range n {
		if !dirty[i] {
			in.clean++
			continue
		}
		r := rs.Row(i)
		in.rows = append(in.rows, r)
		for s, l := range ls {
			if l != nil && l.matched[i] {
				it := &ItemState{Href: rowHref(&r, Side(s)), ETag: rowETag(&r, Side(s)), Ident: r.Ident, Hash: r.Hash}
				k := keyedItem{it: it}
				if l.pos != nil {
					k.pos = l.pos[i]
				}
				items[s] = append(items[s], k)
			}
		}
	}
	slices.SortFunc(in.rows, func(a, b status.Row) int { return strings.Compare(a.Ident, b.Ident) })
	unpacked, kept := unpack(ls, rs, in.pending)
	for s, l := range ls {
		if l == nil {
			continue
		}
		side := &in.side[s]
		if l.order == orderHref { // the items read, in order of href like the rest
			slices.SortFunc(unpacked[s], func(a, b *ItemState) int { return strings.Compare(a.Href, b.Href) })
			slices.SortFunc(kept[s], l.packed.compareHref)
		}
		side.items = l.ordered(items[s], unpacked[s])
		side.packed = packedCreates{set: &l.packed, idx: kept[s]}
		side.listed = l.listed
		in.unfetchable = append(in.unfetchable, l.unf...)
	}
	return e.hydrate(ctx, m, in, ls)
}

// keyedItem is an item of a side and its position in a full listing.
type keyedItem struct {
	it  *ItemState
	pos int32
}

// unpack sorts the packed items of both sides (packedItems): an item stays packed, a
// new item for the plan to create, when no status row and no pending write has its
// ident and no other item read on either side has it (compared by a hash of the ident:
// two different idents that share a hash are both unpacked, which only costs memory).
// It returns, per side, the items read that the decision gets and the indices of those
// that stay packed, in the order they were read.
func unpack(ls [2]*sideLister, rs *status.RowSet, pending map[string]map[status.Side]status.Pending) (out [2][]*ItemState, kept [2][]int32) {
	seed := maphash.MakeSeed()
	seen := map[uint64]uint8{}
	see := func(h uint64) {
		if seen[h] < 2 {
			seen[h]++
		}
	}
	for _, l := range ls {
		if l == nil {
			continue
		}
		for _, it := range l.fetched {
			see(maphash.String(seed, it.Ident))
		}
		for i := range int32(l.packed.n) {
			see(maphash.Bytes(seed, l.packed.ident(i)))
		}
	}
	for s, l := range ls {
		if l == nil {
			continue
		}
		out[s] = l.fetched
		l.fetched = nil
		for i := range int32(l.packed.n) {
			ident := l.packed.ident(i)
			_, inRows := rs.FindIdentBytes(ident)
			_, isPending := pending[string(ident)]
			if inRows || isPending || seen[maphash.Bytes(seed, ident)] > 1 {
				out[s] = append(out[s], l.packed.state(i))
			} else {
				kept[s] = append(kept[s], i)
			}
		}
	}
	return out, kept
}

// ordered returns the side's items: those known from the status rows in the order of
// the listing (listOrder), then those read (unpack), in the order they were listed.
func (l *sideLister) ordered(fromRows []keyedItem, fetched []*ItemState) []*ItemState {
	switch l.order {
	case orderListing:
		slices.SortFunc(fromRows, func(a, b keyedItem) int { return int(a.pos) - int(b.pos) })
	case orderIdent:
		slices.SortFunc(fromRows, func(a, b keyedItem) int { return strings.Compare(a.it.Ident, b.it.Ident) })
	default:
		slices.SortFunc(fromRows, func(a, b keyedItem) int { return strings.Compare(a.it.Href, b.it.Href) })
	}
	out := make([]*ItemState, 0, len(fromRows)+len(fetched))
	for _, k := range fromRows {
		out = append(out, k.it)
	}
	return append(out, fetched...)
}

// hydrate reads again the items whose text planning dropped (bodyBudget) when the
// decision or the plan needs it: an ident with a pending write (its fingerprint), an
// ident on both sides with different content (a conflict to show, merge or keep), and
// duplicated idents.
func (e *Engine) hydrate(ctx context.Context, m *MappingPlan, in *mappingInput, ls [2]*sideLister) error {
	var byIdent [2]map[string][]*ItemState
	dropped := false
	for s := range 2 {
		byIdent[s] = map[string][]*ItemState{}
		for _, it := range in.side[s].items {
			dropped = dropped || it.dropped
		}
	}
	if !dropped {
		return nil
	}
	for s := range 2 {
		for _, it := range in.side[s].items {
			byIdent[s][it.Ident] = append(byIdent[s][it.Ident], it)
		}
	}
	var need [2][]*ItemState
	for s := range 2 {
		for ident, its := range byIdent[s] {
			other := byIdent[1-s][ident]
			_, pending := in.pending[ident]
			want := pending || len(its) > 1 || len(other) > 1 || (len(other) == 1 && other[0].Hash != its[0].Hash)
			for _, it := range its {
				if want && it.dropped {
					need[s] = append(need[s], it)
				}
			}
		}
	}
	for s, its := range need {
		if len(its) == 0 {
			continue
		}
		hrefs := make([]string, len(its))
		for i, it := range its {
			hrefs[i] = it.Href
		}
		fs, err := ls[s].st.Get(ctx, ls[s].coll, hrefs)
		if err != nil {
			return err
		}
		got := map[string]storage.Fetched{}
		for _, f := range fs {
			got[f.Href] = f
		}
		for _, it := range its {
			f, ok := got[it.Href]
			if !ok || f.Err != nil || f.ETag != it.ETag || f.Item.Hash() != it.Hash {
				// Changed since it was listed: plan without it; the next run sees the change.
				in.unfetchable = append(in.unfetchable, Unfetchable{Side: Side(s), Href: it.Href, Ident: it.Ident,
					Err: fmt.Errorf("%s changed while it was being read", it.Href)})
				continue
			}
			item := f.Item
			it.Item, it.dropped = &item, false
		}
	}
	return nil
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
		a.Verb, a.Merged, a.MergedFrom, a.Warning = VerbMerge, &item, &[2][]string{r.FromA, r.FromB}, ""
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

// savedToken returns the saved token of a side if it may be used (sync.md §3.7), and
// marks an unusable saved row for deletion.
func (e *Engine) savedToken(snap *snapshot, m *MappingPlan, in *mappingInput, rs *status.RowSet, side Side, coll string) storage.Token {
	if !in.inStatus {
		return storage.Token{}
	}
	s, err := snap.get()
	if err != nil {
		return storage.Token{}
	}
	t, ok := s.Token(m.MappingUID, side.status())
	if !ok {
		return storage.Token{}
	}
	m.saved[side], m.hasSaved[side] = t, true
	if t.Href != coll || t.ItemCount != rs.Len() || rs.EmptyETags(side.status()) > 0 {
		return storage.Token{}
	}
	return storage.Token{Kind: t.Kind, Value: t.Value}
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
