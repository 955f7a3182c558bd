package webcal

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// errNotFeed starts the message of every error about a body that is not a usable
// iCalendar feed.
const errNotFeed = "not an iCalendar feed"

// line is one logical content line of the feed: one physical line plus its
// continuation lines.
type line struct {
	raw      string // the physical lines joined by CRLF, exactly as in the feed
	unfolded string // the unfolded text (storage.Unfold's rule)
	no       int    // 1-based physical line number where it starts
}

// component is one top-level component of a VCALENDAR.
type component struct {
	name   string   // upper-case component name (VEVENT, VTIMEZONE, ...)
	lines  []string // raw lines, BEGIN and END included
	tzid   string   // VTIMEZONE only: its TZID
	hasTZ  bool     // VTIMEZONE only: it has a TZID
	tzRefs []string // other components: the TZID= parameter values used inside
}

// split turns a feed body into item texts (storages.md §3 "Splitting into items"):
//
//  1. A UTF-8 BOM and leading whitespace are dropped; the body must be valid UTF-8 and
//     start with BEGIN:VCALENDAR (compared like storage.CheckSyntax does). Line breaks are normalised to CRLF (a lone LF becomes
//     CRLF) and the lines are walked as logical (unfolded) lines whose raw text is kept
//     exactly, folds included.
//  2. Lines directly inside the VCALENDAR that belong to no component are the header,
//     kept in order; blank ones are dropped.
//  3. Top-level VTIMEZONEs are indexed by TZID.
//  4. Every other top-level component is grouped by its UID (sync.md §2.2 applied to
//     the component alone); a component without UID is a group of its own.
//  5. Each group, in order of first appearance, becomes BEGIN:VCALENDAR, the header,
//     every VTIMEZONE whose TZID a TZID= parameter in the group names (in feed order),
//     the group's components in feed order and END:VCALENDAR.
//
// The result depends on the body bytes only. A feed may hold several VCALENDAR objects
// one after the other; their components are pooled and the first one's header and
// BEGIN/END lines are used. Errors are returned for bodies that cannot be split without
// guessing: not UTF-8, not starting with BEGIN:VCALENDAR, a VCALENDAR or component
// that is never closed (a truncated download), an END with nothing to close at the top
// of a VCALENDAR, or content outside any VCALENDAR. A component whose inner structure
// is broken is still an item of its own, which then fails storage.CheckSyntax.
func split(body []byte) ([]string, error) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%s: the body is not valid UTF-8", errNotFeed)
	}
	text := string(body)
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	if trimmed == "" {
		return nil, fmt.Errorf("%s: the body is empty", errNotFeed)
	}
	firstLine := 1 + strings.Count(text[:len(text)-len(trimmed)], "\n")
	lines := logicalLines(storage.NormalizeNewlines(trimmed), firstLine)

	var (
		begin, end string // raw BEGIN:VCALENDAR and END:VCALENDAR of the first VCALENDAR
		header     []string
		comps      []*component
		cur        *component
		depth      int // nesting inside cur
		inCal      bool
		calendars  int
	)
	for _, l := range lines {
		cl := storage.SplitLine(l.unfolded)
		name := strings.ToUpper(cl.Name)
		value := strings.ToUpper(strings.TrimSpace(cl.Value))
		blank := strings.TrimSpace(l.unfolded) == ""
		switch {
		case cur != nil: // inside a top-level component
			cur.lines = append(cur.lines, l.raw)
			switch {
			case name == "BEGIN":
				depth++
			case name == "END":
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
				comps = append(comps, cur)
				cur = nil
			}
		case !inCal: // outside any VCALENDAR
			switch {
			case blank:
			case name == "BEGIN" && value == "VCALENDAR":
				inCal = true
				if calendars == 0 {
					begin = l.raw
				}
			case calendars == 0:
				return nil, fmt.Errorf("%s: it starts with %q, not BEGIN:VCALENDAR", errNotFeed, preview(l.unfolded))
			default:
				return nil, fmt.Errorf("%s: line %d: content after END:VCALENDAR", errNotFeed, l.no)
			}
		case name == "BEGIN": // directly inside a VCALENDAR
			cur = &component{name: value, lines: []string{l.raw}}
			depth = 1
		case name == "END" && value == "VCALENDAR":
			if calendars == 0 {
				end = l.raw
			}
			inCal = false
			calendars++
		case name == "END":
			return nil, fmt.Errorf("%s: line %d: END:%s without BEGIN", errNotFeed, l.no, preview(cl.Value))
		case blank:
		case calendars == 0:
			header = append(header, l.raw)
		}
	}
	switch {
	case cur != nil:
		return nil, fmt.Errorf("%s: the feed ends inside %s (truncated?)", errNotFeed, cur.name)
	case inCal:
		return nil, fmt.Errorf("%s: the feed ends without END:VCALENDAR (truncated?)", errNotFeed)
	}
	return assemble(begin, end, header, comps), nil
}

// assemble builds one item per UID group (steps 3–5 of split).
func assemble(begin, end string, header []string, comps []*component) []string {
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
	items := make([]string, 0, len(groups))
	var b strings.Builder
	for _, g := range groups {
		refs := map[string]bool{}
		for _, c := range g.comps {
			for _, tz := range c.tzRefs {
				refs[tz] = true
			}
		}
		b.Reset()
		b.WriteString(begin + "\r\n")
		for _, h := range header {
			b.WriteString(h + "\r\n")
		}
		for _, z := range zones {
			if z.hasTZ && refs[z.tzid] {
				writeLines(&b, z.lines)
			}
		}
		for _, c := range g.comps {
			writeLines(&b, c.lines)
		}
		b.WriteString(end + "\r\n")
		items = append(items, b.String())
	}
	return items
}

func writeLines(b *strings.Builder, lines []string) {
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}

// logicalLines splits CRLF text into logical lines with the folding rule of
// storage.Unfold: a physical line that starts with a space or a tab continues the
// previous one. first is the line number of the first line.
func logicalLines(text string, first int) []line {
	var out []line
	rest, no := text, first-1
	for rest != "" {
		var phys string
		if i := strings.Index(rest, "\r\n"); i >= 0 {
			phys, rest = rest[:i], rest[i+2:]
		} else {
			phys, rest = rest, ""
		}
		no++
		if n := len(out); n > 0 && phys != "" && (phys[0] == ' ' || phys[0] == '\t') {
			out[n-1].raw += "\r\n" + phys
			out[n-1].unfolded += phys[1:]
			continue
		}
		out = append(out, line{raw: phys, unfolded: phys, no: no})
	}
	return out
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
