// Package webcal implements the read-only webcal storage (storages.md §3): one HTTP(S)
// iCalendar feed, presented as a single collection whose items are the feed's
// components grouped by UID.
//
// The feed is downloaded at most once per listing: List and ListSince fetch it (the
// latter with a conditional GET when a token from an earlier run is given) and keep the
// split items for the Get calls that follow. An item's href is its ident (the UID, or
// the hash for a component without one; an empty UID also gets the hash) and its etag
// is its hash, so unchanged items are never fetched again. Feeds that regenerate
// DTSTAMP or LAST-MODIFIED on every download cause no churn, because the hash ignores
// those; feeds that regenerate UIDs on every download cause a delete plus a create of
// every item on every run, which nothing can detect reliably.
//
// A feed that cannot be downloaded or is not an iCalendar feed is a collection error
// (*FeedError), never storage.ErrNotFound: a feed that is down must never delete
// anything. Writes of any kind fail with storage.ErrReadOnly (which also matches
// storage.ErrUnsupported).
package webcal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
)

const (
	// MaxRedirects is how many redirects a download follows (never from https to http).
	MaxRedirects = 5
	// maxFeedSize bounds the body (decompressed); a larger feed is an error rather
	// than a truncated (and therefore shrunken) listing. The whole feed and its items
	// are held in memory, so this bounds the memory of a download.
	maxFeedSize = 32 << 20
)

// Token kinds of the conditional GET (sync.md §3.7). A token's value is
// "<url key> <header value>": the url key (16 hex digits of the SHA-256 of the feed URL)
// ties the token to the URL it was taken from, so that changing `url` never turns a
// validator of the old feed (a Last-Modified date in particular) into a 304 for the
// new one; hashing keeps secret tokens in private feed URLs out of the status file.
const (
	TokenETag         = "http-etag"
	TokenLastModified = "http-last-modified"
)

// Options configure a webcal storage. The embedded dav.Options carry the storage name,
// the feed URL (http or https) and the HTTP settings shared with the DAV backends:
// credentials, UserAgent, the TLS fields, Logger and Sleep. Their Kind,
// CollectionIDSegment and Resolver are not used, and Socket must be empty.
type Options struct {
	dav.Options
	// CollectionID is the id and the href of the feed's single collection.
	CollectionID string
}

// Storage is one webcal feed. It implements storage.Storage, storage.Incremental,
// storage.ReadOnlyReporter and storage.NoProperties, and is safe for concurrent use.
type Storage struct {
	name string
	coll string
	url  *url.URL // the feed URL without user info
	key  string   // urlKey of url
	hc   *dav.HTTPClient
	log  *slog.Logger
	max  int64 // the item-size limit

	mu   sync.Mutex // held during a download, so that concurrent calls share it
	feed *feed      // the last download; nil before the first or when unusable
}

// feed is one downloaded and split feed.
type feed struct {
	token storage.Token              // its validator (zero if the server sent none)
	refs  []storage.ItemRef          // in feed order, hrefs distinct
	items map[string]storage.Fetched // href → item or per-item error
}

var (
	_ storage.Storage          = (*Storage)(nil)
	_ storage.Incremental      = (*Storage)(nil)
	_ storage.ReadOnlyReporter = (*Storage)(nil)
	_ storage.NoProperties     = (*Storage)(nil)
)

// New creates a webcal storage. It does no I/O.
func New(opts Options) (*Storage, error) {
	fail := func(format string, args ...any) (*Storage, error) {
		return nil, fmt.Errorf("storage %s: %s", opts.Name, fmt.Sprintf(format, args...))
	}
	if opts.CollectionID == "" {
		return fail("collection_id is required")
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold secrets
		}
		return fail("url is not a valid URL: %v", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "webcal", "webcals":
		return fail("%s:// URLs are not supported; write https:// instead", u.Scheme)
	default:
		return fail("unsupported URL scheme %q for a webcal storage (use http or https)", u.Scheme)
	}
	if u.Host == "" {
		return fail("url has no host")
	}
	if opts.Socket != "" {
		return fail("webcal storages cannot use a Unix socket")
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	hc, err := dav.NewHTTPClient(opts.Options, MaxRedirects)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	limit := opts.MaxItemSize
	if limit <= 0 {
		limit = storage.DefaultMaxItemSize
	}
	return &Storage{
		name: opts.Name,
		coll: opts.CollectionID,
		url:  u,
		key:  urlKey(u),
		hc:   hc,
		log:  log.With("storage", opts.Name),
		max:  limit,
	}, nil
}

// Kind reports storage.Calendars.
func (s *Storage) Kind() storage.Kind { return storage.Calendars }

// ReadOnly reports true: a feed is never written.
func (s *Storage) ReadOnly() bool { return true }

// HasProperties reports false: a feed has no collection properties (X-WR-CALNAME is not
// mapped to displayname).
func (s *Storage) HasProperties() bool { return false }

// URL returns the feed URL without credentials.
func (s *Storage) URL() string { return s.url.String() }

// Requests returns the number of HTTP requests sent so far (retries and redirect hops
// included).
func (s *Storage) Requests() int64 { return s.hc.Requests() }

// Check downloads the feed once and verifies that it is an iCalendar feed.
func (s *Storage) Check(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.download(ctx, storage.Token{})
	return err
}

// CheckDetails says what a successful Check verified, for `pimsync check`.
func (s *Storage) CheckDetails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feed == nil {
		return nil
	}
	return []string{"feed " + s.url.String(), fmt.Sprintf("%d items", len(s.feed.refs))}
}

// Discover reports the single configured collection without any request.
func (s *Storage) Discover(context.Context) ([]storage.Collection, error) {
	return []storage.Collection{{ID: s.coll, Href: s.coll}}, nil
}

// CollectionHref returns the href of the storage's own collection; any other id is an
// error (config.md §7).
func (s *Storage) CollectionHref(id string) (string, error) {
	if id != s.coll {
		return "", &storage.Error{Kind: storage.ErrUnsupported, Op: "collection " + id,
			Err: fmt.Errorf("webcal storage %s has only collection %s", s.name, s.coll)}
	}
	return s.coll, nil
}

// own checks that collection is the storage's collection.
func (s *Storage) own(op, collection string) error {
	if collection != s.coll {
		return &storage.Error{Kind: storage.ErrNotFound, Op: op, Href: collection,
			Err: fmt.Errorf("webcal storage %s has only collection %s", s.name, s.coll)}
	}
	return nil
}

// List downloads the feed and lists its items.
func (s *Storage) List(ctx context.Context, collection string) ([]storage.ItemRef, error) {
	l, err := s.ListSince(ctx, collection, storage.Token{})
	if err != nil {
		return nil, err
	}
	return l.Refs, nil
}

// ListSince downloads the feed, conditionally when saved is an http-etag
// (If-None-Match) or http-last-modified (If-Modified-Since) token taken from the same
// URL. A 304 answer gives Listing{Unchanged: true} with the saved token and downloads
// nothing; otherwise the listing is full and its token holds the answer's ETag, else
// its Last-Modified, else it is zero.
func (s *Storage) ListSince(ctx context.Context, collection string, saved storage.Token) (storage.Listing, error) {
	if err := s.own("list", collection); err != nil {
		return storage.Listing{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, notModified, err := s.download(ctx, saved)
	if err != nil {
		return storage.Listing{}, err
	}
	if notModified {
		return storage.Listing{Unchanged: true, Token: saved}, nil
	}
	return storage.Listing{Refs: slices.Clone(f.refs), Token: f.token}, nil
}

// Get returns items of the last download (downloading the feed if there is none). An
// href that is not in the feed gets storage.ErrNotFound; an item that is not a valid
// calendar object gets storage.ErrInvalidData.
func (s *Storage) Get(ctx context.Context, collection string, hrefs []string) ([]storage.Fetched, error) {
	if err := s.own("fetch from", collection); err != nil {
		return nil, err
	}
	s.mu.Lock()
	f := s.feed
	if f == nil {
		var err error
		if f, _, err = s.download(ctx, storage.Token{}); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	s.mu.Unlock()
	out := make([]storage.Fetched, 0, len(hrefs))
	seen := make(map[string]bool, len(hrefs))
	for _, h := range hrefs {
		if seen[h] {
			continue
		}
		seen[h] = true
		it, ok := f.items[h]
		if !ok {
			it = storage.Fetched{Href: h, Err: &storage.Error{Kind: storage.ErrNotFound, Op: "fetch", Href: h,
				Err: fmt.Errorf("the feed of webcal storage %s has no such item", s.name)}}
		}
		out = append(out, it)
	}
	return out, nil
}

// download fetches and splits the feed (s.mu held). With a usable saved token the GET
// is conditional, and notModified reports a 304 answer; the cached feed is kept only if
// it is the version that token describes.
func (s *Storage) download(ctx context.Context, saved storage.Token) (f *feed, notModified bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	req, err := http.NewRequestWithContext(dav.WithAnswerLimit(ctx, maxFeedSize), http.MethodGet, s.url.String(), nil)
	if err != nil {
		return nil, false, s.feedError(0, err)
	}
	req.Header.Set("Accept", "text/calendar, */*;q=0.1")
	key, value, conditional := strings.Cut(saved.Value, " ")
	conditional = conditional && key == s.key && value != ""
	switch {
	case conditional && saved.Kind == TokenETag:
		req.Header.Set("If-None-Match", value)
	case conditional && saved.Kind == TokenLastModified:
		req.Header.Set("If-Modified-Since", value)
	default:
		conditional = false
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		// The client's errors name the method and the URL already.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		if s.feed != nil && s.feed.token != saved {
			s.feed = nil // not the version the status describes
		}
		s.log.Debug("feed not modified", "url", s.url.String())
		return s.feed, true, nil
	case resp.StatusCode != http.StatusOK:
		se := s.hc.StatusErrorOf(resp)
		return nil, false, &FeedError{Storage: s.name, URL: s.url.String(), Code: resp.StatusCode, Reason: se.Reason}
	}
	body, err := io.ReadAll(resp.Body)
	var tooLarge *dav.AnswerTooLargeError
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, false, ctx.Err()
	case errors.As(err, &tooLarge):
		return nil, false, s.feedError(0, fmt.Errorf("the feed is larger than %d MiB", maxFeedSize>>20))
	case err != nil:
		var re *dav.RequestError
		if errors.As(err, &re) {
			err = re.Err // the feed error names the URL
		}
		return nil, false, s.feedError(0, fmt.Errorf("reading the feed: %w", err))
	}
	items, err := split(body)
	if err != nil {
		return nil, false, s.feedError(0, err)
	}
	f = s.newFeed(items, s.validator(resp.Header))
	s.log.Debug("feed downloaded", "url", s.url.String(), "bytes", len(body), "items", len(f.refs), "token", f.token.Value)
	s.feed = f
	return f, false, nil
}

// validator returns the answer's ETag as an http-etag token, else its Last-Modified
// as an http-last-modified token, else the zero token.
func (s *Storage) validator(h http.Header) storage.Token {
	if v := strings.TrimSpace(h.Get("ETag")); v != "" {
		return storage.Token{Kind: TokenETag, Value: s.key + " " + v}
	}
	if v := strings.TrimSpace(h.Get("Last-Modified")); v != "" {
		return storage.Token{Kind: TokenLastModified, Value: s.key + " " + v}
	}
	return storage.Token{}
}

// urlKey identifies a feed URL in tokens without revealing it.
func urlKey(u *url.URL) string {
	sum := sha256.Sum256([]byte(u.String()))
	return hex.EncodeToString(sum[:8])
}

// FeedError is a feed download that failed with an HTTP status other than 200 (and 304
// for a conditional GET), or whose body is not an iCalendar feed. It is a collection
// error: it never matches storage.ErrNotFound, not even for 404 or 410, because a feed
// that is down must never delete anything (storages.md §3). 401 and 403 match
// storage.ErrAccessDenied.
type FeedError struct {
	Storage string // storage name (not part of Error(): the caller names the storage)
	URL     string // feed URL without credentials
	Code    int    // HTTP status, or 0 when the answer was unusable
	Reason  string // the server's reason for a failure status, one line, if any
	Err     error  // the cause when Code is 0
}

func (e *FeedError) Error() string {
	reason := ""
	if e.Reason != "" {
		reason = ": " + e.Reason
	}
	switch {
	case e.Code == http.StatusUnauthorized:
		return fmt.Sprintf("feed %s: HTTP 401 Unauthorized%s; check username and password, and the url", e.URL, reason)
	case e.Code == http.StatusNotFound || e.Code == http.StatusGone:
		return fmt.Sprintf("feed %s: HTTP %d %s%s; nothing is deleted while the feed is unavailable",
			e.URL, e.Code, http.StatusText(e.Code), reason)
	case e.Code != 0:
		return fmt.Sprintf("feed %s: HTTP %d %s%s", e.URL, e.Code, http.StatusText(e.Code), reason)
	}
	return fmt.Sprintf("feed %s: %v", e.URL, e.Err)
}

func (e *FeedError) Unwrap() error { return e.Err }

// Is maps 401 and 403 onto storage.ErrAccessDenied.
func (e *FeedError) Is(target error) bool {
	return target == storage.ErrAccessDenied && (e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden)
}

// Temporary reports whether a later download may succeed: 408, 429 and 5xx.
func (e *FeedError) Temporary() bool {
	return e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests || e.Code >= 500
}

func (s *Storage) feedError(code int, err error) error {
	return &FeedError{Storage: s.name, URL: s.url.String(), Code: code, Err: err}
}

// errReadOnly is the cause of every refused write. It matches both storage.ErrReadOnly
// and storage.ErrUnsupported.
type errReadOnly struct{ storage string }

func (e errReadOnly) Error() string {
	return "webcal storage " + e.storage + " is a read-only feed"
}

func (e errReadOnly) Is(target error) bool {
	return target == storage.ErrReadOnly || target == storage.ErrUnsupported
}

func (s *Storage) readOnly(op, href string) error {
	return &storage.Error{Kind: storage.ErrReadOnly, Op: op, Href: href, Err: errReadOnly{s.name}}
}

// CreateCollection fails: a feed is read-only.
func (s *Storage) CreateCollection(_ context.Context, href string) error {
	return s.readOnly("create collection", href)
}

// DeleteCollection fails: a feed is read-only.
func (s *Storage) DeleteCollection(_ context.Context, href string) error {
	return s.readOnly("delete collection", href)
}

// Create fails: a feed is read-only.
func (s *Storage) Create(_ context.Context, collection string, _ storage.Item) (string, string, error) {
	return "", "", s.readOnly("create item in", collection)
}

// Update fails: a feed is read-only.
func (s *Storage) Update(_ context.Context, href, _ string, _ storage.Item) (string, error) {
	return "", s.readOnly("update", href)
}

// Delete fails: a feed is read-only.
func (s *Storage) Delete(_ context.Context, href, _ string) error {
	return s.readOnly("delete", href)
}

// Properties returns no properties: a feed has none.
func (s *Storage) Properties(_ context.Context, collection string) (map[string]string, error) {
	if err := s.own("read properties of", collection); err != nil {
		return nil, err
	}
	return map[string]string{}, nil
}

// SetProperty fails: a feed is read-only.
func (s *Storage) SetProperty(_ context.Context, collection, name, _ string) error {
	return s.readOnly("set "+name+" on", collection)
}

// DeleteProperty fails: a feed is read-only.
func (s *Storage) DeleteProperty(_ context.Context, collection, name string) error {
	return s.readOnly("remove "+name+" from", collection)
}
