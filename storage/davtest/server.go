// Package davtest provides DAV servers for tests: the in-memory byte-exact server of
// storage/davserver with a request log and fault injection on top (NewServer), a
// fault-injecting reverse proxy for any server (NewFaultProxy), and a harness that
// runs the real Radicale, Xandikos, Cyrus IMAP and DAViCal servers on loopback
// (StartRadicale, StartXandikos, StartCyrus, StartDAViCal). It is test code: only
// tests and benchmarks import it, never the pimsync binary.
package davtest

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage/davserver"
)

// Fixed layout of the fake server (davserver's).
const (
	ContextPath     = davserver.ContextPath
	PrincipalPath   = davserver.PrincipalPath
	CalendarHome    = davserver.CalendarHome
	AddressBookHome = davserver.AddressBookHome
)

// ETagStyle is how the fake server spells etags.
type ETagStyle = davserver.ETagStyle

const (
	ETagQuoted   = davserver.ETagQuoted   // "e12"
	ETagWeak     = davserver.ETagWeak     // W/"e12"
	ETagUnquoted = davserver.ETagUnquoted // e12
)

// Options configure a fake server: davserver's options, whose Hooks the fake sets to
// its own (the request log and the faults). The zero value is a well-behaved server.
type Options = davserver.Options

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

// Server is a fake CalDAV/CardDAV server: a davserver.Server (seeding and inspection:
// AddCollection, PutItem, Item, Items, DeleteItem, Props, …) with a request log and
// fault injection. Its methods are safe for concurrent use.
type Server struct {
	*davserver.Server

	delay time.Duration
	mu    sync.Mutex
	log   []Request
	// index of each request in flight in the log
	pending map[*http.Request]int
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

// NewServer starts a fake server that is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("davtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start is NewServer outside a test's lifetime: the caller stops it with Close.
func Start(opts Options) (*Server, error) {
	s := &Server{
		pending:       map[*http.Request]int{},
		missing:       map[string]bool{},
		extraHrefs:    map[string][]string{},
		readOnlyProps: map[string]bool{},
	}
	opts.Hooks = (*hooks)(s)
	srv, err := davserver.Start(opts)
	if err != nil {
		return nil, err
	}
	s.Server = srv
	return s, nil
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
	clear(s.pending)
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

// SetDelay adds d to every request (to observe concurrency).
func (s *Server) SetDelay(d time.Duration) { s.set(func() { s.delay = d }) }

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

func (s *Server) set(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// hooks is the Server seen by davserver: the request log and the faults.
type hooks Server

func (h *hooks) Request(w http.ResponseWriter, r *http.Request, body []byte) bool {
	s := (*Server)(h)
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.pending[r] = len(s.log)
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	f := s.matchFault(r)
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if f == nil {
		return false
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(f.Status)
		w.Write([]byte(f.Body))
		return true
	}
	http.Error(w, http.StatusText(f.Status), f.Status)
	return true
}

func (h *hooks) Done(r *http.Request, status int) {
	s := (*Server)(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if i, ok := s.pending[r]; ok {
		delete(s.pending, r)
		if i < len(s.log) {
			s.log[i].Status = status
		}
	}
}

// matchFault returns the fault that applies to r, if any (s.mu held).
func (s *Server) matchFault(r *http.Request) *faultState {
	for _, f := range s.faults {
		if f.Method != "" && f.Method != r.Method || !strings.HasPrefix(r.URL.Path, f.Path) {
			continue
		}
		times := max(f.Times, 1)
		if f.failed >= times {
			continue
		}
		f.seen++
		if f.seen <= f.After {
			continue
		}
		f.failed++
		return f
	}
	return nil
}

func (h *hooks) Stored(body []byte) []byte {
	h.mu.Lock()
	f := h.rewrite
	h.mu.Unlock()
	if f == nil {
		return body
	}
	return f(body)
}

func (h *hooks) CreatedHref(raw string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.renameOnCreate {
		return path.Dir(raw) + "/renamed-" + path.Base(raw)
	}
	return raw
}

func (h *hooks) PutETag() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.noETagOnPut
}

func (h *hooks) ListingExtras(coll string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.extraHrefs[coll]...)
}

func (h *hooks) DuplicateListing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.duplicate
}

func (h *hooks) MissingInMultiget(item string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.missing[item]
}

func (h *hooks) PropertyReadOnly(local string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.readOnlyProps[local]
}

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
