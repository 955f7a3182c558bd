package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/pimsync-go/pimsync/storage/vdir"
)

// fault is a pending FailNthWrite or FailNthWriteAfter.
type fault struct {
	n     int // writes left until it fires
	err   error
	after bool // apply the write, then fail
}

// FailOn installs hook, which is called before every operation with the operation name
// (Op*) and the href it is about: the item href for item operations (for OpCreate the
// href the item would get first), the collection href for collection-level ones, ""
// for OpCheck and OpDiscover. A non-nil result fails the operation with exactly that
// error, before anything is changed; for OpGet it becomes that href's Fetched.Err. The
// hook runs without the store's lock held, so it may call the store (for example Put,
// to simulate a concurrent edit). nil removes the hook.
func (s *Store) FailOn(hook func(op, href string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOn = hook
}

// FailNthWrite makes the n-th write from now (n >= 1) fail with err without changing
// anything. Writes are Create, Update, Delete, SetProperty and DeleteProperty calls that
// pass href validation and the FailOn hook; collection creation and deletion do not
// count.
func (s *Store) FailNthWrite(n int, err error) { s.addFault(n, err, false) }

// FailNthWriteAfter is FailNthWrite, except that the write is applied before err is
// returned: a lost response, or a crash between a write and its status update.
func (s *Store) FailNthWriteAfter(n int, err error) { s.addFault(n, err, true) }

func (s *Store) addFault(n int, err error, after bool) {
	if n < 1 || err == nil {
		panic("memstore: FailNthWrite needs n >= 1 and an error")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{n: n, err: err, after: after})
}

// begin checks ctx and asks the FailOn hook. s.mu must not be held.
func (s *Store) begin(ctx context.Context, op, href string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	hook := s.failOn
	s.mu.Unlock()
	if hook != nil {
		return hook(op, href)
	}
	return nil
}

// beginWrite is begin for writes, which also count against pending faults. It returns
// err to fail now, or after to apply the write and then fail with after.
func (s *Store) beginWrite(ctx context.Context, op, href string) (after, err error) {
	if err := s.begin(ctx, op, href); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.faults[:0]
	for _, f := range s.faults {
		switch f.n--; {
		case f.n > 0:
			kept = append(kept, f)
		case f.after:
			after = f.err
		case err == nil:
			err = f.err
		}
	}
	s.faults = kept
	if err != nil {
		return nil, err
	}
	return after, nil
}

// log records one call. s.mu must not be held.
func (s *Store) log(op, href string, err *error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Op: op, Href: href, Err: *err})
}

// Reads returns how many items Get has looked up (one per distinct valid href that
// passed the FailOn hook).
func (s *Store) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Writes returns how many item and property writes have been applied through the
// Storage methods (seeding helpers do not count).
func (s *Store) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Lists returns how many List and ListSince calls reached a collection.
func (s *Store) Lists() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

// Calls returns every Storage call so far, in order. A Get call records one OpGet entry
// per distinct href (with that href's error) followed by one OpGetBatch entry for the
// call. CollectionHref and Kind are not recorded.
func (s *Store) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCounters zeroes Reads, Writes and Lists and empties Calls.
func (s *Store) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads, s.writes, s.lists, s.calls = 0, 0, 0, nil
}

// Snapshot is a deep copy of a store's contents, by collection href.
type Snapshot map[string]CollectionSnapshot

// CollectionSnapshot is the content of one collection.
type CollectionSnapshot struct {
	Items map[string]string // item href → text exactly as stored
	Props map[string]string // property → value exactly as written
}

// Snapshot returns a copy of everything in the store.
func (s *Store) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := make(Snapshot, len(s.colls))
	for href, c := range s.colls {
		cs := CollectionSnapshot{Items: make(map[string]string, len(c.items)), Props: maps.Clone(c.props)}
		for h, e := range c.items {
			cs.Items[h] = string(e.raw)
		}
		snap[href] = cs
	}
	return snap
}

// AddCollection creates an empty collection directly (no FailOn, no counters), as
// another client would. It panics on an invalid href.
func (s *Store) AddCollection(href string) {
	href = mustCollection(href)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addCollection(href)
}

// RemoveCollection deletes a collection with everything in it, as another client
// would. It reports whether the collection existed.
func (s *Store) RemoveCollection(href string) bool {
	href = mustCollection(href)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.colls[href]
	delete(s.colls, href)
	return ok
}

// Put stores raw at href directly and unconditionally (creating the collection if
// needed), as another client would, and returns the new etag. raw is kept exactly, so
// invalid items can be planted too. It panics on an invalid href.
func (s *Store) Put(href, raw string) (etag string) {
	coll, _, err := vdir.SplitItemHref(href, s.ext)
	if err != nil {
		panic("memstore: Put: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(s.addCollection(coll), href, []byte(raw))
}

// Remove deletes the item at href directly, as another client would, and reports
// whether it existed.
func (s *Store) Remove(href string) bool {
	coll, _, err := vdir.SplitItemHref(href, s.ext)
	if err != nil {
		panic("memstore: Remove: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.colls[coll]
	if _, ok := c.lookup(href); !ok {
		return false
	}
	s.remove(c, href)
	return true
}

// PutProperty sets a property directly (creating the collection if needed), as
// another client would. Any name is accepted.
func (s *Store) PutProperty(collection, name, value string) {
	collection = mustCollection(collection)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addCollection(collection).props[name] = value
}

func mustCollection(href string) string {
	h, err := vdir.CleanCollectionHref(href)
	if err != nil {
		panic("memstore: " + err.Error())
	}
	return h
}

// String describes the store briefly, for test failure messages.
func (s *Store) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.colls {
		n += len(c.items)
	}
	return fmt.Sprintf("memstore(%s: %d collections, %d items)", s.kind, len(s.colls), n)
}
