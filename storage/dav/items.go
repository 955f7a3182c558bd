package dav

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

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

// list returns the items and the collection's own etag from a fresh listing.
func (s *Storage) list(ctx context.Context, ci *collInfo) ([]storage.ItemRef, string, error) {
	ms, err := s.propfind(ctx, ci.url, "1", listBody)
	if err != nil {
		return nil, "", err
	}
	var refs []storage.ItemRef
	seen := map[string]bool{}
	collETag := ""
	for i := range ms.Responses {
		r := &ms.Responses[i]
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
	s.rememberWire(href, u)
	return href, true
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
	var batches [][]target
	for len(todo) > 0 {
		n := min(multigetBatch, len(todo))
		batches = append(batches, todo[:n])
		todo = todo[n:]
	}
	results := make([][]storage.Fetched, len(batches))
	errs := make([]error, len(batches))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInFlight)
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = s.fetchBatch(ctx, ci, b, false)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for i := range batches {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// fetchBatch fetches one batch, splitting it on 5xx, 413, 507 or timeouts, and falling
// back to GET when REPORT is not supported. The error is for the whole call.
func (s *Storage) fetchBatch(ctx context.Context, ci *collInfo, batch []target, split bool) ([]storage.Fetched, error) {
	s.mu.Lock()
	noREPORT := s.noREPORT
	s.mu.Unlock()
	if noREPORT {
		return s.getEach(ctx, batch), nil
	}
	out, err := s.multiget(ctx, ci, batch, split)
	if err == nil {
		return out, nil
	}
	code := statusCode(err)
	switch {
	case code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented:
		s.log.Info("server does not support multiget; fetching items one by one", "collection", ci.href)
		s.mu.Lock()
		s.noREPORT = true
		s.mu.Unlock()
		return s.getEach(ctx, batch), nil
	case code >= 500 || code == http.StatusRequestEntityTooLarge || isTimeout(err):
		if len(batch) == 1 {
			return []storage.Fetched{{Href: batch[0].href, Err: err}}, nil
		}
		half := len(batch) / 2
		a, err := s.fetchBatch(ctx, ci, batch[:half], true)
		if err != nil {
			return nil, err
		}
		b, err := s.fetchBatch(ctx, ci, batch[half:], true)
		if err != nil {
			return nil, err
		}
		return append(a, b...), nil
	}
	return nil, err
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

// multiget sends one REPORT and maps every response onto its requested href.
func (s *Storage) multiget(ctx context.Context, ci *collInfo, batch []target, noRetry bool) ([]storage.Fetched, error) {
	r := newRequest("REPORT", ci.url, "1", s.multigetBody(batch))
	r.noRetry = noRetry
	ms, err := s.multistatus(ctx, r)
	if err != nil {
		return nil, err
	}
	byHref := make(map[string]*storage.Fetched, len(batch))
	out := make([]storage.Fetched, len(batch))
	for i, t := range batch {
		out[i] = storage.Fetched{Href: t.href}
		byHref[t.href] = &out[i]
	}
	done := map[string]bool{}
	for i := range ms.Responses {
		resp := &ms.Responses[i]
		for _, h := range resp.Hrefs {
			u, err := resolveHref(ci.url, h)
			if err != nil {
				continue
			}
			f := byHref[statusForm(u)]
			if f == nil || done[f.Href] || !sameOrigin(u, ci.url) {
				s.log.Debug("ignoring unrequested href in multiget answer", "href", h)
				continue
			}
			done[f.Href] = true
			s.fillFetched(f, resp)
		}
	}
	for i := range out {
		if !done[out[i].Href] {
			out[i].Err = fmt.Errorf("%w: the server did not return %s in its multiget answer", storage.ErrNotFound, out[i].Href)
		}
	}
	return out, nil
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

// getEach fetches hrefs with GET, up to maxInFlight at a time.
func (s *Storage) getEach(ctx context.Context, batch []target) []storage.Fetched {
	out := make([]storage.Fetched, len(batch))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInFlight)
	for i, t := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = s.getOne(ctx, t)
		}()
	}
	wg.Wait()
	return out
}

func (s *Storage) getOne(ctx context.Context, t target) storage.Fetched {
	f := storage.Fetched{Href: t.href}
	resp, err := s.c.do(ctx, newRequest(http.MethodGet, t.url, "", ""))
	if err != nil {
		f.Err = err
		return f
	}
	f.ETag = strings.TrimSpace(resp.header.Get("ETag"))
	if f.ETag == "" {
		f.ETag = s.etagOf(ctx, t.url)
	}
	f.Item, f.Err = storage.ParseItem(resp.body, s.kind)
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
