// Package davserver is a small CalDAV/CardDAV server that keeps everything in memory
// and stores every item byte for byte as it was uploaded: `pimsync demo` embeds it,
// and the tests build on it (storage/davtest adds a request log and fault injection
// through Hooks). It serves one user with a fixed layout (ContextPath, PrincipalPath,
// CalendarHome, AddressBookHome): PROPFIND Depth 0/1, calendar-multiget and
// addressbook-multiget, sync-collection with tokens, getctag, conditional PUT and
// DELETE (If-Match, If-None-Match), MKCALENDAR, extended MKCOL and PROPPATCH. Options
// make it behave like servers that lack one of those or spell things differently.
//
// It is not a server for real use: no persistence, no access control beyond one
// Basic-auth account, no scheduling.
package davserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

// Fixed layout of the server.
const (
	ContextPath     = "/dav/"
	PrincipalPath   = "/dav/principals/alice/"
	CalendarHome    = "/dav/calendars/alice/"
	AddressBookHome = "/dav/addressbooks/alice/"
)

// ETagStyle is how the server spells etags.
type ETagStyle int

const (
	ETagQuoted   ETagStyle = iota // "e12"
	ETagWeak                      // W/"e12"
	ETagUnquoted                  // e12
)

// Options configure a server. The zero value is a well-behaved server on a loopback
// TCP port.
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
	// TLS, when not nil, serves HTTPS with this configuration (a self-signed
	// certificate for 127.0.0.1 and localhost is added when it has none).
	TLS *tls.Config
	// UnixSocket, when set, serves on this Unix socket instead of TCP.
	UnixSocket string
	// InventDisplayName: a collection without a displayname reports its path without
	// slashes as one (like Radicale's "alice/work").
	InventDisplayName bool
	// IgnoreCreationProps: MKCALENDAR and MKCOL bodies may carry properties, but they
	// are not stored.
	IgnoreCreationProps bool
	// Hooks, when set, is consulted at fixed points of every request (see Hooks).
	Hooks Hooks
}

// Hooks let a wrapper observe requests and make the server misbehave on purpose (the
// fault injection of storage/davtest). Request and Done are called without the
// server's lock held; the others with it held, so they must not call the Server.
type Hooks interface {
	// Request sees every request first, with its body; returning true means it wrote
	// the answer (or dropped the connection) and the server does nothing more.
	Request(w http.ResponseWriter, r *http.Request, body []byte) (answered bool)
	// Done is called once the answer is written, with its status.
	Done(r *http.Request, status int)
	// Stored returns what a PUT stores for body.
	Stored(body []byte) []byte
	// CreatedHref returns the wire href a new item is stored under, given the one it
	// was PUT to; another href is announced with a Location header.
	CreatedHref(raw string) string
	// PutETag reports whether PUT answers carry the new ETag.
	PutETag() bool
	// ListingExtras returns raw hrefs added to the PROPFIND listing of the
	// collection at path (decoded, with a trailing slash).
	ListingExtras(coll string) []string
	// DuplicateListing reports whether listings name every item twice.
	DuplicateListing() bool
	// MissingInMultiget reports whether a multiget answers 404 for the item at path.
	MissingInMultiget(item string) bool
	// PropertyReadOnly reports whether PROPPATCH refuses the property with that XML
	// local name.
	PropertyReadOnly(local string) bool
}

// Server is a running server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, without trailing slash ("http://localhost" for a Unix
	// socket).
	URL string
	// Socket is the Unix socket path, if any.
	Socket string

	hs   *http.Server
	ln   net.Listener
	cert *x509.Certificate
	done chan struct{}
	mu   sync.Mutex
	opts Options

	colls   map[string]*collection // decoded path with trailing slash
	etagSeq int64
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

// Start starts a server on 127.0.0.1 (or opts.UnixSocket); stop it with Close.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, colls: map[string]*collection{}, done: make(chan struct{})}
	// Errors of connections (a client hanging up) are nobody's business: the demo runs
	// under the TUI, where a line on stderr would land on the screen.
	s.hs = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	var err error
	switch {
	case opts.UnixSocket != "":
		if s.ln, err = net.Listen("unix", opts.UnixSocket); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", opts.UnixSocket, err)
		}
		s.URL, s.Socket = "http://localhost", opts.UnixSocket
	default:
		if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
		}
		s.URL = "http://" + s.ln.Addr().String()
	}
	if opts.TLS != nil {
		cfg := opts.TLS.Clone()
		if len(cfg.Certificates) == 0 {
			cert, err := selfSigned()
			if err != nil {
				s.ln.Close()
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		if s.cert, err = x509.ParseCertificate(cfg.Certificates[0].Certificate[0]); err != nil {
			s.ln.Close()
			return nil, err
		}
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"http/1.1"}
		}
		s.ln = tls.NewListener(s.ln, cfg)
		s.URL = strings.Replace(s.URL, "http://", "https://", 1)
	}
	go func() {
		defer close(s.done)
		s.hs.Serve(s.ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, valid for a day.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"pimsync davserver"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Certificate returns the TLS server certificate (nil without TLS).
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// Close stops the server: the listener and every connection are closed.
func (s *Server) Close() {
	s.hs.Close()
	<-s.done
}

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

// SetETagStyle changes the spelling of etags generated from now on.
func (s *Server) SetETagStyle(st ETagStyle) { s.set(func() { s.opts.ETagStyle = st }) }

// InvalidateSyncTokens makes every sync token handed out so far invalid (403 with
// DAV:valid-sync-token), as a server does after a restore or a cleanup.
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
