package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
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

// packedFixture is a vdir pair: a/c holds 30 new events named after their UID
// (n00…n29), one that is not (odd.ics, UID odd), two with the same UID (dup), one the
// same as on b (same) and one that differs from b's (clash); b/c holds 5 new events
// (m0…m4) and its own same and clash.
func packedFixture(t *testing.T, cfg *config.Pair, readOnlyB bool) (*fixture, string) {
	t.Helper()
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		write(fmt.Sprintf("a/c/n%02d.ics", i), ev(fmt.Sprintf("n%02d", i), fmt.Sprintf("new %d", i)))
	}
	write("a/c/odd.ics", ev("odd", "odd one"))
	write("a/c/dup1.ics", ev("dup", "one"))
	write("a/c/dup2.ics", ev("dup", "two"))
	write("a/c/same.ics", ev("same", "same"))
	write("b/c/same.ics", ev("same", "same"))
	write("a/c/clash.ics", ev("clash", "a's"))
	write("b/c/clash.ics", ev("clash", "b's"))
	for i := range 5 {
		write(fmt.Sprintf("b/c/m%d.ics", i), ev(fmt.Sprintf("m%d", i), fmt.Sprintf("from b %d", i)))
	}
	var b storage.Storage = vdir.New(filepath.Join(root, "b"), storage.Calendars, "ics")
	if readOnlyB {
		b = storage.ReadOnly(b)
	}
	return newFixture(t, vdir.New(filepath.Join(root, "a"), storage.Calendars, "ics"), b, cfg), root
}

// planned returns the mapping's actions as "label ident summary", and how many of them
// are in Items.
func planned(t *testing.T, f *fixture) ([]string, int) {
	t.Helper()
	p := f.eng.Plan(context.Background(), []*Pair{f.pair})[0]
	if p.Err != nil || len(p.Mappings) != 1 {
		t.Fatalf("plan: %v, %d mappings", p.Err, len(p.Mappings))
	}
	m := p.Mappings[0]
	var out []string
	for a := range m.Actions() {
		out = append(out, fmt.Sprintf("%s %s %s", label(a), a.Ident, a.Summary()))
	}
	if len(out) != m.NumActions() {
		t.Fatalf("Actions gives %d, NumActions %d", len(out), m.NumActions())
	}
	return out, len(m.Items)
}

// New items are planned packed, outside Items, in order of href, with their summaries,
// and created like any other; what is not a plain create (an ident on both sides, a
// duplicate) goes through the decision tables as before.
func TestNewItemsStayPacked(t *testing.T) {
	f, root := packedFixture(t, nil, false)
	got, inItems := planned(t, f)
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("create on a m%d from b %d", i, i))
	}
	want = append([]string{"conflict clash a's", "record same same"}, want...)
	var toB []string
	for i := range 30 {
		toB = append(toB, fmt.Sprintf("create on b n%02d new %d", i, i))
	}
	toB = append(toB, "create on b odd odd one")
	want = slices.Insert(want, 2, toB...)
	if inItems != 2 || !slices.Equal(got, want) {
		t.Fatalf("plan (%d in Items):\n%s\nwant:\n%s", inItems, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r := f.sync()
	m := r.Mappings[0]
	if m.Counts[A].Created != 5 || m.Counts[B].Created != 31 || m.Conflicts != 1 || len(m.Errors) != 1 || !strings.Contains(m.Errors[0].Error(), "dup1.ics, ") {
		t.Fatalf("first sync: %+v", m)
	}
	for _, name := range []string{"n07", "odd"} {
		src, _ := os.ReadFile(filepath.Join(root, "a/c", map[string]string{"n07": "n07.ics", "odd": "odd.ics"}[name]))
		found := false
		entries, _ := os.ReadDir(filepath.Join(root, "b/c"))
		for _, e := range entries {
			if b, _ := os.ReadFile(filepath.Join(root, "b/c", e.Name())); string(b) == string(src) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s was not copied byte for byte", name)
		}
	}
	if got, _ := planned(t, f); !slices.Equal(got, []string{"conflict clash a's"}) {
		t.Fatalf("second plan: %q", got)
	}
}

// The new items of b in a one_way pair are deleted from b, and those bound for a
// read-only side are skipped: both go through the decision tables.
func TestNewItemsNotCreated(t *testing.T) {
	f, _ := packedFixture(t, &config.Pair{Name: "p", Collections: []string{config.CollectionsAll}, OneWay: true}, false)
	got, _ := planned(t, f)
	if !slices.Contains(got, "delete on b m3 from b 3") || !slices.Contains(got, "create on b n03 new 3") || slices.Contains(got, "create on a m3 from b 3") {
		t.Fatalf("one_way plan:\n%s", strings.Join(got, "\n"))
	}
	f, _ = packedFixture(t, nil, true)
	got, inItems := planned(t, f)
	n := 0
	for _, a := range got {
		if strings.Contains(a, "create on b ") {
			n++
		}
	}
	if n != 31 || inItems < 31 || !slices.Contains(got, "create on a m3 from b 3") {
		t.Fatalf("read-only b: %d creates on b, %d in Items:\n%s", n, inItems, strings.Join(got, "\n"))
	}
	r := f.sync()
	if m := r.Mappings[0]; m.Skipped != 31 || m.Counts[A].Created != 5 {
		t.Fatalf("read-only b: %+v", m)
	}
}

// Beyond the body budget a side keeps no text at all; every item is still copied
// exactly, and planning shows each one's summary.
func TestNewItemsBeyondTheBodyBudget(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a/c"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 60)
	texts := map[string]string{}
	for i := range 400 { // 400 × 16 KiB > maxPlanBodies
		var desc strings.Builder
		for range 16 << 10 / 64 {
			desc.WriteString("DESCRIPTION:" + pad + "\r\n")
		}
		text := strings.Replace(ev(fmt.Sprintf("big%03d", i), fmt.Sprintf("big %d", i)), "END:VEVENT", desc.String()+"END:VEVENT", 1)
		texts[fmt.Sprintf("big%03d", i)] = text
		if err := os.WriteFile(filepath.Join(root, "a/c", fmt.Sprintf("big%03d.ics", i)), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := newFixture(t, vdir.New(filepath.Join(root, "a"), storage.Calendars, "ics"), vdir.New(filepath.Join(root, "b"), storage.Calendars, "ics"), nil)
	got, _ := planned(t, f)
	if len(got) != 400 || got[0] != "create on b big000 big 0" || got[399] != "create on b big399 big 399" {
		t.Fatalf("plan: %d actions, last %q", len(got), got[len(got)-1])
	}
	if r := f.sync(); len(r.Errors()) > 0 || r.Mappings[0].Counts[B].Created != 400 {
		t.Fatalf("sync: %v %+v", r.Errors(), r.Mappings[0])
	}
	entries, _ := os.ReadDir(filepath.Join(root, "b/c"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(root, "b/c", e.Name()))
		if uid := strings.TrimSuffix(e.Name(), ".ics"); string(b) != texts[uid] {
			t.Fatalf("b/c/%s differs from its source", e.Name())
		}
	}
	if len(entries) != 400 {
		t.Fatalf("b/c has %d files", len(entries))
	}
}

// The items of a vdir that cannot be read are reported in order of href, as they
// were before listings were read in directory order.
func TestUnfetchableInOrderOfHref(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/c", "b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range 40 {
		name := fmt.Sprintf("bad%02d.ics", (i*17)%40)
		if err := os.WriteFile(filepath.Join(root, "a/c", name), []byte("not a calendar\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		want = append(want, "c/"+name)
	}
	slices.Sort(want)
	f := newFixture(t, vdir.New(filepath.Join(root, "a"), storage.Calendars, "ics"), vdir.New(filepath.Join(root, "b"), storage.Calendars, "ics"), nil)
	p := f.eng.Plan(context.Background(), []*Pair{f.pair})[0]
	if p.Err != nil || len(p.Mappings) != 1 {
		t.Fatalf("plan: %v", p.Err)
	}
	var got []string
	for _, u := range p.Mappings[0].Unfetchable {
		got = append(got, u.Href)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unfetchable: %q", got)
	}
}
