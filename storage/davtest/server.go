// Package davtest provides DAV servers for tests: a purpose-built in-process fake
// CalDAV/CardDAV server with byte-exact storage, a request log and fault injection
// (NewServer), and a harness that runs the real Radicale and Xandikos servers on
// loopback (StartRadicale, StartXandikos).
package davtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

// Fixed layout of the fake server.
const (
	ContextPath     = "/dav/"
	PrincipalPath   = "/dav/principals/alice/"
	CalendarHome    = "/dav/calendars/alice/"
	AddressBookHome = "/dav/addressbooks/alice/"
)

// ETagStyle is how the fake server spells etags.
type ETagStyle int

const (
	ETagQuoted   ETagStyle = iota // "e12"
	ETagWeak                      // W/"e12"
	ETagUnquoted                  // e12
)

// Options configure a fake server. The zero value is a well-behaved server.
type Options struct {
	ETagStyle ETagStyle
	// RequireUser: a request without a Basic-auth username gets 401 (like Radicale).
	RequireUser bool
	// Username and Password, when Username is set: only these credentials are
	// accepted (401 otherwise).
	Username, Password string
	// DigestOnly: 401 answers offer only Digest authentication.
	DigestOnly bool
	// RequireXMLContentType: a request with an XML body but without an XML
	// Content-Type gets 415 (like Xandikos).
	RequireXMLContentType bool
	// HideCapabilities: OPTIONS does not list calendar-access and addressbook.
	HideCapabilities bool
	// NoWellKnown: /.well-known/caldav|carddav answer 404 instead of 301 to ContextPath.
	NoWellKnown bool
	// EmptyPrincipal: DAV:current-user-principal is an empty element (DavMail).
	EmptyPrincipal bool
	// NoHomeSet: the principal has no calendar or address-book home set.
	NoHomeSet bool
	// NoSyncCollection: no DAV:sync-token and no sync-collection report.
	NoSyncCollection bool
	// NoCTag: no CS:getctag.
	NoCTag bool
	// NoMultiget: REPORT answers 501 (the client must fall back to GET).
	NoMultiget bool
	// NoMkcalendar: MKCALENDAR answers 405 (the client must fall back to MKCOL).
	NoMkcalendar bool
	// SyncPageSize > 0 truncates sync-collection answers after that many changes,
	// marking the request URI with 507.
	SyncPageSize int
	// MaxMultigetHrefs > 0: a multiget with more hrefs gets 413.
	MaxMultigetHrefs int
	// RadicaleDelete: DELETE answers 200 with a multistatus body instead of 204.
	RadicaleDelete bool
	// TLS, when not nil, serves HTTPS with this configuration (a test certificate is
	// added when it has none).
	TLS *tls.Config
	// UnixSocket, when set, serves on this Unix socket instead of TCP.
	UnixSocket string
	// Delay is added to every request (to observe concurrency).
	Delay time.Duration
	// InventDisplayName: a collection without a displayname reports its path without
	// slashes as one (like Radicale's "alice/work").
	InventDisplayName bool
	// IgnoreCreationProps: MKCALENDAR and MKCOL bodies may carry properties, but they
	// are not stored.
	IgnoreCreationProps bool
}

// Request is one entry of the request log.
type Request struct {
	Method string
	Path   string // request URI as received (escaped)
	Header http.Header
	Body   []byte
	Status int
}

// Fault makes matching requests fail.
type Fault struct {
	Method     string // "" matches every method
	Path       string // decoded path prefix; "" matches every path
	After      int    // let this many matching requests through first
	Times      int    // number of requests to fail; 0 means 1
	Status     int    // status to answer
	RetryAfter string // Retry-After header, if any
	Body       string // XML body to answer with (for example a DAV:error), if any
	Drop       bool   // close the connection without an answer instead
}

// Server is a fake CalDAV/CardDAV server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, without trailing slash ("http://localhost" for a Unix
	// socket).
	URL string
	// Socket is the Unix socket path, if any.
	Socket string

	hs   *httptest.Server
	mu   sync.Mutex
	opts Options

	colls   map[string]*collection // decoded path with trailing slash
	etagSeq int64
	log     []Request
	faults  []*faultState

	noETagOnPut    bool
	rewrite        func([]byte) []byte
	missing        map[string]bool     // item paths answered 404 inside multigets
	duplicate      bool                // list every item twice
	extraHrefs     map[string][]string // collection path → raw hrefs added to listings
	renameOnCreate bool
	readOnlyProps  map[string]bool // property local names PROPPATCH refuses (403)

	inFlight, maxInFlight int // concurrent requests now and at most
}

type faultState struct {
	Fault
	seen, failed int
}

// collection is one calendar or address book.
type collection struct {
	path     string // decoded, with trailing slash
	raw      string // href as sent
	kind     storage.Kind
	props    map[xmlName]string
	items    map[string]*item // decoded path → item
	removed  map[string]tomb  // decoded path → removal
	seq      int64            // change counter: sync token and ctag
	minValid int64            // sync tokens below this are invalid
}

type item struct {
	raw  string // href as sent
	data []byte
	etag string
	seq  int64
}

type tomb struct {
	raw string
	seq int64
}

type xmlName struct{ Space, Local string }

// NewServer starts a fake server that is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("davtest: %v", err)
	}
	t.Cleanup(s.hs.Close)
	return s
}

// Start is NewServer outside tests (the demo embeds the fake server): the caller stops
// it with Close.
func Start(opts Options) (*Server, error) {
	s := &Server{
		opts:          opts,
		colls:         map[string]*collection{},
		missing:       map[string]bool{},
		extraHrefs:    map[string][]string{},
		readOnlyProps: map[string]bool{},
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	switch {
	case opts.UnixSocket != "":
		l, err := net.Listen("unix", opts.UnixSocket)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", opts.UnixSocket, err)
		}
		s.hs.Listener.Close()
		s.hs.Listener = l
		s.hs.Start()
		s.URL, s.Socket = "http://localhost", opts.UnixSocket
	case opts.TLS != nil:
		s.hs.TLS = opts.TLS
		s.hs.StartTLS()
		s.URL = s.hs.URL
	default:
		s.hs.Start()
		s.URL = s.hs.URL
	}
	return s, nil
}

// Certificate returns the TLS server certificate (nil without TLS).
func (s *Server) Certificate() *x509.Certificate {
	if s.opts.TLS == nil {
		return nil
	}
	return s.hs.Certificate()
}

// Close stops the server early.
func (s *Server) Close() { s.hs.Close() }

// --- seeding and inspection -------------------------------------------------------

// AddCollection creates a collection at path (decoded or encoded; a trailing slash is
// added). props uses the storage property names (storage.PropDisplayName, …).
func (s *Server) AddCollection(p string, kind storage.Kind, props map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newCollection(p, kind)
	for k, v := range props {
		c.props[propName(kind, k)] = v
	}
}

func (s *Server) newCollection(raw string, kind storage.Kind) *collection {
	raw = withSlash(raw)
	c := &collection{path: decode(raw), raw: raw, kind: kind, props: map[xmlName]string{},
		items: map[string]*item{}, removed: map[string]tomb{}, seq: 1}
	s.colls[c.path] = c
	return c
}

// PutItem stores data at href (kept verbatim as the wire href; its collection must
// exist) and returns the new etag.
func (s *Server) PutItem(href string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.colls[path.Dir(decode(href))+"/"]
	if c == nil {
		panic("davtest: PutItem: no collection for " + href)
	}
	return s.store(c, href, bytes.Clone(data))
}

func (s *Server) store(c *collection, raw string, data []byte) string {
	p := decode(raw)
	s.etagSeq++
	c.seq++
	etag := s.formatETag(fmt.Sprintf("e%d", s.etagSeq))
	c.items[p] = &item{raw: raw, data: data, etag: etag, seq: c.seq}
	delete(c.removed, p)
	return etag
}

func (s *Server) formatETag(v string) string {
	switch s.opts.ETagStyle {
	case ETagWeak:
		return `W/"` + v + `"`
	case ETagUnquoted:
		return v
	}
	return `"` + v + `"`
}

// Item returns the stored bytes and etag of the item at path (decoded or encoded).
func (s *Server) Item(p string) (data []byte, etag string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, it := s.findItem(decode(p))
	if it == nil {
		return nil, "", false
	}
	return bytes.Clone(it.data), it.etag, true
}

// Items returns the items of the collection at path: decoded item path → bytes.
func (s *Server) Items(coll string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	if c := s.colls[withSlash(decode(coll))]; c != nil {
		for p, it := range c.items {
			out[p] = bytes.Clone(it.data)
		}
	}
	return out
}

// DeleteItem removes an item as another client would.
func (s *Server) DeleteItem(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, it := s.findItem(decode(p)); it != nil {
		s.remove(c, decode(p))
	}
}

func (s *Server) remove(c *collection, p string) {
	c.seq++
	c.removed[p] = tomb{raw: c.items[p].raw, seq: c.seq}
	delete(c.items, p)
}

// HasCollection reports whether a collection exists at path.
func (s *Server) HasCollection(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.colls[withSlash(decode(p))] != nil
}

// CollectionKind returns the kind of the collection at path (0 if none).
func (s *Server) CollectionKind(p string) storage.Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.colls[withSlash(decode(p))]; c != nil {
		return c.kind
	}
	return 0
}

// Props returns a collection's properties by storage property name.
func (s *Server) Props(coll string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	c := s.colls[withSlash(decode(coll))]
	if c == nil {
		return out
	}
	for _, name := range storage.PropertyNames(c.kind) {
		if v, ok := c.props[propName(c.kind, name)]; ok {
			out[name] = v
		}
	}
	return out
}

// SyncToken returns the current sync token of a collection.
func (s *Server) SyncToken(coll string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.colls[withSlash(decode(coll))]; c != nil {
		return syncToken(c.seq)
	}
	return ""
}

// --- request log -------------------------------------------------------------------

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many logged requests used method ("" counts all).
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if method == "" || r.Method == method {
			n++
		}
	}
	return n
}

// MaxInFlight returns the largest number of requests the server has handled at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// --- fault injection ---------------------------------------------------------------

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &faultState{Fault: f})
	s.mu.Unlock()
}

// FailNthPUT makes the nth PUT from now (1-based) answer status.
func (s *Server) FailNthPUT(n, status int) {
	s.Inject(Fault{Method: http.MethodPut, After: n - 1, Status: status})
}

// SetNoETagOnPut makes PUT answers carry no ETag header.
func (s *Server) SetNoETagOnPut(on bool) { s.set(func() { s.noETagOnPut = on }) }

// SetRewrite makes PUT store f(body) instead of the body (nil: store verbatim).
func (s *Server) SetRewrite(f func([]byte) []byte) { s.set(func() { s.rewrite = f }) }

// SetMissingInMultiget makes multigets answer 404 for the item at path.
func (s *Server) SetMissingInMultiget(p string) { s.set(func() { s.missing[decode(p)] = true }) }

// SetDuplicateListing makes listings name every item twice.
func (s *Server) SetDuplicateListing(on bool) { s.set(func() { s.duplicate = on }) }

// AddListingHref adds a raw href (outside the collection, on another host, …) to the
// PROPFIND listings of a collection.
func (s *Server) AddListingHref(coll, raw string) {
	s.set(func() { k := withSlash(decode(coll)); s.extraHrefs[k] = append(s.extraHrefs[k], raw) })
}

// SetRenameOnCreate makes PUT of a new item store it under another name and answer
// 201 with a Location header.
func (s *Server) SetRenameOnCreate(on bool) { s.set(func() { s.renameOnCreate = on }) }

// SetReadOnlyProperty makes PROPPATCH refuse the property with that XML local name.
func (s *Server) SetReadOnlyProperty(local string) { s.set(func() { s.readOnlyProps[local] = true }) }

// SetETagStyle changes the spelling of etags generated from now on.
func (s *Server) SetETagStyle(st ETagStyle) { s.set(func() { s.opts.ETagStyle = st }) }

// InvalidateSyncTokens makes every sync token handed out so far invalid (403 with
// DAV:valid-sync-token).
func (s *Server) InvalidateSyncTokens() {
	s.set(func() {
		for _, c := range s.colls {
			c.seq++
			c.minValid = c.seq
		}
	})
}

func (s *Server) set(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// --- helpers -------------------------------------------------------------------------

func decode(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

func withSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

func (s *Server) findItem(p string) (*collection, *item) {
	c := s.colls[path.Dir(p)+"/"]
	if c == nil {
		return nil, nil
	}
	return c, c.items[p]
}

func syncToken(seq int64) string { return fmt.Sprintf("http://fake.invalid/sync/%d", seq) }

func (c *collection) ctag() string { return fmt.Sprintf("ctag-%d", c.seq) }
func (c *collection) etag() string { return fmt.Sprintf(`"c%d"`, c.seq) }

// sortedItems returns the collection's item paths in order.
func (c *collection) sortedItems() []string {
	out := make([]string, 0, len(c.items))
	for p := range c.items {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// readBody reads a request body.
func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	return b
}
