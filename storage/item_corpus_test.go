package storage

// The reader over the project's corpus (testdata/corpus, MANIFEST): the verdict of
// every file, and the identity of every accepted one under other line breaks. The CLI
// test cmd/pimsync TestCorpus syncs the same files for real.

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type corpusEntry struct {
	path   string
	kind   Kind
	reader string // "ok" or "refused: …"
	raw    []byte
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	dir := filepath.Join("..", "testdata", "corpus")
	fh, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		e := corpusEntry{path: c[0], kind: Calendars, reader: c[1]}
		if strings.HasPrefix(e.path, "contacts/") {
			e.kind = Contacts
		}
		if e.raw, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.path))); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if len(out) < 60 {
		t.Fatalf("the corpus has %d files", len(out))
	}
	return out
}

func TestCorpusReader(t *testing.T) {
	for _, e := range readCorpus(t) {
		t.Run(e.path, func(t *testing.T) {
			it, err := ParseItem(e.raw, e.kind)
			if want, refused := strings.CutPrefix(e.reader, "refused: "); refused {
				var se *SyntaxError
				if !errors.As(err, &se) || !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), want) {
					t.Fatalf("ParseItem: %v; want a refusal with %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseItem: %v", err)
			}
			text := NormalizeNewlines(string(e.raw))
			if it.Text() != text {
				t.Fatalf("the item is not the file with CRLF line breaks")
			}
			// The same text with LF, CR or CRLF line breaks is the same item.
			body := strings.TrimPrefix(text, BOM)
			for name, variant := range map[string]string{
				"LF": strings.ReplaceAll(body, "\r\n", "\n"),
				"CR": strings.ReplaceAll(body, "\r\n", "\r"),
			} {
				v, err := ParseItem([]byte(variant), e.kind)
				if err != nil || v.Text() != body {
					t.Fatalf("%s variant: %v", name, err)
				}
				if body == text && (v.Ident() != it.Ident() || v.Hash() != it.Hash()) {
					t.Fatalf("%s variant: ident %q hash %s, want %q %s", name, v.Ident(), v.Hash(), it.Ident(), it.Hash())
				}
			}
			// A byte-order mark is accepted and kept; the UID is unaffected.
			withBOM := BOM + body
			b, err := ParseItem([]byte(withBOM), e.kind)
			uid, ok := it.UID()
			buid, bok := b.UID()
			if err != nil || b.Text() != withBOM || uid != buid || ok != bok {
				t.Fatalf("with a BOM: %v, UID %q %v (want %q %v)", err, buid, bok, uid, ok)
			}
		})
	}
}
