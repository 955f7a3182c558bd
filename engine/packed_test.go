package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// TestPackedItems packs items whose hrefs hold their UID or not, and checks that each
// unpacks to what was packed and that hrefs compare as the strings do.
func TestPackedItems(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var p packedItems
	var want []*ItemState
	for i := range 3000 {
		uid := fmt.Sprintf("u%d-%d", r.IntN(40), i)
		text := fmt.Sprintf("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:%s\r\nSUMMARY:event %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", uid, i)
		if i%7 == 0 { // no UID: the ident is the hash
			text = fmt.Sprintf("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:event %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i)
		}
		item, err := storage.NewItem([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		var href string
		switch i % 3 {
		case 0:
			href = "cal/" + item.Ident() + ".ics"
		case 1:
			href = item.Ident() + ".ics"
		default:
			href = fmt.Sprintf("cal/%x.ics", r.Uint64()%1000)
		}
		keep := i%5 == 0
		if !p.add(href, fmt.Sprint(i), &item, keep) {
			t.Fatalf("item %d not packed", i)
		}
		st := &ItemState{Href: href, ETag: fmt.Sprint(i), Ident: item.Ident(), Hash: item.Hash()}
		if keep {
			st.Item = &item
		} else {
			st.sum, st.dropped = storage.Summary(text), true
		}
		want = append(want, st)
	}
	for i, w := range want {
		got := p.state(int32(i))
		if *got != *w {
			t.Fatalf("item %d: unpacked %+v, packed %+v", i, got, w)
		}
		if got.Summary() != fmt.Sprintf("event %d", i) {
			t.Fatalf("item %d: summary %q", i, got.Summary())
		}
	}
	idx := make([]int32, len(want))
	for i := range idx {
		idx[i] = int32(i)
	}
	for range 2000 {
		i, j := int32(r.IntN(len(want))), int32(r.IntN(len(want)))
		if got, exp := p.compareHref(i, j), strings.Compare(want[i].Href, want[j].Href); got != exp {
			t.Fatalf("compareHref(%q, %q) = %d, want %d", want[i].Href, want[j].Href, got, exp)
		}
	}
	slices.SortFunc(idx, p.compareHref)
	if !slices.IsSortedFunc(idx, func(a, b int32) int { return strings.Compare(want[a].Href, want[b].Href) }) {
		t.Fatal("sorting by compareHref does not sort by href")
	}
	if n := p.dropTexts(); n == 0 || p.texts != nil || p.state(0).Item != nil || p.state(0).Summary() != "event 0" {
		t.Fatalf("dropTexts: %d bytes, texts %v", n, p.texts)
	}
}

// TestPackedRefuses keeps as ItemStates what cannot be packed.
func TestPackedRefuses(t *testing.T) {
	var p packedItems
	item, err := storage.NewItem([]byte("BEGIN:VCARD\r\nUID:" + strings.Repeat("x", 70000) + "\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.add("a.vcf", "1", &item, false) || p.n != 0 {
		t.Fatal("an ident over 64 KiB was packed")
	}
}
