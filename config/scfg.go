package config

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// This file is the scfg layer (config.md §2): it turns the file into a tree of
// directives, each with the line it starts on, without knowing any directive names.

// directive is one parsed scfg directive.
type directive struct {
	name     string
	params   []string
	hasBlock bool // a block was given, possibly empty
	children []*directive
	line     int
}

// syntaxError is an scfg-level error on one line.
type syntaxError struct {
	line int
	msg  string
}

// word is one word of a line. Only a bare word (neither quoted nor escaped) can be the
// structural `{` or `}`.
type word struct {
	text string
	bare bool
}

func (w word) is(s string) bool { return w.bare && w.text == s }

func (w word) structural() bool { return w.is("{") || w.is("}") }

// parseTree parses data into the list of top-level directives. On any syntax error the
// tree is incomplete, and every syntax error found is returned in line order.
func parseTree(data []byte) ([]*directive, []syntaxError) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, []syntaxError{{i + 1, "the file is not valid UTF-8"}}
		}
	}
	var p treeParser
	p.stack = []*directive{{hasBlock: true}}
	for i, l := range lines {
		p.line(i+1, strings.TrimSuffix(l, "\r"))
	}
	for _, open := range p.stack[1:] {
		if open.hasBlock { // not a placeholder for a line already reported
			p.errorf(open.line, "unterminated block: `{` is never closed by a `}` line")
		}
	}
	return p.stack[0].children, p.errs
}

// treeParser holds the state of parseTree: the chain of open blocks, the root first.
type treeParser struct {
	stack []*directive
	errs  []syntaxError
}

func (p *treeParser) errorf(line int, msg string) {
	p.errs = append(p.errs, syntaxError{line, msg})
}

func (p *treeParser) line(n int, text string) {
	words, err := splitWords(text)
	if err == nil {
		err = p.add(words, n)
	}
	if err != nil {
		p.errorf(n, err.Error())
		if meantToOpen(text) {
			p.stack = append(p.stack, &directive{line: n}) // a placeholder, so that its `}` matches
		}
	}
}

// add adds the directive of a line to the current block, or closes the block.
func (p *treeParser) add(words []word, n int) error {
	if len(words) == 0 {
		return nil
	}
	if len(words) == 1 && words[0].is("}") {
		if len(p.stack) == 1 {
			return errors.New("unexpected `}`")
		}
		p.stack = p.stack[:len(p.stack)-1]
		return nil
	}
	d, opens, err := lineDirective(words, n)
	if err != nil {
		return err
	}
	top := p.stack[len(p.stack)-1]
	top.children = append(top.children, d)
	if opens {
		p.stack = append(p.stack, d)
	}
	return nil
}

// meantToOpen guesses whether a line that failed to parse was meant to open a block,
// so that the `}` closing it is not reported as well: it has more `{` than `}` words.
func meantToOpen(text string) bool {
	depth := 0
	for _, f := range strings.Fields(text) {
		switch f {
		case "{":
			depth++
		case "}":
			depth--
		}
	}
	return depth > 0
}

// lineDirective builds the directive of one line that is not a lone `}`. opens reports
// whether the line opens a block that continues on the next lines.
func lineDirective(words []word, n int) (d *directive, opens bool, err error) {
	last := len(words) - 1
	switch {
	case words[last].is("{"):
		d, err = newDirective(words[:last], n)
		if d != nil {
			d.hasBlock = true
		}
		return d, true, err
	case words[last].is("}") && last > 0:
		d, err = oneLineBlock(words[:last], n)
		return d, false, err
	default:
		d, err = newDirective(words, n)
		return d, false, err
	}
}

// oneLineBlock parses the compatibility form `NAME [PARAMS] { CHILD [PARAMS] }`, given
// the words without the final `}`.
func oneLineBlock(words []word, n int) (*directive, error) {
	open := -1
	for i, w := range words {
		if w.is("{") {
			open = i
			break
		}
	}
	if open < 0 {
		return nil, errors.New("unexpected `}`")
	}
	d, err := newDirective(words[:open], n)
	if err != nil {
		return nil, err
	}
	d.hasBlock = true
	inner := words[open+1:]
	if len(inner) == 0 {
		return d, nil
	}
	for _, w := range inner {
		if w.is("{") {
			return nil, errors.New("nested one-line blocks are not allowed; write the block on several lines")
		}
	}
	child, err := newDirective(inner, n)
	if err != nil {
		return nil, err
	}
	d.children = []*directive{child}
	return d, nil
}

// newDirective makes a directive from its name and parameters, none of which may be
// structural.
func newDirective(words []word, n int) (*directive, error) {
	if len(words) == 0 {
		return nil, errors.New("a block needs a directive name before `{`")
	}
	params := make([]string, 0, len(words)-1)
	for _, w := range words {
		if w.structural() {
			return nil, errors.New("unexpected `" + w.text + "`; a block opens with `{` at the end of a line and closes with `}` on a line of its own")
		}
		params = append(params, w.text)
	}
	return &directive{name: params[0], params: params[1:], line: n}, nil
}

// splitWords splits one line into words (config.md §2). A line whose first non-blank
// character is `#` has no words.
func splitWords(line string) ([]word, error) {
	var (
		words  []word
		sb     strings.Builder
		inWord bool // a word has started (possibly an empty quoted one)
		bare   bool // the current word has no quote and no escape
		quote  rune // the open quote character, or 0
		closed bool // a quote just closed: the word must end here
		escape bool // the previous character was a backslash
	)
	flush := func() {
		if inWord {
			words = append(words, word{sb.String(), bare})
		}
		sb.Reset()
		inWord, closed = false, false
	}
	for _, ch := range line {
		blank := ch == ' ' || ch == '\t'
		switch {
		case escape:
			sb.WriteRune(ch)
			escape = false
		case closed && !blank:
			return nil, errors.New("a closing quote must be followed by a blank or the end of the line")
		case ch == '\\':
			escape, bare, inWord = true, false, true
		case quote != 0 && ch == quote:
			quote, closed = 0, true
		case quote != 0:
			sb.WriteRune(ch)
		case blank:
			flush()
		case ch == '"' || ch == '\'':
			if inWord {
				return nil, errors.New("a quote cannot start in the middle of a word; escape it with `\\`")
			}
			quote, inWord, bare = ch, true, false
		case ch == '#' && !inWord && len(words) == 0:
			return nil, nil
		default:
			if !inWord {
				inWord, bare = true, true
			}
			sb.WriteRune(ch)
		}
	}
	switch {
	case escape:
		return nil, errors.New("a backslash at the end of a line escapes nothing")
	case quote != 0:
		return nil, errors.New("unterminated quote")
	}
	flush()
	return words, nil
}
