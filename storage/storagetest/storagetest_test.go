package storagetest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

func TestSameContent(t *testing.T) {
	a := "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long\r\n  value\r\nDTSTAMP:1\r\nEND:VEVENT\r\n"
	same := map[string]string{
		"reordered":      "BEGIN:VEVENT\r\nSUMMARY:a long value\r\nUID:x\r\nEND:VEVENT\r\n",
		"refolded":       "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a lo\r\n ng value\r\nEND:VEVENT\r\n\r\n",
		"other DTSTAMP":  "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long value\r\nDTSTAMP:2\r\nPRODID:y\r\nEND:VEVENT\r\n",
		"LF line breaks": "BEGIN:VEVENT\nUID:x\nSUMMARY:a long value\nEND:VEVENT\n",
		"REV added":      "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long value\r\nREV:20240101T000000Z\r\nEND:VEVENT\r\n",
	}
	for name, b := range same {
		if !storagetest.SameContent(a, b) {
			t.Errorf("%s: not the same content", name)
		}
	}
	differs := map[string]string{
		"value":       "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long valuE\r\nEND:VEVENT\r\n",
		"UID":         "BEGIN:VEVENT\r\nUID:y\r\nSUMMARY:a long value\r\nEND:VEVENT\r\n",
		"extra line":  "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long value\r\nLOCATION:here\r\nEND:VEVENT\r\n",
		"lost line":   "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",
		"duplicated":  "BEGIN:VEVENT\r\nUID:x\r\nUID:x\r\nSUMMARY:a long value\r\nEND:VEVENT\r\n",
		"param added": "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY;LANGUAGE=en:a long value\r\nEND:VEVENT\r\n",
	}
	for name, b := range differs {
		if storagetest.SameContent(a, b) {
			t.Errorf("%s: reported as the same content", name)
		}
	}
}

// plant puts raw into the memstore behind a (possibly wrapped) storage.
func plant(store *memstore.Store) func(*testing.T, storage.Storage, string, string, []byte) string {
	return func(t *testing.T, s storage.Storage, coll, name string, raw []byte) string {
		href := coll + "/" + name + "." + s.Kind().Ext()
		store.Put(href, string(raw))
		return href
	}
}

// TestReadOnlyMode runs the read-only suite against storage.ReadOnly.
func TestReadOnlyMode(t *testing.T) {
	for _, kind := range []storage.Kind{storage.Calendars, storage.Contacts} {
		t.Run(kind.String(), func(t *testing.T) {
			var store *memstore.Store
			storagetest.Run(t, func(*testing.T) storage.Storage {
				store = memstore.New(kind)
				store.AddCollection("c")
				return storage.ReadOnly(store)
			}, storagetest.Options{
				Kind: kind, ReadOnly: true, Collection: "c",
				Plant: func(t *testing.T, s storage.Storage, coll, name string, raw []byte) string {
					return plant(store)(t, s, coll, name, raw)
				},
			})
		})
	}
}

// rewriter behaves like a real server the suite knows about: it re-serialises items
// (unfolds, moves the UID line last, drops blank lines, adds a PRODID), refuses items
// without UID, invents a displayname and refuses to store descriptions or remove
// displaynames.
type rewriter struct{ *memstore.Store }

func rewrite(it storage.Item) storage.Item {
	var out, uid []string
	storage.Unfold(it.Text(), func(line string) {
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "UID:"):
			uid = append(uid, line)
		case line == "END:VEVENT" || line == "END:VCARD":
			out = append(append(out, uid...), line)
		default:
			out = append(out, line)
		}
	})
	if !strings.Contains(it.Text(), "PRODID:") {
		out = slices.Insert(out, 1, "PRODID:-//rewriter//EN")
	}
	return storage.MustItem(strings.Join(out, "\r\n") + "\r\n")
}

func (r rewriter) Create(ctx context.Context, coll string, it storage.Item) (string, string, error) {
	if _, ok := it.UID(); !ok {
		return "", "", fmt.Errorf("PUT %s: HTTP 400 Bad Request", coll)
	}
	return r.Store.Create(ctx, coll, rewrite(it))
}

func (r rewriter) Update(ctx context.Context, href, etag string, it storage.Item) (string, error) {
	return r.Store.Update(ctx, href, etag, rewrite(it))
}

func (r rewriter) Properties(ctx context.Context, coll string) (map[string]string, error) {
	p, err := r.Store.Properties(ctx, coll)
	if err == nil && p[storage.PropDisplayName] == "" {
		p[storage.PropDisplayName] = "default name"
	}
	return p, err
}

func (r rewriter) SetProperty(ctx context.Context, coll, name, value string) error {
	if name == storage.PropDescription {
		return &storage.Error{Kind: storage.ErrUnsupported, Op: "set " + name, Href: coll}
	}
	return r.Store.SetProperty(ctx, coll, name, value)
}

func (r rewriter) DeleteProperty(ctx context.Context, coll, name string) error {
	if name == storage.PropDisplayName {
		return fmt.Errorf("remove %s from %s: HTTP 500", name, coll)
	}
	return r.Store.DeleteProperty(ctx, coll, name)
}

// TestServerQuirkOptions runs the whole suite against rewriter with the options that
// describe it.
func TestServerQuirkOptions(t *testing.T) {
	for _, kind := range []storage.Kind{storage.Calendars, storage.Contacts} {
		t.Run(kind.String(), func(t *testing.T) {
			stores := map[storage.Storage]*memstore.Store{}
			storagetest.Run(t, func(*testing.T) storage.Storage {
				m := memstore.New(kind)
				s := rewriter{m}
				stores[s] = m
				return s
			}, storagetest.Options{
				Kind:               kind,
				RewritesItems:      true,
				RejectsNoUID:       true,
				DefaultDisplayName: true,
				Unsettable:         []string{storage.PropDescription},
				Undeletable:        []string{storage.PropDisplayName},
				Plant: func(t *testing.T, s storage.Storage, coll, name string, raw []byte) string {
					return plant(stores[s])(t, s, coll, name, raw)
				},
				Peek: func(t *testing.T, s storage.Storage, href string) []byte {
					coll, _, _ := strings.Cut(href, "/")
					return []byte(stores[s].Snapshot()[coll].Items[href])
				},
			})
		})
	}
}
