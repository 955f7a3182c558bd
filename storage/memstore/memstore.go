// Package memstore is an in-memory reference storage for engine tests. It follows the
// vdir rules for hrefs ("<collection>" and "<collection>/<name>.<ext>", names from
// vdir.FileNames) and keeps item bytes exactly as written, so that it behaves like a
// vdir that is fast, safe for concurrent use and easy to fault.
//
// Besides storage.Storage it offers test helpers: direct seeding and inspection (Put,
// Remove, AddCollection, RemoveCollection, PutProperty, Snapshot), fault injection
// (FailOn, FailNthWrite, FailNthWriteAfter) and counters (Reads, Writes, Lists, Calls).
// NewIncremental returns a Store that also implements storage.Incremental.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// Operation names passed to FailOn hooks and recorded in Calls.
const (
	OpCheck            = "check"
	OpDiscover         = "discover"
	OpCreateCollection = "create collection"
	OpDeleteCollection = "delete collection"
	OpList             = "list"      // List and ListSince
	OpGetBatch         = "get batch" // once per Get call, with the collection href
	OpGet              = "get"       // once per distinct href of a Get
	OpCreate           = "create"
	OpUpdate           = "update"
	OpDelete           = "delete"
	OpProperties       = "properties"
	OpSetProperty      = "set property"
	OpDeleteProperty   = "delete property"
)

// Store is an in-memory storage. The zero value is not usable; call New.
type Store struct {
	kind storage.Kind
	ext  string

	mu          sync.Mutex
	colls       map[string]*collection
	seq         uint64 // global change counter: etags and tokens come from it
	failOn      func(op, href string) error
	faults      []*fault
	calls       []Call
	reads       int
	writes      int
	lists       int
	incremental bool
	tokenKind   string
	minToken    uint64 // saved tokens older than this are refused (ExpireTokens)
}

type collection struct {
	items   map[string]entry  // by href
	props   map[string]string // exact values as written
	created uint64            // seq at creation
	version uint64            // seq of the last item change
	changed map[string]uint64 // href → seq of its last change, removals included
}

type entry struct {
	raw  []byte
	etag string
}

// Call is one recorded API call.
type Call struct {
	Op   string
	Href string // item href, or collection href for collection-level calls
	Err  error  // what the call (or, for OpGet, that href) returned
}

var _ storage.Storage = (*Store)(nil)

// New returns an empty store for items of kind, with file extension kind.Ext().
func New(kind storage.Kind) *Store {
	return &Store{kind: kind, ext: kind.Ext(), colls: make(map[string]*collection)}
}

// Kind implements storage.Storage.
func (s *Store) Kind() storage.Kind { return s.kind }

// Check implements storage.Storage; only a FailOn hook can make it fail.
func (s *Store) Check(ctx context.Context) (err error) {
	defer s.log(OpCheck, "", &err)
	return s.begin(ctx, OpCheck, "")
}

// Discover implements storage.Storage, in href order. An incremental store reports each
// collection's current token.
func (s *Store) Discover(ctx context.Context) (_ []storage.Collection, err error) {
	defer s.log(OpDiscover, "", &err)
	if err := s.begin(ctx, OpDiscover, ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.Collection
	for _, href := range slices.Sorted(maps.Keys(s.colls)) {
		c := storage.Collection{ID: href, Href: href}
		if s.incremental {
			c.Token = s.token(s.colls[href])
		}
		out = append(out, c)
	}
	return out, nil
}

// CollectionHref implements storage.Storage: the href is the id, as in vdir.
func (s *Store) CollectionHref(id string) (string, error) {
	return collectionHref("collection href", id)
}

// CreateCollection implements storage.Storage; an existing collection is success.
func (s *Store) CreateCollection(ctx context.Context, href string) (err error) {
	defer s.log(OpCreateCollection, href, &err)
	href, err = collectionHref(OpCreateCollection, href)
	if err != nil {
		return err
	}
	if err := s.begin(ctx, OpCreateCollection, href); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addCollection(href)
	return nil
}

// DeleteCollection implements storage.Storage.
func (s *Store) DeleteCollection(ctx context.Context, href string) (err error) {
	defer s.log(OpDeleteCollection, href, &err)
	href, err = collectionHref(OpDeleteCollection, href)
	if err != nil {
		return err
	}
	if err := s.begin(ctx, OpDeleteCollection, href); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collection(OpDeleteCollection, href)
	if err != nil {
		return err
	}
	if len(c.items) > 0 {
		return &storage.Error{Kind: storage.ErrCollectionNotEmpty, Op: OpDeleteCollection, Href: href,
			Err: fmt.Errorf("%w: %d items remain", storage.ErrCollectionNotEmpty, len(c.items))}
	}
	delete(s.colls, href)
	return nil
}

// List implements storage.Storage, in href order.
func (s *Store) List(ctx context.Context, collection string) ([]storage.ItemRef, error) {
	l, err := s.list(ctx, collection, storage.Token{})
	return l.Refs, err
}

// Get implements storage.Storage. Each stored text is checked with storage.ParseItem,
// as vdir does when it reads a file. The FailOn hook is asked once for the call
// (OpGetBatch with the collection href; an error fails the whole call) and then once per
// distinct href (OpGet; an error becomes that href's error).
func (s *Store) Get(ctx context.Context, collection string, hrefs []string) (_ []storage.Fetched, err error) {
	defer s.log(OpGetBatch, collection, &err)
	coll, err := collectionHref(OpGetBatch, collection)
	if err != nil {
		return nil, err
	}
	if err := s.begin(ctx, OpGetBatch, coll); err != nil {
		return nil, err
	}
	s.mu.Lock()
	_, err = s.collection(OpGetBatch, coll)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []storage.Fetched
	seen := make(map[string]bool, len(hrefs))
	for _, href := range hrefs {
		if seen[href] {
			continue
		}
		seen[href] = true
		f := s.fetch(ctx, coll, href)
		s.log(OpGet, href, &f.Err)
		out = append(out, f)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) fetch(ctx context.Context, coll, href string) storage.Fetched {
	f := storage.Fetched{Href: href}
	c, _, err := vdir.SplitItemHref(href, s.ext)
	if err == nil && c != coll {
		err = fmt.Errorf("%w: item href %q is not in collection %q", storage.ErrInvalidData, href, coll)
	}
	if err != nil {
		f.Err = &storage.Error{Kind: storage.ErrInvalidData, Op: OpGet, Href: href, Err: err}
		return f
	}
	if f.Err = s.begin(ctx, OpGet, href); f.Err != nil {
		return f
	}
	s.mu.Lock()
	s.reads++
	e, ok := s.colls[coll].lookup(href)
	s.mu.Unlock()
	if !ok {
		f.Err = &storage.Error{Kind: storage.ErrNotFound, Op: OpGet, Href: href}
		return f
	}
	item, err := storage.ParseItem(e.raw, s.kind)
	if err != nil {
		f.Err = &storage.Error{Kind: storage.ErrInvalidData, Op: OpGet, Href: href, Err: err}
		return f
	}
	f.ETag, f.Item = e.etag, item
	return f
}

// lookup finds href in c, which may be nil (the collection went away).
func (c *collection) lookup(href string) (entry, bool) {
	if c == nil {
		return entry{}, false
	}
	e, ok := c.items[href]
	return e, ok
}

// Create implements storage.Storage: the first free name of vdir.FileNames, never
// overwriting. The FailOn hook is asked with the href the item would get first.
func (s *Store) Create(ctx context.Context, collection string, item storage.Item) (href, etag string, err error) {
	defer s.log(OpCreate, collection, &err)
	coll, err := collectionHref(OpCreate, collection)
	if err != nil {
		return "", "", err
	}
	names := vdir.FileNames(item, s.ext)
	after, err := s.beginWrite(ctx, OpCreate, coll+"/"+names[0])
	if err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collection(OpCreate, coll)
	if err != nil {
		return "", "", err
	}
	for _, name := range names {
		href = coll + "/" + name
		if _, taken := c.items[href]; !taken {
			etag = s.put(c, href, item.Bytes())
			s.writes++
			if after != nil {
				return "", "", after
			}
			return href, etag, nil
		}
	}
	return "", "", &storage.Error{Kind: storage.ErrPrecondition, Op: OpCreate, Href: coll,
		Err: fmt.Errorf("%w: names already taken: %s", storage.ErrPrecondition, strings.Join(names, ", "))}
}

// Update implements storage.Storage.
func (s *Store) Update(ctx context.Context, href, etag string, item storage.Item) (_ string, err error) {
	defer s.log(OpUpdate, href, &err)
	coll, after, err := s.beginItemWrite(ctx, OpUpdate, href)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.colls[coll].lookup(href)
	switch {
	case !ok:
		return "", &storage.Error{Kind: storage.ErrNotFound, Op: OpUpdate, Href: href, Err: errors.New("item no longer exists")}
	case e.etag != etag:
		return "", changed(OpUpdate, href)
	}
	newTag := s.put(s.colls[coll], href, item.Bytes())
	s.writes++
	if after != nil {
		return "", after
	}
	return newTag, nil
}

// Delete implements storage.Storage.
func (s *Store) Delete(ctx context.Context, href, etag string) (err error) {
	defer s.log(OpDelete, href, &err)
	coll, after, err := s.beginItemWrite(ctx, OpDelete, href)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.colls[coll].lookup(href)
	switch {
	case !ok:
		return nil
	case e.etag != etag:
		return changed(OpDelete, href)
	}
	s.remove(s.colls[coll], href)
	s.writes++
	return after
}

// beginItemWrite validates an item href and runs beginWrite; it returns the collection.
func (s *Store) beginItemWrite(ctx context.Context, op, href string) (coll string, after, err error) {
	coll, _, err = vdir.SplitItemHref(href, s.ext)
	if err != nil {
		return "", nil, &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
	}
	after, err = s.beginWrite(ctx, op, href)
	return coll, after, err
}

// Properties implements storage.Storage: trimmed values, blank ones left out.
func (s *Store) Properties(ctx context.Context, collection string) (_ map[string]string, err error) {
	defer s.log(OpProperties, collection, &err)
	coll, err := collectionHref(OpProperties, collection)
	if err != nil {
		return nil, err
	}
	if err := s.begin(ctx, OpProperties, coll); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collection(OpProperties, coll)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string)
	for name, v := range c.props {
		if v = strings.TrimSpace(v); v != "" {
			props[name] = v
		}
	}
	return props, nil
}

// SetProperty implements storage.Storage; the exact value is kept.
func (s *Store) SetProperty(ctx context.Context, collection, name, value string) error {
	return s.writeProperty(ctx, OpSetProperty, collection, name, &value)
}

// DeleteProperty implements storage.Storage.
func (s *Store) DeleteProperty(ctx context.Context, collection, name string) error {
	return s.writeProperty(ctx, OpDeleteProperty, collection, name, nil)
}

// writeProperty sets (value != nil) or removes a property.
func (s *Store) writeProperty(ctx context.Context, op, collection, name string, value *string) (err error) {
	defer s.log(op, collection, &err)
	coll, err := collectionHref(op, collection)
	if err != nil {
		return err
	}
	if !slices.Contains(storage.PropertyNames(s.kind), name) {
		return &storage.Error{Kind: storage.ErrUnsupported, Op: op, Href: coll,
			Err: fmt.Errorf("%w: no property %q for %s", storage.ErrUnsupported, name, s.kind)}
	}
	after, err := s.beginWrite(ctx, op, coll)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collection(op, coll)
	if err != nil {
		return err
	}
	if value == nil {
		delete(c.props, name)
	} else {
		c.props[name] = *value
	}
	s.writes++
	return after
}

// collectionHref validates a collection href with the vdir rules.
func collectionHref(op, href string) (string, error) {
	h, err := vdir.CleanCollectionHref(href)
	if err != nil {
		return "", &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
	}
	return h, nil
}

// collection returns the collection at href or ErrNotFound. s.mu must be held.
func (s *Store) collection(op, href string) (*collection, error) {
	c := s.colls[href]
	if c == nil {
		return nil, &storage.Error{Kind: storage.ErrNotFound, Op: op, Href: href, Err: errors.New("no such collection")}
	}
	return c, nil
}

func changed(op, href string) error {
	return &storage.Error{Kind: storage.ErrPrecondition, Op: op, Href: href, Err: errors.New("item changed since it was listed")}
}

// addCollection creates an empty collection unless it exists. s.mu must be held.
func (s *Store) addCollection(href string) *collection {
	if c := s.colls[href]; c != nil {
		return c
	}
	s.seq++
	c := &collection{items: make(map[string]entry), props: make(map[string]string),
		created: s.seq, version: s.seq, changed: make(map[string]uint64)}
	s.colls[href] = c
	return c
}

// put stores raw at href with a fresh etag and returns it. s.mu must be held.
func (s *Store) put(c *collection, href string, raw []byte) string {
	s.seq++
	e := entry{raw: slices.Clone(raw), etag: fmt.Sprintf("m-%d", s.seq)}
	c.items[href] = e
	c.version, c.changed[href] = s.seq, s.seq
	return e.etag
}

// remove deletes href from c. s.mu must be held.
func (s *Store) remove(c *collection, href string) {
	s.seq++
	delete(c.items, href)
	c.version, c.changed[href] = s.seq, s.seq
}
