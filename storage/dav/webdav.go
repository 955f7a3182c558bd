package dav

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/emersion/go-webdav"
)

// maxKept bounds the bootstrap answer that webdavClient keeps for a second reading.
const maxKept = 1 << 20

// webdavClient gives go-webdav (bootstrap's principal and home-set lookups) the
// storage's HTTP stack: its requests get our headers, auth policy, deadlines, caps
// and retries, and a non-success answer becomes our *StatusError, which go-webdav
// passes on unchanged, so callers branch on it as everywhere else.
//
// go-webdav's results keep only the decoded path of the first href, so the client also
// keeps the last 207 answer (at most 1 MiB) for bootstrap to read again for what they
// drop: further home sets, and the host of an href on another origin. And because
// go-webdav joins its endpoint's path with "" (which drops a trailing slash), a request
// for exact's path without that slash is sent to exact itself.
type webdavClient struct {
	c     *client
	exact *url.URL
	kept  []byte
}

var _ webdav.HTTPClient = (*webdavClient)(nil)

func (w *webdavClient) Do(req *http.Request) (*http.Response, error) {
	if w.exact != nil && sameOrigin(req.URL, w.exact) && trimSlash(req.URL.Path) == trimSlash(w.exact.Path) {
		req.URL, req.Host = w.exact, w.exact.Host
	}
	if req.Body != nil && req.Body != http.NoBody {
		// go-webdav says text/xml; we send the type every request body of ours has
		// (storages.md §2.10).
		req.Header.Set("Content-Type", xmlType)
	}
	resp, err := w.c.st.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, ctxErr(req.Context(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := newStatusError(w.c.name, req, resp)
		se.Discovery = true
		return nil, se
	}
	w.kept = nil
	if resp.StatusCode == http.StatusMultiStatus {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxKept+1))
		resp.Body.Close()
		if err != nil {
			return nil, ctxErr(req.Context(), err)
		}
		if len(body) > maxKept {
			return nil, &AnswerTooLargeError{Method: req.Method, URL: redact(req.URL), Limit: maxKept}
		}
		w.kept = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// keptHrefs returns the hrefs of property space:local in the kept answer, resolved
// against base, in document order.
func (w *webdavClient) keptHrefs(base *url.URL, space, local string) []*url.URL {
	if w.kept == nil {
		return nil
	}
	ms, err := parseMultistatus(w.kept)
	if err != nil {
		return nil
	}
	var out []*url.URL
	for _, r := range ms.Responses {
		p, ok := r.prop(space, local)
		if !ok {
			continue
		}
		for _, h := range p.hrefs() {
			if u, err := resolveHref(base, h); err == nil {
				out = append(out, u)
			}
		}
	}
	return out
}

// transportError reports whether err is a failure of the request itself (no answer,
// a status error, a cap, a cancelled context) rather than go-webdav finding the answer
// unusable.
func transportError(err error) bool {
	var se *StatusError
	var re *RequestError
	var tl *AnswerTooLargeError
	return errors.As(err, &se) || errors.As(err, &re) || errors.As(err, &tl) || isCtxErr(err)
}
