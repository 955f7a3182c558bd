package davserver

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

const (
	nsDAV     = "DAV:"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
	nsApple   = "http://apple.com/ns/ical/"
)

var prefixes = map[string]string{nsDAV: "d", nsCalDAV: "c", nsCardDAV: "cr", nsCS: "cs", nsApple: "ic"}

// propName maps a storage property name onto its XML element (storages.md §2.9).
func propName(kind storage.Kind, name string) xmlName {
	switch name {
	case storage.PropDisplayName:
		return xmlName{nsDAV, "displayname"}
	case storage.PropColor:
		return xmlName{nsApple, "calendar-color"}
	case storage.PropOrder:
		return xmlName{nsApple, "calendar-order"}
	case storage.PropDescription:
		if kind == storage.Contacts {
			return xmlName{nsCardDAV, "addressbook-description"}
		}
		return xmlName{nsCalDAV, "calendar-description"}
	}
	return xmlName{"urn:x-unknown", name}
}

// propXML renders <name>inner</name> with our prefixes.
func propXML(n xmlName, inner string) string {
	if p, ok := prefixes[n.Space]; ok {
		return fmt.Sprintf("<%s:%s>%s</%s:%s>", p, n.Local, inner, p, n.Local)
	}
	return fmt.Sprintf(`<x:%s xmlns:x="%s">%s</x:%s>`, n.Local, xmlEscape(n.Space), inner, n.Local)
}

func emptyProp(n xmlName) string { return propXML(n, "") }

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// dataEscape escapes item text the way most servers do (&, <, >), leaving CRLF raw; a
// lone CR is sent as a character reference so it survives XML parsing.
func dataEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				b.WriteByte(c)
			} else {
				b.WriteString("&#13;")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// msWriter builds a multistatus body.
type msWriter struct{ b strings.Builder }

func newMultistatus() *msWriter {
	m := &msWriter{}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<d:multistatus")
	for ns, p := range map[string]string{nsDAV: "d", nsCalDAV: "c", nsCardDAV: "cr", nsCS: "cs", nsApple: "ic"} {
		fmt.Fprintf(&m.b, ` xmlns:%s="%s"`, p, ns)
	}
	m.b.WriteString(">\n")
	return m
}

func (m *msWriter) startResponse(href string) {
	m.b.WriteString("<d:response><d:href>" + xmlEscape(href) + "</d:href>")
}

func (m *msWriter) status(code int) {
	fmt.Fprintf(&m.b, "<d:status>HTTP/1.1 %d %s</d:status>", code, http.StatusText(code))
}

func (m *msWriter) propstat(code int, props ...string) {
	if len(props) == 0 {
		return
	}
	m.b.WriteString("<d:propstat><d:prop>" + strings.Join(props, "") + "</d:prop>")
	m.status(code)
	m.b.WriteString("</d:propstat>")
}

func (m *msWriter) endResponse() { m.b.WriteString("</d:response>\n") }

func (m *msWriter) write(w http.ResponseWriter) {
	m.b.WriteString("</d:multistatus>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	w.Write([]byte(m.b.String()))
}

// defaultProps answer a PROPFIND without a body or with allprop.
var defaultProps = []xmlName{{nsDAV, "resourcetype"}, {nsDAV, "getetag"}, {nsDAV, "getcontenttype"},
	{nsDAV, "displayname"}, {nsDAV, "current-user-principal"}}

func (s *Server) handlePropfind(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/.well-known/") {
		s.wellKnown(w, r)
		return
	}
	typ := s.resourceType(p)
	if typ == "" {
		http.NotFound(w, r)
		return
	}
	want := defaultProps
	if root, err := parseDoc(body); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	} else if root != nil {
		if prop := root.child(nsDAV, "prop"); prop != nil {
			want = nil
			for _, c := range prop.children {
				want = append(want, xmlName(c.name))
			}
		}
	}
	ms := newMultistatus()
	s.writeResource(ms, p, typ, want)
	if r.Header.Get("Depth") != "0" {
		s.writeChildren(ms, p, typ, want)
	}
	ms.write(w)
}

// writeChildren writes the members of a home set or collection.
func (s *Server) writeChildren(ms *msWriter, p, typ string, want []xmlName) {
	dir := withSlash(p)
	var sub []string
	for cp := range s.colls {
		if cp != dir && path.Dir(strings.TrimSuffix(cp, "/"))+"/" == dir {
			sub = append(sub, cp)
		}
	}
	sort.Strings(sub)
	for _, cp := range sub {
		s.writeResource(ms, cp, "collection", want)
	}
	if typ != "collection" {
		return
	}
	c := s.colls[dir]
	for _, ip := range c.sortedItems() {
		s.writeResource(ms, ip, "item", want)
		if h := s.opts.Hooks; h != nil && h.DuplicateListing() {
			s.writeResource(ms, ip, "item", want)
		}
	}
	var extra []string
	if h := s.opts.Hooks; h != nil {
		extra = h.ListingExtras(dir)
	}
	for _, raw := range extra {
		ms.startResponse(raw)
		ms.propstat(http.StatusOK, emptyProp(xmlName{nsDAV, "resourcetype"}), propXML(xmlName{nsDAV, "getetag"}, `"x"`))
		ms.endResponse()
	}
}

func (s *Server) writeResource(ms *msWriter, p, typ string, want []xmlName) {
	href := p
	var c *collection
	var it *item
	switch typ {
	case "collection":
		c = s.colls[withSlash(p)]
		href = c.raw
	case "item":
		c, it = s.findItem(p)
		href = it.raw
	}
	ms.startResponse(href)
	var found, missing []string
	for _, n := range want {
		if v, ok := s.propValue(typ, c, it, n); ok {
			found = append(found, propXML(n, v))
		} else {
			missing = append(missing, emptyProp(n))
		}
	}
	ms.propstat(http.StatusOK, found...)
	ms.propstat(http.StatusNotFound, missing...)
	ms.endResponse()
}

// propValue returns the inner XML of property n of a resource.
func (s *Server) propValue(typ string, c *collection, it *item, n xmlName) (string, bool) {
	switch n {
	case xmlName{nsDAV, "resourcetype"}:
		switch typ {
		case "item":
			return "", true
		case "principal":
			return "<d:collection/><d:principal/>", true
		case "collection":
			if c.kind == storage.Contacts {
				return "<d:collection/><cr:addressbook/>", true
			}
			return "<d:collection/><c:calendar/>", true
		}
		return "<d:collection/>", true
	case xmlName{nsDAV, "current-user-principal"}:
		if typ == "item" {
			return "", false
		}
		if s.opts.EmptyPrincipal {
			return "", true
		}
		return "<d:href>" + PrincipalPath + "</d:href>", true
	case xmlName{nsCalDAV, "calendar-home-set"}:
		if typ == "principal" && !s.opts.NoHomeSet {
			return "<d:href>" + CalendarHome + "</d:href>", true
		}
	case xmlName{nsCardDAV, "addressbook-home-set"}:
		if typ == "principal" && !s.opts.NoHomeSet {
			return "<d:href>" + AddressBookHome + "</d:href>", true
		}
	case xmlName{nsDAV, "getetag"}:
		if it != nil {
			return xmlEscape(it.etag), true
		}
		if c != nil {
			return xmlEscape(c.etag()), true
		}
	case xmlName{nsDAV, "getcontenttype"}:
		if it != nil {
			if c.kind == storage.Contacts {
				return "text/vcard; charset=utf-8", true
			}
			return "text/calendar; charset=utf-8; component=vevent", true
		}
	case xmlName{nsDAV, "sync-token"}:
		if c != nil && it == nil && !s.opts.NoSyncCollection {
			return xmlEscape(syncToken(c.seq)), true
		}
	case xmlName{nsCS, "getctag"}:
		if c != nil && it == nil && !s.opts.NoCTag {
			return xmlEscape(c.ctag()), true
		}
	case xmlName{nsDAV, "supported-report-set"}:
		if c != nil && it == nil {
			rep := "<d:supported-report><d:report><c:calendar-multiget/></d:report></d:supported-report>"
			if c.kind == storage.Contacts {
				rep = "<d:supported-report><d:report><cr:addressbook-multiget/></d:report></d:supported-report>"
			}
			if !s.opts.NoSyncCollection {
				rep += "<d:supported-report><d:report><d:sync-collection/></d:report></d:supported-report>"
			}
			return rep, true
		}
	}
	if c != nil && it == nil {
		if v, ok := c.props[n]; ok {
			return xmlEscape(v), true
		}
		if n == (xmlName{nsDAV, "displayname"}) && s.opts.InventDisplayName {
			return xmlEscape(strings.Trim(c.raw, "/")), true
		}
	}
	return "", false
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, body []byte) {
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
	switch root.name.Local {
	case "calendar-multiget", "addressbook-multiget":
		s.multiget(w, c, root)
	case "sync-collection":
		s.syncCollection(w, c, root)
	default:
		http.Error(w, "Forbidden: unsupported report", http.StatusForbidden)
	}
}

func (s *Server) multiget(w http.ResponseWriter, c *collection, root *elem) {
	if s.opts.NoMultiget {
		http.Error(w, "Not Implemented", http.StatusNotImplemented)
		return
	}
	var hrefs []string
	for _, h := range root.children {
		if h.name.Space == nsDAV && h.name.Local == "href" {
			hrefs = append(hrefs, strings.TrimSpace(h.text.String()))
		}
	}
	if s.opts.MaxMultigetHrefs > 0 && len(hrefs) > s.opts.MaxMultigetHrefs {
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	dataName := xmlName{nsCalDAV, "calendar-data"}
	if c.kind == storage.Contacts {
		dataName = xmlName{nsCardDAV, "address-data"}
	}
	ms := newMultistatus()
	for _, raw := range hrefs {
		ip := decode(raw)
		ms.startResponse(raw)
		if it := c.items[ip]; it != nil && (s.opts.Hooks == nil || !s.opts.Hooks.MissingInMultiget(ip)) {
			ms.propstat(http.StatusOK, propXML(xmlName{nsDAV, "getetag"}, xmlEscape(it.etag)),
				propXML(dataName, dataEscape(string(it.data))))
		} else {
			ms.status(http.StatusNotFound)
		}
		ms.endResponse()
	}
	ms.write(w)
}

// change is one entry of a sync-collection answer.
type change struct {
	raw     string
	seq     int64
	etag    string
	removed bool
}

func (s *Server) syncCollection(w http.ResponseWriter, c *collection, root *elem) {
	if s.opts.NoSyncCollection {
		http.Error(w, "Forbidden: sync-collection not supported", http.StatusForbidden)
		return
	}
	tok := ""
	if t := root.child(nsDAV, "sync-token"); t != nil {
		tok = strings.TrimSpace(t.text.String())
	}
	var since int64
	if tok != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(tok, "http://fake.invalid/sync/"), 10, 64)
		if err != nil || !strings.HasPrefix(tok, "http://fake.invalid/sync/") || n < c.minValid || n > c.seq {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>`))
			return
		}
		since = n
	}
	var changes []change
	for _, it := range c.items {
		if it.seq > since {
			changes = append(changes, change{raw: it.raw, seq: it.seq, etag: it.etag})
		}
	}
	for _, t := range c.removed {
		if t.seq > since {
			changes = append(changes, change{raw: t.raw, seq: t.seq, removed: true})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
	newSeq, truncated := c.seq, false
	if n := s.opts.SyncPageSize; n > 0 && len(changes) > n {
		changes, truncated = changes[:n], true
		newSeq = changes[n-1].seq
	}
	ms := newMultistatus()
	for _, ch := range changes {
		ms.startResponse(ch.raw)
		if ch.removed {
			ms.status(http.StatusNotFound)
		} else {
			ms.propstat(http.StatusOK, propXML(xmlName{nsDAV, "getetag"}, xmlEscape(ch.etag)))
		}
		ms.endResponse()
	}
	if truncated {
		ms.startResponse(c.raw)
		ms.status(http.StatusInsufficientStorage)
		ms.endResponse()
	}
	ms.b.WriteString("<d:sync-token>" + xmlEscape(syncToken(newSeq)) + "</d:sync-token>\n")
	ms.write(w)
}
