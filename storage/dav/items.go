package dav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pimsync-go/pimsync/storage"
)

const (
	multigetBatch = 50
	listBody      = xmlHeader + `<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/><d:getcontenttype/></d:prop></d:propfind>`
)

// List lists a collection's items with PROPFIND Depth 1 (storages.md §2.3).
func (s *Storage) List(ctx context.Context, collection string) ([]storage.ItemRef, error) {
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return nil, opError("list", collection, err)
	}
	refs, _, err := s.list(ctx, ci)
	if err != nil {
		return nil, opError("list", collection, err)
	}
	return refs, nil
}

// maxListed bounds the items of one listing (or sync delta): the listing is held in
// memory whole, so this bounds its memory whatever the server sends.
const maxListed = 200_000

// errTooManyItems is a listing with more than maxListed items.
type errTooManyItems struct{ method, url string }

func (e *errTooManyItems) Error() string {
	return fmt.Sprintf("%s %s: the collection lists more than %d items; refusing to read more", e.method, e.url, maxListed)
}

// list returns the items and the collection's own etag from a fresh listing. The
// answer is decoded as a stream; it may be at most 64 MiB and list at most maxListed
// items.
func (s *Storage) list(ctx context.Context, ci *collInfo) ([]storage.ItemRef, string, error) {
	var refs []storage.ItemRef
	seen := map[string]bool{}
	collETag := ""
	_, err := s.multistatus(ctx, newRequest("PROPFIND", ci.url, "1", listBody), func(r *msResponse) error {
		if len(refs) >= maxListed {
			return &errTooManyItems{"PROPFIND", redact(ci.url)}
		}
		for _, h := range r.Hrefs {
			u, err := resolveHref(ci.url, h)
			if err != nil {
				continue
			}
			if sameOrigin(u, ci.url) && samePath(u.Path, ci.path()) {
				collETag, _ = r.propText(nsDAV, "getetag", true)
				continue
			}
			if r.hasType(nsDAV, "collection") || r.Status == http.StatusNotFound {
				continue
			}
			href, ok := s.learnItemHref(ci, u)
			if seen[href] {
				s.log.Warn("server listed an href twice; keeping the first", "href", href)
				continue
			}
			seen[href] = true
			etag := ""
			if ok {
				etag, _ = r.propText(nsDAV, "getetag", true)
			}
			refs = append(refs, storage.ItemRef{Href: href, ETag: etag})
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return refs, collETag, nil
}

// learnItemHref records the wire URL of an item the server listed in collection ci and
// returns its status href. An href breaking the origin rule is recorded as bad (its
// fetch and writes fail with ErrInvalidData) and ok is false.
func (s *Storage) learnItemHref(ci *collInfo, u *url.URL) (href string, ok bool) {
	if !sameOrigin(u, ci.url) {
		href = redact(u) // never equal to a path on our origin
		s.markBad(href, errOrigin(href, ci.href))
		return href, false
	}
	href = statusForm(u)
	if !insideCollection(u, ci.url) {
		s.markBad(href, errOrigin(href, ci.href))
		return href, false
	}
	s.rememberItemWire(href, u)
	return href, true
}

// rememberItemWire records the wire URL of an item href, unless it is the URL that
// itemURL builds from the status form anyway (the common case), so a listing costs no
// memory per item for it.
func (s *Storage) rememberItemWire(href string, u *url.URL) {
	if u.EscapedPath() == encodePath(href) && u.RawQuery == "" {
		s.mu.Lock()
		delete(s.wire, href)
		s.mu.Unlock()
		return
	}
	s.rememberWire(href, u)
}

// Get fetches items with multiget REPORTs in batches (storages.md §2.4).
func (s *Storage) Get(ctx context.Context, collection string, hrefs []string) ([]storage.Fetched, error) {
	ci, err := s.collection(ctx, collection)
	if err != nil {
		return nil, opError("fetch from", collection, err)
	}
	out, err := s.fetch(ctx, ci, hrefs)
	if err != nil {
		return nil, opError("fetch from", collection, err)
	}
	return out, nil
}

// target is one href to fetch.
type target struct {
	href string
	url  *url.URL
}

// multigetBytes bounds the answer to one multiget of several hrefs. An answer that
// grows past it is cut off; the items read so far are kept and the rest are asked for
// again, in smaller batches down to single hrefs, whose answers may hold one item of
// up to the item-size limit.
const multigetBytes = 8 << 20

// fetch fetches hrefs in batches of at most multigetBatch hrefs, with at most
// maxInFlight batches in flight (a fixed set of workers, whatever the number of hrefs).
func (s *Storage) fetch(ctx context.Context, ci *collInfo, hrefs []string) ([]storage.Fetched, error) {
	var out []storage.Fetched
	var todo []target
	seen := map[string]bool{}
	for _, h := range hrefs {
		if seen[h] {
			continue
		}
		seen[h] = true
		u, _, err := s.itemURL(h, ci)
		if err != nil {
			out = append(out, storage.Fetched{Href: h, Err: err})
			continue
		}
		todo = append(todo, target{h, u})
	}
	if len(todo) == 0 {
		return out, nil
	}
	nb := (len(todo) + multigetBatch - 1) / multigetBatch
	batch := func(i int) []target { return todo[i*multigetBatch : min((i+1)*multigetBatch, len(todo))] }
	results := make([][]storage.Fetched, nb)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(maxInFlight, nb) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= nb {
					return
				}
				res, err := s.fetchBatch(ctx, ci, batch(i), false)
				if err != nil {
					cancel(err)
					return
				}
				results[i] = res
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// fetchBatch fetches one batch, splitting it on 5xx, 413, 507, timeouts and answers
// past their size cap, and falling back to GET when REPORT is not supported. The error
// is for the whole call.
func (s *Storage) fetchBatch(ctx context.Context, ci *collInfo, batch []target, split bool) ([]storage.Fetched, error) {
	s.mu.Lock()
	noREPORT := s.noREPORT
	s.mu.Unlock()
	if noREPORT {
		return s.getEach(ctx, batch), nil
	}
	got := make(map[string]storage.Fetched, len(batch))
	rest := batch
	retried := false
	for len(rest) > 0 {
		done, err := s.multiget(ctx, ci, rest, split)
		for _, f := range done {
			got[f.Href] = f
		}
		var left []target
		for _, t := range rest {
			if _, ok := got[t.href]; !ok {
				left = append(left, t)
			}
		}
		if err == nil {
			for _, t := range left {
				got[t.href] = storage.Fetched{Href: t.href,
					Err: fmt.Errorf("%w: the server did not return %s in its multiget answer", storage.ErrNotFound, t.href)}
			}
			break
		}
		var tl *AnswerTooLargeError
		code := statusCode(err)
		switch {
		case (errors.As(err, &tl) || brokenAnswer(err)) && len(done) > 0:
			rest = left // progress: ask for the others
			continue
		case errors.As(err, &tl) && len(rest) == 1:
			got[rest[0].href] = storage.Fetched{Href: rest[0].href, Err: &storage.TooLargeError{Limit: s.opts.maxItem()}}
			s.log.Warn("item larger than max_item_size; not fetched", "href", rest[0].href, "limit", s.opts.maxItem())
			rest = nil
			continue
		case code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented:
			s.log.Info("server does not support multiget; fetching items one by one", "collection", ci.href)
			s.mu.Lock()
			s.noREPORT = true
			s.mu.Unlock()
			for _, f := range s.getEach(ctx, rest) {
				got[f.Href] = f
			}
			rest = nil
			continue
		case brokenAnswer(err) && len(rest) == 1 && !retried:
			// A connection cut in the middle of the answer: a read, so ask once more
			// (storages.md §2.10) before calling the item not fetchable.
			retried = true
			continue
		case errors.As(err, &tl) || code >= 500 || code == http.StatusRequestEntityTooLarge || isTimeout(err) || brokenAnswer(err):
			if len(rest) == 1 {
				got[rest[0].href] = storage.Fetched{Href: rest[0].href, Err: err}
				rest = nil
				continue
			}
			half := len(rest) / 2
			for _, part := range [][]target{rest[:half], rest[half:]} {
				fs, err := s.fetchBatch(ctx, ci, part, true)
				if err != nil {
					return nil, err
				}
				for _, f := range fs {
					got[f.Href] = f
				}
			}
			rest = nil
			continue
		}
		return nil, err
	}
	out := make([]storage.Fetched, len(batch))
	for i, t := range batch {
		out[i] = got[t.href]
	}
	return out, nil
}

// brokenAnswer: the connection broke while the answer was read.
func brokenAnswer(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Answered && !re.Timeout
}

// multigetBody builds the calendar-multiget or addressbook-multiget body.
func (s *Storage) multigetBody(batch []target) string {
	var b strings.Builder
	report, data := "c:calendar-multiget", "c:calendar-data"
	if s.kind == storage.Contacts {
		report, data = "cr:addressbook-multiget", "cr:address-data"
	}
	fmt.Fprintf(&b, `%s<%s %s><d:prop><d:getetag/><%s/></d:prop>`, xmlHeader, report, nsDecl, data)
	for _, t := range batch {
		b.WriteString("<d:href>" + escape(t.url.EscapedPath()) + "</d:href>")
	}
	b.WriteString("</" + report + ">")
	return b.String()
}

// dataElem is the element holding item text.
func (s *Storage) dataElem() (string, string) {
	if s.kind == storage.Contacts {
		return nsCardDAV, "address-data"
	}
	return nsCalDAV, "calendar-data"
}

// itemAnswerCap is the size cap of an answer holding one item.
func (s *Storage) itemAnswerCap() int64 { return s.itemTokenLimit() + 64<<10 }

// multiget sends one REPORT and returns the responses read for requested hrefs, in
// the order they came; with an error, those read before it.
func (s *Storage) multiget(ctx context.Context, ci *collInfo, batch []target, noRetry bool) ([]storage.Fetched, error) {
	r := newRequest("REPORT", ci.url, "1", s.multigetBody(batch))
	r.noRetry = noRetry
	r.items = true
	r.maxBody = multigetBytes
	if len(batch) == 1 {
		r.maxBody = max(s.itemAnswerCap(), multigetBytes)
	}
	want := make(map[string]bool, len(batch))
	for _, t := range batch {
		want[t.href] = true
	}
	var out []storage.Fetched
	_, err := s.multistatus(ctx, r, func(resp *msResponse) error {
		for _, h := range resp.Hrefs {
			u, err := resolveHref(ci.url, h)
			if err != nil {
				continue
			}
			href := statusForm(u)
			if !want[href] || !sameOrigin(u, ci.url) {
				s.log.Debug("ignoring unrequested href in multiget answer", "href", h)
				continue
			}
			want[href] = false
			f := storage.Fetched{Href: href}
			s.fillFetched(&f, resp)
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// fillFetched reads one multiget response.
func (s *Storage) fillFetched(f *storage.Fetched, r *msResponse) {
	if r.Status != 0 && (r.Status < 200 || r.Status > 299) {
		f.Err = fetchStatusError(f.Href, r.Status)
		return
	}
	ns, local := s.dataElem()
	data, ok := r.propText(ns, local, false)
	if !ok || strings.TrimSpace(data) == "" {
		if st := r.propStatus(ns, local); st != 0 && (st < 200 || st > 299) {
			f.Err = fetchStatusError(f.Href, st)
		} else {
			f.Err = fmt.Errorf("%w: the server returned no %s for %s", storage.ErrInvalidData, local, f.Href)
		}
		return
	}
	f.ETag, _ = r.propText(nsDAV, "getetag", true)
	if int64(len(data)) > s.opts.maxItem() {
		f.Err = &storage.TooLargeError{Limit: s.opts.maxItem(), Size: int64(len(data))}
		s.log.Warn("item larger than max_item_size; not fetched", "href", f.Href, "bytes", len(data))
		return
	}
	if r.invalidUTF8(data) {
		f.Err = fmt.Errorf("%w: item is not valid UTF-8", storage.ErrInvalidData)
		return
	}
	f.Item, f.Err = storage.ParseItem([]byte(data), s.kind)
}

func fetchStatusError(href string, code int) error {
	err := fmt.Errorf("the server answered HTTP %d %s for %s", code, http.StatusText(code), href)
	if code == http.StatusNotFound || code == http.StatusGone {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	if code == http.StatusForbidden || code == http.StatusUnauthorized {
		return fmt.Errorf("%w: %w", storage.ErrAccessDenied, err)
	}
	return err
}

// getEach fetches hrefs with GET, with at most maxInFlight workers.
func (s *Storage) getEach(ctx context.Context, batch []target) []storage.Fetched {
	out := make([]storage.Fetched, len(batch))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(maxInFlight, len(batch)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batch) {
					return
				}
				out[i] = s.getOne(ctx, batch[i])
			}
		})
	}
	wg.Wait()
	return out
}

func (s *Storage) getOne(ctx context.Context, t target) storage.Fetched {
	f := storage.Fetched{Href: t.href}
	r := newRequest(http.MethodGet, t.url, "", "")
	r.maxBody = s.opts.maxItem()
	resp, err := s.c.send(ctx, r, false)
	if err != nil {
		f.Err = err
		return f
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tl *AnswerTooLargeError
	switch {
	case errors.As(err, &tl):
		f.Err = &storage.TooLargeError{Limit: s.opts.maxItem()}
		s.log.Warn("item larger than max_item_size; not fetched", "href", t.href, "limit", s.opts.maxItem())
		return f
	case err != nil:
		f.Err = ctxErr(ctx, err)
		return f
	}
	f.ETag = strings.TrimSpace(resp.Header.Get("ETag"))
	if f.ETag == "" {
		f.ETag = s.etagOf(ctx, t.url)
	}
	f.Item, f.Err = storage.ParseItem(body, s.kind)
	return f
}

// etagOf asks for the getetag of one resource; "" when unknown.
func (s *Storage) etagOf(ctx context.Context, u *url.URL) string {
	ms, err := s.propfind(ctx, u, "0", xmlHeader+`<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`)
	if err != nil {
		return ""
	}
	for i := range ms.Responses {
		if e, ok := ms.Responses[i].propText(nsDAV, "getetag", true); ok {
			return e
		}
	}
	return ""
}

// fetchOne fetches a single href with a one-href multiget (GET when REPORT is not
// supported).
func (s *Storage) fetchOne(ctx context.Context, ci *collInfo, href string, u *url.URL) storage.Fetched {
	out, err := s.fetchBatch(ctx, ci, []target{{href, u}}, false)
	if err != nil {
		return storage.Fetched{Href: href, Err: err}
	}
	return out[0]
}
