package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// maxSyncPages bounds the 507 continuation loop against a server that never ends it.
const maxSyncPages = 1000

// tokenBoth is the kind of a token that holds a ctag and a sync-token. A collection's
// ctag answers "did anything change?" and costs some servers (Radicale) half of what its
// sync-token costs, while only the sync-token can ask for the changes; keeping both
// lets an unchanged collection cost the cheaper question and a changed one the delta.
const tokenBoth = "ctag+sync-token"

func bothToken(ctag, sync string) storage.Token {
	return storage.Token{Kind: tokenBoth, Value: ctag + "\n" + sync}
}

func splitBoth(t storage.Token) (ctag, sync string, ok bool) {
	if t.Kind != tokenBoth {
		return "", "", false
	}
	ctag, sync, ok = strings.Cut(t.Value, "\n")
	return ctag, sync, ok && ctag != "" && sync != ""
}

// ListSince lists a collection given the token saved after the last clean sync
// (storages.md §2.5, §2.6; sync.md §6.1):
//   - the collection's token (from discovery, or a probe that asks for the saved kind
//     only) equals saved → Unchanged, no further request;
//   - saved holds a sync-token and the server supports sync-collection → the delta;
//   - otherwise, or when the server rejects the token, a full listing.
//
// The returned Token describes the collection as of this listing.
func (s *Storage) ListSince(ctx context.Context, collection string, saved storage.Token) (storage.Listing, error) {
	probeKind := saved.Kind
	savedCtag, savedSync, both := splitBoth(saved)
	if both {
		probeKind = "ctag"
	}
	ci, err := s.currentCollection(ctx, collection, probeKind)
	if err != nil {
		return storage.Listing{}, opError("list", collection, err)
	}
	current := ci.token()
	switch {
	case both && ci.ctag != "" && ci.ctag == savedCtag:
		return storage.Listing{Unchanged: true, Token: saved}, nil
	case both && ci.ctag != "":
		// Changed: ask for the delta since the saved sync-token.
		l, err := s.delta(ctx, ci, savedSync)
		if err == nil {
			l.Token = bothToken(ci.ctag, l.Token.Value)
			return l, nil
		}
		if !errors.Is(err, errInvalidToken) {
			return storage.Listing{}, err
		}
		// Ask for both tokens again before the full listing, so the next run is back on
		// the fast path.
		if ci, err = s.probeCollection(ctx, ci.href, ""); err != nil {
			return storage.Listing{}, opError("list", collection, err)
		}
		current = ci.token()
	case !saved.IsZero() && saved == current:
		return storage.Listing{Unchanged: true, Token: current}, nil
	case !saved.IsZero() && saved.Kind == "sync-token" && ci.canSync:
		l, err := s.delta(ctx, ci, saved.Value)
		if err == nil || !errors.Is(err, errInvalidToken) {
			return l, err
		}
	}
	refs, _, err := s.list(ctx, ci)
	if err != nil {
		return storage.Listing{}, opError("list", collection, err)
	}
	return storage.Listing{Refs: refs, Token: current}, nil
}

// delta is syncDelta with its errors described; errInvalidToken means "list instead".
func (s *Storage) delta(ctx context.Context, ci *collInfo, token string) (storage.Listing, error) {
	l, err := s.syncDelta(ctx, ci, token)
	switch {
	case err == nil:
		return l, nil
	case errors.Is(err, errInvalidToken):
		s.log.Info("sync token no longer valid; listing the whole collection", "collection", ci.href, "err", err)
		return storage.Listing{}, err
	}
	return storage.Listing{}, opError("sync", ci.href, err)
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
		truncated := false
		newToken, err := s.multistatus(ctx, newRequest("REPORT", ci.url, "0", syncBody(token)), func(r *msResponse) error {
			if len(order) >= maxListed {
				return &errTooManyItems{"REPORT", redact(ci.url)}
			}
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
			return nil
		})
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
		if newToken == "" {
			return storage.Listing{}, fmt.Errorf("%w: the sync-collection answer has no sync-token", errInvalidToken)
		}
		token = newToken
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
