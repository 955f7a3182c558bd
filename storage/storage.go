// Package storage defines what every pimsync storage backend offers the sync engine:
// the Storage interface, the Item value and the error kinds. Backends live in
// sub-packages (vdir, caldav, carddav, webcal, memstore); this package imports nothing
// of the project's.
//
// Hrefs are always in the status form of storages.md: a vdir collection is its directory
// name and an item "<collection>/<file>"; a DAV href is the percent-decoded URL path.
// Backends keep any other form they need (such as the exact href a server sent) to
// themselves.
package storage

import (
	"context"
	"log/slog"
)

// LevelTrace is the log level below debug (`-v trace`); trace logs may contain item
// data and secrets.
const LevelTrace = slog.LevelDebug - 4

// Kind says what a storage holds.
type Kind int

const (
	Calendars Kind = iota + 1 // iCalendar objects (.ics)
	Contacts                  // vCards (.vcf)
)

// Component is the top-level component name of the kind's items.
func (k Kind) Component() string {
	if k == Contacts {
		return "VCARD"
	}
	return "VCALENDAR"
}

// Ext is the conventional file extension (without dot) for the kind.
func (k Kind) Ext() string {
	if k == Contacts {
		return "vcf"
	}
	return "ics"
}

func (k Kind) String() string {
	switch k {
	case Calendars:
		return "calendars"
	case Contacts:
		return "contacts"
	}
	return "unknown"
}

// Property names, as used in the status database (sync.md §12).
const (
	PropDisplayName = "displayname"
	PropColor       = "color"
	PropDescription = "description"
	PropOrder       = "order"
)

// PropertyNames returns the collection properties that items of kind k support.
func PropertyNames(k Kind) []string {
	if k == Contacts {
		return []string{PropDisplayName, PropDescription}
	}
	return []string{PropDisplayName, PropColor, PropDescription, PropOrder}
}

// Collection is one discovered collection.
type Collection struct {
	ID   string // collection id (config.md §7)
	Href string // status-form href
	// Token is the collection's change token seen during discovery (DAV sync-token or
	// ctag), or the zero Token when the storage has none. See Incremental.
	Token Token
}

// Token is an opaque collection-level change token.
type Token struct {
	Kind  string // "sync-token", "ctag", "http-etag", "http-last-modified"
	Value string
}

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.Value == "" }

// ItemRef is one entry of a listing.
type ItemRef struct {
	Href string
	ETag string // "" means unknown: the item must be fetched every time
}

// Fetched is the result for one href of Get.
type Fetched struct {
	Href string
	ETag string
	Item Item
	// Err is set when this href could not be fetched (gone, unreadable, not valid
	// UTF-8, not a syntactically valid component). The item is then "listed but not
	// fetchable" (sync.md §6.2).
	Err error
}

// Storage is one configured storage. Every method takes a context and must return
// promptly when it is cancelled. Errors wrap one of the Err* kinds where one applies.
type Storage interface {
	// Kind reports whether the storage holds calendars or contacts.
	Kind() Kind

	// Check verifies that the storage is usable (a vdir root is a directory, a DAV
	// server answers and has a home set, ...). It does not list items.
	Check(ctx context.Context) error

	// Discover lists the storage's collections. It fails as a whole (the pair cannot be
	// planned without it).
	Discover(ctx context.Context) ([]Collection, error)

	// CollectionHref returns the href that a collection with the given id has (or would
	// have when created). ErrUnsupported when the storage cannot derive one.
	CollectionHref(id string) (string, error)

	// CreateCollection creates an empty collection. An existing collection counts as
	// success. ErrUnsupported / ErrReadOnly when impossible.
	CreateCollection(ctx context.Context, href string) error

	// DeleteCollection deletes a collection only if it holds no items:
	// ErrCollectionNotEmpty otherwise. ErrNotFound if it does not exist.
	DeleteCollection(ctx context.Context, href string) error

	// List returns every item of a collection as (href, etag). ErrNotFound if the
	// collection does not exist. The order is unspecified; duplicates are removed.
	List(ctx context.Context, collection string) ([]ItemRef, error)

	// Get fetches items of one collection. It returns one Fetched per distinct requested
	// href, in any order, each with its own error; one bad item never fails the call.
	// The returned error is for failures of the whole call only (collection gone,
	// connection lost).
	Get(ctx context.Context, collection string, hrefs []string) ([]Fetched, error)

	// Create stores a new item in a collection and returns its href and etag. It never
	// overwrites anything: if the name derived from the item is taken (by another
	// ident), it tries the hash name, and otherwise fails with ErrPrecondition. The
	// returned etag may be "" when the storage could not tell it.
	Create(ctx context.Context, collection string, item Item) (href, etag string, err error)

	// Update replaces the item at href if its current etag equals etag
	// (ErrPrecondition otherwise; ErrNotFound if it is gone) and returns the new etag,
	// which may be "" when unknown.
	Update(ctx context.Context, href, etag string, item Item) (newETag string, err error)

	// Delete removes the item at href if its current etag equals etag
	// (ErrPrecondition otherwise). An item that is already gone counts as success.
	Delete(ctx context.Context, href, etag string) error

	// Properties returns the collection's properties (names from PropertyNames),
	// trimmed; absent or empty ones are left out.
	Properties(ctx context.Context, collection string) (map[string]string, error)

	// SetProperty writes one collection property.
	SetProperty(ctx context.Context, collection, name, value string) error

	// DeleteProperty removes one collection property; removing an absent one succeeds.
	DeleteProperty(ctx context.Context, collection, name string) error
}

// ReadOnlyReporter is implemented by storages that are read-only by nature or by
// configuration (webcal, the ReadOnly wrapper). The engine plans writes to them as
// read-only skips instead of attempting them.
type ReadOnlyReporter interface {
	ReadOnly() bool
}

// IsReadOnly reports whether s says it is read-only.
func IsReadOnly(s Storage) bool {
	r, ok := s.(ReadOnlyReporter)
	return ok && r.ReadOnly()
}

// NoProperties is implemented by storages that have no collection properties at all
// (webcal). No property actions are planned for their mappings.
type NoProperties interface {
	HasProperties() bool
}

// HasProperties reports whether property sync applies to s.
func HasProperties(s Storage) bool {
	if p, ok := s.(NoProperties); ok {
		return p.HasProperties()
	}
	return true
}

// PropertyCreator is implemented by storages that can set collection properties in the
// request that creates the collection (DAV MKCALENDAR and extended MKCOL bodies), so
// that a server never shows a collection with properties it invented meanwhile.
// CreateCollectionWith behaves like CreateCollection; afterwards Properties reports
// what the storage really holds (the engine reads them back to learn values the
// storage invented or normalised, which are never copied to the other side).
type PropertyCreator interface {
	CreateCollectionWith(ctx context.Context, href string, props map[string]string) error
}

// Listing is the answer of Incremental.ListSince.
type Listing struct {
	// Unchanged: the collection has not changed since the saved token; Refs and
	// Removed are empty and the items are exactly those of the last sync.
	Unchanged bool
	// Delta: Refs are the changed or added items and Removed the hrefs that are gone;
	// every other item is as at the last sync. When neither Unchanged nor Delta is set,
	// Refs is a full listing.
	Delta   bool
	Refs    []ItemRef
	Removed []string
	// Token is the token that describes the collection as of this listing (taken
	// before any write of this run), to be saved after a clean run; zero if none.
	Token Token
}

// Incremental is implemented by storages that can tell cheaply what changed since a
// saved token (DAV sync-token or ctag, webcal conditional GET).
type Incremental interface {
	// ListSince lists a collection given the token saved after the last clean sync
	// (zero if none). It falls back to a full listing whenever the token cannot be
	// used. ErrNotFound if the collection does not exist.
	ListSince(ctx context.Context, collection string, saved Token) (Listing, error)
}

// Streamer is implemented by storages that can list a collection one item at a time
// without building the listing in memory (vdir). ListEach calls fn once for every
// entry List would return, in no particular order, and stops at the first error fn
// returns (which it returns). href and etag are only valid during the call: fn copies
// what it keeps. Errors are those of List.
type Streamer interface {
	ListEach(ctx context.Context, collection string, fn func(href, etag []byte) error) error
}

// Verbatim is implemented by storages that keep an item exactly as it was written
// (vdir): until someone else changes it, reading it back gives the bytes written, so
// the item's hash alone recognises a write of ours. A server may re-serialise what it
// is sent (storage.Fingerprint recognises that); a Verbatim storage never does.
type Verbatim interface {
	StoresVerbatim() bool
}

// StoresVerbatim reports whether s keeps items exactly as written (Verbatim).
func StoresVerbatim(s Storage) bool {
	v, ok := s.(Verbatim)
	return ok && v.StoresVerbatim()
}

// Durable is implemented by storages that batch durability: after Flush returns, every
// write that has returned before the call is durable. The engine calls it before it
// commits the status rows of a batch of writes.
type Durable interface {
	Flush(ctx context.Context) error
}

// Watcher is implemented by storages that can report changes as they happen (vdir via
// inotify). Watch blocks until ctx is done, calling notify (possibly often; callers
// debounce) whenever something in the storage may have changed. It returns an error if
// watching cannot start or breaks; callers then fall back to polling.
type Watcher interface {
	Watch(ctx context.Context, notify func()) error
}
