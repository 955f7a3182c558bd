package webcal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// errNotFeed starts the message of every error about a body that is not a usable
// iCalendar feed.
const errNotFeed = "not an iCalendar feed"

// component is one top-level component of the feed.
type component struct {
	name   string   // upper-case component name (VEVENT, VTIMEZONE, ...)
	lines  []string // raw logical lines with CRLF line breaks, BEGIN and END included
	no     int      // feed line where it starts
	bare   bool     // outside any VCALENDAR
	tzid   string   // VTIMEZONE only: its TZID
	hasTZ  bool     // VTIMEZONE only: it has a TZID
	tzRefs []string // other components: the TZID= parameter values used inside
	err    error    // why it cannot be an item (not UTF-8, broken nesting), with feed positions
	raw    string   // its bytes in the feed (for the etag of an unusable item)
}

// feedItem is one item of a feed: its text, or why it cannot be used.
type feedItem struct {
	text  string // the item (CRLF line breaks); empty when err is set
	err   error
	href  string // err != nil: the ident the item would have (its UID, else a hash)
	etag  string // err != nil: changes whenever the offending components change
	lines []int  // feed lines where its components start
}

// split turns a feed body into items (storages.md §3 "Splitting into items", with the
// decisions of docs/DECISIONS.md "webcal"):
//
//  1. The feed is read with the item reader's line rules (storage.ScanLines): CRLF, LF
//     and a lone CR end a line, folded lines and quoted-printable soft line breaks
//     continue one, a UTF-8 byte-order mark at the start belongs to the feed and to no
//     item. The text of each line is kept exactly, its line breaks made CRLF.
//  2. Lines directly inside the first VCALENDAR that belong to no component are the
//     header, kept in order; blank ones are dropped, and so is a calendar-level UID
//     (RFC 7986): it names the feed, not an event, and as the first UID line of every
//     item it would give all of them one ident.
//  3. Top-level VTIMEZONEs are indexed by TZID.
//  4. Every other top-level component is grouped by its UID (sync.md §2.2 applied to
//     the component alone); a component without UID is a group of its own. Components
//     outside any VCALENDAR (a feed of bare VEVENTs) are grouped alike.
//  5. Each group, in order of first appearance, becomes BEGIN:VCALENDAR, the header,
//     every VTIMEZONE whose TZID a TZID= parameter in the group names (in feed order),
//     the group's components in feed order and END:VCALENDAR. A feed without any
//     VCALENDAR gives bare items (the VTIMEZONEs and the components alone), as a vdir
//     file of the same text would be.
//
// A component that is not UTF-8 or whose nesting is broken makes its group an unusable
// item (an item error naming the feed line and byte) while the rest of the feed syncs.
// The whole feed is refused, with the line and byte, when it cannot be split without
// guessing: it does not start with a component, a VCALENDAR or component is never
// closed (a truncated download, which must not look like deleted events), an END closes
// nothing, content follows the last END:VCALENDAR, the header is not UTF-8, or it is
// UTF-16. A feed may hold several VCALENDARs one after the other; their components are
// pooled and the first one's header and BEGIN/END lines are used.
func split(body []byte) ([]feedItem, error) {
	text := string(body)
	if strings.HasPrefix(text, "\xff\xfe") || strings.HasPrefix(text, "\xfe\xff") {
		return nil, fmt.Errorf("%s: line 1, byte 0: the feed is UTF-16 (byte-order mark % X), not UTF-8", errNotFeed, text[:2])
	}
	var (
		begin, end string // BEGIN:VCALENDAR and END:VCALENDAR of the first VCALENDAR
		header     []string
		comps      []*component
		cur        *component
		curStart   int // byte offset where cur starts
		depth      int // nesting inside cur
		inCal      bool
		calendars  int
		seen       bool // a component or VCALENDAR was found
		last       storage.Line
		err        error
	)
	fail := func(l storage.Line, format string, args ...any) bool {
		err = fmt.Errorf("%s: line %d, byte %d: %s", errNotFeed, l.No, l.Start, fmt.Sprintf(format, args...))
		return false
	}
	storage.ScanLines(text, func(l storage.Line) bool {
		last = l
		raw := storage.NormalizeNewlines(l.Raw(text))
		cl := storage.SplitLine(l.Text)
		name := strings.ToUpper(cl.Name)
		value := strings.ToUpper(strings.TrimSpace(cl.Value))
		blank := strings.TrimSpace(l.Text) == ""
		isBegin, isEnd := name == "BEGIN" && cl.HasSep, name == "END" && cl.HasSep
		switch {
		case cur != nil: // inside a top-level component
			cur.lines = append(cur.lines, raw)
			switch {
			case isBegin:
				depth++
			case isEnd:
				depth--
			case cur.name == "VTIMEZONE":
				if name == "TZID" && !cur.hasTZ {
					cur.tzid, cur.hasTZ = cl.Value, true
				}
			default:
				if tz, ok := tzidParam(cl.Params); ok {
					cur.tzRefs = append(cur.tzRefs, tz)
				}
			}
			if depth == 0 {
				cur.raw = text[curStart:l.End]
				cur.err = checkComponent(text, curStart, l.End, cur.no)
				comps = append(comps, cur)
				cur = nil
			}
		case blank:
		case !inCal && isBegin && value == "VCALENDAR":
			inCal, seen = true, true
			if calendars == 0 {
				begin = raw
			}
		case !inCal && isBegin && !storage.ComponentOK(storage.Calendars, value):
			return fail(l, "BEGIN:%s: a feed holds calendar components, not vCards", preview(cl.Value))
		case isBegin && value == "": // a BEGIN without name would swallow the rest of the feed
			return fail(l, "BEGIN without a component name")
		case isBegin: // a component directly inside a VCALENDAR, or a bare one
			cur = &component{name: value, lines: []string{raw}, no: l.No, bare: !inCal}
			curStart, depth, seen = l.Start, 1, true
		case !inCal && !seen:
			return fail(l, "it starts with %q, not BEGIN:VCALENDAR", preview(l.Text))
		case !inCal && isEnd:
			return fail(l, "END:%s without BEGIN", preview(cl.Value))
		case !inCal && calendars > 0:
			return fail(l, "content after END:VCALENDAR: %q", preview(l.Text))
		case !inCal:
			return fail(l, "content outside any component: %q", preview(l.Text))
		case isEnd && value == "VCALENDAR":
			if calendars == 0 {
				end = raw
			}
			inCal = false
			calendars++
		case isEnd:
			return fail(l, "END:%s without BEGIN", preview(cl.Value))
		case calendars > 0:
			// The header of a later VCALENDAR is not used.
		case !utf8.ValidString(l.Text) || strings.IndexByte(l.Text, 0) >= 0:
			return fail(l, "the calendar's header is not UTF-8 text: %v", firstBadByte(text, l.Start, l.End))
		case name == "UID":
			// A calendar-level UID (RFC 7986) is not copied into the items (step 2).
		default:
			header = append(header, raw)
		}
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case !seen:
		return nil, fmt.Errorf("%s: the body is empty", errNotFeed)
	case cur != nil:
		return nil, fmt.Errorf("%s: line %d, byte %d: BEGIN:%s is never closed: the feed ends at line %d (truncated?)",
			errNotFeed, cur.no, curStart, cur.name, last.Last)
	case inCal:
		return nil, fmt.Errorf("%s: the feed ends at line %d without END:VCALENDAR (truncated?)", errNotFeed, last.Last)
	}
	return assemble(begin, end, header, calendars > 0, comps), nil
}

// checkComponent checks the bytes text[start:end] of one top-level component with the
// item reader (UTF-8, NUL, nesting); a refusal names the feed line and byte.
func checkComponent(text string, start, end, line int) error {
	return storage.CheckSyntaxAt(text[start:end], storage.Calendars, line, start)
}

// firstBadByte describes the first byte of text[start:end] that is not UTF-8 text.
func firstBadByte(text string, start, end int) error {
	err := storage.CheckSyntax(text[start:end], storage.Calendars)
	var se *storage.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("byte %d: %s", se.Offset+start, se.Msg)
	}
	return err
}

// assemble builds one item per UID group (steps 3–5 of split).
func assemble(begin, end string, header []string, wrap bool, comps []*component) []feedItem {
	var zones []*component
	type group struct{ comps []*component }
	var groups []*group
	byUID := map[string]*group{}
	for _, c := range comps {
		if c.name == "VTIMEZONE" {
			zones = append(zones, c)
			continue
		}
		uid, ok := storage.ExtractUID(strings.Join(c.lines, "\r\n"))
		g := byUID[uid]
		if !ok || g == nil {
			g = &group{}
			groups = append(groups, g)
			if ok {
				byUID[uid] = g
			}
		}
		g.comps = append(g.comps, c)
	}
	items := make([]feedItem, 0, len(groups))
	var b strings.Builder
	for _, g := range groups {
		refs := map[string]bool{}
		for _, c := range g.comps {
			for _, tz := range c.tzRefs {
				refs[tz] = true
			}
		}
		var used []*component
		for _, z := range zones {
			if z.hasTZ && refs[z.tzid] {
				used = append(used, z)
			}
		}
		it := feedItem{}
		var errs []error
		var raws []string
		for _, c := range slices.Concat(used, g.comps) {
			if c.err != nil {
				errs = append(errs, c.err)
			}
			raws = append(raws, c.raw)
		}
		for _, c := range g.comps {
			it.lines = append(it.lines, c.no)
		}
		if len(errs) > 0 {
			it.err = errors.Join(errs...)
			it.etag = storage.Hash(strings.Join(raws, "\r\n"))
			uid, ok := storage.ExtractUID(strings.Join(g.comps[0].lines, "\r\n"))
			if it.href = uid; !ok || uid == "" || !utf8.ValidString(uid) {
				it.href = it.etag
			}
			items = append(items, it)
			continue
		}
		b.Reset()
		if wrap {
			b.WriteString(begin + "\r\n")
			for _, h := range header {
				b.WriteString(h + "\r\n")
			}
		}
		for _, c := range slices.Concat(used, g.comps) {
			writeLines(&b, c.lines)
		}
		if wrap {
			b.WriteString(end + "\r\n")
		}
		it.text = b.String()
		items = append(items, it)
	}
	return items
}

func writeLines(b *strings.Builder, lines []string) {
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}

// newFeed turns split items into the listing and the fetch results. Items get their
// ident as href and their hash as etag. An unusable item, and every item whose ident
// another item of the feed has too, is listed with an item error (sync.md §6.2: that
// ident gets no action, the rest of the feed syncs); nothing is dropped silently.
func (s *Storage) newFeed(items []feedItem, token storage.Token) *feed {
	f := &feed{token: token, items: make(map[string]storage.Fetched, len(items))}
	type entry struct {
		fetched storage.Fetched
		lines   []int
		summary string
		dups    int
	}
	var order []string
	byHref := map[string]*entry{}
	for _, fi := range items {
		var e entry
		switch {
		case fi.err != nil:
			e.fetched = storage.Fetched{Href: fi.href, ETag: fi.etag, Err: &storage.Error{Kind: storage.ErrInvalidData, Op: "fetch", Href: fi.href,
				Err: fmt.Errorf("item %s of the feed of webcal storage %s cannot be read: %w", fi.href, s.name, fi.err)}}
		default:
			it, err := storage.NewItem([]byte(fi.text)) // valid UTF-8: split checked each component
			if err != nil {
				e.fetched = storage.Fetched{Href: storage.Hash(fi.text), Err: &storage.Error{Kind: storage.ErrInvalidData, Op: "fetch", Err: err}}
				break
			}
			href := it.Ident()
			if href == "" {
				href = it.Hash() // an empty UID: an href must not be empty
			}
			e.fetched = storage.Fetched{Href: href, ETag: it.Hash(), Item: it}
			if int64(len(fi.text)) > s.max {
				s.log.Warn("item larger than max_item_size; not fetched", "href", href, "bytes", len(fi.text))
				e.fetched = storage.Fetched{Href: href, ETag: it.Hash(), Err: &storage.Error{Kind: storage.ErrInvalidData, Op: "fetch", Href: href,
					Err: &storage.TooLargeError{Limit: s.max, Size: int64(len(fi.text))}}}
			}
			e.summary = storage.Summary(fi.text)
		}
		e.lines = fi.lines
		href := e.fetched.Href
		if prev := byHref[href]; prev != nil {
			prev.dups++
			prev.lines = append(prev.lines, e.lines...)
			prev.fetched.ETag = storage.Hash(prev.fetched.ETag + " " + e.fetched.ETag)
			if e.summary != "" && prev.summary == "" {
				prev.summary = e.summary
			}
			continue
		}
		byHref[href] = &e
		order = append(order, href)
	}
	for _, href := range order {
		e := byHref[href]
		if e.dups > 0 {
			what := fmt.Sprintf("UID %q", href)
			if _, ok := e.fetched.Item.UID(); !ok && e.fetched.Err == nil {
				what = "the same content and no UID"
			}
			lines := make([]string, len(e.lines))
			for i, n := range e.lines {
				lines[i] = fmt.Sprint(n)
			}
			msg := fmt.Sprintf("the feed of webcal storage %s holds %d items with %s (components at feed lines %s", s.name, e.dups+1, what, strings.Join(lines, ", "))
			if e.summary != "" {
				msg += fmt.Sprintf("; %q", e.summary)
			}
			msg += "); none of them is synced until the feed is fixed"
			e.fetched = storage.Fetched{Href: href, ETag: e.fetched.ETag, Err: &storage.Error{Kind: storage.ErrInvalidData, Op: "fetch", Href: href, Err: errors.New(msg)}}
		}
		f.items[href] = e.fetched
		f.refs = append(f.refs, storage.ItemRef{Href: href, ETag: e.fetched.ETag})
	}
	return f
}

// tzidParam returns the value of a TZID parameter in params (the text between a
// property name and its value), without quotes.
func tzidParam(params string) (string, bool) {
	for params != "" {
		// Cut the next parameter at a ';' outside quotes.
		end, inQuote := len(params), false
		for i := 0; i < len(params); i++ {
			if params[i] == '"' {
				inQuote = !inQuote
			} else if params[i] == ';' && !inQuote {
				end = i
				break
			}
		}
		p := params[:end]
		if end < len(params) {
			params = params[end+1:]
		} else {
			params = ""
		}
		name, value, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(name), "TZID") {
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			return value, true
		}
	}
	return "", false
}

// preview returns the start of s for an error message: at most 40 bytes of its first
// line, cut on a rune boundary.
func preview(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
