package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The item reader's checks (docs/DECISIONS.md "Items"). pimsync(1) promises that data is
// not validated, so an item is refused only when it cannot be one:
//
//   - the bytes are not UTF-8 text (invalid UTF-8, UTF-16, a NUL byte);
//   - there is no component at all (an empty file, plain text, an HTML page);
//   - a component is of the wrong kind (a vCard in a calendar collection, or the reverse);
//   - the nesting is broken: a BEGIN that is never closed (a truncated file) or an END
//     that closes nothing or something else.
//
// Everything else is an item and is copied byte for byte: content lines that are not
// NAME:value, text before the first BEGIN or after the last END, several components in
// one file, a bare VEVENT/VTODO/VJOURNAL/... without VCALENDAR, a UTF-8 byte-order mark,
// vCard 2.1 and vCalendar 1.0 quoted-printable values continued after a soft line break.
// Every refusal is a *SyntaxError with the line and byte offset in the bytes as they
// were read.

// BOM is the UTF-8 byte-order mark. An item keeps it as part of its bytes; the reader
// skips it when it looks for the first BEGIN line.
const BOM = "\uFEFF"

// SyntaxError is an item (or feed) that cannot be read, with the position of the
// offending line or byte in the bytes as they were read. It matches ErrInvalidData.
type SyntaxError struct {
	Line   int // 1-based physical line (CRLF, LF and a lone CR each end a line); 0 = none
	Offset int // 0-based byte offset from the start of the input
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, byte %d: %s", e.Line, e.Offset, e.Msg)
}

// Unwrap makes the error match ErrInvalidData.
func (e *SyntaxError) Unwrap() error { return ErrInvalidData }

// physLine returns the end of the physical line that starts at off (the offset of its
// line break, or len(s)) and the offset of the next line. CRLF, LF, a lone CR and CR CR
// LF are line breaks (NormalizeNewlines).
func physLine(s string, off int) (end, next int) {
	i := strings.IndexAny(s[off:], "\r\n")
	if i < 0 {
		return len(s), len(s)
	}
	end = off + i
	if s[end] == '\r' {
		return end, end + breakLen(s, end)
	}
	return end, end + 1
}

// Line is one logical line of item or feed text: a physical line together with its
// folded continuations (a following line that starts with a space or a tab) and, for a
// quoted-printable value, the lines continued after a soft line break (a value that
// ends with "="; an empty line ends it).
type Line struct {
	// Text is the unfolded line: folds removed with their blank, quoted-printable
	// continuations appended without the soft line break "=" that announced them. A
	// byte-order mark at the start of the input is not part of it.
	Text  string
	No    int // 1-based physical line number where the line starts
	Last  int // 1-based physical line number of its last physical line
	Start int // byte offset where the line starts (after a leading byte-order mark)
	End   int // byte offset where its last physical line ends, before the line break
	Next  int // byte offset of the following line
}

// Raw returns the bytes of the logical line in s (the text ScanLines was given), line
// breaks between its physical lines included, its final line break not.
func (l Line) Raw(s string) string { return s[l.Start:l.End] }

// ScanLines calls fn for every logical line of text, in order, until fn returns false.
// Line breaks are CRLF, LF or a lone CR.
func ScanLines(text string, fn func(Line) bool) {
	off, no := 0, 0
	if strings.HasPrefix(text, BOM) {
		off = len(BOM)
	}
	for off < len(text) {
		end, next := physLine(text, off)
		no++
		l := Line{Text: text[off:end], No: no, Last: no, Start: off, End: end, Next: next}
		var b []byte // allocated only when the line continues
		qpParams, known := qpParamsOf(l.Text)
		qp := qpParams && strings.HasSuffix(l.Text, "=")
	cont:
		for l.Next < len(text) {
			e2, n2 := physLine(text, l.Next)
			c := text[l.Next:e2]
			switch {
			case qp && c != "": // a blank line ends a quoted-printable value (as in vobject)
			case c != "" && (c[0] == ' ' || c[0] == '\t'):
				c = c[1:]
			default:
				break cont
			}
			if b == nil {
				b = append(make([]byte, 0, 2*len(l.Text)+len(c)), l.Text...)
			}
			if qp { // drop the soft line break, so that Text decodes as quoted-printable
				b = b[:len(b)-1]
			}
			b = append(b, c...)
			no++
			l.Last, l.End, l.Next = no, e2, n2
			if !known && len(b) > maxParams {
				known = true // no separator in sight: not a quoted-printable value
			} else if !known {
				qpParams, known = qpParamsOf(string(b))
			}
			qp = qpParams && len(b) > 0 && b[len(b)-1] == '='
		}
		if b != nil {
			l.Text = string(b)
		}
		if !fn(l) {
			return
		}
		off = l.Next
	}
}

// qpParamsOf reports whether the parameters of line mark a quoted-printable value
// (vCard 2.1, vCalendar 1.0: an ENCODING=QUOTED-PRINTABLE parameter, or the bare
// QUOTED-PRINTABLE parameter of vCard 2.1), and whether that is known yet: not before
// the line's ':' separator has been seen. Such a value that ends with the soft line
// break "=" continues on the next physical line, whatever that starts with.
func qpParamsOf(line string) (qp, known bool) {
	cl := SplitLine(line)
	if !cl.HasSep {
		return false, false
	}
	return strings.Contains(strings.ToUpper(cl.Params), "QUOTED-PRINTABLE"), true
}

// maxParams bounds the search for a folded line's separator, which keeps ScanLines
// linear on a pathological line folded many times without one.
const maxParams = 4 << 10

// position returns the 1-based line number and the offset of the start of that line
// for byte offset off of s.
func position(s string, off int) (line, start int) {
	line = 1
	for i := 0; i < off; {
		_, next := physLine(s, i)
		if next > off {
			break
		}
		line++
		start, i = next, next
	}
	return line, start
}

func errAt(s string, off int, format string, args ...any) *SyntaxError {
	line, _ := position(s, off)
	return &SyntaxError{Line: line, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// checkUTF8 refuses text that is not UTF-8: UTF-16 (recognised by its byte-order mark)
// and invalid UTF-8, naming the first offending byte. A declared CHARSET other than
// UTF-8 is mentioned, since that is the usual cause.
func checkUTF8(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	if strings.HasPrefix(s, "\xff\xfe") || strings.HasPrefix(s, "\xfe\xff") {
		return &SyntaxError{Line: 1, Offset: 0, Msg: fmt.Sprintf(
			"the text is UTF-16 (byte-order mark % X), not UTF-8; convert it, for example with iconv -f UTF-16 -t UTF-8", s[:2])}
	}
	off := 0
	for off < len(s) {
		r, size := utf8.DecodeRuneInString(s[off:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		off += size
	}
	bad := s[off:min(len(s), off+4)]
	msg := fmt.Sprintf("not valid UTF-8 (bytes % X)", bad)
	if cs := declaredCharset(s); cs != "" {
		msg += fmt.Sprintf("; the item declares CHARSET=%s, but items must be UTF-8: convert it, for example with iconv -f %s -t UTF-8", cs, cs)
	} else {
		msg += "; items must be UTF-8: convert it, for example with iconv -f WINDOWS-1252 -t UTF-8 if it comes from Windows"
	}
	return errAt(s, off, "%s", msg)
}

// declaredCharset returns the first CHARSET parameter value in s that is not UTF-8.
func declaredCharset(s string) string {
	up := strings.ToUpper(s)
	for i := 0; ; {
		j := strings.Index(up[i:], "CHARSET=")
		if j < 0 {
			return ""
		}
		i += j + len("CHARSET=")
		v := strings.Trim(up[i:min(len(up), i+40)], `"`)
		end := strings.IndexFunc(v, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		})
		if end >= 0 {
			v = v[:end]
		}
		if v != "" && v != "UTF-8" && v != "UTF8" {
			return v
		}
	}
}

// CheckSyntax checks that text is an item of the given kind (see the top of this file
// for what is refused). Errors are *SyntaxErrors with positions in text.
func CheckSyntax(text string, kind Kind) error { return checkItem(text, kind, base{}) }

// CheckSyntaxAt is CheckSyntax for text that is a part of a larger input (a component
// of a webcal feed) starting at the given 1-based line and byte offset: every position
// in the error refers to the larger input.
func CheckSyntaxAt(text string, kind Kind, line, offset int) error {
	return checkItem(text, kind, base{line - 1, offset})
}

// base shifts the positions of errors: lines and bytes before the checked text.
type base struct{ lines, bytes int }

func (b base) at(err error) error {
	if se, ok := err.(*SyntaxError); ok && se.Line > 0 {
		se.Line += b.lines
		se.Offset += b.bytes
	}
	return err
}

// ComponentOK reports whether a top-level component name belongs in a collection of
// the kind: VCARD in an address book; in a calendar VCALENDAR, or any bare component
// (VEVENT, VTODO, VJOURNAL, VFREEBUSY, VAVAILABILITY, VTIMEZONE, X-...) but a vCard.
func ComponentOK(kind Kind, name string) bool {
	if kind == Contacts {
		return name == "VCARD"
	}
	return name != "VCARD" && name != "VADDRESSBOOK"
}

type openComp struct {
	name string
	line int
	off  int
}

func checkItem(text string, kind Kind, b base) error {
	if err := checkUTF8(text); err != nil {
		return b.at(err)
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		return b.at(errAt(text, i, "a NUL byte: this is binary data or UTF-16 without a byte-order mark, not UTF-8 text"))
	}
	if strings.TrimSpace(strings.TrimPrefix(text, BOM)) == "" {
		return &SyntaxError{Msg: "the item is empty"}
	}
	var (
		stack []openComp
		seen  bool
		first *Line
		last  Line
		err   error
	)
	ScanLines(text, func(l Line) bool {
		if strings.TrimSpace(l.Text) == "" {
			return true
		}
		if first == nil {
			f := l
			first = &f
		}
		last = l
		name, value, ok := beginEnd(l.Text)
		if !ok {
			return true
		}
		switch {
		case name == "BEGIN" && value == "":
			err = lineErr(l, "BEGIN without a component name")
		case name == "BEGIN" && len(stack) == 0 && !ComponentOK(kind, value):
			err = lineErr(l, "BEGIN:%s: %s does not belong in %s (expected %s)", preview(value), article(value), collectionOf(kind), want(kind))
		case name == "BEGIN":
			stack = append(stack, openComp{value, l.No, l.Start})
			seen = true
		case len(stack) == 0:
			err = lineErr(l, "END:%s without a BEGIN it could close", preview(value))
		case stack[len(stack)-1].name != value:
			top := stack[len(stack)-1]
			err = lineErr(l, "END:%s does not close BEGIN:%s of line %d", preview(value), top.name, top.line+b.lines)
		default:
			stack = stack[:len(stack)-1]
		}
		return err == nil
	})
	switch {
	case err != nil:
		return b.at(err)
	case !seen:
		return b.at(lineErr(*first, "no component: no BEGIN line anywhere (expected %s); the text starts with %q", want(kind), preview(first.Text)))
	case len(stack) > 0:
		top := stack[len(stack)-1]
		return b.at(&SyntaxError{Line: top.line, Offset: top.off, Msg: fmt.Sprintf(
			"BEGIN:%s is never closed: the text ends at line %d (byte %d) without END:%s (truncated?)",
			top.name, last.Last+b.lines, len(text)+b.bytes, top.name)})
	}
	return nil
}

// beginEnd recognises a BEGIN or END line (names compared case-insensitively) and
// returns the upper-case keyword and component name.
func beginEnd(line string) (name, value string, ok bool) {
	if len(line) < 4 {
		return "", "", false
	}
	switch line[0] {
	case 'B', 'b', 'E', 'e':
	default:
		return "", "", false
	}
	cl := SplitLine(line)
	name = strings.ToUpper(cl.Name)
	if (name != "BEGIN" && name != "END") || !cl.HasSep {
		return "", "", false
	}
	return name, strings.ToUpper(strings.TrimSpace(cl.Value)), true
}

func lineErr(l Line, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: l.No, Offset: l.Start, Msg: fmt.Sprintf(format, args...)}
}

func want(kind Kind) string {
	if kind == Contacts {
		return "BEGIN:VCARD"
	}
	return "BEGIN:VCALENDAR, or a bare VEVENT, VTODO, ..."
}

func collectionOf(kind Kind) string {
	if kind == Contacts {
		return "an address book"
	}
	return "a calendar"
}

func article(component string) string {
	switch component {
	case "VCARD":
		return "a vCard"
	case "VCALENDAR":
		return "a calendar"
	}
	return "a " + preview(component) + " component"
}

// preview returns the start of s for a message: at most 40 bytes, cut on a rune
// boundary.
func preview(s string) string { return truncate(s, 40) }

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
