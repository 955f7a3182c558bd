package status

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"unsafe"
)

// RowSet holds the item rows of one mapping compactly, for planning over large
// collections: every row lives in one byte arena (its hash in binary), and hash tables
// of row numbers find a row by its href on either side or by its ident without a
// string or map entry per row. Rows are numbered from 0 to Len()-1, in no particular
// order. A RowSet is read-only once built, and safe for concurrent use until Close.
//
// Large arenas live outside the Go heap (allocArena). Close gives them back; a RowSet
// that is dropped without Close gives them back when the garbage collector finds it
// unreachable. Nothing a method returns points into the arena.
type RowSet struct {
	mapped  [][]byte // arena memory to give back (freeArena)
	cleanup runtime.Cleanup

	// chunks hold the rows: per row five uvarint-prefixed fields (ident, href_a,
	// etag_a, href_b, etag_b), then the hash (32 bytes). A row never spans chunks.
	chunks [][]byte
	off    []uint32 // where each row starts: chunk<<chunkBits | offset
	href   [2][]uint32
	ident  []uint32 // hash tables: row+1, 0 for an empty slot; sizes are powers of two
	seed   maphash.Seed
	empty  [2]int // rows with an empty etag on each side
}

// Field numbers of a row in the arena.
const (
	fIdent = iota
	fHrefA
	fETagA
	fHrefB
	fETagB
	numFields
)

func sideIndex(s Side) int {
	if s == SideB {
		return 1
	}
	return 0
}

// Len returns the number of rows.
func (rs *RowSet) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.off)
}

// EmptyETags returns how many rows have an empty etag on side s.
func (rs *RowSet) EmptyETags(s Side) int {
	if rs == nil {
		return 0
	}
	return rs.empty[sideIndex(s)]
}

// Chunks grow from minChunk to maxChunk bytes; a row larger than that gets a chunk of
// its own (at offset 0).
const (
	chunkBits = 20
	maxChunk  = 1 << chunkBits
	minChunk  = 4 << 10
	maxChunks = 1 << (32 - chunkBits)
)

// row returns the bytes of row i onwards, to the end of its chunk.
func (rs *RowSet) row(i int) []byte {
	o := rs.off[i]
	return rs.chunks[o>>chunkBits][o&(maxChunk-1):]
}

// field returns field f of row i as a view into the arena.
func (rs *RowSet) field(i, f int) []byte {
	p := rs.row(i)
	for {
		n, w := binary.Uvarint(p)
		p = p[w:]
		if f == 0 {
			return p[:n:n]
		}
		p = p[n:]
		f--
	}
}

// fields returns every field of row i and its binary hash, as views into the arena.
func (rs *RowSet) fields(i int) (fs [numFields][]byte, hash []byte) {
	p := rs.row(i)
	for f := range numFields {
		n, w := binary.Uvarint(p)
		fs[f] = p[w : w+int(n)]
		p = p[w+int(n):]
	}
	return fs, p[:32]
}

// Row returns row i as a Row; its strings share one allocation.
func (rs *RowSet) Row(i int) Row {
	fs, hash := rs.fields(i)
	total := 64
	for _, f := range fs {
		total += len(f)
	}
	buf := AppendHashHex(make([]byte, 0, total), hash)
	for _, f := range fs {
		buf = append(buf, f...)
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	var out [numFields]string
	at := 64
	for f := range numFields {
		out[f] = all[at : at+len(fs[f])]
		at += len(fs[f])
	}
	runtime.KeepAlive(rs) // the arena is read above: see RowSet
	return Row{Hash: all[:64], Ident: out[fIdent], HrefA: out[fHrefA], ETagA: out[fETagA], HrefB: out[fHrefB], ETagB: out[fETagB]}
}

// Every method that reads the arena keeps rs alive until it is done with it
// (runtime.KeepAlive): the arena may live outside the Go heap, and the cleanup that
// gives it back must not run while a view into it is in use.

// Ident returns the ident of row i.
func (rs *RowSet) Ident(i int) string {
	v := string(rs.field(i, fIdent))
	runtime.KeepAlive(rs)
	return v
}

// Href returns the href of row i on side s.
func (rs *RowSet) Href(i int, s Side) string {
	v := string(rs.field(i, fHrefA+2*sideIndex(s)))
	runtime.KeepAlive(rs)
	return v
}

// ETagIs reports whether row i has etag on side s.
func (rs *RowSet) ETagIs(i int, s Side, etag []byte) bool {
	v := bytes.Equal(rs.field(i, fETagA+2*sideIndex(s)), etag)
	runtime.KeepAlive(rs)
	return v
}

// HrefIs reports whether row i has href on side s.
func (rs *RowSet) HrefIs(i int, s Side, href string) bool {
	v := string(rs.field(i, fHrefA+2*sideIndex(s))) == href
	runtime.KeepAlive(rs)
	return v
}

// FindHref returns the row whose href on side s is href.
func (rs *RowSet) FindHref(s Side, href []byte) (int, bool) {
	if rs.Len() == 0 {
		return 0, false
	}
	f := fHrefA + 2*sideIndex(s)
	i, ok := rs.find(rs.href[sideIndex(s)], maphash.Bytes(rs.seed, href), func(i int) bool { return bytes.Equal(rs.field(i, f), href) })
	runtime.KeepAlive(rs)
	return i, ok
}

// FindIdent returns the row of ident.
func (rs *RowSet) FindIdent(ident string) (int, bool) {
	if rs.Len() == 0 {
		return 0, false
	}
	i, ok := rs.find(rs.ident, maphash.String(rs.seed, ident), func(i int) bool { return string(rs.field(i, fIdent)) == ident })
	runtime.KeepAlive(rs)
	return i, ok
}

// FindIdentBytes is FindIdent for an ident held as bytes.
func (rs *RowSet) FindIdentBytes(ident []byte) (int, bool) {
	if rs.Len() == 0 {
		return 0, false
	}
	i, ok := rs.find(rs.ident, maphash.Bytes(rs.seed, ident), func(i int) bool { return bytes.Equal(rs.field(i, fIdent), ident) })
	runtime.KeepAlive(rs)
	return i, ok
}

func (rs *RowSet) find(table []uint32, h uint64, eq func(int) bool) (int, bool) {
	mask := uint64(len(table) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		v := table[j]
		if v == 0 {
			return 0, false
		}
		if eq(int(v - 1)) {
			return int(v - 1), true
		}
	}
}

// add appends a row to the arena; it fails when hash is not 64 upper-case hex digits.
func (rs *RowSet) add(ident, hash, hrefA, etagA, hrefB, etagB string) error {
	fields := [numFields]string{ident, hrefA, etagA, hrefB, etagB}
	size := 32
	for _, v := range fields {
		size += binary.MaxVarintLen64 + len(v)
	}
	last := len(rs.chunks) - 1
	if last < 0 || cap(rs.chunks[last])-len(rs.chunks[last]) < size {
		c := minChunk
		if last >= 0 {
			c = min(2*cap(rs.chunks[last]), maxChunk)
		}
		if len(rs.chunks) == maxChunks {
			return fmt.Errorf("status: more than %d chunks of rows", maxChunks)
		}
		rs.chunks = append(rs.chunks, rs.alloc(max(c, size))[:0])
		last++
	}
	p := rs.chunks[last]
	rs.off = append(rs.off, uint32(last)<<chunkBits|uint32(len(p)))
	for _, v := range fields {
		p = binary.AppendUvarint(p, uint64(len(v)))
		p = append(p, v...)
	}
	p, ok := AppendHashBytes(p, hash)
	if !ok {
		return fmt.Errorf("status: item %q: %w %q", ident, ErrInvalidHash, hash)
	}
	rs.chunks[last] = p
	if etagA == "" {
		rs.empty[0]++
	}
	if etagB == "" {
		rs.empty[1]++
	}
	return nil
}

// AppendHashBytes appends the 32 bytes that h, an item hash (64 upper-case hex digits,
// storage.Hash), stands for; ok is false if h is anything else (validHash). Hashes are
// kept in this form wherever a plan holds many (RowSet, the engine's packed items).
func AppendHashBytes(p []byte, h string) ([]byte, bool) {
	if len(h) != 64 {
		return p, false
	}
	for i := 0; i < 64; i += 2 {
		hi, ok1 := upperNibble(h[i])
		lo, ok2 := upperNibble(h[i+1])
		if !ok1 || !ok2 {
			return p, false
		}
		p = append(p, hi<<4|lo)
	}
	return p, true
}

func upperNibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// AppendHashHex appends the item hash that the 32 bytes b stand for (AppendHashBytes).
func AppendHashHex(p, b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		p = append(p, digits[c>>4], digits[c&15])
	}
	return p
}

// alloc returns n zeroed bytes of arena.
func (rs *RowSet) alloc(n int) []byte {
	b, mapped := allocArena(n)
	if mapped {
		rs.mapped = append(rs.mapped, b)
	}
	return b
}

// table returns a zeroed hash table of n slots.
func (rs *RowSet) table(n int) []uint32 {
	b := rs.alloc(4 * n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// Close gives back the arena memory; the RowSet must not be used afterwards. It is
// safe to call on a nil RowSet and more than once.
func (rs *RowSet) Close() {
	if rs == nil {
		return
	}
	rs.cleanup.Stop() // so that nothing is given back twice
	for _, b := range rs.mapped {
		freeArena(b)
	}
	rs.mapped, rs.chunks, rs.off = nil, nil, nil
	rs.href, rs.ident = [2][]uint32{}, nil
}

// index builds the hash tables once every row is in.
func (rs *RowSet) index() {
	n := len(rs.off)
	size := 8
	for size < 2*n {
		size *= 2
	}
	insert := func(table []uint32, h uint64, i int) {
		mask := uint64(len(table) - 1)
		j := h & mask
		for table[j] != 0 {
			j = (j + 1) & mask
		}
		table[j] = uint32(i + 1)
	}
	rs.href[0], rs.href[1], rs.ident = rs.table(size), rs.table(size), rs.table(size)
	for i := range n {
		insert(rs.href[0], maphash.Bytes(rs.seed, rs.field(i, fHrefA)), i)
		insert(rs.href[1], maphash.Bytes(rs.seed, rs.field(i, fHrefB)), i)
		insert(rs.ident, maphash.Bytes(rs.seed, rs.field(i, fIdent)), i)
	}
}

// RowSets reads the item rows of every mapping in one pass over the items table (the
// table has no index by mapping, so reading mapping by mapping would scan it once per
// mapping) and returns them by mapping uid. Rows are checked as by [DB.Rows]. A
// mapping without rows has no entry.
func (db *DB) RowSets() (map[int64]*RowSet, error) {
	q := db.reader()
	out := map[int64]*RowSet{}
	if q == nil || !db.tables[tableItems] {
		return out, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT CAST(mapping_uid AS INTEGER), ident, hash, href_a, COALESCE(etag_a, ''), href_b, COALESCE(etag_b, '') FROM items`)
	if err != nil {
		return nil, fmt.Errorf("status: reading items: %w", err)
	}
	defer rows.Close()
	seed := maphash.MakeSeed()
	var (
		uid                                     int64
		last                                    *RowSet
		lastUID                                 int64 = -1
		ident, hash, hrefA, etagA, hrefB, etagB string
	)
	for rows.Next() {
		if err := rows.Scan(&uid, &ident, &hash, &hrefA, &etagA, &hrefB, &etagB); err != nil {
			closeAll(out)
			return nil, fmt.Errorf("status: reading items: %w", err)
		}
		if uid != lastUID {
			last = out[uid]
			if last == nil {
				last = &RowSet{seed: seed}
				out[uid] = last
			}
			lastUID = uid
		}
		if err := last.add(ident, hash, hrefA, etagA, hrefB, etagB); err != nil {
			closeAll(out)
			return nil, fmt.Errorf("%w (mapping %d)", err, uid)
		}
	}
	if err := rows.Err(); err != nil {
		closeAll(out)
		return nil, fmt.Errorf("status: reading items: %w", err)
	}
	for _, rs := range out {
		rs.index()
		if len(rs.mapped) > 0 {
			rs.cleanup = runtime.AddCleanup(rs, func(mapped [][]byte) {
				for _, b := range mapped {
					freeArena(b)
				}
			}, rs.mapped)
		}
	}
	return out, nil
}

// closeAll closes every RowSet of sets.
func closeAll(sets map[int64]*RowSet) {
	for _, rs := range sets {
		rs.Close()
	}
}
