package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// writeGrace is how long writes already in flight may take to finish after the run is
// cancelled (sync.md §15.4).
const writeGrace = 10 * time.Second

// errFatal marks a status failure that stops the whole pair (sync.md §13.2).
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// execute performs a pair's plan (sync.md §4 step 7).
func (e *Engine) execute(ctx context.Context, plan *PairPlan, db *status.DB, res *PairResult, tr *trash.Run) {
	p := plan.Pair
	if len(plan.Stale) > 0 {
		err := db.Update(func(tx *status.Tx) error {
			for _, m := range plan.Stale {
				if err := tx.ForgetMapping(m.UID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			res.Err = &StatusError{fmt.Errorf("pair %s: forgetting stale mappings: %w", p.Name, err)}
			return
		}
	}
	for _, m := range plan.Mappings {
		if ctx.Err() != nil {
			break
		}
		x := &mappingExec{e: e, pair: p, m: m, db: db, trash: tr, res: &MappingResult{Alias: m.Alias, HrefA: m.HrefA, HrefB: m.HrefB}}
		err := x.run(ctx)
		res.Mappings = append(res.Mappings, x.res)
		e.report(MappingFinished{Pair: p.Name, Result: x.res})
		if err != nil {
			res.Err = &StatusError{fmt.Errorf("pair %s: %w", p.Name, err)}
			return
		}
	}
}

// mappingExec executes one mapping's plan.
type mappingExec struct {
	e    *Engine
	pair *Pair
	m    *MappingPlan
	db   *status.DB
	res  *MappingResult

	// stats counts the mapping's status rows as they are after the writes so far.
	stats    rowStats
	leftover bool // an error, conflict, skip or guard: tokens must not be saved
	w        *statusWriter
	done     int
	total    int
	added    map[pendingKey]bool // pending writes recorded by this run
	trash    *trash.Run          // keeps what is overwritten or deleted
}

func (x *mappingExec) href(s Side) string {
	if s == A {
		return x.m.HrefA
	}
	return x.m.HrefB
}

func (x *mappingExec) fail(err error) {
	x.res.Errors = append(x.res.Errors, err)
	x.leftover = true
}

func (x *mappingExec) collErr(format string, args ...any) {
	x.fail(fmt.Errorf("%s/%s: %s", x.pair.Name, x.m.Alias, fmt.Sprintf(format, args...)))
}

// run executes the mapping. A returned error is fatal for the pair.
func (x *mappingExec) run(ctx context.Context) error {
	m, st := x.m, x.pair.storages()
	for _, u := range m.Unfetchable {
		x.collErr("skipping %s on storage %s, which cannot be read (fix or remove it): %v", u.Href, x.pair.names()[u.Side], u.Err)
	}
	for _, d := range m.Duplicates {
		x.collErr("%s", d)
	}
	switch m.Action {
	case CollSkipped, CollProtected:
		if m.Action == CollProtected {
			x.collErr("%s; nothing was changed. If the emptying is intended, set `on_empty sync` in pair %s; to start over, delete %s",
				m.Reason, x.pair.Name, x.e.statusPath(x.pair.Name))
		} else if m.ReasonIsError {
			x.collErr("%s", m.Reason)
		} else {
			x.e.log().Info(fmt.Sprintf("%s/%s: %s", x.pair.Name, m.Alias, m.Reason))
		}
		return nil
	}
	x.w = &statusWriter{db: x.db, durable: durables(st)}
	defer x.w.close()
	switch m.Action {
	case CollCreateA, CollCreateB, CollCreateAB:
		if !x.createCollections(ctx) {
			return x.w.commit()
		}
	}
	if m.MappingUID == 0 {
		err := x.w.do(func(tx *status.Tx) error {
			uid, err := tx.AddMapping(m.HrefA, m.HrefB)
			m.MappingUID = uid
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(m.newAliases) > 0 || m.pendingColl != [2]bool{} {
		if err := x.recordCreations(); err != nil {
			return err
		}
	}
	x.stats = m.rowStats
	if err := x.items(ctx); err != nil {
		return err
	}
	if err := x.props(ctx); err != nil {
		return err
	}
	if m.ReasonIsError {
		x.collErr("%s", m.Reason)
	}
	if err := x.deleteCollection(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		// Cancelled: some planned actions may not have run. A token listed before them
		// would let the next run take the collection for unchanged and never see them.
		x.leftover = true
	}
	if err := x.tokens(); err != nil {
		return err
	}
	return x.w.commit()
}

// recordCreations records what planning learnt from collection creations: property
// aliases, and pending creations that are finished. (A mapping without any costs no
// transaction: an unchanged pair leaves the status alone.)
func (x *mappingExec) recordCreations() error {
	m := x.m
	return x.w.do(func(tx *status.Tx) error {
		for _, al := range m.newAliases {
			if err := tx.SetPropertyAlias(m.MappingUID, al); err != nil {
				return err
			}
		}
		for s, done := range m.pendingColl {
			if done {
				if err := tx.DeletePendingCollection(Side(s).status(), x.href(Side(s))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// createCollections creates the mapping's missing collections with the other side's
// properties where the storage takes them at creation (storage.PropertyCreator), reads
// back what each new collection holds (values the storage invented or normalised become
// aliases, never copied to the other side), and decides the properties again from
// that. A creation is recorded as pending first, so a run stopped right after it still
// knows what was sent. It reports false when a creation failed (a collection error).
func (x *mappingExec) createCollections(ctx context.Context) bool {
	m, st := x.m, x.pair.storages()
	created := false
	for _, s := range []Side{A, B} {
		if !(m.Action == CollCreateAB || (m.Action == CollCreateA) == (s == A)) {
			continue
		}
		var sent map[string]string
		if m.in != nil && m.pol.props && m.in.side[s.Other()].exists {
			sent = m.in.side[s.Other()].props
		}
		href := x.href(s)
		if err := x.w.do(func(tx *status.Tx) error { return tx.AddPendingCollection(s.status(), href, sent) }); err != nil {
			x.collErr("creating collection %s on %s: %v", href, s, err)
			return false
		}
		if err := x.w.commit(); err != nil {
			x.collErr("creating collection %s on %s: %v", href, s, err)
			return false
		}
		var err error
		if pc, ok := st[s].(storage.PropertyCreator); ok {
			err = pc.CreateCollectionWith(ctx, href, sent)
		} else {
			err = st[s].CreateCollection(ctx, href)
		}
		if err != nil {
			x.collErr("creating collection %s on %s (storage %s): %v", href, s, x.pair.names()[s], err)
			return false
		}
		x.res.Changed = true
		m.pendingColl[s] = true
		created = true
		if m.in == nil || !m.pol.props {
			continue
		}
		reported, err := st[s].Properties(ctx, href)
		if err != nil {
			// The aliases are learnt next run, from the pending record.
			x.e.log().Warn(fmt.Sprintf("%s/%s: reading the properties of the new collection %s: %v", x.pair.Name, m.Alias, href, err))
			m.pendingColl[s] = false
			continue
		}
		al := creationAliases(s, sent, reported)
		m.newAliases = append(m.newAliases, al...)
		m.in.aliases = append(m.in.aliases, al...)
		m.in.side[s].exists = true
		m.in.side[s].props = translateProps(s, reported, m.in.aliases)
	}
	if created && m.in != nil && m.pol.props {
		m.Props = decideProps(m.in, m.pol)
	}
	return true
}

func durables(st [2]storage.Storage) []storage.Durable {
	var out []storage.Durable
	for _, s := range st {
		if d, ok := s.(storage.Durable); ok {
			out = append(out, d)
		}
	}
	return out
}

// items runs the item actions: first deletes and forgets (so an href given up is free
// for the unique status index, sync.md §3.5), then everything else.
func (x *mappingExec) items(ctx context.Context) error {
	var first, second []*ItemAction
	for _, a := range x.m.Items {
		switch {
		case a.Verb == VerbConflict:
			x.res.Conflicts++
			x.res.ConflictItems = append(x.res.ConflictItems, a)
			x.leftover = true
			if a.Warning != "" {
				x.e.log().Warn(fmt.Sprintf("%s/%s: %s: %s", x.pair.Name, x.m.Alias, a.Ident, a.Warning))
			}
		case a.Skip != "":
			x.res.Skipped++
			x.leftover = true
			x.e.log().Info(fmt.Sprintf("%s/%s: skip (%s) %s %s", x.pair.Name, x.m.Alias, a.Skip, a.Verb, a.Ident))
		case a.Verb == VerbDelete || a.Verb == VerbForget:
			first = append(first, a)
		default:
			second = append(second, a)
		}
	}
	x.total = len(first) + len(second) + len(x.m.creates[A].idx) + len(x.m.creates[B].idx)
	if err := x.recover(); err != nil {
		return err
	}
	x.added = map[pendingKey]bool{}
	// Deletes first, all of them (a create may need a name a delete frees).
	p := x.pipeline(ctx)
	for chunk := range slices.Chunk(first, execChunk) {
		if p.stopped() {
			break
		}
		if err := x.loadTargets(ctx, chunk); err != nil {
			return errors.Join(err, p.finish())
		}
		p.run(chunk)
	}
	if err := p.finish(); err != nil {
		return err
	}
	if err := x.freeHrefs(second); err != nil {
		return err
	}
	p = x.pipeline(ctx)
	for chunk := range slices.Chunk(second, execChunk) {
		if err := x.runChunk(p, chunk); err != nil {
			return errors.Join(err, p.finish())
		}
	}
	// The creates of new items, materialised a chunk at a time (packedItems).
	for s := range 2 {
		c := &x.m.creates[s]
		for start := 0; start < len(c.idx) && !p.stopped(); start += execChunk {
			end := min(start+execChunk, len(c.idx))
			chunk := make([]*ItemAction, 0, end-start)
			for i := start; i < end; i++ {
				chunk = append(chunk, c.action(Side(s), i))
			}
			if err := x.runChunk(p, chunk); err != nil {
				return errors.Join(err, p.finish())
			}
		}
	}
	if err := p.finish(); err != nil {
		return err
	}
	return x.clearPending()
}

// runChunk loads what a chunk of creates, updates and records needs, records the
// writes as pending and hands them to p. The chunk before may still be running
// meanwhile.
func (x *mappingExec) runChunk(p *pipeline, chunk []*ItemAction) error {
	if p.stopped() {
		return nil
	}
	if err := x.loadSources(p.ctx, chunk); err != nil {
		return err
	}
	if err := x.loadTargets(p.ctx, chunk); err != nil {
		return err
	}
	if err := x.recordPending(chunk); err != nil {
		release(chunk)
		return err
	}
	p.run(chunk)
	return nil
}

// execChunk is how many item actions are loaded and recorded as pending at a time.
// While a chunk is prepared, up to a chunk of writes wait to start (pipeline), so the
// executor holds the actions, and the text it had to read, of about two chunks.
const execChunk = 512

// release lets go of the text of the items the executor read (load) for acts, once
// their actions ran or will not run: it is held for the writes in flight only.
func release(acts []*ItemAction) {
	for _, a := range acts {
		for _, st := range [...]*ItemState{a.A, a.B} {
			if st != nil && st.loaded {
				st.sum = strings.Clone(storage.Summary(st.Item.Text())) // not a slice of the text
				st.Item, st.loaded = nil, false
			}
		}
	}
}

// freeHrefs moves the status rows of records that change their href on side A out of
// the way first. href_a is unique in the status (sync.md §3.2), so two items that
// swapped file names would otherwise collide whatever the order of their updates. Each
// such row gets a placeholder href (CAS-checked), and its record then updates it from
// there. A crash in between leaves a placeholder that the next run simply records
// over (the href matches no listing, so the item is read and matched by ident).
func (x *mappingExec) freeHrefs(acts []*ItemAction) error {
	for _, a := range acts {
		if a.Verb != VerbRecord || a.Status == nil || a.A == nil || a.A.Href == a.Status.HrefA {
			continue
		}
		moved := *a.Status
		moved.HrefA = fmt.Sprintf("\x00moving/%d/%s", x.m.MappingUID, a.Ident)
		old := *a.Status
		if err := x.w.do(func(tx *status.Tx) error { return tx.Update(x.m.MappingUID, old, moved) }); err != nil {
			return err
		}
		a.Status = &moved
	}
	return nil
}

// recover writes the status rows that earlier runs' writes left unrecorded (their
// answers were lost; see applyPending), before the actions planned on top of them run.
func (x *mappingExec) recover() error {
	for _, a := range x.m.Items {
		if a.Recover == nil || a.Skip != "" || a.Verb == VerbConflict {
			continue
		}
		next := *a.Recover
		err := x.w.do(func(tx *status.Tx) error {
			var err error
			if a.Status == nil {
				err = tx.Insert(x.m.MappingUID, next)
			} else {
				err = tx.Update(x.m.MappingUID, *a.Status, next)
			}
			if err != nil {
				return err
			}
			for side := range x.m.pending[a.Ident] {
				if err := tx.DeletePending(x.m.MappingUID, side, a.Ident); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if a.Status != nil {
			x.stats.add(*a.Status, -1)
		}
		x.stats.add(next, 1)
		a.Status = &next
		x.e.log().Info(fmt.Sprintf("%s/%s: %s: recorded an earlier upload whose answer was lost", x.pair.Name, x.m.Alias, a.Ident))
	}
	return nil
}

// recordPending durably records the uploads about to start (x_pending_writes), so that
// a write whose answer never arrives is recognised next time, whatever happened to
// either side meanwhile (applyPending).
func (x *mappingExec) recordPending(acts []*ItemAction) error {
	added := 0
	st := x.pair.storages()
	verbatim := [2]bool{storage.StoresVerbatim(st[A]), storage.StoresVerbatim(st[B])}
	for _, a := range acts {
		if a.Skip != "" || (a.Verb != VerbCreate && a.Verb != VerbUpdate) {
			continue
		}
		k := pendingKey{a.Ident, a.Target.status()}
		x.added[k] = true
		added++
		src := a.Source()
		p := status.Pending{Ident: a.Ident, Side: k.side, Hash: src.Item.Hash(),
			Create: a.Verb == VerbCreate, SrcHref: src.Href, SrcETag: src.ETag}
		if !verbatim[a.Target] {
			// Only a storage that may re-serialise what it is sent needs the fingerprint
			// (8 µs an item); on one that keeps the bytes, the hash recognises our write.
			p.Fingerprint = storage.Fingerprint(src.Item.Text())
		}
		if t := a.TargetItem(); t != nil && a.Verb == VerbUpdate {
			p.TgtHref, p.TgtETag = t.Href, t.ETag
		}
		if err := x.w.addPending(x.m.MappingUID, p); err != nil {
			return err
		}
		if m := x.m; a.Verb == VerbCreate && m.hasSaved[a.Target] {
			// The saved token will not cover what this run creates (see tokens); drop
			// it before the first create, so that a run killed midway cannot leave it
			// behind for the next run's delta.
			m.hasSaved[a.Target] = false
			if err := x.w.stage(func(tx *status.Tx) error { return tx.DeleteToken(m.MappingUID, a.Target.status()) }); err != nil {
				return err
			}
		}
	}
	if added == 0 {
		return nil
	}
	return x.w.commit()
}

// clearPending forgets the pending-write records an earlier run left, except those this
// run re-recorded for writes that did not complete.
func (x *mappingExec) clearPending() error {
	for ident, sides := range x.m.pending {
		for side := range sides {
			if x.added[pendingKey{ident, side}] {
				continue
			}
			if err := x.w.do(func(tx *status.Tx) error { return tx.DeletePending(x.m.MappingUID, side, ident) }); err != nil {
				return err
			}
		}
	}
	return nil
}

type pendingKey struct {
	ident string
	side  status.Side
}

// loadSources fetches the bodies of items to copy that planning knew only from the
// status (token fast path, one_way reverts), and loadTargets those of items about to be
// replaced or deleted (their bytes go to the trash first). A body that changed since it
// was listed fails that action, which is retried next run.
func (x *mappingExec) loadSources(ctx context.Context, acts []*ItemAction) error {
	return x.load(ctx, acts, func(a *ItemAction) (Side, *ItemState) {
		if a.Verb == VerbCreate || a.Verb == VerbUpdate {
			return a.Target.Other(), a.Source()
		}
		return 0, nil
	})
}

func (x *mappingExec) loadTargets(ctx context.Context, acts []*ItemAction) error {
	return x.load(ctx, acts, func(a *ItemAction) (Side, *ItemState) {
		if a.Verb == VerbUpdate || a.Verb == VerbDelete {
			return a.Target, a.TargetItem()
		}
		return 0, nil
	})
}

// load reads the items that pick names and the plan has no text of (marked loaded
// until release lets go of them again).
func (x *mappingExec) load(ctx context.Context, acts []*ItemAction, pick func(*ItemAction) (Side, *ItemState)) error {
	need := map[Side][]string{}
	for _, a := range acts {
		if s, st := pick(a); st != nil && st.Item == nil && a.Skip == "" {
			need[s] = append(need[s], st.Href)
		}
	}
	if len(need) == 0 {
		return nil
	}
	got := map[Side]map[string]storage.Fetched{}
	stores := x.pair.storages()
	for s, hrefs := range need {
		fs, err := stores[s].Get(ctx, x.href(s), hrefs)
		got[s] = map[string]storage.Fetched{}
		if err != nil {
			for _, h := range hrefs {
				got[s][h] = storage.Fetched{Href: h, Err: err}
			}
			continue
		}
		for _, f := range fs {
			got[s][f.Href] = f
		}
	}
	for _, a := range acts {
		s, st := pick(a)
		if st == nil || st.Item != nil || a.Skip != "" {
			continue
		}
		f, ok := got[s][st.Href]
		switch {
		case !ok:
			f.Err = errors.New("the storage did not return it")
		case f.Err != nil:
		case f.ETag != "" && st.ETag != "" && f.ETag != st.ETag, (f.ETag == "" || st.ETag == "") && f.Item.Hash() != st.Hash:
			f.Err = fmt.Errorf("%s changed since it was listed", st.Href)
		}
		if f.Err != nil {
			a.Skip = "failed" // excluded from execution below
			x.fail(&ItemError{Pair: x.pair.Name, Alias: x.m.Alias, Action: a, Storage: x.pair.names()[a.Target],
				Err: fmt.Errorf("reading %s: %w", st.Href, f.Err)})
			continue
		}
		item := f.Item
		st.Item, st.loaded = &item, true
	}
	return nil
}

// How many item writes of a collection run at once by default: localWorkers when both
// storages are local file systems (storage.Durable: a vdir), which make many fsyncs in
// flight durable faster than a few (bench/floor copies 10,000 files durably about a
// quarter faster with 32 than with 8); otherwise defaultWorkers. A DAV storage lets 4
// requests through at a time anyway, and a write handed to a worker counts as in
// flight when the run is cancelled, so more workers there would only let more writes
// start after a ctrl+c.
const (
	defaultWorkers = 8
	localWorkers   = 32
)

type actionResult struct {
	a       *ItemAction
	row     status.Row
	err     error
	skipped bool // cancelled before it started
}

// pipeline performs the writes of a phase's chunks with one set of workers, recording
// each result in the status as it arrives (on the goroutine that hands the writes out:
// the statusWriter is not shared). The next chunk is loaded and its writes recorded as
// pending while the writes handed out before are still in flight (at most a chunk of
// them waiting to start), so the workers do not wait for SQLite, nor for a chunk's
// slowest write, between chunks. A write still starts only after its pending record is
// committed (runChunk).
type pipeline struct {
	x       *mappingExec
	ctx     context.Context
	jobs    chan *ItemAction
	results chan actionResult
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	open    int   // writes handed out and not yet recorded
	fatal   error // recording failed: nothing more is handed out
}

func (x *mappingExec) pipeline(ctx context.Context) *pipeline {
	workers := x.e.Workers
	if workers <= 0 {
		workers = defaultWorkers
		if len(x.w.durable) == 2 {
			workers = localWorkers
		}
	}
	// A chunk's writes wait in jobs while the next chunk is prepared, and their
	// results in results meanwhile. Writes in flight when ctx ends get writeGrace to
	// finish; those still waiting are not started.
	wctx, cancel := graceContext(ctx, writeGrace)
	p := &pipeline{x: x, ctx: ctx, cancel: cancel,
		jobs: make(chan *ItemAction, execChunk), results: make(chan actionResult, execChunk)}
	for range workers {
		p.wg.Go(func() {
			for a := range p.jobs {
				r := actionResult{a: a, skipped: ctx.Err() != nil}
				if !r.skipped {
					r.row, r.err = x.perform(wctx, a)
				}
				p.results <- r
			}
		})
	}
	return p
}

// stopped says whether no more writes are to be handed out: the run was cancelled or
// recording a result failed.
func (p *pipeline) stopped() bool { return p.fatal != nil || p.ctx.Err() != nil }

// run hands out the writes of chunk, recording the results that arrive meanwhile.
// The text an action's write needed is let go of once it is recorded (or once it is
// clear that it will not run).
func (p *pipeline) run(chunk []*ItemAction) {
	for i, a := range chunk {
		if a.Skip != "" {
			release(chunk[i : i+1])
			continue
		}
		for sent := false; !sent; {
			if p.stopped() {
				release(chunk[i:])
				return
			}
			select {
			case p.jobs <- a:
				p.open++
				sent = true
			case r := <-p.results:
				p.record(r)
			case <-p.ctx.Done():
			}
		}
	}
}

func (p *pipeline) record(r actionResult) {
	p.open--
	defer release([]*ItemAction{r.a})
	if r.skipped || p.fatal != nil {
		return // never started (cancelled); or draining after a failure
	}
	if err := p.x.record(r); err != nil {
		p.fatal = err
	}
}

// finish waits for the writes handed out and records them; it returns the first
// failure to record one.
func (p *pipeline) finish() error {
	close(p.jobs)
	for p.open > 0 {
		p.record(<-p.results)
	}
	p.wg.Wait()
	p.cancel()
	return p.fatal
}

// perform does the storage write of one action and returns the status row to record.
func (x *mappingExec) perform(ctx context.Context, a *ItemAction) (status.Row, error) {
	row := status.Row{Ident: a.Ident}
	if a.Verb == VerbMerge {
		return x.performMerge(ctx, a)
	}
	if !a.Verb.writes() {
		if a.Verb == VerbRecord {
			row.Hash = a.A.Hash
			if a.RecordHash != "" {
				row.Hash = a.RecordHash
			}
			row.HrefA, row.ETagA, row.HrefB, row.ETagB = a.A.Href, a.A.ETag, a.B.Href, a.B.ETag
		}
		return row, nil
	}
	x.e.report(ActionStarted{Pair: x.pair.Name, Mapping: x.m.Alias, Action: a})
	st := x.pair.storages()[a.Target]
	kept, err := x.keep(a, a.Target, a.TargetItem(), why(a))
	if err != nil {
		return row, err
	}
	var href, etag string
	switch a.Verb {
	case VerbCreate:
		href, etag, err = st.Create(ctx, x.href(a.Target), *a.Source().Item)
		if err != nil && mayHaveHappened(err) {
			href = errHref(err)
		}
	case VerbUpdate:
		t := a.TargetItem()
		href = t.Href
		if a.CopyB {
			if err := x.createCopy(ctx, a); err != nil {
				return row, err
			}
		}
		etag, err = st.Update(ctx, t.Href, t.ETag, *a.Source().Item)
	case VerbDelete:
		t := a.TargetItem()
		err = st.Delete(ctx, t.Href, t.ETag)
		if err == nil {
			err = x.trash.Done(kept, "", "", "")
		}
		return row, err
	}
	if err != nil && mayHaveHappened(err) && href != "" {
		// No answer: look whether the write took effect.
		if e, ok := x.verify(ctx, st, a, href); ok {
			x.e.log().Info(fmt.Sprintf("%s/%s: %s: the answer to %s on %s was lost, but the write took effect",
				x.pair.Name, x.m.Alias, a.Ident, a.Verb, a.Target))
			etag, err = e, nil
		}
	}
	if err != nil {
		return row, err
	}
	src := a.Source()
	if err := x.trash.Done(kept, href, etag, src.Item.Hash()); err != nil {
		x.e.log().Warn(fmt.Sprintf("%s/%s: %v", x.pair.Name, x.m.Alias, err))
	}
	row.Hash = src.Item.Hash()
	if a.Target == A {
		row.HrefA, row.ETagA, row.HrefB, row.ETagB = href, etag, src.Href, src.ETag
	} else {
		row.HrefA, row.ETagA, row.HrefB, row.ETagB = src.Href, src.ETag, href, etag
	}
	return row, nil
}

// performMerge uploads a merged item to each side whose version differs from it
// (etag-conditional). A failure on the second side leaves the first written and the
// status unchanged: the next run merges again, and finds one side already done.
func (x *mappingExec) performMerge(ctx context.Context, a *ItemAction) (status.Row, error) {
	x.e.report(ActionStarted{Pair: x.pair.Name, Mapping: x.m.Alias, Action: a})
	row := status.Row{Ident: a.Ident, Hash: a.Merged.Hash()}
	row.HrefA, row.ETagA, row.HrefB, row.ETagB = a.A.Href, a.A.ETag, a.B.Href, a.B.ETag
	st := x.pair.storages()
	for _, s := range []Side{A, B} {
		cur := a.A
		if s == B {
			cur = a.B
		}
		if cur.Hash == a.Merged.Hash() {
			continue
		}
		kept, err := x.keep(a, s, cur, "merge")
		if err != nil {
			return row, err
		}
		etag, err := st[s].Update(ctx, cur.Href, cur.ETag, *a.Merged)
		if err != nil {
			return row, fmt.Errorf("writing the merged version to %s: %w", s, err)
		}
		if err := x.trash.Done(kept, cur.Href, etag, a.Merged.Hash()); err != nil {
			x.e.log().Warn(fmt.Sprintf("%s/%s: %v", x.pair.Name, x.m.Alias, err))
		}
		setRowSide(&row, s, cur.Href, etag)
		a.mergedTo[s] = true
	}
	return row, nil
}

// createCopy creates b's version of a conflict as a new item on b (keep both).
func (x *mappingExec) createCopy(ctx context.Context, a *ItemAction) error {
	cp, err := conflictCopy(a.Ident, a.B)
	if err != nil {
		return err
	}
	kept, err := x.trash.Keep(trash.Entry{Side: "b", Storage: x.pair.names()[B], Collection: x.href(B), Ident: cp.Ident(),
		Summary: storage.Summary(cp.Text()), Op: trash.OpCreate, Why: "keep both"}, nil)
	if err != nil {
		return err
	}
	href, etag, err := x.pair.storages()[B].Create(ctx, x.href(B), cp)
	if err != nil {
		return fmt.Errorf("creating the conflict copy of b's version: %w", err)
	}
	a.copied = true
	return x.trash.Done(kept, href, etag, cp.Hash())
}

// keep puts what a write on side s is about to replace (cur; nil for a create) into
// the trash, with the journal entry that lets `pimsync undo` revert the write. A write
// whose previous bytes cannot be kept does not happen.
func (x *mappingExec) keep(a *ItemAction, s Side, cur *ItemState, why string) (*trash.Entry, error) {
	if x.trash == nil {
		return nil, nil
	}
	e := trash.Entry{Side: s.String(), Storage: x.pair.names()[s], Collection: x.href(s), Ident: a.Ident,
		Summary: a.Summary(), Op: trash.OpCreate, Why: why}
	var before []byte
	if a.Verb != VerbCreate && cur != nil {
		e.Op, e.Href, e.ETagBefore, e.HashBefore = trash.OpUpdate, cur.Href, cur.ETag, cur.Hash
		if a.Verb == VerbDelete {
			e.Op = trash.OpDelete
		}
		if cur.Item == nil {
			return nil, fmt.Errorf("the previous version of %s was not read, so it cannot be kept; not written", cur.Href)
		}
		before = cur.Item.Bytes()
		e.HashBefore = cur.Item.Hash()
	}
	kept, err := x.trash.Keep(e, before)
	if err != nil {
		return nil, fmt.Errorf("%w; not written", err)
	}
	return kept, nil
}

// why says what an item write is for, in the trash journal.
func why(a *ItemAction) string {
	if a.Keep != "" {
		return "keep " + a.Keep
	}
	return "sync"
}

// keepBase keeps the text a status row now describes, for later merges
// (conflict_resolution merge only): what was written, or what both sides hold.
func (x *mappingExec) keepBase(tx *status.Tx, a *ItemAction, row status.Row) error {
	if !x.m.pol.merge {
		return nil
	}
	var text string
	switch {
	case a.Verb == VerbMerge:
		text = a.Merged.Text()
	case a.Verb == VerbCreate || a.Verb == VerbUpdate:
		text = a.Source().Item.Text()
	case a.Verb == VerbRecord:
		for _, st := range []*ItemState{a.A, a.B} {
			if st != nil && st.Item != nil && st.Item.Hash() == row.Hash {
				text = st.Item.Text()
				break
			}
		}
	}
	if text == "" {
		return nil
	}
	return tx.SetBase(x.m.MappingUID, a.Ident, row.Hash, text)
}

// verify reads href back after a write whose answer was lost and reports whether it
// holds what was written (byte for byte, or re-serialised by the server), with its etag.
func (x *mappingExec) verify(ctx context.Context, st storage.Storage, a *ItemAction, href string) (string, bool) {
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	fs, err := st.Get(vctx, x.href(a.Target), []string{href})
	if err != nil {
		return "", false
	}
	want := a.Source().Item
	for _, f := range fs {
		if f.Href != href || f.Err != nil || f.ETag == "" {
			continue
		}
		if f.Item.Hash() == want.Hash() || storage.Equivalent(f.Item.Text(), want.Text()) {
			return f.ETag, true
		}
	}
	return "", false
}

// verifyTimeout bounds the read-back of a write whose answer was lost.
const verifyTimeout = 30 * time.Second

// mayHaveHappened reports whether a failed write may still have taken effect: no
// answer arrived (storage.ErrOutcomeUnknown) or the run was cancelled while it was in
// flight. Every other error is a definite answer that the write did not happen.
func mayHaveHappened(err error) bool {
	return errors.Is(err, storage.ErrOutcomeUnknown) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

// errHref returns the href a failed write was about, when the error says.
func errHref(err error) string {
	var se *storage.Error
	if errors.As(err, &se) {
		return se.Href
	}
	return ""
}

// refusalHint says what to do when a storage refused to take an item that has no UID:
// most servers require one (RFC 4791 §4.1, RFC 6352 §5.1), and repair adds it where
// the item comes from.
func (x *mappingExec) refusalHint(a *ItemAction, err error) string {
	if (a.Verb != VerbCreate && a.Verb != VerbUpdate) || !errors.Is(err, storage.ErrRejected) {
		return ""
	}
	src := a.Source()
	if src == nil || src.Item == nil {
		return ""
	}
	if _, ok := src.Item.UID(); ok {
		return ""
	}
	from := x.pair.names()[a.Target.Other()]
	if storage.IsReadOnly(x.pair.storages()[a.Target.Other()]) {
		return fmt.Sprintf("the item has no UID, which most servers require, and storage %s is read-only, so none can be added there", from)
	}
	return fmt.Sprintf("the item has no UID, which most servers require: `pimsync repair %s` adds one, then sync again", from)
}

// record writes the status change of one finished action and reports it.
func (x *mappingExec) record(r actionResult) error {
	a := r.a
	x.done++
	ev := ActionFinished{Pair: x.pair.Name, Mapping: x.m.Alias, Action: a, Err: r.err, Done: x.done, Total: x.total}
	if r.err != nil {
		ev.Err = &ItemError{Pair: x.pair.Name, Alias: x.m.Alias, Action: a, Storage: x.pair.names()[a.Target], Err: r.err,
			Hint: x.refusalHint(a, r.err)}
		x.fail(ev.Err)
		x.e.report(ev)
		if k := (pendingKey{a.Ident, a.Target.status()}); a.Verb.writes() && x.added[k] && !mayHaveHappened(r.err) {
			// A definite answer: the write did not happen, so there is nothing to
			// recognise next time.
			delete(x.added, k)
			return x.w.do(func(tx *status.Tx) error { return tx.DeletePending(x.m.MappingUID, k.side, a.Ident) })
		}
		return nil
	}
	if a.Warning != "" {
		x.e.log().Warn(fmt.Sprintf("%s/%s: %s: %s", x.pair.Name, x.m.Alias, a.Ident, a.Warning))
	}
	if a.Verb == VerbCreate {
		if src := a.Source(); src.Item != nil {
			if _, ok := src.Item.UID(); !ok {
				name := x.pair.names()[a.Target.Other()]
				if storage.IsReadOnly(x.pair.storages()[a.Target.Other()]) {
					// repair cannot write there (a webcal feed, read_only): suggest nothing.
					x.e.log().Warn(fmt.Sprintf("%s/%s: %s has no UID; it is synced by its content hash. Storage %s is read-only, so no UID can be added there, and a changed version arrives as a new item",
						x.pair.Name, x.m.Alias, src.Href, name))
				} else {
					x.e.log().Warn(fmt.Sprintf("%s/%s: %s has no UID; it is synced by its content hash. `pimsync repair %s` adds one",
						x.pair.Name, x.m.Alias, src.Href, name))
				}
			}
		}
	}
	uid := x.m.MappingUID
	change := func(tx *status.Tx) error {
		switch {
		case a.Verb == VerbForget || a.Verb == VerbDelete:
			if a.Status == nil {
				return nil
			}
			x.stats.add(*a.Status, -1)
			if x.m.pol.merge {
				if err := tx.DeleteBase(uid, a.Ident); err != nil {
					return err
				}
			}
			return tx.Delete(uid, a.Ident)
		case a.Status != nil:
			if err := tx.Update(uid, *a.Status, r.row); err != nil {
				return err
			}
			x.stats.add(*a.Status, -1)
			x.stats.add(r.row, 1)
		default:
			x.w.insert(uid, r.row)
			x.stats.add(r.row, 1)
		}
		if err := x.keepBase(tx, a, r.row); err != nil {
			return err
		}
		x.unpend(a, r.row)
		return nil
	}
	var err error
	if a.Status == nil && a.Verb != VerbForget && a.Verb != VerbDelete && !x.m.pol.merge {
		// A new row and the deletion of its pending record are only queued (change's
		// default case, without a base to keep): no statement runs, so a first sync's
		// rows go to the status many to a statement.
		err = x.w.queue(func() {
			x.w.insert(uid, r.row)
			x.stats.add(r.row, 1)
			x.unpend(a, r.row)
		})
	} else {
		err = x.w.do(change)
	}
	if err != nil {
		ev.Err = err
		x.e.report(ev)
		return err
	}
	if a.Verb.writes() {
		c := &x.res.Counts[a.Target]
		switch a.Verb {
		case VerbCreate:
			c.Created++
		case VerbUpdate:
			c.Updated++
		case VerbDelete:
			c.Deleted++
		}
		x.res.Changed = true
	}
	for s, to := range a.mergedTo {
		if to {
			x.res.Counts[s].Updated++
			x.res.Changed = true
		}
	}
	if a.copied {
		x.res.Counts[B].Created++
	}
	if a.Verb == VerbMerge {
		x.res.Merged++
	}
	x.e.report(ev)
	return nil
}

// unpend queues the deletion of the pending-write record of a's finished write, which
// row now records.
func (x *mappingExec) unpend(a *ItemAction, row status.Row) {
	k := pendingKey{a.Ident, a.Target.status()}
	if !a.Verb.writes() || !x.added[k] {
		return
	}
	if a.Verb != VerbDelete && rowETag(&row, a.Target) == "" {
		// The storage could not tell the new etag (DAViCal answers PUT without one):
		// the next run fetches the item, and the record lets it take the server's
		// re-serialised copy (a REV added) for ours instead of a change.
		return
	}
	delete(x.added, k)
	x.w.unpend(x.m.MappingUID, k.side, a.Ident)
}

// props runs the property actions (sync.md §12). A value the target refuses to store
// is remembered (x_property_refused) and reported once, as a warning; a value the
// target stores in another form becomes an alias, so it is never taken for a change.
func (x *mappingExec) props(ctx context.Context) error {
	st := x.pair.storages()
	m := x.m
	var written [2]map[string]string
	for _, p := range m.Props {
		if p.Refused != "" {
			continue
		}
		if p.Pending() {
			x.leftover = true
			if p.Verb == VerbConflict {
				x.res.Conflicts++
				x.res.ConflictProps = append(x.res.ConflictProps, p)
			} else {
				x.res.Skipped++
			}
			continue
		}
		if ctx.Err() != nil {
			x.leftover = true
			return nil
		}
		var err error
		switch p.Verb {
		case VerbUpdate:
			err = st[p.Target].SetProperty(ctx, x.href(p.Target), p.Name, p.Value())
		case VerbDelete:
			err = st[p.Target].DeleteProperty(ctx, x.href(p.Target), p.Name)
		}
		if errors.Is(err, storage.ErrUnsupported) {
			value := ""
			if p.Verb == VerbUpdate {
				value = p.Value()
			}
			x.e.log().Warn(fmt.Sprintf("%s/%s: storage %s does not store property %s (%v); this value is not tried again until it changes",
				x.pair.Name, m.Alias, x.pair.names()[p.Target], p.Name, err))
			if err := x.w.do(func(tx *status.Tx) error {
				return tx.SetPropertyRefused(m.MappingUID, status.PropertyRefusal{Side: p.Target.status(), Property: p.Name, Value: value, Reason: err.Error()})
			}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			x.collErr("property %s: %s on %s: %v", p.Name, propVerb(p), p.Target, err)
			continue
		}
		if p.Verb == VerbUpdate || p.Verb == VerbDelete {
			x.res.Changed = true
			x.res.PropsWritten[p.Target] = append(x.res.PropsWritten[p.Target], p.Name)
			if written[p.Target] == nil {
				written[p.Target] = map[string]string{}
			}
			if p.Verb == VerbUpdate {
				written[p.Target][p.Name] = strings.TrimSpace(p.Value())
			}
		}
		err = x.w.do(func(tx *status.Tx) error {
			if p.Verb == VerbUpdate || p.Verb == VerbDelete {
				if err := tx.DeletePropertyRefused(m.MappingUID, p.Target.status(), p.Name); err != nil {
					return err
				}
			}
			switch p.Verb {
			case VerbRecord:
				return tx.SetProperty(m.MappingUID, m.HrefA, m.HrefB, p.Name, p.A)
			case VerbUpdate:
				return tx.SetProperty(m.MappingUID, m.HrefA, m.HrefB, p.Name, p.Value())
			}
			return tx.DeleteProperty(m.MappingUID, m.HrefA, m.HrefB, p.Name)
		})
		if err != nil {
			return err
		}
	}
	return x.learnNormalised(ctx, written)
}

// learnNormalised reads back the properties written to each side and records an alias
// for every value the storage keeps in another form than the one written.
func (x *mappingExec) learnNormalised(ctx context.Context, written [2]map[string]string) error {
	st := x.pair.storages()
	for s, vals := range written {
		if len(vals) == 0 {
			continue
		}
		side := Side(s)
		reported, err := st[s].Properties(ctx, x.href(side))
		if err != nil {
			continue // learnt next time the value differs
		}
		for name, want := range vals {
			got, ok := reported[name]
			if !ok || got == want {
				continue
			}
			al := status.PropertyAlias{Side: side.status(), Property: name, Reported: got, Meant: want}
			if err := x.w.do(func(tx *status.Tx) error { return tx.SetPropertyAlias(x.m.MappingUID, al) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func propVerb(p *PropAction) string {
	if p.Verb == VerbDelete {
		return "delete"
	}
	return "write"
}

// deleteCollection removes the surviving collection of a mapping whose other side was
// deleted, once the item actions have emptied it (sync.md §5.3).
func (x *mappingExec) deleteCollection(ctx context.Context) error {
	var s Side
	switch x.m.Action {
	case CollDeleteA:
		s = A
	case CollDeleteB:
		s = B
	default:
		return nil
	}
	if x.m.ReasonIsError || len(x.res.Errors) > 0 || ctx.Err() != nil {
		return nil
	}
	st := x.pair.storages()[s]
	if err := st.DeleteCollection(ctx, x.href(s)); err != nil {
		if errors.Is(err, storage.ErrCollectionNotEmpty) {
			x.collErr("collection deleted on %s, but %s still has items; not deleted (set on_empty sync to propagate the deletion)", s.Other(), s)
		} else {
			x.collErr("deleting collection %s on %s: %v", x.href(s), s, err)
		}
		return nil
	}
	x.res.Changed = true
	x.e.log().Info(fmt.Sprintf("%s/%s: deleted collection %s on %s", x.pair.Name, x.m.Alias, x.href(s), s))
	x.leftover = true // no tokens for a forgotten mapping
	return x.w.do(func(tx *status.Tx) error { return tx.ForgetMapping(x.m.MappingUID) })
}

// tokens saves or clears each side's change token (sync.md §13.4).
func (x *mappingExec) tokens() error {
	m := x.m
	if m.Action == CollDeleteA || m.Action == CollDeleteB {
		return nil
	}
	for _, s := range []Side{A, B} {
		t := m.tokens[s]
		// A token taken before this run created items does not cover them: a server
		// may leave out of a later delta an item created and deleted since the token
		// (RFC 6578 §3.5; Xandikos does), and the deletion would be missed. The next
		// run lists the collection in full and saves a fresh token.
		save := !x.leftover && len(x.res.Errors) == 0 && !t.IsZero() && x.res.Counts[s].Created == 0 &&
			x.stats.emptyETag[s] == 0
		href := x.href(s)
		want := status.Token{Href: href, Kind: t.Kind, Value: t.Value, ItemCount: x.stats.n}
		switch {
		case save && m.hasSaved[s] && m.saved[s] == want:
			// unchanged: no write
		case save:
			if err := x.w.do(func(tx *status.Tx) error { return tx.SetToken(m.MappingUID, s.status(), want) }); err != nil {
				return err
			}
		case m.hasSaved[s]:
			if err := x.w.do(func(tx *status.Tx) error { return tx.DeleteToken(m.MappingUID, s.status()) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// statusWriter groups status writes into transactions of up to statusBatch actions or
// one second, making the storages' writes durable before each commit.
type statusWriter struct {
	db      *status.DB
	durable []storage.Durable
	tx      *status.Tx
	n       int
	started time.Time

	// Writes queued for the current transaction, written a few dozen rows per
	// statement before anything else is (flush): status rows to insert, pending-write
	// records to add and to delete, all of mapping uid.
	uid     int64
	inserts []status.Row
	pending []status.Pending
	unpends [2][]string // by side: a, b
}

// statusBatch is how many status writes a transaction groups at most. A crash loses at
// most the status of the writes since the last commit, and the pending-write records
// (committed before those writes began) let the next run record them.
const statusBatch = 1000

// do runs fn in the current transaction and commits once the batch is full.
func (w *statusWriter) do(fn func(*status.Tx) error) error {
	if err := w.stage(fn); err != nil {
		return err
	}
	return w.counted()
}

// queue counts one write whose status change fn only queues (insert, unpend), without
// first flushing what is queued as do does, so that queued rows are written many to a
// statement.
func (w *statusWriter) queue(fn func()) error {
	if err := w.begin(); err != nil {
		return err
	}
	fn()
	return w.counted()
}

// counted counts one write and commits once the batch is full.
func (w *statusWriter) counted() error {
	w.n++
	if w.n >= statusBatch || time.Since(w.started) > time.Second {
		return w.commit()
	}
	return nil
}

// stage runs fn in the current transaction (after the queued writes), leaving the
// commit to the caller.
func (w *statusWriter) stage(fn func(*status.Tx) error) error {
	if err := w.begin(); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := fn(w.tx); err != nil {
		cerr := w.commit()
		return errFatal{errors.Join(fmt.Errorf("writing status: %w", err), cerr)}
	}
	return nil
}

func (w *statusWriter) begin() error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.db.Begin()
	if err != nil {
		return errFatal{fmt.Errorf("writing status: %w", err)}
	}
	w.tx, w.n, w.started = tx, 0, time.Now()
	return nil
}

// insert queues the insertion of a status row of mapping uid (inside a do or stage
// function, whose write it is part of).
func (w *statusWriter) insert(uid int64, r status.Row) {
	w.uid = uid
	w.inserts = append(w.inserts, r)
}

// unpend queues the deletion of the pending-write record of ident on side.
func (w *statusWriter) unpend(uid int64, side status.Side, ident string) {
	w.uid = uid
	i := 0
	if side == status.SideB {
		i = 1
	}
	w.unpends[i] = append(w.unpends[i], ident)
}

// addPending queues a pending-write record; it is written by the next commit, which
// the caller makes before the write starts.
func (w *statusWriter) addPending(uid int64, p status.Pending) error {
	if err := w.begin(); err != nil {
		return err
	}
	w.uid = uid
	w.pending = append(w.pending, p)
	return nil
}

// flush writes the queued writes in the current transaction: records of writes about
// to start, then the rows and the records they replace.
func (w *statusWriter) flush() error {
	if w.tx == nil || len(w.inserts)+len(w.pending)+len(w.unpends[0])+len(w.unpends[1]) == 0 {
		return nil
	}
	err := w.tx.AddPendingMany(w.uid, w.pending)
	if err == nil {
		err = w.tx.InsertMany(w.uid, w.inserts)
	}
	for i, side := range []status.Side{status.SideA, status.SideB} {
		if err == nil {
			err = w.tx.DeletePendingMany(w.uid, side, w.unpends[i])
		}
	}
	w.inserts, w.pending, w.unpends = w.inserts[:0], w.pending[:0], [2][]string{w.unpends[0][:0], w.unpends[1][:0]}
	if err != nil {
		// As for a failed statement in stage: what succeeded describes writes that
		// happened; the failed statement's rows are recovered next run from their
		// pending records.
		cerr := w.commit()
		return errFatal{errors.Join(fmt.Errorf("writing status: %w", err), cerr)}
	}
	return nil
}

func (w *statusWriter) commit() error {
	if w.tx == nil {
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	tx := w.tx
	w.tx = nil
	for _, d := range w.durable {
		if err := d.Flush(context.Background()); err != nil {
			_ = tx.Rollback()
			return errFatal{fmt.Errorf("making writes durable: %w", err)}
		}
	}
	if err := tx.Commit(); err != nil {
		return errFatal{fmt.Errorf("writing status: %w", err)}
	}
	return nil
}

// close commits what is pending: every statement in the transaction succeeded and
// describes a storage write that has happened.
func (w *statusWriter) close() { _ = w.commit() }

// graceContext returns a context that is not cancelled with parent but only `grace`
// after parent is done, so that writes in flight can finish.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}
