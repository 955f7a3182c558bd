package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// contentType is the media type of PUT bodies.
func (s *Storage) contentType() string {
	if s.kind == storage.Contacts {
		return "text/vcard; charset=utf-8"
	}
	return "text/calendar; charset=utf-8"
}

// put sends a PUT with the item text and one condition header.
func (s *Storage) put(ctx context.Context, u *url.URL, it storage.Item, condHeader, condValue string) (*response, error) {
	r := &request{method: http.MethodPut, url: u, header: http.Header{}, body: it.Bytes()}
	r.header.Set("Content-Type", s.contentType())
	r.header.Set(condHeader, condValue)
	return s.c.do(ctx, r)
}

// Create uploads a new item with If-None-Match: * at <collection><name>.<ext>
// (storages.md §2.7). A taken name holding another ident is retried once at the hash
// name; otherwise the create fails with ErrPrecondition.
func (s *Storage) Create(ctx context.Context, collection string, item storage.Item) (string, string, error) {
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return "", "", opError("create item in", collection, err)
	}
	name := itemName(item)
	for {
		u, err := resolveHref(ci.url, withSlash(ci.url.EscapedPath())+name+"."+s.kind.Ext())
		if err != nil {
			return "", "", opError("create item in", collection, err)
		}
		href := statusForm(u)
		unlock, err := s.writes.lock(ctx, href)
		if err != nil {
			return "", "", opError("create", href, err)
		}
		resp, err := s.put(ctx, u, item, "If-None-Match", "*")
		if err == nil {
			href, etag, err := s.afterPut(ctx, ci, href, u, resp, item, true)
			unlock()
			return href, etag, opError("create", href, err)
		}
		if errors.Is(err, storage.ErrOutcomeUnknown) {
			unlock()
			return "", "", opError("create", href, err)
		}
		switch statusCode(err) {
		case http.StatusPreconditionFailed:
			// The name is taken: by the same item (next run matches it) or by another
			// ident that sanitises to the same name (retry at the hash name).
			f := s.fetchOne(ctx, ci, href, u)
			unlock()
			if f.Err == nil && f.Item.Ident() != item.Ident() && name != item.Hash() {
				name = item.Hash()
				continue
			}
			return "", "", &storage.Error{Kind: storage.ErrPrecondition, Op: "create", Href: href,
				Err: fmt.Errorf("an item already exists at this href: %w", err)}
		case http.StatusForbidden, http.StatusConflict:
			unlock()
			var se *StatusError
			if errors.As(err, &se) && strings.HasSuffix(se.Precondition, "no-uid-conflict") {
				at := se.PreconditionHref
				if at == "" {
					at = "another href"
				}
				return "", "", &storage.Error{Kind: storage.ErrPrecondition, Op: "create", Href: href,
					Err: fmt.Errorf("the server already has this UID at %s: %w", at, err)}
			}
			return "", "", opError("create", href, rejected(err))
		case http.StatusUnsupportedMediaType:
			unlock()
			return "", "", &storage.Error{Kind: storage.ErrInvalidData, Op: "create", Href: href, Err: rejected(err)}
		}
		unlock()
		return "", "", opError("create", href, rejected(err))
	}
}

// Update replaces the item at href if its etag still matches (If-Match, verbatim).
func (s *Storage) Update(ctx context.Context, href, etag string, item storage.Item) (string, error) {
	u, ci, err := s.itemURL(href, nil)
	if err != nil {
		return "", opError("update", href, err)
	}
	cond := etag
	if cond == "" {
		cond = "*" // no etag known: at least never resurrect a deleted item
	}
	unlock, err := s.writes.lock(ctx, href)
	if err != nil {
		return "", opError("update", href, err)
	}
	defer unlock()
	resp, err := s.put(ctx, u, item, "If-Match", cond)
	if err != nil {
		switch statusCode(err) {
		case http.StatusPreconditionFailed:
			if s.gone(ctx, u) { // many servers answer 412 to If-Match on a missing item
				err = fmt.Errorf("%w: deleted on the server since it was listed (%v)", storage.ErrNotFound, err)
			} else {
				err = fmt.Errorf("changed on the server since it was listed: %w", err)
			}
		case http.StatusNotFound:
			err = fmt.Errorf("deleted on the server since it was listed: %w", err)
		default:
			err = rejected(err)
		}
		return "", opError("update", href, err)
	}
	_, newETag, err := s.afterPut(ctx, ci, href, u, resp, item, false)
	return newETag, opError("update", href, err)
}

// rejected says that the server refused an upload, for an answer with a status (4xx,
// 5xx); other errors (no answer) are returned as they are. A 400, 403, 409, 415 or 422
// refuses the item itself (its form, its data, a precondition of RFC 4791 §5.3.2 or
// RFC 6352 §6.3.2.1) and is also storage.ErrRejected; a missing collection, a size
// limit, a lock, authentication or a server error is not.
func rejected(err error) error {
	code := statusCode(err)
	if code < 400 {
		return err
	}
	switch code {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return &rejection{err: err, refused: true}
	}
	return &rejection{err: err}
}

// rejection is an upload the server answered with an error status; refused when it
// refused the item itself.
type rejection struct {
	err     error
	refused bool
}

func (r *rejection) Error() string { return "the server rejected the item: " + r.err.Error() }

func (r *rejection) Unwrap() []error {
	if r.refused {
		return []error{r.err, storage.ErrRejected}
	}
	return []error{r.err}
}

// afterPut works out href and etag after a successful PUT: the Location of a 201
// (same origin only), the ETag header verbatim, or a one-href multiget when the
// header is missing (its etag is used only if the server kept our bytes' hash).
func (s *Storage) afterPut(ctx context.Context, ci *collInfo, href string, u *url.URL, resp *response, item storage.Item, create bool) (string, string, error) {
	if loc := resp.header.Get("Location"); create && resp.code == http.StatusCreated && loc != "" {
		if lu, err := resolveHref(u, loc); err == nil && insideCollection(lu, ci.url) {
			if lu.Path != u.Path {
				s.log.Debug("server renamed the new item", "href", href, "location", lu.Path)
			}
			u, href = lu, statusForm(lu)
		} else {
			s.log.Warn("ignoring a Location header outside the collection", "href", href, "location", loc)
		}
	}
	s.rememberWire(href, u)
	etag := strings.TrimSpace(resp.header.Get("ETag"))
	if etag != "" {
		return href, etag, nil
	}
	// No ETag (DAViCal): fetch what the server stored; its etag stands for our write.
	// A re-serialisation (DAViCal adds REV to vCards and refolds them) is nobody's
	// change. So is a lossy rewrite (DAViCal mangles some quoted parameters): copying
	// it back would damage the user's own copy, so it is reported instead. (Someone
	// else's edit in the moment between the PUT and this read would go unnoticed until
	// the item changes again: a far smaller risk. storages.md §2.7 records "" here;
	// see docs/DECISIONS.md.) When the read fails, "" makes the next run fetch it.
	f := s.fetchOne(ctx, ci, href, u)
	if f.Err != nil || f.ETag == "" {
		return href, "", nil
	}
	if f.Item.Hash() != item.Hash() && !storage.Equivalent(f.Item.Text(), item.Text()) {
		s.log.Warn("the server stored a different version of the upload than it was sent (not only reformatted); "+
			"the local version is kept and the server's is not copied back", "href", href)
	}
	return href, f.ETag, nil
}

// gone reports whether a Depth 0 PROPFIND says the resource at u does not exist.
func (s *Storage) gone(ctx context.Context, u *url.URL) bool {
	exists, err := s.exists(ctx, u)
	return err == nil && !exists
}

// Delete removes the item at href if its etag still matches. A 404 counts as success.
func (s *Storage) Delete(ctx context.Context, href, etag string) error {
	u, _, err := s.itemURL(href, nil)
	if err != nil {
		return opError("delete", href, err)
	}
	r := &request{method: http.MethodDelete, url: u, header: http.Header{}}
	if etag != "" {
		r.header.Set("If-Match", etag)
	}
	unlock, err := s.writes.lock(ctx, href)
	if err != nil {
		return opError("delete", href, err)
	}
	defer unlock()
	if _, err := s.c.do(ctx, r); err != nil {
		switch statusCode(err) {
		case http.StatusNotFound, http.StatusGone:
			s.forgetHref(href)
			return nil
		case http.StatusPreconditionFailed:
			if s.gone(ctx, u) { // 412 to If-Match on an item that is already gone
				s.forgetHref(href)
				return nil
			}
			err = fmt.Errorf("changed on the server since it was listed: %w", err)
		}
		return opError("delete", href, err)
	}
	s.forgetHref(href)
	return nil
}
