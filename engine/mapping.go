package engine

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage"
)

// mappingSpec is one resolved collection mapping before planning (sync.md §5.1).
type mappingSpec struct {
	alias     string
	href      [2]string
	exists    [2]bool  // listed by discovery
	probe     [2]bool  // explicit href not seen by discovery: existence is probed by listing
	createErr [2]error // the href could not be derived (the collection cannot be created)
	explicit  bool
}

// sameHref compares two collection hrefs the way sync.md asks: percent-decoded once,
// ignoring a trailing slash.
func sameHref(a, b string) bool {
	return normHref(a) == normHref(b)
}

func normHref(h string) string {
	if d, err := url.PathUnescape(h); err == nil {
		h = d
	}
	return strings.TrimSuffix(h, "/")
}

func orNone(h string) string {
	if h == "" {
		return "(none)"
	}
	return h
}

// resolveMappings turns the pair's collections/collection directives and the discovered
// collections into mappings. It fails for conflicting mappings and for explicit ids
// that cannot become an href.
// discovered says per side whether disc holds the storage's collections; on a side
// that was not discovered every explicit mapping is probed.
func resolveMappings(cfg *config.Pair, disc [2][]storage.Collection, discovered [2]bool, st [2]storage.Storage, names [2]string) ([]*mappingSpec, error) {
	byID := [2]map[string]storage.Collection{{}, {}}
	for s := range 2 {
		for _, c := range disc[s] {
			if _, dup := byID[s][c.ID]; !dup {
				byID[s][c.ID] = c
			}
		}
	}
	var out []*mappingSpec
	// byHref finds the mapping (its index in out) that uses a collection, by the
	// collection's normalised href on each side (sameHref), so that adding a mapping
	// costs no walk over the others: a pair can have thousands of collections.
	byHref := [2]map[string]int{{}, {}}
	add := func(m *mappingSpec) error {
		first := -1 // the first mapping in out that uses one of m's collections
		for s := range 2 {
			if m.href[s] == "" {
				continue
			}
			if i, ok := byHref[s][normHref(m.href[s])]; ok && (first < 0 || i < first) {
				first = i
			}
		}
		if first >= 0 {
			o := out[first]
			sa := o.href[A] != "" && sameHref(o.href[A], m.href[A])
			sb := o.href[B] != "" && sameHref(o.href[B], m.href[B])
			switch {
			case sa && sb:
				if m.explicit && !o.explicit {
					o.alias, o.explicit = m.alias, true
				}
				return nil
			case sa || sb:
				side := A
				if !sa {
					side = B
				}
				return fmt.Errorf("conflicting mappings: collection %s (a: %s, b: %s) and collection %s (a: %s, b: %s) "+
					"both use %s on side %s (storage %s), which can sync with only one of them; map the one you want "+
					"explicitly with a `collection { alias …; id_a …; id_b … }` block and remove the other from the pair",
					o.alias, orNone(o.href[A]), orNone(o.href[B]), m.alias, orNone(m.href[A]), orNone(m.href[B]),
					m.href[side], side, names[side])
			}
		}
		for s := range 2 {
			if m.href[s] != "" {
				byHref[s][normHref(m.href[s])] = len(out)
			}
		}
		out = append(out, m)
		return nil
	}
	// byDiscovered maps every collection discovered on side `from` to the other side.
	byDiscovered := func(from Side) error {
		to := from.Other()
		for _, c := range disc[from] {
			m := &mappingSpec{alias: c.ID}
			m.href[from], m.exists[from] = c.Href, true
			if o, ok := byID[to][c.ID]; ok {
				m.href[to], m.exists[to] = o.Href, true
			} else if h, err := st[to].CollectionHref(c.ID); err != nil {
				m.createErr[to] = err
			} else {
				m.href[to] = h
			}
			if err := add(m); err != nil {
				return err
			}
		}
		return nil
	}
	for _, mode := range cfg.Collections {
		var err error
		switch mode {
		case config.CollectionsFromA:
			err = byDiscovered(A)
		case config.CollectionsFromB:
			err = byDiscovered(B)
		case config.CollectionsAll:
			if err = byDiscovered(A); err == nil {
				err = byDiscovered(B)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for _, x := range cfg.Explicit {
		m := &mappingSpec{alias: x.Alias, explicit: true}
		ids := [2]string{x.IDA, x.IDB}
		hrefs := [2]string{x.HrefA, x.HrefB}
		for s := range 2 {
			switch {
			case ids[s] != "":
				if c, ok := byID[s][ids[s]]; ok {
					m.href[s], m.exists[s] = c.Href, true
					continue
				}
				h, err := st[s].CollectionHref(ids[s])
				if err != nil {
					return nil, fmt.Errorf("collection %s: no collection with id %q on %s (storage %s): %v; use href_%s to name it",
						x.Alias, ids[s], Side(s), names[s], err, Side(s))
				}
				m.href[s], m.probe[s] = h, !discovered[s]
			default:
				m.href[s] = hrefs[s]
				for _, c := range disc[s] {
					if sameHref(c.Href, hrefs[s]) {
						m.href[s], m.exists[s] = c.Href, true
						break
					}
				}
				m.probe[s] = !m.exists[s]
			}
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}
