package dav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
)

const xmlType = "application/xml; charset=utf-8"

// client is the DAV storage's use of its HTTP stack (stack.go): requests with exact
// wire URLs, non-success answers turned into *StatusError, answers streamed.
type client struct {
	name string
	st   *stack
	log  *slog.Logger
}

func newClient(o *Options, ep endpoint, log *slog.Logger) (*client, error) {
	st, err := newStack(o, ep, log)
	if err != nil {
		return nil, err
	}
	return &client{name: o.Name, st: st, log: log}, nil
}

// request is one HTTP request to make.
type request struct {
	method    string
	url       *url.URL
	header    http.Header
	body      []byte
	noRetry   bool  // even for an idempotent method
	maxBody   int64 // the answer's size cap; 0 means maxAnswer
	discovery bool  // part of bootstrap or discovery (a 401 may mean a wrong url)
	items     bool  // the answer carries item text (XML tokens up to the item size)
	// any2xx: a 2xx answer other than 207 is success without a body to decode
	// (PROPPATCH); multistatus then returns errNotMultistatus.
	any2xx bool
}

// response is an answer whose body was already read or discarded.
type response struct {
	code   int
	header http.Header
	url    *url.URL // the request URL
}

// newRequest builds a request with an XML body (when body is not empty) and Depth
// (when depth is not "").
func newRequest(method string, u *url.URL, depth string, body string) *request {
	r := &request{method: method, url: u, header: http.Header{}}
	if body != "" {
		r.body = []byte(body)
		r.header.Set("Content-Type", xmlType)
	}
	if depth != "" {
		r.header.Set("Depth", depth)
	}
	return r
}

// send sends r (retrying idempotent requests, stack.go) and returns the answer with
// its body open if the status is 2xx or 207 (3xx too when allowRedirect); the caller
// closes it. Any other status is a *StatusError; a request without answer a
// *RequestError; a cancelled ctx its error.
func (c *client) send(ctx context.Context, r *request, allowRedirect bool) (*http.Response, error) {
	rctx := ctx
	if r.maxBody > 0 {
		rctx = withMaxBody(rctx, r.maxBody)
	}
	if r.noRetry {
		rctx = withoutRetries(rctx)
	}
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(rctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, redact(r.url), err)
	}
	// Keep the exact wire path: set URL directly so nothing re-encodes it.
	req.URL = r.url
	req.Host = r.url.Host
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := c.st.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, ctxErr(ctx, err)
	}
	code := resp.StatusCode
	if code >= 200 && code < 300 || allowRedirect && code >= 300 && code < 400 {
		return resp, nil
	}
	se := newStatusError(c.name, req, resp)
	se.Discovery = r.discovery
	c.log.Debug("http error", "method", r.method, "url", se.URL, "status", code, "reason", se.Reason)
	return nil, se
}

// do sends r and discards the answer's body (at most 64 KiB of it is read, so the
// connection can be reused).
func (c *client) do(ctx context.Context, r *request) (*response, error) {
	return c.doWith(ctx, r, false)
}

// doRedirect is do that also returns 3xx answers (bootstrap's manual redirects).
func (c *client) doRedirect(ctx context.Context, r *request) (*response, error) {
	return c.doWith(ctx, r, true)
}

func (c *client) doWith(ctx context.Context, r *request, allowRedirect bool) (*response, error) {
	resp, err := c.send(ctx, r, allowRedirect)
	if err != nil {
		return nil, err
	}
	// The status is the answer; a failure while discarding the body changes nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return &response{code: resp.StatusCode, header: resp.Header, url: r.url}, nil
}
