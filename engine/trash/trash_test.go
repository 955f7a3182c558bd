package trash

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeepDoneAndRead(t *testing.T) {
	dir := t.TempDir()
	r := Begin(dir, "p")
	e, err := r.Keep(Entry{Side: "b", Collection: "c", Href: "c/x.ics", Ident: "x", Op: OpUpdate, Why: "sync"}, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Keep(Entry{Side: "b", Collection: "c", Ident: "y", Op: OpCreate}, nil); err != nil {
		t.Fatal(err) // never done: the write failed
	}
	if err := r.Done(e, "c/x.ics", "e2", "H2"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	runs, err := Runs(dir, "p")
	if err != nil || len(runs) != 1 || len(runs[0].Entries) != 1 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	got := runs[0].Entries[0]
	if got.ID != e.ID || got.HashAfter != "H2" || !got.Done {
		t.Fatalf("entry = %+v", got)
	}
	if b, err := runs[0].Before(got); err != nil || string(b) != "old" {
		t.Fatalf("before = %q, %v", b, err)
	}
	if _, _, err := Find(dir, "p", e.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Find(dir, "p", "nonsense"); err == nil || !strings.Contains(err.Error(), "trash list") {
		t.Fatalf("a bad id: %v", err)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	mk := func(id string, size int) {
		d := filepath.Join(Dir(dir, "p"), id)
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "1"), make([]byte, size), 0o600)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	mk("20261001T000000.000Z-aaaaaa", 10)  // too old
	mk("20261201T000000.000Z-bbbbbb", 600) // pushed out by size
	mk("20261205T000000.000Z-cccccc", 300)
	mk("20261206T000000.000Z-dddddd", 300) // the newest: always kept
	if err := Prune(dir, "p", 30*24*time.Hour, 700, now); err != nil {
		t.Fatal(err)
	}
	runs, _ := Runs(dir, "p")
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID[:8])
	}
	if strings.Join(ids, " ") != "20261205 20261206" {
		t.Fatalf("kept %v", ids)
	}
	if err := Prune(dir, "p", 0, 1, now); err != nil {
		t.Fatal(err)
	}
	if runs, _ := Runs(dir, "p"); len(runs) != 1 {
		t.Fatalf("the newest run must stay, have %d", len(runs))
	}
}

// TestSizeFile: a finished run writes down how many bytes it holds, and pruning goes by
// that figure (it reads no journal); a run without one is measured file by file.
func TestSizeFile(t *testing.T) {
	dir := t.TempDir()
	r := Begin(dir, "p")
	e, err := r.Keep(Entry{Side: "b", Collection: "c", Href: "c/x.ics", Ident: "x", Op: OpUpdate}, []byte("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Done(e, "c/x.ics", "e2", "H2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(Dir(dir, "p"), r.ID)
	var files int64
	ents, _ := os.ReadDir(run)
	for _, d := range ents {
		if d.Name() != sizeFile {
			fi, _ := d.Info()
			files += fi.Size()
		}
	}
	if got := runSize(run); got != files || files == 0 {
		t.Fatalf("size file says %d, the files hold %d", got, files)
	}
	// A size file is believed: this run claims to be huge, so a newer one pushes it out.
	os.WriteFile(filepath.Join(run, sizeFile), []byte("1000000"), 0o600)
	newer := filepath.Join(Dir(dir, "p"), "29991231T000000.000Z-ffffff")
	os.MkdirAll(newer, 0o700)
	os.WriteFile(filepath.Join(newer, "1"), make([]byte, 5), 0o600) // no size file: measured
	if got := runSize(newer); got != 5 {
		t.Fatalf("a run without size file measures %d bytes, want 5", got)
	}
	if err := Prune(dir, "p", 0, 1000, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Fatalf("the run whose size file says 1000000 bytes was kept (%v)", err)
	}
	if _, err := os.Stat(newer); err != nil {
		t.Fatal(err)
	}
}

// TestCreateLines: a create keeps no bytes; its journal line goes out with its Done
// line (both lines, the entry first), and a create that never finishes leaves none.
func TestCreateLines(t *testing.T) {
	dir := t.TempDir()
	r := Begin(dir, "p")
	e, err := r.Keep(Entry{Side: "b", Collection: "c", Ident: "new", Op: OpCreate, Why: "sync"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Keep(Entry{Side: "b", Collection: "c", Ident: "failed", Op: OpCreate, Why: "sync"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Done(e, "c/new.ics", "e1", "H1"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	b, err := os.ReadFile(filepath.Join(Dir(dir, "p"), r.ID, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], `"done"`) || !strings.Contains(lines[1], `"done":true`) ||
		!strings.Contains(lines[0], `"ident":"new"`) || strings.Contains(string(b), "failed") {
		t.Fatalf("journal:\n%s", b)
	}
	runs, err := Runs(dir, "p")
	if err != nil || len(runs) != 1 || len(runs[0].Entries) != 1 || runs[0].Entries[0].HrefAfter != "c/new.ics" {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}

// TestEntryJSON: the journal's own encoder writes exactly what encoding/json writes.
func TestEntryJSON(t *testing.T) {
	odd := []string{"", "plain", `"quoted" \ back`, "line\nbreak\r\ttab", "\x00\x01\x1f\x7f", "<b>&amp;</b>",
		"é ü 中文 😀", "bad \xff\xfe utf8 \xe2\x82", "\u2028 and \u2029", strings.Repeat("x", 300)}
	when := []time.Time{{}, time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}
	for i, s := range odd {
		for j, done := range []bool{false, true} {
			e := Entry{ID: "run/" + s, Time: when[(i+j)%len(when)], Side: "b", Storage: s, Collection: "c/" + s, Href: s, Ident: s,
				Summary: s, Op: OpUpdate, Why: s, ETagBefore: s, HashBefore: s, Done: done, HrefAfter: s, ETagAfter: s, HashAfter: s}
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.appendJSON(nil); string(got) != string(want) {
				t.Errorf("entry %q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

// Runs begun one after the other sort in that order, even within a millisecond.
func TestRunsSortInTheOrderBegun(t *testing.T) {
	var ids []string
	for range 50 {
		ids = append(ids, Begin(t.TempDir(), "p").ID)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("run %d (%s) sorts before run %d (%s)", i, ids[i], i-1, ids[i-1])
		}
	}
}
