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

// maxDepth bounds element nesting so hostile documents cannot exhaust memory.
const maxDepth = 64

// parseXML reads a whole document into a tree. Unknown elements are kept (callers
// ignore them); namespaces are resolved by encoding/xml.
func parseXML(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported XML charset %q", charset)
	}
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errors.New("invalid XML: elements nested too deeply")
			}
			n := &node{name: t.Name}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			} else {
				return nil, errors.New("invalid XML: more than one root element")
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
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

// parseMultistatus parses a 207 answer. It fails only when the body is not a DAV
// multistatus document; everything inside is taken leniently.
func parseMultistatus(data []byte) (*multistatus, error) {
	data, lossy := sanitizeUTF8(data)
	root, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "multistatus" {
		return nil, fmt.Errorf("expected a DAV multistatus answer, got <%s>", root.name.Local)
	}
	ms := &multistatus{}
	if t := root.childLocal(nsDAV, "sync-token"); t != nil {
		ms.SyncToken = strings.TrimSpace(t.text.String())
	}
	for _, r := range root.children {
		if r.name.Local != "response" {
			continue
		}
		resp := msResponse{Hrefs: r.hrefs(), Error: r.child(nsDAV, "error"), lossy: lossy}
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
		ms.Responses = append(ms.Responses, resp)
	}
	return ms, nil
}

// badByte replaces bytes that are not valid UTF-8 in a multistatus document, so that
// one broken item does not make the whole answer unreadable. It is a Unicode
// noncharacter, legal in XML, that no real item text contains.
const badByte = '\uFDD0'

// sanitizeUTF8 replaces invalid UTF-8 sequences with badByte.
func sanitizeUTF8(data []byte) ([]byte, bool) {
	if utf8.Valid(data) {
		return data, false
	}
	return bytes.ToValidUTF8(data, []byte(string(badByte))), true
}

// invalidUTF8 reports whether text taken from r held bytes that were not UTF-8.
func (r *msResponse) invalidUTF8(text string) bool {
	return r.lossy && strings.ContainsRune(text, badByte)
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

// parsePrecondition returns the first precondition element of a DAV:error body and an
// href inside it (for example the existing resource of no-uid-conflict).
func parsePrecondition(body []byte) (name, href string) {
	if !bytes.Contains(body, []byte("error")) {
		return "", ""
	}
	root, err := parseXML(body)
	if err != nil || root.name.Local != "error" {
		return "", ""
	}
	for _, c := range root.children {
		if h := c.find(nsDAV, "href"); h != nil {
			href = strings.TrimSpace(h.text.String())
		}
		return c.name.Local, href
	}
	return "", ""
}

// escape returns s escaped for XML text content.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"
