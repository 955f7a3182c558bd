package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// Item is one calendar object or one vCard as raw text. It is immutable: the bytes are
// kept exactly as read, except that every line break becomes CRLF (sync.md §2.1; a lone
// LF and a lone CR alike, docs/DECISIONS.md "Items"), and the UID and hash are computed
// once by our own scanner. go-ical and go-vcard never touch these bytes.
type Item struct {
	text   string
	uid    string
	hasUID bool
	hash   string
}

// NewItem normalises line breaks to CRLF (a lone LF or a lone CR becomes CRLF; nothing
// else changes, a UTF-8 byte-order mark included) and computes UID and hash. It fails
// only for text that is not valid UTF-8, with a *SyntaxError that says where. Whether
// the text is an item of the right kind is checked separately by CheckSyntax, so that
// callers decide what to do with broken items.
func NewItem(raw []byte) (Item, error) {
	if err := checkUTF8(string(raw)); err != nil {
		return Item{}, err
	}
	return newItem(NormalizeNewlines(string(raw))), nil
}

func newItem(text string) Item {
	uid, ok := ExtractUID(text)
	return Item{text: text, uid: uid, hasUID: ok, hash: Hash(text)}
}

// ParseItem is the one item reader: what every storage uses when it reads an item from
// disk or from the network (vdir files, DAV bodies, webcal components). It is CheckSyntax
// on the bytes as they are, so that errors name the line and byte offset of the input,
// followed by NewItem.
func ParseItem(raw []byte, kind Kind) (Item, error) {
	text := string(raw)
	if err := checkItem(text, kind, base{}); err != nil {
		return Item{}, err
	}
	return newItem(NormalizeNewlines(text)), nil
}

// VerbatimItem is an item whose bytes are raw exactly, line breaks included; its UID and
// hash are those of the normalised text, as for NewItem. It exists for rewriting an item
// in place in the storage it was read from (repair adds lines and keeps the file's own
// line breaks); an item copied to another storage is always a normalised one.
func VerbatimItem(raw []byte) (Item, error) {
	it, err := NewItem(raw)
	if err != nil {
		return Item{}, err
	}
	it.text = string(raw)
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

// Text returns the item text (CRLF line breaks, except for a VerbatimItem).
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

// NormalizeNewlines makes every line break CRLF: a lone LF becomes CRLF (sync.md §2.1),
// and so does a lone CR (old Mac OS and Lotus Notes files end lines with CR alone; an
// XML parser reads a lone CR as a line break too, so a DAV multiget already gives the
// same result). CR CR LF, what converting a CRLF file to CRLF again leaves, is one line
// break (a DAV server that sends the first CR as a character reference delivers it as
// one too). An existing CRLF stays, and nothing else changes.
func NormalizeNewlines(s string) string {
	// Fast path: most items are already CRLF.
	changes := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			n := breakLen(s, i)
			if n != 2 {
				changes++
			}
			i += n - 1
		case '\n':
			changes++
		}
	}
	if changes == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + changes)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			b.WriteString("\r\n")
			i += breakLen(s, i) - 1
		case '\n':
			b.WriteString("\r\n")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// breakLen returns the length of the line break that starts with the CR at s[i]: 2 for
// CRLF, 3 for CR CR LF, 1 for a lone CR.
func breakLen(s string, i int) int {
	switch {
	case i+1 < len(s) && s[i+1] == '\n':
		return 2
	case i+2 < len(s) && s[i+1] == '\r' && s[i+2] == '\n':
		return 3
	}
	return 1
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

// Unfold calls fn for every unfolded content line of text. CRLF, LF and a lone CR are
// line breaks; a break followed by one space or tab continues the previous line, and
// that blank is removed. Empty lines are passed on (callers decide).
func Unfold(text string, fn func(line string)) {
	var cur strings.Builder
	have := false
	for off := 0; off < len(text); {
		end, next := physLine(text, off)
		line := text[off:end]
		off = next
		if have && line != "" && (line[0] == ' ' || line[0] == '\t') {
			cur.WriteString(line[1:])
			continue
		}
		if have {
			fn(cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
		have = true
	}
	if have {
		fn(cur.String())
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
		if Volatile(cl.Name) { // exact, case-sensitive names (sync.md §2.4 rule 3)
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

// Summary returns a short human label for an item: the first SUMMARY (calendars) or FN
// (contacts) value, unescaped minimally (a quoted-printable value decoded) and truncated
// to 40 characters. It never fails; an item without one gives "".
func Summary(text string) string {
	var out string
	ScanLines(text, func(l Line) bool {
		cl := SplitLine(l.Text)
		switch strings.ToUpper(cl.Name) {
		case "SUMMARY", "FN":
			out = unescapeText(cl.Value)
			if strings.Contains(strings.ToUpper(cl.Params), "QUOTED-PRINTABLE") {
				if d, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(cl.Value))); err == nil && utf8.Valid(d) {
					out = strings.Join(strings.Fields(string(d)), " ")
				}
			}
			return false
		}
		return true
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
