package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Item is one calendar object or one vCard as raw text. It is immutable: the bytes are
// kept exactly as read (after line-break normalisation, sync.md §2.1), and the UID and
// hash are computed once by our own scanner. go-ical and go-vcard never touch these
// bytes.
type Item struct {
	text   string
	uid    string
	hasUID bool
	hash   string
}

// NewItem normalises line breaks to CRLF (a lone LF becomes CRLF; nothing else changes)
// and computes UID and hash. It fails only for text that is not valid UTF-8. Whether the
// text is a syntactically valid component is checked separately by CheckSyntax, so that
// callers decide what to do with broken items.
func NewItem(raw []byte) (Item, error) {
	if !utf8.Valid(raw) {
		return Item{}, fmt.Errorf("%w: item is not valid UTF-8", ErrInvalidData)
	}
	text := NormalizeNewlines(string(raw))
	uid, ok := ExtractUID(text)
	return Item{text: text, uid: uid, hasUID: ok, hash: Hash(text)}, nil
}

// ParseItem is NewItem followed by CheckSyntax for the given kind: what storages use when
// they read an item from disk or from the network.
func ParseItem(raw []byte, kind Kind) (Item, error) {
	it, err := NewItem(raw)
	if err != nil {
		return Item{}, err
	}
	if err := CheckSyntax(it.text, kind); err != nil {
		return Item{}, err
	}
	return it, nil
}

// MustItem is NewItem for tests and fixed data; it panics on invalid UTF-8.
func MustItem(text string) Item {
	it, err := NewItem([]byte(text))
	if err != nil {
		panic(err)
	}
	return it
}

// Text returns the item text (CRLF line breaks).
func (i Item) Text() string { return i.text }

// Bytes returns a copy of the item text as bytes.
func (i Item) Bytes() []byte { return []byte(i.text) }

// UID returns the item's UID and whether it has one.
func (i Item) UID() (string, bool) { return i.uid, i.hasUID }

// Hash returns the normalised hash: 64 upper-case hex digits (sync.md §2.4).
func (i Item) Hash() string { return i.hash }

// Ident returns the UID, or the hash for an item without UID (sync.md §2.3).
func (i Item) Ident() string {
	if i.hasUID {
		return i.uid
	}
	return i.hash
}

// IsZero reports whether i is the zero Item (no text at all).
func (i Item) IsZero() bool { return i.text == "" && i.hash == "" }

// NormalizeNewlines turns every lone LF into CRLF and leaves everything else (including
// existing CRLF and lone CR) unchanged.
func NormalizeNewlines(s string) string {
	// Fast path: count lone LFs first; most items are already CRLF.
	lone := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			lone++
		}
	}
	if lone == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + lone)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ExtractUID implements sync.md §2.2 byte for byte: the first line starting with exactly
// "UID:", plus any continuation lines (a leading space or tab is dropped). The text is
// split on CRLF only.
func ExtractUID(text string) (string, bool) {
	rest := text
	for {
		var line string
		line, rest, _ = cutLine(rest)
		if strings.HasPrefix(line, "UID:") {
			uid := line[4:]
			for rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
				line, rest, _ = cutLine(rest)
				uid += line[1:]
			}
			return uid, true
		}
		if rest == "" {
			return "", false
		}
	}
}

// cutLine splits s at the first CRLF.
func cutLine(s string) (line, rest string, found bool) {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i], s[i+2:], true
	}
	return s, "", false
}

// ContentLine is one unfolded content line split into its name and value (sync.md §2.4
// rule 2). Params holds the text between the name and the value separator, without the
// leading ';'.
type ContentLine struct {
	Raw    string // the unfolded line
	Name   string // text before the first ';' or ':'
	Params string
	Value  string // text after the first ':' outside a quoted parameter value
	HasSep bool   // whether a ':' separator was found
}

// SplitLine splits an unfolded content line into name, params and value.
func SplitLine(line string) ContentLine {
	cl := ContentLine{Raw: line}
	i := strings.IndexAny(line, ";:")
	if i < 0 {
		cl.Name = line
		return cl
	}
	cl.Name = line[:i]
	if line[i] == ':' {
		cl.Value = line[i+1:]
		cl.HasSep = true
		return cl
	}
	inQuote := false
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '"':
			inQuote = !inQuote
		case ':':
			if !inQuote {
				cl.Params = line[i+1 : j]
				cl.Value = line[j+1:]
				cl.HasSep = true
				return cl
			}
		}
	}
	cl.Params = line[i+1:]
	return cl
}

// Unfold calls fn for every unfolded content line of text. Both CRLF and LF are line
// breaks; a break followed by one space or tab continues the previous line, and that
// blank is removed. Empty lines are passed on (callers decide).
func Unfold(text string, fn func(line string)) {
	unfoldNumbered(text, func(line string, _ int) { fn(line) })
}

// unfoldNumbered is Unfold that also passes the 1-based physical line number on which
// each unfolded line starts.
func unfoldNumbered(text string, fn func(line string, lineNo int)) {
	var cur strings.Builder
	have := false
	start, n := 0, 0
	rest := text
	for rest != "" {
		var line string
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, ""
		}
		n++
		line = strings.TrimSuffix(line, "\r")
		if have && line != "" && (line[0] == ' ' || line[0] == '\t') {
			cur.WriteString(line[1:])
			continue
		}
		if have {
			fn(cur.String(), start)
			cur.Reset()
		}
		cur.WriteString(line)
		start = n
		have = true
	}
	if have {
		fn(cur.String(), start)
	}
}

// Hash computes the normalised hash of sync.md §2.4.
func Hash(text string) string {
	h := sha256.New()
	var tz []string
	inTZ := false
	emit := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte("\r\n"))
	}
	Unfold(text, func(line string) {
		if line == "" {
			return
		}
		cl := SplitLine(line)
		switch cl.Name {
		case "PRODID", "DTSTAMP", "LAST-MODIFIED":
			return
		}
		if inTZ {
			tz = append(tz, line)
			if cl.Name == "END" && cl.Value == "VTIMEZONE" {
				inTZ = false
			}
			return
		}
		if cl.Name == "BEGIN" && cl.Value == "VTIMEZONE" {
			inTZ = true
			tz = append(tz, line)
			return
		}
		if cl.Name == "END" && cl.Value == "VCALENDAR" {
			for _, l := range tz {
				emit(l)
			}
			tz = tz[:0]
		}
		emit(line)
	})
	for _, l := range tz {
		emit(l)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// HashBytes is Hash over raw bytes (no normalisation needed: Hash accepts LF too).
func HashBytes(b []byte) string { return Hash(string(b)) }

// CheckSyntax verifies that text is one syntactically valid component of the right kind:
// non-empty, starting with BEGIN:VCALENDAR (calendars) or BEGIN:VCARD (contacts), with
// properly nested BEGIN/END lines, and nothing but blank lines after the final END. Each
// content line must have a name and a ':' separator. The error names the line number.
// Semantics are not checked: invalid but well-formed items sync unchanged (pimsync(1)).
func CheckSyntax(text string, kind Kind) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("%w: item is empty", ErrInvalidData)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return fmt.Errorf("%w: item contains a NUL byte (binary data?)", ErrInvalidData)
	}
	want := kind.Component()
	var stack []string
	done := false
	var err error
	unfoldNumbered(text, func(line string, n int) {
		if err != nil || strings.TrimSpace(line) == "" {
			return
		}
		if done {
			err = fmt.Errorf("%w: line %d: content after END:%s", ErrInvalidData, n, want)
			return
		}
		cl := SplitLine(line)
		if cl.Name == "" || !cl.HasSep {
			err = fmt.Errorf("%w: line %d: not a content line (NAME:value): %q", ErrInvalidData, n, truncate(line, 40))
			return
		}
		v := strings.ToUpper(strings.TrimSpace(cl.Value))
		switch strings.ToUpper(cl.Name) {
		case "BEGIN":
			switch {
			case v == "":
				err = fmt.Errorf("%w: line %d: BEGIN without a component name", ErrInvalidData, n)
			case len(stack) == 0 && v != want:
				err = fmt.Errorf("%w: line %d: expected BEGIN:%s, found BEGIN:%s", ErrInvalidData, n, want, truncate(cl.Value, 40))
			default:
				stack = append(stack, v)
			}
		case "END":
			switch {
			case len(stack) == 0:
				err = fmt.Errorf("%w: line %d: END:%s without BEGIN", ErrInvalidData, n, truncate(cl.Value, 40))
			case stack[len(stack)-1] != v:
				err = fmt.Errorf("%w: line %d: END:%s does not close BEGIN:%s", ErrInvalidData, n, truncate(cl.Value, 40), stack[len(stack)-1])
			default:
				stack = stack[:len(stack)-1]
				done = len(stack) == 0
			}
		default:
			if len(stack) == 0 {
				err = fmt.Errorf("%w: line %d: expected BEGIN:%s, found %q", ErrInvalidData, n, want, truncate(line, 40))
			}
		}
	})
	if err != nil {
		return err
	}
	if !done {
		if len(stack) == 0 {
			return fmt.Errorf("%w: no BEGIN:%s found", ErrInvalidData, want)
		}
		return fmt.Errorf("%w: missing END:%s at end of item", ErrInvalidData, stack[len(stack)-1])
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// cut on a rune boundary
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Summary returns a short human label for an item: the first SUMMARY (calendars) or FN
// (contacts) value, unescaped minimally and truncated to 40 characters. It never fails;
// an item without one gives "".
func Summary(text string) string {
	var out string
	found := false
	Unfold(text, func(line string) {
		if found {
			return
		}
		cl := SplitLine(line)
		switch strings.ToUpper(cl.Name) {
		case "SUMMARY", "FN":
			out = unescapeText(cl.Value)
			found = true
		}
	})
	return truncate(strings.TrimSpace(out), 40)
}

func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\n`, " ", `\N`, " ", `\,`, ",", `\;`, ";", `\\`, `\`)
	return r.Replace(s)
}
