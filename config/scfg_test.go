package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"git.sr.ht/~emersion/go-scfg"
)

// node is a comparable form of a directive tree. Line is 0 when compared with go-scfg,
// which keeps its line numbers unexported.
type node struct {
	Name     string
	Params   []string
	Block    bool
	Children []node
	Line     int
}

func fromTree(ds []*directive, withLines bool) []node {
	var out []node
	for _, d := range ds {
		n := node{Name: d.name, Params: d.params, Block: d.hasBlock, Children: fromTree(d.children, withLines)}
		if len(n.Params) == 0 {
			n.Params = nil
		}
		if withLines {
			n.Line = d.line
		}
		out = append(out, n)
	}
	return out
}

func fromScfg(b scfg.Block) []node {
	var out []node
	for _, d := range b {
		n := node{Name: d.Name, Params: d.Params, Block: d.Children != nil, Children: fromScfg(d.Children)}
		if len(n.Params) == 0 {
			n.Params = nil
		}
		out = append(out, n)
	}
	return out
}

func mustTree(t *testing.T, data string) []node {
	t.Helper()
	tree, errs := parseTree([]byte(data))
	if len(errs) > 0 {
		t.Fatalf("parseTree(%q): unexpected errors %v", data, errs)
	}
	return fromTree(tree, true)
}

func TestSplitWords(t *testing.T) {
	type w = word
	tests := []struct {
		line string
		want []word
	}{
		{"", nil},
		{"   \t ", nil},
		{"# comment", nil},
		{"  \t# indented comment", nil},
		{"a b\tc", []w{{"a", true}, {"b", true}, {"c", true}}},
		{"color #ff0000", []w{{"color", true}, {"#ff0000", true}}},
		{"a# b#", []w{{"a#", true}, {"b#", true}}},
		{`"two words" 'single "q"'`, []w{{"two words", false}, {`single "q"`, false}}},
		{`"" ''`, []w{{"", false}, {"", false}}},
		{`a\ b \"c\" \\`, []w{{"a b", false}, {`"c"`, false}, {`\`, false}}},
		{`"esc \" inside" 'it\'s'`, []w{{`esc " inside`, false}, {"it's", false}}},
		{`"#not a comment"`, []w{{"#not a comment", false}}},
		{`\# x`, []w{{"#", false}, {"x", true}}},
		{`{ } "{" \}`, []w{{"{", true}, {"}", true}, {"{", false}, {"}", false}}},
		{"a{b} c", []w{{"a{b}", true}, {"c", true}}},
		{"tab\t\"x\"\t", []w{{"tab", true}, {"x", false}}},
		{"ünïcödé 'ß'", []w{{"ünïcödé", true}, {"ß", false}}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.line)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %#v, %v; want %#v", tt.line, got, err, tt.want)
		}
	}
}

func TestSplitWordsErrors(t *testing.T) {
	tests := map[string]string{
		`a "unterminated`:   "unterminated quote",
		`a 'unterminated\'`: "unterminated quote",
		`"quoted"x`:         "a closing quote must be followed by a blank or the end of the line",
		`'a'"b"`:            "a closing quote must be followed by a blank or the end of the line",
		`ab"cd"`:            "a quote cannot start in the middle of a word; escape it with `\\`",
		`trailing \`:        "a backslash at the end of a line escapes nothing",
	}
	for line, want := range tests {
		if _, err := splitWords(line); err == nil || err.Error() != want {
			t.Errorf("splitWords(%q) error = %v, want %q", line, err, want)
		}
	}
}

func TestParseTree(t *testing.T) {
	tests := []struct {
		name, data string
		want       []node
	}{
		{"empty", "", nil},
		{"flat", "a 1\n\n# c\nb\n", []node{{Name: "a", Params: []string{"1"}, Line: 1}, {Name: "b", Line: 4}}},
		{"nested", "a x {\n  b {\n    c 1\n  }\n  d\n}\ne\n", []node{
			{Name: "a", Params: []string{"x"}, Block: true, Line: 1, Children: []node{
				{Name: "b", Block: true, Line: 2, Children: []node{{Name: "c", Params: []string{"1"}, Line: 3}}},
				{Name: "d", Line: 5},
			}},
			{Name: "e", Line: 7},
		}},
		{"empty block", "a {\n}\n", []node{{Name: "a", Block: true, Line: 1}}},
		{"blanks around braces", "a { \t\n\t }  \n", []node{{Name: "a", Block: true, Line: 1}}},
		{"quoted brace is a parameter", "a \"{\"\nb \"}\"\n", []node{
			{Name: "a", Params: []string{"{"}, Line: 1}, {Name: "b", Params: []string{"}"}, Line: 2},
		}},
		{"escaped brace is a parameter", "a \\{\n\\}\n", []node{
			{Name: "a", Params: []string{"{"}, Line: 1}, {Name: "}", Line: 2},
		}},
		{"one-line block", "password { cmd secret-tool lookup id me }\n", []node{
			{Name: "password", Block: true, Line: 1, Children: []node{
				{Name: "cmd", Params: []string{"secret-tool", "lookup", "id", "me"}, Line: 1},
			}},
		}},
		{"one-line block with params", "storage s { type caldav }", []node{
			{Name: "storage", Params: []string{"s"}, Block: true, Line: 1, Children: []node{
				{Name: "type", Params: []string{"caldav"}, Line: 1},
			}},
		}},
		{"one-line empty block", "a b { }", []node{{Name: "a", Params: []string{"b"}, Block: true, Line: 1}}},
		{"one-line block inside a block", "a {\n b { c \"}\" }\n}", []node{
			{Name: "a", Block: true, Line: 1, Children: []node{
				{Name: "b", Block: true, Line: 2, Children: []node{{Name: "c", Params: []string{"}"}, Line: 2}}},
			}},
		}},
		{"CRLF", "a {\r\n b 1\r\n}\r\n", []node{
			{Name: "a", Block: true, Line: 1, Children: []node{{Name: "b", Params: []string{"1"}, Line: 2}}},
		}},
		{"BOM", "\uFEFFa 1", []node{{Name: "a", Params: []string{"1"}, Line: 1}}},
		{"no final newline", "a\nb", []node{{Name: "a", Line: 1}, {Name: "b", Line: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustTree(t, tt.data); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseTreeErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []syntaxError
	}{
		{"unterminated quote", "a\nb \"x\n", []syntaxError{{2, "unterminated quote"}}},
		{"quote followed by non-blank", "a 'x'y", []syntaxError{{1, "a closing quote must be followed by a blank or the end of the line"}}},
		{"unexpected close", "a\n}\n", []syntaxError{{2, "unexpected `}`"}}},
		{"unterminated block names the opening line", "a {\n b\n c {\n }\n", []syntaxError{
			{1, "unterminated block: `{` is never closed by a `}` line"},
		}},
		{"unterminated nested blocks", "a {\n b {\n", []syntaxError{
			{1, "unterminated block: `{` is never closed by a `}` line"},
			{2, "unterminated block: `{` is never closed by a `}` line"},
		}},
		{"nested one-line blocks", "a { b { c } }", []syntaxError{{1, "nested one-line blocks are not allowed; write the block on several lines"}}},
		{"brace without name", "{\n}", []syntaxError{{1, "a block needs a directive name before `{`"}}},
		{"recovery after a bad opening line", "a 'x'y {\n}\nb {\n", []syntaxError{
			{1, "a closing quote must be followed by a blank or the end of the line"},
			{3, "unterminated block: `{` is never closed by a `}` line"},
		}},
		{"recovery after a bad one-line block", "a { b { c }\n}\n}", []syntaxError{{1, "nested one-line blocks are not allowed; write the block on several lines"}, {3, "unexpected `}`"}}},
		{"one-line without name", "{ a }", []syntaxError{{1, "a block needs a directive name before `{`"}}},
		{"brace in the middle", "a { b", []syntaxError{{1, "unexpected `{`; a block opens with `{` at the end of a line and closes with `}` on a line of its own"}}},
		{"close with words", "a {\n} b\n}", []syntaxError{{2, "unexpected `}`; a block opens with `{` at the end of a line and closes with `}` on a line of its own"}}},
		{"close without open", "a b }", []syntaxError{{1, "unexpected `}`"}}},
		{"text after one-line block", "a { b } c }", []syntaxError{{1, "unexpected `}`; a block opens with `{` at the end of a line and closes with `}` on a line of its own"}}},
		{"invalid UTF-8", "a\nb \xff\nc \xfe", []syntaxError{{2, "the file is not valid UTF-8"}}},
		{"several errors", "a 'x\nb\"c\"\n}\nd {", []syntaxError{
			{1, "unterminated quote"},
			{2, "a quote cannot start in the middle of a word; escape it with `\\`"},
			{3, "unexpected `}`"},
			{4, "unterminated block: `{` is never closed by a `}` line"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parseTree([]byte(tt.data))
			if !reflect.DeepEqual(errs, tt.want) {
				t.Errorf("got  %v\nwant %v", errs, tt.want)
			}
		})
	}
}

// strictCorpus returns the valid configurations that strict scfg also accepts: the
// files under testdata/valid plus inline snippets, each also with CRLF line ends.
func strictCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{
		"quotes":   []byte("a \"b c\" 'd' \"\" e\\ f \\\"g \"#h\"\n# comment\n  # indented\nb #i {\n  c \"{\" \"}\"\n}\n"),
		"nesting":  []byte("a {\n b {\n  c {\n  }\n }\n}\nd 1 2 3\n"),
		"no final": []byte("a\nb {\n}"),
		"unicode":  []byte("naïve 'ü ß' 日本\n"),
	}
	files, err := filepath.Glob("testdata/valid/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		corpus[f] = data
	}
	withCRLF := map[string][]byte{}
	for name, data := range corpus {
		withCRLF[name] = data
		withCRLF[name+" (CRLF)"] = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	}
	return withCRLF
}

// TestScfgOracle checks that go-scfg reads every strict configuration of the corpus to
// the same tree as parseTree.
func TestScfgOracle(t *testing.T) {
	for name, data := range strictCorpus(t) {
		want, err := scfg.Read(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: go-scfg rejects a corpus file: %v", name, err)
			continue
		}
		tree, errs := parseTree(data)
		if len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
			continue
		}
		if got := fromTree(tree, false); !reflect.DeepEqual(got, fromScfg(want)) {
			t.Errorf("%s: trees differ\nours    %+v\ngo-scfg %+v", name, got, fromScfg(want))
		}
	}
}

// TestCompatExtensions checks the forms that strict scfg reads differently or rejects:
// one-line blocks and blanks after `{` or around `}`.
func TestCompatExtensions(t *testing.T) {
	tests := []struct {
		name, data string
		want       []node
	}{
		{"one-line", "password { cmd secret-tool lookup id me }", []node{
			{Name: "password", Block: true, Line: 1, Children: []node{{Name: "cmd", Params: []string{"secret-tool", "lookup", "id", "me"}, Line: 1}}},
		}},
		{"blank after open", "a { \nb\n}", []node{{Name: "a", Block: true, Line: 1, Children: []node{{Name: "b", Line: 2}}}}},
		{"blanks after close", "a {\nb\n}\t \nc", []node{{Name: "a", Block: true, Line: 1, Children: []node{{Name: "b", Line: 2}}}, {Name: "c", Line: 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustTree(t, tt.data); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			b, err := scfg.Read(strings.NewReader(tt.data))
			if err == nil && reflect.DeepEqual(fromScfg(b), fromTree(must(parseTree([]byte(tt.data))), false)) {
				t.Errorf("go-scfg reads %q the same way; it is not an extension", tt.data)
			}
		})
	}
	data, err := os.ReadFile("testdata/compat/one-line.conf")
	if err != nil {
		t.Fatal(err)
	}
	got := mustTree(t, string(data))
	want := node{Name: "path", Block: true, Line: 12, Children: []node{{Name: "cmd", Params: []string{"echo", "~/cal"}, Line: 12}}}
	if !reflect.DeepEqual(got[2].Children[1], want) {
		t.Errorf("one-line.conf: got %+v, want %+v", got[2].Children[1], want)
	}
}

func must(tree []*directive, errs []syntaxError) []*directive {
	if len(errs) > 0 {
		panic(errs)
	}
	return tree
}
