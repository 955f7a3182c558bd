package davserver

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// statusRecorder captures the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	rec := &statusRecorder{ResponseWriter: w}
	h := s.opts.Hooks
	if h != nil {
		defer func() { h.Done(r, rec.status) }()
		if h.Request(rec, r, body) {
			return
		}
	}
	if !s.authorized(rec, r) {
		return
	}
	if s.opts.RequireXMLContentType && len(body) > 0 && r.Method != http.MethodPut {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/xml" && mt != "text/xml" {
			http.Error(rec, "Unsupported Media Type", http.StatusUnsupportedMediaType)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodOptions:
		caps := "1, 2, 3, calendar-access, addressbook, extended-mkcol"
		if s.opts.HideCapabilities {
			caps = "1, 2, 3"
		}
		rec.Header().Set("DAV", caps)
		rec.Header().Set("Allow", "OPTIONS, GET, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCOL, MKCALENDAR")
		rec.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		s.handleGet(rec, r)
	case "PROPFIND":
		s.handlePropfind(rec, r, body)
	case "REPORT":
		s.handleReport(rec, r, body)
	case http.MethodPut:
		s.handlePut(rec, r, body)
	case http.MethodDelete:
		s.handleDelete(rec, r)
	case "MKCALENDAR":
		s.handleMkcalendar(rec, r, body)
	case "MKCOL":
		s.handleMkcol(rec, r, body)
	case "PROPPATCH":
		s.handleProppatch(rec, r, body)
	default:
		http.Error(rec, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !s.opts.RequireUser && s.opts.Username == "" {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if ok && user != "" && (s.opts.Username == "" || user == s.opts.Username && pass == s.opts.Password) {
		return true
	}
	if s.opts.DigestOnly {
		w.Header().Set("WWW-Authenticate", `Digest realm="fake", nonce="abc", qop="auth"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
	}
	http.Error(w, "Unauthorized", http.StatusUnauthorized)
	return false
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/.well-known/") {
		s.wellKnown(w, r)
		return
	}
	if _, it := s.findItem(p); it != nil {
		w.Header().Set("ETag", it.etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Write(it.data)
		return
	}
	if s.resourceType(p) != "" {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "fake DAV server")
		return
	}
	http.NotFound(w, r)
}

func (s *Server) wellKnown(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/caldav", "/.well-known/carddav":
		if !s.opts.NoWellKnown {
			http.Redirect(w, r, ContextPath, http.StatusMovedPermanently)
			return
		}
	}
	http.NotFound(w, r)
}

// resourceType classifies a decoded path: "root", "context", "principal", "home",
// "collection", "item" or "" (nothing there).
func (s *Server) resourceType(p string) string {
	switch withSlash(p) {
	case "/":
		return "root"
	case ContextPath:
		return "context"
	case PrincipalPath:
		return "principal"
	case CalendarHome, AddressBookHome:
		return "home"
	}
	if s.colls[withSlash(p)] != nil {
		return "collection"
	}
	if _, it := s.findItem(p); it != nil {
		return "item"
	}
	return ""
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	c := s.colls[path.Dir(p)+"/"]
	if c == nil || strings.HasSuffix(p, "/") {
		http.Error(w, "Conflict: no such collection", http.StatusConflict)
		return
	}
	old := c.items[p]
	if inm := r.Header.Get("If-None-Match"); inm == "*" && old != nil {
		http.Error(w, "Precondition Failed", http.StatusPreconditionFailed)
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && (old == nil || im != "*" && im != old.etag) {
		http.Error(w, "Precondition Failed", http.StatusPreconditionFailed)
		return
	}
	if h := s.opts.Hooks; h != nil {
		body = h.Stored(body)
	}
	raw := r.URL.EscapedPath()
	if old != nil {
		raw = old.raw
	}
	created := old == nil
	if h := s.opts.Hooks; created && h != nil {
		if renamed := h.CreatedHref(raw); renamed != raw {
			raw = renamed
			w.Header().Set("Location", raw)
		}
	}
	etag := s.store(c, raw, bytes.Clone(body))
	if h := s.opts.Hooks; h == nil || h.PutETag() {
		w.Header().Set("ETag", etag)
	}
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	im := r.Header.Get("If-Match")
	if c := s.colls[withSlash(p)]; c != nil {
		if im != "" && im != c.etag() {
			http.Error(w, "Precondition Failed", http.StatusPreconditionFailed)
			return
		}
		delete(s.colls, c.path)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c, it := s.findItem(p)
	if it == nil {
		http.NotFound(w, r)
		return
	}
	if im != "" && im != it.etag {
		http.Error(w, "Precondition Failed", http.StatusPreconditionFailed)
		return
	}
	s.remove(c, p)
	if s.opts.RadicaleDelete {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, `<?xml version='1.0' encoding='utf-8'?>`+"\n"+`<multistatus xmlns="DAV:"><response><href>%s</href><status>HTTP/1.1 200 OK</status></response></multistatus>`, xmlEscape(it.raw))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMkcalendar(w http.ResponseWriter, r *http.Request, body []byte) {
	if s.resourceType(r.URL.Path) != "" {
		http.Error(w, "Method Not Allowed: already exists", http.StatusMethodNotAllowed)
		return
	}
	if s.opts.NoMkcalendar {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	root, err := parseDoc(body)
	if err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	c := s.newCollection(r.URL.EscapedPath(), storage.Calendars)
	s.setCreationProps(c, root)
	w.WriteHeader(http.StatusCreated)
}

// setCreationProps stores the properties of an MKCALENDAR or extended MKCOL body.
func (s *Server) setCreationProps(c *collection, root *elem) {
	if root == nil || s.opts.IgnoreCreationProps {
		return
	}
	set := root.child(nsDAV, "set")
	if set == nil {
		return
	}
	prop := set.child(nsDAV, "prop")
	if prop == nil {
		return
	}
	for _, p := range prop.children {
		if name := xmlName(p.name); name.Local != "resourcetype" {
			c.props[name] = p.text.String()
		}
	}
}

func (s *Server) handleMkcol(w http.ResponseWriter, r *http.Request, body []byte) {
	if s.resourceType(r.URL.Path) != "" {
		http.Error(w, "Method Not Allowed: already exists", http.StatusMethodNotAllowed)
		return
	}
	root, err := parseDoc(body)
	if err != nil || root == nil {
		http.Error(w, "Forbidden: only extended MKCOL is supported", http.StatusForbidden)
		return
	}
	var kind storage.Kind
	if root.find(nsCalDAV, "calendar") != nil {
		kind = storage.Calendars
	} else if root.find(nsCardDAV, "addressbook") != nil {
		kind = storage.Contacts
	} else {
		http.Error(w, "Forbidden: unsupported resourcetype", http.StatusForbidden)
		return
	}
	c := s.newCollection(r.URL.EscapedPath(), kind)
	s.setCreationProps(c, root)
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) handleProppatch(w http.ResponseWriter, r *http.Request, body []byte) {
	c := s.colls[withSlash(r.URL.Path)]
	if c == nil {
		http.NotFound(w, r)
		return
	}
	root, err := parseDoc(body)
	if err != nil || root == nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	ms := newMultistatus()
	ms.startResponse(c.raw)
	for _, op := range root.children {
		prop := op.child(nsDAV, "prop")
		if prop == nil {
			continue
		}
		for _, p := range prop.children {
			name := xmlName(p.name)
			if h := s.opts.Hooks; h != nil && h.PropertyReadOnly(name.Local) {
				ms.propstat(http.StatusForbidden, emptyProp(name))
				continue
			}
			switch op.name.Local {
			case "set":
				c.props[name] = p.text.String()
			case "remove":
				delete(c.props, name)
			}
			ms.propstat(http.StatusOK, emptyProp(name))
		}
	}
	c.seq++
	ms.endResponse()
	ms.write(w)
}

// parseDoc parses an XML request body (nil for an empty one).
func parseDoc(body []byte) (*elem, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []*elem
	var root *elem
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return root, nil
			}
			return root, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &elem{name: t.Name}
			if len(stack) > 0 {
				stack[len(stack)-1].children = append(stack[len(stack)-1].children, e)
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
}

// elem is a parsed request element.
type elem struct {
	name     xml.Name
	text     strings.Builder
	children []*elem
}

func (e *elem) child(space, local string) *elem {
	for _, c := range e.children {
		if c.name.Space == space && c.name.Local == local {
			return c
		}
	}
	return nil
}

func (e *elem) find(space, local string) *elem {
	if e.name.Space == space && e.name.Local == local {
		return e
	}
	for _, c := range e.children {
		if f := c.find(space, local); f != nil {
			return f
		}
	}
	return nil
}
