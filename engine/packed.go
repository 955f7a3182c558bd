package engine

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math"
	"strings"

	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// packedItems holds the items one side's planning read, compactly: a record of fixed
// size per item (its hash in binary) and its href, etag, ident and summary back to back
// in large blocks, so that a collection of 100,000 new items costs about 200 bytes an
// item and nothing for the garbage collector to trace (docs/BENCHMARKS.md, issue 14).
//
// An item whose ident has no status row, no pending write and no other item on either
// side — a new item, what a first sync is made of — stays packed through the decision
// and becomes a create that the executor materialises a chunk at a time
// (MappingPlan.creates). Every other item is unpacked into an ItemState for the
// decision tables, exactly as it was read.
type packedItems struct {
	blocks [][]byte
	recs   [][]packedRec // in slices of packedRecs
	n      int
	// texts holds the text of the items kept within the pair's body budget
	// (maxPlanBodies); the executor reads the others again when it copies them.
	texts map[int32]*storage.Item
}

type packedRec struct {
	hash  [32]byte
	block uint32
	off   uint32
	lens  [4]uint16 // href (without the ident when it holds it), etag, ident, summary
	// at is where the ident starts in the href (a file named after its UID, as vdir
	// names them), or noIdent.
	at uint16
}

const (
	noIdent     = math.MaxUint16
	packedBlock = 64 << 10 // the size of a block of packed strings
	packedRecs  = 4096     // records per slice
)

// add packs an item; it reports false when the item cannot be packed (a field longer
// than 64 KiB, a hash that is not SHA-256 in upper-case hex), so that the caller keeps
// it as an ItemState.
func (p *packedItems) add(href, etag string, item *storage.Item, keepText bool) bool {
	r := packedRec{at: noIdent}
	if _, ok := status.AppendHashBytes(r.hash[:0], item.Hash()); !ok {
		return false
	}
	ident := item.Ident()
	if i := strings.Index(href, ident); ident != "" && i >= 0 && i < noIdent {
		r.at = uint16(i)
		href = href[:i] + href[i+len(ident):]
	}
	fields := [4]string{href, etag, ident, storage.Summary(item.Text())}
	size := 0
	for k, f := range fields {
		if len(f) >= math.MaxUint16 {
			return false
		}
		r.lens[k] = uint16(len(f))
		size += len(f)
	}
	if n := len(p.blocks); n == 0 || cap(p.blocks[n-1])-len(p.blocks[n-1]) < size {
		p.blocks = append(p.blocks, make([]byte, 0, max(packedBlock, size)))
	}
	b := &p.blocks[len(p.blocks)-1]
	r.block, r.off = uint32(len(p.blocks)-1), uint32(len(*b))
	for _, f := range fields {
		*b = append(*b, f...)
	}
	if keepText {
		if p.texts == nil {
			p.texts = map[int32]*storage.Item{}
		}
		p.texts[int32(p.n)] = item
	}
	if p.n%packedRecs == 0 {
		p.recs = append(p.recs, make([]packedRec, 0, packedRecs))
	}
	p.recs[len(p.recs)-1] = append(p.recs[len(p.recs)-1], r)
	p.n++
	return true
}

// dropTexts lets go of the texts kept (see sideLister.keep) and returns their size.
func (p *packedItems) dropTexts() int {
	n := 0
	for _, it := range p.texts {
		n += len(it.Text())
	}
	p.texts = nil
	return n
}

func (p *packedItems) rec(i int32) *packedRec { return &p.recs[i/packedRecs][i%packedRecs] }

// field returns field k (0 href as stored, 1 etag, 2 ident, 3 summary) of item i, in
// place.
func (p *packedItems) field(i int32, k int) []byte {
	r := p.rec(i)
	off := int(r.off)
	for j := range k {
		off += int(r.lens[j])
	}
	return p.blocks[r.block][off : off+int(r.lens[k])]
}

func (p *packedItems) ident(i int32) []byte { return p.field(i, 2) }

// href returns the href of item i in up to three parts.
func (p *packedItems) href(i int32) [3][]byte {
	h, at := p.field(i, 0), p.rec(i).at
	if at == noIdent {
		return [3][]byte{h}
	}
	return [3][]byte{h[:at], p.ident(i), h[at:]}
}

// compareHref compares the hrefs of items i and j.
func (p *packedItems) compareHref(i, j int32) int {
	a, b := p.href(i), p.href(j)
	for {
		for len(a[0]) == 0 && (len(a[1]) > 0 || len(a[2]) > 0) {
			a[0], a[1], a[2] = a[1], a[2], nil
		}
		for len(b[0]) == 0 && (len(b[1]) > 0 || len(b[2]) > 0) {
			b[0], b[1], b[2] = b[1], b[2], nil
		}
		switch {
		case len(a[0]) == 0 && len(b[0]) == 0:
			return 0
		case len(a[0]) == 0:
			return -1
		case len(b[0]) == 0:
			return 1
		}
		n := min(len(a[0]), len(b[0]))
		if c := bytes.Compare(a[0][:n], b[0][:n]); c != 0 {
			return c
		}
		a[0], b[0] = a[0][n:], b[0][n:]
	}
}

// state unpacks item i.
func (p *packedItems) state(i int32) *ItemState {
	h := p.href(i)
	st := &ItemState{
		Href:  string(h[0]) + string(h[1]) + string(h[2]),
		ETag:  string(p.field(i, 1)),
		Ident: string(p.ident(i)),
		Hash:  string(status.AppendHashHex(make([]byte, 0, 64), p.rec(i).hash[:])),
		Item:  p.texts[i],
	}
	if st.Item == nil {
		st.sum, st.dropped = string(p.field(i, 3)), true
	}
	return st
}

// packedCreates are the items of one side that the plan creates on the other, packed:
// the indices into set, in planning order.
type packedCreates struct {
	set *packedItems
	idx []int32
}

// action materialises the create of item i (an index into idx) from side s.
func (c *packedCreates) action(s Side, i int) *ItemAction {
	st := c.set.state(c.idx[i])
	a := &ItemAction{Verb: VerbCreate, Target: s.Other(), Ident: st.Ident}
	if s == A {
		a.A = st
	} else {
		a.B = st
	}
	return a
}

// Actions returns every item action of the mapping: Items, then the creates of new
// items, which the plan keeps packed (see packedItems) and materialises here one at a
// time: each call gives new ItemAction values for those.
func (m *MappingPlan) Actions() iter.Seq[*ItemAction] {
	return func(yield func(*ItemAction) bool) {
		for _, a := range m.Items {
			if !yield(a) {
				return
			}
		}
		for s := range 2 {
			c := &m.creates[s]
			for i := range c.idx {
				if !yield(c.action(Side(s), i)) {
					return
				}
			}
		}
	}
}

// NewItemsTo returns the number of packed creates on side target (not in Items).
func (m *MappingPlan) NewItemsTo(target Side) int { return len(m.creates[target.Other()].idx) }

// NumActions returns the number of item actions (len(Items) plus the packed creates).
func (m *MappingPlan) NumActions() int {
	return len(m.Items) + len(m.creates[A].idx) + len(m.creates[B].idx)
}

// refQueue holds listed items (href, etag) back to back, in blocks that are let go as
// they are read: the items of a listing still to read, and those of a streamed listing
// that arrived before the status (maxListBuffer). It costs their bytes and no more.
type refQueue struct {
	blocks [][]byte
	size   int // bytes queued
}

func pushRef[T string | []byte](q *refQueue, href, etag T) {
	size := 2*binary.MaxVarintLen32 + len(href) + len(etag)
	if n := len(q.blocks); n == 0 || cap(q.blocks[n-1])-len(q.blocks[n-1]) < size {
		q.blocks = append(q.blocks, make([]byte, 0, max(packedBlock, size)))
	}
	b := &q.blocks[len(q.blocks)-1]
	*b = binary.AppendUvarint(*b, uint64(len(href)))
	*b = append(*b, href...)
	*b = binary.AppendUvarint(*b, uint64(len(etag)))
	*b = append(*b, etag...)
	q.size += len(href) + len(etag)
}

// each calls fn with the queued items in order, until it returns false, letting go of
// each block once it is read; href and etag are valid during the call only. The
// queue is empty afterwards.
func (q *refQueue) each(fn func(href, etag []byte) bool) {
	defer func() { q.blocks, q.size = nil, 0 }()
	for bi := range q.blocks {
		p := q.blocks[bi]
		q.blocks[bi] = nil
		for len(p) > 0 {
			l, w := binary.Uvarint(p)
			href := p[w : w+int(l)]
			p = p[w+int(l):]
			l, w = binary.Uvarint(p)
			etag := p[w : w+int(l)]
			p = p[w+int(l):]
			if !fn(href, etag) {
				return
			}
		}
	}
}

// drain returns the queued items in order, n at a time (each), as ItemRefs.
func (q *refQueue) drain(n int) iter.Seq[[]storage.ItemRef] {
	return func(yield func([]storage.ItemRef) bool) {
		chunk := make([]storage.ItemRef, 0, n)
		more := true
		q.each(func(href, etag []byte) bool {
			chunk = append(chunk, storage.ItemRef{Href: string(href), ETag: string(etag)})
			if len(chunk) == n {
				more = yield(chunk)
				chunk = make([]storage.ItemRef, 0, n)
			}
			return more
		})
		if more && len(chunk) > 0 {
			yield(chunk)
		}
	}
}
