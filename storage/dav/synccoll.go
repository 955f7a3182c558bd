package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pimsync-go/pimsync/storage"
)

// maxSyncPages bounds the 507 continuation loop against a server that never ends it.
const maxSyncPages = 1000

// ListSince lists a collection given the token saved after the last clean sync
// (storages.md §2.5, §2.6; sync.md §6.1):
//   - the token from discovery equals saved → Unchanged, no request;
//   - saved is a sync-token and the server supports sync-collection → the delta;
//   - otherwise, or when the server rejects the token, a full listing.
//
// The returned Token describes the collection as of this listing.
func (s *Storage) ListSince(ctx context.Context, collection string, saved storage.Token) (storage.Listing, error) {
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return storage.Listing{}, opError("list", collection, err)
	}
	current := ci.token()
	if !saved.IsZero() && saved == current {
		return storage.Listing{Unchanged: true, Token: current}, nil
	}
	if !saved.IsZero() && saved.Kind == "sync-token" && ci.canSync {
		l, err := s.syncDelta(ctx, ci, saved.Value)
		switch {
		case err == nil:
			return l, nil
		case errors.Is(err, errInvalidToken):
			s.log.Info("sync token no longer valid; listing the whole collection", "collection", collection, "err", err)
		default:
			return storage.Listing{}, opError("sync", collection, err)
		}
	}
	refs, _, err := s.list(ctx, ci)
	if err != nil {
		return storage.Listing{}, opError("list", collection, err)
	}
	return storage.Listing{Refs: refs, Token: current}, nil
}

// errInvalidToken: the server refused the saved sync-token.
var errInvalidToken = errors.New("sync token rejected by the server")

func syncBody(token string) string {
	return xmlHeader + `<d:sync-collection xmlns:d="DAV:"><d:sync-token>` + escape(token) +
		`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
}

// syncDelta runs sync-collection REPORTs from token, following 507 truncation, and
// merges the pages in order.
func (s *Storage) syncDelta(ctx context.Context, ci *collInfo, token string) (storage.Listing, error) {
	changed := map[string]string{} // href → etag
	removed := map[string]bool{}
	var order []string
	for page := 0; ; page++ {
		if page >= maxSyncPages {
			return storage.Listing{}, fmt.Errorf("sync-collection did not finish after %d pages", maxSyncPages)
		}
		ms, err := s.multistatus(ctx, newRequest("REPORT", ci.url, "0", syncBody(token)))
		if err != nil {
			code := statusCode(err)
			if code == http.StatusNotFound || code == http.StatusUnauthorized {
				return storage.Listing{}, err
			}
			if code >= 400 && code < 500 {
				return storage.Listing{}, fmt.Errorf("%w: %w", errInvalidToken, err)
			}
			return storage.Listing{}, err
		}
		if ms.SyncToken == "" {
			return storage.Listing{}, fmt.Errorf("%w: the sync-collection answer has no sync-token", errInvalidToken)
		}
		truncated := false
		for i := range ms.Responses {
			r := &ms.Responses[i]
			for _, h := range r.Hrefs {
				u, err := resolveHref(ci.url, h)
				if err != nil {
					continue
				}
				if sameOrigin(u, ci.url) && samePath(u.Path, ci.path()) {
					truncated = truncated || r.Status == http.StatusInsufficientStorage
					continue
				}
				if r.hasType(nsDAV, "collection") {
					continue
				}
				href, ok := s.learnItemHref(ci, u)
				if _, known := changed[href]; !known && !removed[href] {
					order = append(order, href)
				}
				if r.Status == http.StatusNotFound || r.Status == http.StatusGone {
					delete(changed, href)
					removed[href] = true
					continue
				}
				etag := ""
				if ok {
					etag, _ = r.propText(nsDAV, "getetag", true)
				}
				delete(removed, href)
				changed[href] = etag
			}
		}
		token = ms.SyncToken
		if !truncated {
			break
		}
	}
	l := storage.Listing{Delta: true, Token: storage.Token{Kind: "sync-token", Value: token}}
	for _, h := range order {
		if etag, ok := changed[h]; ok {
			l.Refs = append(l.Refs, storage.ItemRef{Href: h, ETag: etag})
		} else if removed[h] {
			l.Removed = append(l.Removed, h)
		}
	}
	return l, nil
}
