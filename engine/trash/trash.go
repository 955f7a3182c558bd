// Package trash keeps what pimsync overwrites or deletes, so that every write has a way
// back. Each run of a pair that writes gets a directory under
// <status_path>/<pair>.trash/ holding a journal (journal.jsonl: one line per write,
// before it happens, and one when it succeeded) and the previous bytes of every item
// it replaced or removed. `pimsync undo` reverts a run; `pimsync trash` lists, shows
// and restores single items. Old runs are pruned by age and size.
package trash

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of the `trash_max_age` and `trash_max_size` directives.
const (
	DefaultMaxAge  = 30 * 24 * time.Hour
	DefaultMaxSize = 100 << 20
)

// Op is the kind of write an entry records.
type Op string

const (
	OpCreate Op = "create" // nothing was replaced; undo deletes what was created
	OpUpdate Op = "update" // Before holds the bytes replaced
	OpDelete Op = "delete" // Before holds the bytes deleted
)

// Entry is one write of a run.
type Entry struct {
	ID         string    `json:"id"` // "<run>/<n>"
	Time       time.Time `json:"time"`
	Side       string    `json:"side"` // "a" or "b"
	Storage    string    `json:"storage"`
	Collection string    `json:"collection"`
	Href       string    `json:"href,omitempty"` // the item written ("" for a create until done)
	Ident      string    `json:"ident"`
	Summary    string    `json:"summary,omitempty"`
	Op         Op        `json:"op"`
	Why        string    `json:"why"` // "sync", "keep a", "merge tool", "merge", "repair", "restore", …
	ETagBefore string    `json:"etag_before,omitempty"`
	HashBefore string    `json:"hash_before,omitempty"`
	// After the write: where the item is and what it holds.
	Done      bool   `json:"done,omitempty"`
	HrefAfter string `json:"href_after,omitempty"`
	ETagAfter string `json:"etag_after,omitempty"`
	HashAfter string `json:"hash_after,omitempty"`

	// deferred: the entry's line is written with its Done line (a create keeps no
	// bytes, and a reader takes only writes that are done).
	deferred bool
}

// Run is the trash of one run of one pair.
type Run struct {
	ID  string
	dir string

	mu   sync.Mutex
	n    int
	file *os.File
	size int64  // bytes written to the run's directory
	buf  []byte // the lines being written
}

// Dir is the trash directory of a pair.
func Dir(statusDir, pair string) string { return filepath.Join(statusDir, pair+".trash") }

// Begin starts the trash of a new run. Nothing is created until the first write.
func Begin(statusDir, pair string) *Run {
	var b [3]byte
	rand.Read(b[:])
	id := stamp().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
	return &Run{ID: id, dir: filepath.Join(Dir(statusDir, pair), id)}
}

var (
	stampMu   sync.Mutex
	lastStamp time.Time
)

// stamp is the time a run's id starts with: now, to the millisecond, and later than
// the stamp of every run begun before in this process, so that runs sort in the order
// they were begun (the last run is the one undo reverts) even when two begin within a
// millisecond.
func stamp() time.Time {
	stampMu.Lock()
	defer stampMu.Unlock()
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(lastStamp) {
		t = lastStamp.Add(time.Millisecond)
	}
	lastStamp = t
	return t
}

// Keep records a write about to happen, with the bytes it replaces (nil for a create),
// and returns the entry to pass to Done.
func (r *Run) Keep(e Entry, before []byte) (*Entry, error) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		if err := os.MkdirAll(r.dir, 0o700); err != nil {
			return nil, fmt.Errorf("trash: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(r.dir, "journal.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("trash: %w", err)
		}
		r.file = f
	}
	r.n++
	e.ID = fmt.Sprintf("%s/%d", r.ID, r.n)
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if before == nil && e.Op == OpCreate {
		// Nothing is kept: the line goes out with the Done line, in one write.
		e.deferred = true
		return &e, nil
	}
	if before != nil {
		if err := os.WriteFile(filepath.Join(r.dir, fmt.Sprint(r.n)), before, 0o600); err != nil {
			return nil, fmt.Errorf("trash: %w", err)
		}
		r.size += int64(len(before))
	}
	if err := r.append(e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Done records that the write of e succeeded, leaving the item at href with etag and
// hash ("" href and hash for a delete).
func (r *Run) Done(e *Entry, href, etag, hash string) error {
	if r == nil || e == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d := *e
	d.Done, d.HrefAfter, d.ETagAfter, d.HashAfter = true, href, etag, hash
	if e.deferred {
		return r.append(*e, d)
	}
	return r.append(d)
}

// append writes the lines of entries in one write.
func (r *Run) append(entries ...Entry) error {
	b := r.buf[:0]
	for _, e := range entries {
		b = append(e.appendJSON(b), '\n')
	}
	r.buf = b
	n, err := r.file.Write(b)
	r.size += int64(n)
	if err != nil {
		return fmt.Errorf("trash: %w", err)
	}
	return nil
}

// Close closes the journal and writes down the run's size (sizeFile), so that pruning
// need not look at every file of the run again.
func (r *Run) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	if werr := os.WriteFile(filepath.Join(r.dir, sizeFile), []byte(strconv.FormatInt(r.size, 10)), 0o600); err == nil {
		err = werr
	}
	return err
}

// sizeFile holds the number of bytes a finished run wrote to its directory (its journal
// and the bytes it kept), in decimal.
const sizeFile = "size"

// runSize returns the bytes held by a run directory: what its size file says, or, for a
// run that never finished (or a trash from before size files), the sum of its files.
func runSize(dir string) int64 {
	if b, err := os.ReadFile(filepath.Join(dir, sizeFile)); err == nil {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	var size int64
	ents, _ := os.ReadDir(dir)
	for _, d := range ents {
		if info, err := d.Info(); err == nil {
			size += info.Size()
		}
	}
	return size
}

// Record is a run read back from disk.
type Record struct {
	ID      string
	Dir     string
	Undone  bool
	Entries []Entry // the writes that succeeded, in the order they were made
	Size    int64
}

// Before returns the bytes an entry replaced or deleted.
func (rec *Record) Before(e Entry) ([]byte, error) {
	_, n, _ := strings.Cut(e.ID, "/")
	return os.ReadFile(filepath.Join(rec.Dir, n))
}

// MarkUndone records that the run was undone.
func (rec *Record) MarkUndone() error {
	return os.WriteFile(filepath.Join(rec.Dir, "undone"), nil, 0o600)
}

// Runs lists the runs of a pair, oldest first.
func Runs(statusDir, pair string) ([]*Record, error) {
	dir := Dir(statusDir, pair)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trash: %w", err)
	}
	var out []*Record
	for _, d := range ents {
		if !d.IsDir() {
			continue
		}
		rec, err := read(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Find returns the run and entry with the given id ("<run>/<n>").
func Find(statusDir, pair, id string) (*Record, Entry, error) {
	runID, _, ok := strings.Cut(id, "/")
	if !ok {
		return nil, Entry{}, fmt.Errorf("trash: %q is not an entry id (RUN/N, as `pimsync trash list` shows)", id)
	}
	rec, err := read(filepath.Join(Dir(statusDir, pair), runID))
	if err != nil {
		return nil, Entry{}, err
	}
	for _, e := range rec.Entries {
		if e.ID == id {
			return rec, e, nil
		}
	}
	return nil, Entry{}, fmt.Errorf("trash: no entry %s in pair %s", id, pair)
}

func read(dir string) (*Record, error) {
	rec := &Record{ID: filepath.Base(dir), Dir: dir}
	if _, err := os.Stat(filepath.Join(dir, "undone")); err == nil {
		rec.Undone = true
	}
	ents, _ := os.ReadDir(dir)
	for _, d := range ents {
		if info, err := d.Info(); err == nil {
			rec.Size += info.Size()
		}
	}
	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trash: %w", err)
	}
	defer f.Close()
	done := map[string]Entry{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a line cut by a crash
		}
		if e.Done {
			if _, seen := done[e.ID]; !seen {
				order = append(order, e.ID)
			}
			done[e.ID] = e
		}
	}
	for _, id := range order {
		rec.Entries = append(rec.Entries, done[id])
	}
	return rec, sc.Err()
}

// Prune removes runs older than maxAge, then the oldest runs until the pair's trash
// is at most maxSize bytes (the newest run is always kept). It reads no journal: a
// run's size comes from its size file.
func Prune(statusDir, pair string, maxAge time.Duration, maxSize int64, now time.Time) error {
	dir := Dir(statusDir, pair)
	ents, err := os.ReadDir(dir) // sorted: run ids sort by time
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trash: %w", err)
	}
	var runs []*Record
	for _, d := range ents {
		if d.IsDir() {
			p := filepath.Join(dir, d.Name())
			runs = append(runs, &Record{ID: d.Name(), Dir: p, Size: runSize(p)})
		}
	}
	var total int64
	for _, r := range runs {
		total += r.Size
	}
	for i, r := range runs {
		t, err := time.Parse("20060102T150405.000Z", strings.SplitN(r.ID, "-", 2)[0])
		old := err == nil && maxAge > 0 && now.Sub(t) > maxAge
		big := maxSize > 0 && total > maxSize && i < len(runs)-1
		if !old && !big {
			continue
		}
		if err := os.RemoveAll(r.Dir); err != nil {
			return fmt.Errorf("trash: %w", err)
		}
		total -= r.Size
	}
	return nil
}

// appendJSON appends e as encoding/json would marshal it (one journal line, without
// the line break), without reflection: a first sync journals every item it creates.
func (e *Entry) appendJSON(b []byte) []byte {
	field := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), name...), '"', ':')
		b = appendJSONString(b, v)
	}
	b = append(b, '{')
	field("id", e.ID, false)
	b = append(b, `,"time":`...)
	if t, err := e.Time.MarshalJSON(); err == nil {
		b = append(b, t...)
	} else {
		b = append(b, `"0001-01-01T00:00:00Z"`...)
	}
	field("side", e.Side, false)
	field("storage", e.Storage, false)
	field("collection", e.Collection, false)
	field("href", e.Href, true)
	field("ident", e.Ident, false)
	field("summary", e.Summary, true)
	field("op", string(e.Op), false)
	field("why", e.Why, false)
	field("etag_before", e.ETagBefore, true)
	field("hash_before", e.HashBefore, true)
	if e.Done {
		b = append(b, `,"done":true`...)
	}
	field("href_after", e.HrefAfter, true)
	field("etag_after", e.ETagAfter, true)
	field("hash_after", e.HashAfter, true)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json does it (HTML
// characters, U+2028 and U+2029 included; invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}
