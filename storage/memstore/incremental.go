package memstore

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// IncrementalStore is a Store that implements storage.Incremental, so that the engine's
// token paths can be tested without DAV. A collection's token changes with every change
// of its items (including Put and Remove) and not with property changes.
type IncrementalStore struct {
	*Store
}

var _ storage.Incremental = (*IncrementalStore)(nil)

// NewIncremental returns an incremental store whose tokens have the given kind:
// "sync-token" answers ListSince with deltas when the saved token allows it, any other
// kind (such as "ctag") only with Unchanged or a full listing. Discover reports the
// current tokens.
func NewIncremental(kind storage.Kind, tokenKind string) *IncrementalStore {
	s := New(kind)
	s.incremental, s.tokenKind = true, tokenKind
	return &IncrementalStore{s}
}

// ListSince implements storage.Incremental.
func (s *IncrementalStore) ListSince(ctx context.Context, collection string, saved storage.Token) (storage.Listing, error) {
	return s.list(ctx, collection, saved)
}

// ExpireTokens makes every token handed out so far unusable for deltas, as a server
// that forgot them: the next ListSince with one answers with a full listing.
func (s *IncrementalStore) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minToken = s.seq + 1
}

const tokenPrefix = "mem-"

// token is c's current token. s.mu must be held.
func (s *Store) token(c *collection) storage.Token {
	return storage.Token{Kind: s.tokenKind, Value: tokenPrefix + strconv.FormatUint(c.version, 10)}
}

// list is List and ListSince; saved is ignored unless the store is incremental.
func (s *Store) list(ctx context.Context, collection string, saved storage.Token) (l storage.Listing, err error) {
	defer s.log(OpList, collection, &err)
	coll, err := collectionHref(OpList, collection)
	if err != nil {
		return l, err
	}
	if err := s.begin(ctx, OpList, coll); err != nil {
		return l, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collection(OpList, coll)
	if err != nil {
		return l, err
	}
	s.lists++
	if s.incremental {
		l.Token = s.token(c)
		v, err := strconv.ParseUint(strings.TrimPrefix(saved.Value, tokenPrefix), 10, 64)
		usable := err == nil && saved.Kind == s.tokenKind && v >= c.created && v >= s.minToken && v <= c.version
		switch {
		case usable && saved == l.Token:
			l.Unchanged = true
			return l, nil
		case usable && s.tokenKind == "sync-token":
			l.Delta = true
			for _, href := range slices.Sorted(maps.Keys(c.changed)) {
				if c.changed[href] <= v {
					continue
				}
				if e, ok := c.items[href]; ok {
					l.Refs = append(l.Refs, storage.ItemRef{Href: href, ETag: e.etag})
				} else {
					l.Removed = append(l.Removed, href)
				}
			}
			return l, nil
		}
	}
	l.Refs = make([]storage.ItemRef, 0, len(c.items))
	for _, href := range slices.Sorted(maps.Keys(c.items)) {
		l.Refs = append(l.Refs, storage.ItemRef{Href: href, ETag: c.items[href].etag})
	}
	return l, nil
}
