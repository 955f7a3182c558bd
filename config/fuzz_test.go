package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"git.sr.ht/~emersion/go-scfg"
)

// FuzzParse checks that Parse never panics, that every error it reports is on a line
// of the input (except the file-level "missing `status_path`"), that a config it
// accepts is consistent, and that on the strict scfg subset its tree matches go-scfg's.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.conf")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"",
		"\n\n",
		"status_path /s\r\nstorage x {\r\n type vdir/vcard\r\n path ~/p\r\n}\r\n",
		"a { b { c } }",
		"a \"b\\\" 'c\n}\n{\n",
		"status_path { cmd echo x }\npair p { storage_a q }\n",
		"storage s {\n type caldav\n url unix:///x\n socket /y\n tls_fingerprint 00\n}\n",
		"pair p {\n collection {\n  alias a\n  id_a .x\n  href_b y\n }\n}\n",
		"\uFEFFstatus_path /s\n\xff",
		"a\\}\n  }  \nb {  \n}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		cfg, err := Parse("f.conf", data)
		if err != nil {
			checkFuzzErrors(t, err, lines)
		} else {
			checkFuzzConfig(t, cfg, lines)
		}
		tree, errs := parseTree(data)
		if len(errs) > 0 || !strictSubset(data) {
			return
		}
		for _, d := range tree {
			checkLines(t, d, lines)
		}
		want, err := scfg.Read(bytes.NewReader(data))
		if err != nil {
			return // e.g. a line longer than bufio.Scanner accepts
		}
		if got := fromTree(tree, false); !reflect.DeepEqual(got, fromScfg(want)) {
			t.Errorf("trees differ from go-scfg\nours    %+v\ngo-scfg %+v", got, fromScfg(want))
		}
	})
}

func checkFuzzErrors(t *testing.T, err error, lines int) {
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) == 0 {
		t.Fatalf("error %v is not a non-empty *Errors", err)
	}
	for _, e := range errs.List {
		if e.Pos.File != "f.conf" || e.Msg == "" {
			t.Errorf("bad error %#v", e)
		}
		if e.Pos.Line == 0 && e.Msg == "missing `status_path`" {
			continue
		}
		if e.Pos.Line < 1 || e.Pos.Line > lines {
			t.Errorf("error %q is on line %d of %d", e.Msg, e.Pos.Line, lines)
		}
	}
}

func checkFuzzConfig(t *testing.T, cfg *Config, lines int) {
	if !cfg.StatusPath.Set || len(cfg.StorageOrder) != len(cfg.Storages) || len(cfg.PairOrder) != len(cfg.Pairs) {
		t.Fatalf("inconsistent config %#v", cfg)
	}
	for _, p := range cfg.Pairs {
		a, b := cfg.Storages[p.StorageA], cfg.Storages[p.StorageB]
		if a == nil || b == nil || a == b || a.Type.IsCalendar() != b.Type.IsCalendar() || (a.ReadOnly && b.ReadOnly) {
			t.Errorf("pair %q accepted with storages %v and %v", p.Name, a, b)
		}
	}
	for _, s := range cfg.Storages {
		if s.Type.set() == 0 || s.Interval < 1 {
			t.Errorf("storage %q accepted with type %q, interval %d", s.Name, s.Type, s.Interval)
		}
	}
	for _, w := range cfg.Warnings {
		if w.Pos.Line < 1 || w.Pos.Line > lines {
			t.Errorf("warning %q is on line %d of %d", w.Msg, w.Pos.Line, lines)
		}
	}
}

func checkLines(t *testing.T, d *directive, lines int) {
	if d.line < 1 || d.line > lines {
		t.Errorf("directive %q on line %d of %d", d.name, d.line, lines)
	}
	for _, c := range d.children {
		checkLines(t, c, lines)
	}
}

// strictSubset reports whether data, which parseTree accepts, avoids every form that
// strict scfg reads differently: a BOM, one-line blocks, blanks after `{` or after a
// closing `}`, and escaped braces where scfg sees block delimiters.
func strictSubset(data []byte) bool {
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSuffix(l, "\r")
		words, err := splitWords(l)
		if err != nil {
			return false
		}
		if len(words) == 0 {
			continue
		}
		last := words[len(words)-1]
		scfgClose := len(words) == 1 && strings.HasSuffix(l, "}")
		scfgOpen := last.text == "{" && strings.HasSuffix(l, "{")
		if scfgClose != (len(words) == 1 && last.is("}")) || scfgOpen != last.is("{") ||
			(len(words) > 1 && last.is("}")) {
			return false
		}
	}
	return true
}

func TestStrictSubset(t *testing.T) {
	for s, want := range map[string]bool{
		"a {\n b\n}\n":   true,
		"a \"{\"\nb '}'": true,
		"a { b }":        false, // one-line block
		"a { \n}":        false, // blank after {
		"a {\n} ":        false, // blank after }
		"a \\{\n}":       false, // escaped {
		"a {\nx}\n}":     false, // go-scfg closes the block on `x}`
		"\uFEFFa":        false,
	} {
		if got := strictSubset([]byte(s)); got != want {
			t.Errorf("strictSubset(%q) = %v, want %v", s, got, want)
		}
	}
}
