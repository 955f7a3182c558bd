package dav

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

// Storage is one CalDAV or CardDAV storage. It implements storage.Storage and
// storage.Incremental. It is safe for concurrent use.
type Storage struct {
	opts    Options
	kind    storage.Kind
	segment string
	ep      endpoint
	c       *client
	log     *slog.Logger

	bootMu   sync.Mutex // serialises bootstrap
	writes   hrefLocks  // one write per href at a time
	mu       sync.Mutex // guards the fields below
	boot     *bootResult
	colls    map[string]*collInfo // status href → collection (discovered or probed)
	wire     map[string]*url.URL  // status href → absolute URL from the server's wire href
	bad      map[string]error     // hrefs that broke the origin rule → their item error
	noREPORT bool                 // multiget answered 405/501: fetch with GET

}

// New creates a storage. It does no I/O: bootstrap happens on the first Check or
// Discover (and is retried by later calls while it keeps failing).
func New(opts Options) (*Storage, error) {
	if opts.Kind != storage.Calendars && opts.Kind != storage.Contacts {
		return nil, fmt.Errorf("storage %s: kind must be calendars or contacts", opts.Name)
	}
	ep, err := opts.endpoint()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	seg, err := opts.segment()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With("storage", opts.Name)
	c, err := newClient(&opts, ep, log)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	return &Storage{
		opts:    opts,
		kind:    opts.Kind,
		segment: seg,
		ep:      ep,
		c:       c,
		log:     log,
		colls:   map[string]*collInfo{},
		wire:    map[string]*url.URL{},
		bad:     map[string]error{},
	}, nil
}

var (
	_ storage.Storage     = (*Storage)(nil)
	_ storage.Incremental = (*Storage)(nil)
)

// Kind reports whether the storage holds calendars or contacts.
func (s *Storage) Kind() storage.Kind { return s.kind }

// Requests returns the number of HTTP requests (attempts, retries included) this
// storage has sent so far.
func (s *Storage) Requests() int64 { return s.c.st.requests.Load() }

// Check runs the bootstrap (storages.md §2.1 steps 1–6).
func (s *Storage) Check(ctx context.Context) error {
	s.mu.Lock()
	if s.boot != nil && s.boot.cached {
		s.boot = nil // Check verifies the server, not the cache
	}
	s.mu.Unlock()
	_, err := s.bootstrapWith(ctx, false)
	return err
}

// CheckDetails says what a successful Check verified, for `pimsync check`.
func (s *Storage) CheckDetails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.boot == nil {
		return nil
	}
	capability := "CalDAV"
	if s.kind == storage.Contacts {
		capability = "CardDAV"
	}
	out := []string{"reachable at " + redact(s.boot.context)}
	if s.opts.HasAuth || s.opts.Username != "" {
		out = append(out, "authenticated as "+s.opts.Username)
	}
	out = append(out, capability, "principal "+s.boot.principal.Path)
	for _, h := range s.boot.homeSets {
		out = append(out, "home set "+h.Path)
	}
	return out
}

// HomeSets returns the home-set URLs found by bootstrap (nil before it succeeded).
func (s *Storage) HomeSets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.boot == nil {
		return nil
	}
	out := make([]string, len(s.boot.homeSets))
	for i, u := range s.boot.homeSets {
		out[i] = redact(u)
	}
	return out
}

// rememberWire records the wire URL of a status href.
func (s *Storage) rememberWire(status string, u *url.URL) {
	s.mu.Lock()
	s.wire[status] = u
	s.mu.Unlock()
}

// forgetHref drops what is known about an href.
func (s *Storage) forgetHref(status string) {
	s.mu.Lock()
	delete(s.wire, status)
	delete(s.bad, status)
	s.mu.Unlock()
}

// markBad records an href that broke the origin rule.
func (s *Storage) markBad(status string, err error) {
	s.mu.Lock()
	s.bad[status] = err
	s.mu.Unlock()
}

// itemURL returns the URL to request for the item at status href within the
// collection ci (nil: find the collection from the href). It enforces the origin rule.
func (s *Storage) itemURL(href string, ci *collInfo) (*url.URL, *collInfo, error) {
	s.mu.Lock()
	bad, isBad := s.bad[href]
	u := s.wire[href]
	if ci == nil {
		ci = s.parentLocked(href)
	}
	s.mu.Unlock()
	if isBad {
		return nil, ci, bad
	}
	if ci == nil {
		return nil, nil, fmt.Errorf("%w: href %s is not inside any known collection", storage.ErrInvalidData, href)
	}
	if !insidePath(href, ci.path()) {
		return nil, ci, errOrigin(href, ci.href)
	}
	if u == nil {
		var err error
		if u, err = urlForPath(ci.url, href); err != nil {
			return nil, ci, err
		}
	}
	if !insideCollection(u, ci.url) {
		return nil, ci, errOrigin(href, ci.href)
	}
	return u, ci, nil
}

// parentLocked finds the known collection with the longest path that contains href.
func (s *Storage) parentLocked(href string) *collInfo {
	var best *collInfo
	for _, ci := range s.colls {
		if insidePath(href, ci.path()) && (best == nil || len(ci.path()) > len(best.path())) {
			best = ci
		}
	}
	return best
}

// bootstrapTimeout bounds the bootstrap started by CollectionHref, which has no context.
const bootstrapTimeout = 2 * time.Minute
