package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML namespaces.
const (
	nsDAV     = "DAV:"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
	nsApple   = "http://apple.com/ns/ical/"
)

// node is one element of a parsed XML document. Text is the element's own character
// data (entity references and CDATA merged); children are its child elements.
type node struct {
	name     xml.Name
	text     strings.Builder
	children []*node
}

// Limits of the XML decoder. Answers are decoded as a stream, one DAV:response at a
// time, so memory grows with the largest response, never with the whole answer.
const (
	// maxDepth bounds element nesting so hostile documents cannot exhaust memory.
	maxDepth = 64
	// maxNodes bounds the elements of one DAV:response (or one small document).
	maxNodes = 1 << 16
)

// errTokenTooLarge is a single XML token (a text, a tag, a comment) larger than the
// decoder's token limit.
var errTokenTooLarge = errors.New("an XML token is larger than the limit")

// tokenReader feeds the XML decoder and counts the bytes it pulls for one token;
// more than limit bytes for one token fail with errTokenTooLarge. encoding/xml buffers a
// whole text (or CDATA section, comment, tag) before it returns it, so this bounds that
// buffer whatever the document looks like.
type tokenReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (t *tokenReader) Read(p []byte) (int, error) {
	if t.n > t.limit {
		return 0, errTokenTooLarge
	}
	n, err := t.r.Read(p)
	t.n += int64(n)
	return n, err
}

// xmlStream decodes a document token by token.
type xmlStream struct {
	d   *xml.Decoder
	tr  *tokenReader
	san *utf8Sanitizer
}

func newXMLStream(r io.Reader, tokenLimit int64) *xmlStream {
	san := &utf8Sanitizer{r: r}
	tr := &tokenReader{r: san, limit: tokenLimit}
	d := xml.NewDecoder(tr)
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported XML charset %q", charset)
	}
	return &xmlStream{d: d, tr: tr, san: san}
}

// token returns the next token; io.EOF at the end of the document.
func (x *xmlStream) token() (xml.Token, error) {
	x.tr.n = 0
	tok, err := x.d.Token()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		if errors.Is(err, errTokenTooLarge) {
			return nil, err
		}
		var tl *AnswerTooLargeError
		if errors.As(err, &tl) {
			return nil, tl
		}
		var re *RequestError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, fmt.Errorf("invalid XML: %w", err)
	}
	return tok, nil
}

// element reads the element whose start tag was just returned into a tree (including
// the end tag). nodes counts the elements read so far against maxNodes.
func (x *xmlStream) element(start xml.StartElement, depth int, nodes *int) (*node, error) {
	n := &node{name: start.Name}
	for {
		tok, err := x.token()
		if err == io.EOF {
			return nil, errors.New("invalid XML: unexpected end of document")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth+1 >= maxDepth {
				return nil, errors.New("invalid XML: elements nested too deeply")
			}
			if *nodes++; *nodes > maxNodes {
				return nil, errors.New("invalid XML: too many elements in one response")
			}
			c, err := x.element(t, depth+1, nodes)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, c)
		case xml.EndElement:
			return n, nil
		case xml.CharData:
			n.text.Write(t)
		}
	}
}

// skip reads up to the end of the element whose start tag was just returned.
func (x *xmlStream) skip() error {
	for depth := 1; depth > 0; {
		tok, err := x.token()
		if err == io.EOF {
			return errors.New("invalid XML: unexpected end of document")
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// parseXML reads a whole (small) document into a tree.
func parseXML(data []byte) (*node, error) {
	x := newXMLStream(bytes.NewReader(data), int64(len(data))+1)
	var root *node
	nodes := 0
	for {
		tok, err := x.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if t, ok := tok.(xml.StartElement); ok {
			if root != nil {
				return nil, errors.New("invalid XML: more than one root element")
			}
			if root, err = x.element(t, 0, &nodes); err != nil {
				return nil, err
			}
		}
	}
	if root == nil {
		return nil, errors.New("invalid XML: no root element")
	}
	return root, nil
}

// is reports whether n is the element space:local.
func (n *node) is(space, local string) bool {
	return n.name.Local == local && n.name.Space == space
}

// child returns the first child named space:local, or nil.
func (n *node) child(space, local string) *node {
	for _, c := range n.children {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

// childLocal returns the first child named space:local, falling back to the first child
// with that local name in any namespace (Cyrus, storages.md §4).
func (n *node) childLocal(space, local string) *node {
	if c := n.child(space, local); c != nil {
		return c
	}
	for _, c := range n.children {
		if c.name.Local == local {
			return c
		}
	}
	return nil
}

// all returns every child named space:local.
func (n *node) all(space, local string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.is(space, local) {
			out = append(out, c)
		}
	}
	return out
}

// find returns the first descendant (depth first, n included) named space:local.
func (n *node) find(space, local string) *node {
	if n.is(space, local) {
		return n
	}
	for _, c := range n.children {
		if f := c.find(space, local); f != nil {
			return f
		}
	}
	return nil
}

// hrefs returns the trimmed texts of n's DAV:href children.
func (n *node) hrefs() []string {
	var out []string
	for _, h := range n.all(nsDAV, "href") {
		if s := strings.TrimSpace(h.text.String()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// msResponse is one DAV:response of a multistatus.
type msResponse struct {
	Hrefs     []string // wire hrefs, verbatim
	Status    int      // response-level status, 0 if none
	Propstats []propstat
	Error     *node // DAV:error, if any
	lossy     bool  // the document had invalid UTF-8, replaced by badByte
}

// propstat is one DAV:propstat: a status and the properties it applies to.
type propstat struct {
	Status int
	Props  []*node
}

// multistatus is a parsed 207 body.
type multistatus struct {
	Responses []msResponse
	SyncToken string // DAV:sync-token at the top level (sync-collection)
}

// decodeMultistatus reads a 207 answer as a stream and calls fn for each DAV:response
// in document order; an error from fn stops decoding and is returned. It fails when the
// body is not a DAV multistatus document; everything inside a response is taken
// leniently. tokenLimit bounds the bytes of any single XML token (an item's text
// included). The top-level DAV:sync-token (sync-collection) is returned.
func decodeMultistatus(r io.Reader, tokenLimit int64, fn func(*msResponse) error) (syncToken string, err error) {
	x := newXMLStream(r, tokenLimit)
	var root *xml.StartElement
	for root == nil {
		tok, err := x.token()
		if err == io.EOF {
			return "", errors.New("invalid XML: no root element")
		}
		if err != nil {
			return "", err
		}
		if t, ok := tok.(xml.StartElement); ok {
			root = &t
		}
	}
	if root.Name.Local != "multistatus" {
		return "", fmt.Errorf("expected a DAV multistatus answer, got <%s>", root.Name.Local)
	}
	syncSeen := false
	for {
		tok, err := x.token()
		if err == io.EOF {
			return "", errors.New("invalid XML: unexpected end of document")
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			// The end of the root: nothing but white space and comments may follow.
			for {
				if _, err := x.token(); err == io.EOF {
					return syncToken, nil
				} else if err != nil {
					return "", err
				}
			}
		case xml.StartElement:
			if t.Name.Local != "response" && t.Name.Local != "sync-token" {
				if err := x.skip(); err != nil { // unknown: never built into a tree
					return "", err
				}
				continue
			}
			nodes := 0
			n, err := x.element(t, 1, &nodes)
			if err != nil {
				return "", err
			}
			switch {
			case n.name.Local == "response":
				if err := fn(responseOf(n, x.san.lossy)); err != nil {
					return "", err
				}
			case n.name.Local == "sync-token" && !syncSeen && (n.name.Space == nsDAV || syncToken == ""):
				syncToken = strings.TrimSpace(n.text.String())
				syncSeen = n.name.Space == nsDAV
			}
		}
	}
}

// responseOf turns a DAV:response element into an msResponse.
func responseOf(r *node, lossy bool) *msResponse {
	resp := &msResponse{Hrefs: r.hrefs(), Error: r.child(nsDAV, "error"), lossy: lossy}
	if len(resp.Hrefs) == 0 {
		for _, c := range r.children { // lenient: href in another namespace
			if c.name.Local == "href" {
				if s := strings.TrimSpace(c.text.String()); s != "" {
					resp.Hrefs = append(resp.Hrefs, s)
				}
			}
		}
	}
	if s := r.childLocal(nsDAV, "status"); s != nil {
		resp.Status = parseStatusLine(s.text.String())
	}
	for _, ps := range r.children {
		if ps.name.Local != "propstat" {
			continue
		}
		p := propstat{Status: 200}
		if s := ps.childLocal(nsDAV, "status"); s != nil {
			p.Status = parseStatusLine(s.text.String())
		}
		if pr := ps.childLocal(nsDAV, "prop"); pr != nil {
			p.Props = pr.children
		}
		resp.Propstats = append(resp.Propstats, p)
	}
	return resp
}

// parseMultistatus parses a whole 207 answer held in memory (tests, fuzzing).
func parseMultistatus(data []byte) (*multistatus, error) {
	ms := &multistatus{}
	tok, err := decodeMultistatus(bytes.NewReader(data), int64(len(data))+1, func(r *msResponse) error {
		ms.Responses = append(ms.Responses, *r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ms.SyncToken = tok
	return ms, nil
}

// badByte replaces bytes that are not valid UTF-8 in a multistatus document, so that
// one broken item does not make the whole answer unreadable. It is a Unicode
// noncharacter, legal in XML, that no real item text contains.
const badByte = '\uFDD0'

// utf8Sanitizer replaces invalid UTF-8 sequences of a stream with badByte and records
// that it did (lossy).
type utf8Sanitizer struct {
	r     io.Reader
	buf   [32 << 10]byte
	tail  []byte // an incomplete sequence from the end of the last chunk
	out   []byte // sanitized bytes not yet returned
	lossy bool
	err   error
}

func (s *utf8Sanitizer) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.r.Read(s.buf[len(s.tail):])
		copy(s.buf[:], s.tail) // the tail goes first (it is at most 3 bytes)
		chunk := s.buf[:len(s.tail)+n]
		s.tail = nil
		if err != nil {
			s.err = err
		} else if k := incompleteTail(chunk); k > 0 {
			s.tail = append([]byte(nil), chunk[len(chunk)-k:]...)
			chunk = chunk[:len(chunk)-k]
		}
		if utf8.Valid(chunk) {
			s.out = chunk
		} else {
			s.lossy = true
			s.out = bytes.ToValidUTF8(chunk, []byte(string(badByte)))
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// invalidUTF8 reports whether text taken from r held bytes that were not UTF-8.
func (r *msResponse) invalidUTF8(text string) bool {
	return r.lossy && strings.ContainsRune(text, badByte)
}

// incompleteTail returns the length of a UTF-8 sequence at the end of b that may be
// completed by the bytes that follow (0 if none).
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a start byte: is its sequence longer than what we have?
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if need > k {
				return k
			}
			return 0
		}
	}
	return 0
}

// parseStatusLine turns "HTTP/1.1 404 Not Found" into 404 (0 when unparsable).
func parseStatusLine(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 || n > 999 {
		return 0
	}
	return n
}

// prop returns the property space:local from a 2xx propstat (matched by local name as
// a fallback), and whether it was found.
func (r *msResponse) prop(space, local string) (*node, bool) {
	var fallback *node
	for _, ps := range r.Propstats {
		if ps.Status < 200 || ps.Status > 299 {
			continue
		}
		for _, p := range ps.Props {
			if p.is(space, local) {
				return p, true
			}
			if fallback == nil && p.name.Local == local {
				fallback = p
			}
		}
	}
	return fallback, fallback != nil
}

// propText returns the text of a property, trimmed if trim is set.
func (r *msResponse) propText(space, local string, trim bool) (string, bool) {
	p, ok := r.prop(space, local)
	if !ok {
		return "", false
	}
	s := p.text.String()
	if trim {
		s = strings.TrimSpace(s)
	}
	return s, true
}

// propStatus returns the propstat status reported for space:local (by local name as a
// fallback), or 0 when the property is not mentioned.
func (r *msResponse) propStatus(space, local string) int {
	fallback := 0
	for _, ps := range r.Propstats {
		for _, p := range ps.Props {
			if p.is(space, local) {
				return ps.Status
			}
			if fallback == 0 && p.name.Local == local {
				fallback = ps.Status
			}
		}
	}
	return fallback
}

// resourceTypes returns the local names in DAV:resourcetype.
func (r *msResponse) hasType(space, local string) bool {
	rt, ok := r.prop(nsDAV, "resourcetype")
	if !ok {
		return false
	}
	for _, c := range rt.children {
		if c.is(space, local) || c.name.Local == local && space != nsDAV {
			return true
		}
	}
	return false
}

// supportsReport reports whether DAV:supported-report-set lists the report local.
func (r *msResponse) supportsReport(local string) bool {
	set, ok := r.prop(nsDAV, "supported-report-set")
	if !ok {
		return false
	}
	var walk func(n *node) bool
	walk = func(n *node) bool {
		if n.name.Local == local {
			return true
		}
		for _, c := range n.children {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(set)
}

// parsePrecondition returns the first precondition element of a DAV:error body, an
// href inside it (for example the existing resource of no-uid-conflict) and the
// server's message, if it sent one (SabreDAV's s:message, a DAV:responsedescription).
func parsePrecondition(body []byte) (name, href, message string) {
	if !bytes.Contains(body, []byte("error")) {
		return "", "", ""
	}
	root, err := parseXML(body)
	if err != nil || root.name.Local != "error" {
		return "", "", ""
	}
	for _, c := range root.children {
		switch {
		case c.name.Space == nsSabre && c.name.Local == "message",
			c.name.Local == "responsedescription":
			if message == "" {
				message = strings.TrimSpace(c.text.String())
			}
		case c.name.Space == nsSabre:
			// exception class, version: not a precondition
		case name == "":
			name = c.name.Local
			if h := c.find(nsDAV, "href"); h != nil {
				href = strings.TrimSpace(h.text.String())
			}
		}
	}
	return name, href, message
}

// escape returns s escaped for XML text content.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"
