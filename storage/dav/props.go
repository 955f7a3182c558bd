package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// Properties returns the collection's properties from the discovery PROPFIND, or from
// a Depth 0 PROPFIND for collections outside the home sets (storages.md §2.9).
func (s *Storage) Properties(ctx context.Context, collection string) (map[string]string, error) {
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return nil, opError("read properties of", collection, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(ci.props))
	for k, v := range ci.props {
		out[k] = v
	}
	return out, nil
}

// SetProperty writes one property with PROPPATCH <D:set>.
func (s *Storage) SetProperty(ctx context.Context, collection, name, value string) error {
	return s.proppatch(ctx, collection, name, value, true)
}

// DeleteProperty removes one property with PROPPATCH <D:remove>.
func (s *Storage) DeleteProperty(ctx context.Context, collection, name string) error {
	return s.proppatch(ctx, collection, name, "", false)
}

func (s *Storage) proppatch(ctx context.Context, collection, name, value string, set bool) error {
	op := "set " + name + " on"
	if !set {
		op = "remove " + name + " from"
	}
	p, ok := s.propElem(name)
	if !ok {
		return &storage.Error{Kind: storage.ErrUnsupported, Op: op, Href: collection,
			Err: fmt.Errorf("%s storages have no property %q", s.kind, name)}
	}
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return opError(op, collection, err)
	}
	elem := p.prefix + ":" + p.local
	body := xmlHeader + `<d:propertyupdate ` + nsDecl + `>`
	if set {
		body += `<d:set><d:prop><` + elem + `>` + escape(value) + `</` + elem + `></d:prop></d:set>`
	} else {
		body += `<d:remove><d:prop><` + elem + `/></d:prop></d:remove>`
	}
	body += `</d:propertyupdate>`
	// A 207 answer says per property whether it was set; any other 2xx is success.
	var refused *storage.Error
	r := newRequest("PROPPATCH", ci.url, "", body)
	r.any2xx = true
	_, err = s.multistatus(ctx, r, func(r *msResponse) error {
		st := r.propStatus(p.ns, p.local)
		if st == 0 {
			st = r.Status
		}
		if refused == nil && st != 0 && (st < 200 || st > 299) {
			refused = &storage.Error{Op: op, Href: collection,
				Err: fmt.Errorf("the server refused the property (HTTP %d %s)", st, http.StatusText(st))}
			if st == http.StatusForbidden || st == http.StatusConflict {
				refused.Kind = storage.ErrUnsupported
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotMultistatus) {
		switch statusCode(err) {
		case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusNotImplemented:
			// The server does not store this property (at all, or this value).
			return &storage.Error{Kind: storage.ErrUnsupported, Op: op, Href: collection, Err: err}
		}
		return opError(op, collection, err)
	}
	if refused != nil {
		return refused
	}
	// Read the properties back, so that Properties reports what the server stored
	// (it may normalise a value): the engine never takes a server's normalisation of
	// what we wrote for a change.
	v := strings.TrimSpace(value)
	fresh, err := s.probeCollection(ctx, collection, "")
	if err != nil {
		s.mu.Lock()
		if set && v != "" {
			ci.props[name] = v
		} else {
			delete(ci.props, name)
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	_, stored := fresh.props[name]
	s.mu.Unlock()
	if set && v != "" && !stored {
		// Xandikos answers 200 to calendar-order and keeps nothing.
		return &storage.Error{Kind: storage.ErrUnsupported, Op: op, Href: collection,
			Err: errors.New("the server accepted the property but did not store it")}
	}
	return nil
}
