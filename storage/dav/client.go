package dav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	maxInFlight  = 4                // requests in flight per storage
	maxBody      = 512 << 20        // largest answer body we read
	maxRetries   = 2                // retries of idempotent requests
	maxRetryWait = 60 * time.Second // longest Retry-After honoured
	errBodyLimit = 512              // bytes of an error body kept for debugging
	xmlType      = "application/xml; charset=utf-8"
)

// backoff is the wait before retry 1 and 2 without a usable Retry-After.
var backoff = [maxRetries]time.Duration{time.Second, 4 * time.Second}

// client is the HTTP client wrapper of one storage (storages.md §2.10).
type client struct {
	name      string
	hc        *http.Client
	username  string
	password  string
	auth      bool
	userAgent string
	sem       chan struct{}
	sleep     func(context.Context, time.Duration) error
	log       *slog.Logger
	requests  atomic.Int64
}

func newClient(o *Options, ep endpoint, log *slog.Logger) (*client, error) {
	t, err := newTransport(o, ep.socket)
	if err != nil {
		return nil, err
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	return &client{
		name: o.Name,
		hc: &http.Client{
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		username:  o.Username,
		password:  o.Password,
		auth:      o.sendsAuth(),
		userAgent: o.userAgent(),
		sem:       make(chan struct{}, maxInFlight),
		sleep:     sleep,
		log:       log,
	}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one HTTP request to make.
type request struct {
	method  string
	url     *url.URL
	header  http.Header
	body    []byte
	noRetry bool // even for an idempotent method
}

// response is a fully read answer.
type response struct {
	code   int
	header http.Header
	body   []byte
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

func idempotent(method string) bool {
	switch method {
	case "OPTIONS", "PROPFIND", "REPORT", http.MethodGet:
		return true
	}
	return false
}

// do sends r, retrying idempotent requests (storages.md §2.10), and returns the answer
// if its status is 2xx or 207 (3xx only when allowRedirect). Any other status is a
// *StatusError; a request without answer a *requestError.
func (c *client) do(ctx context.Context, r *request) (*response, error) {
	return c.send(ctx, r, false)
}

// doRedirect is do that also returns 3xx answers (bootstrap's manual redirects).
func (c *client) doRedirect(ctx context.Context, r *request) (*response, error) {
	return c.send(ctx, r, true)
}

func (c *client) send(ctx context.Context, r *request, allowRedirect bool) (*response, error) {
	retries := 0
	if idempotent(r.method) && !r.noRetry {
		retries = maxRetries
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, r)
		if attempt >= retries || ctx.Err() != nil || !retryable(resp, err) {
			if err != nil {
				return nil, err
			}
			return c.check(r, resp, allowRedirect)
		}
		var h http.Header
		if resp != nil {
			h = resp.header
		}
		wait := retryWait(attempt, h)
		c.log.Debug("retrying request", "method", r.method, "url", redact(r.url), "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends one attempt, holding a slot of the in-flight limit.
func (c *client) once(ctx context.Context, r *request) (*response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()

	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("storage %s: %s: %w", c.name, r.method, err)
	}
	if r.body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	// Keep the exact wire path: r.url.String() already carries it, but set URL
	// directly so nothing re-encodes it.
	req.URL = r.url
	req.Host = r.url.Host
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.auth {
		req.SetBasicAuth(c.username, c.password)
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.wrapNetError(r, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.wrapNetError(r, err)
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.Debug("http", "method", r.method, "url", redact(r.url), "status", resp.StatusCode,
			"bytes", len(body), "duration", time.Since(start))
	}
	return &response{code: resp.StatusCode, header: resp.Header, body: body, url: r.url}, nil
}

func (c *client) wrapNetError(r *request, err error) error {
	return netError(c.name, r.method, r.url, err)
}

// netError describes a request to u that got no answer as a *requestError, with a hint
// for certificate failures.
func netError(storage, method string, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	re := &requestError{storage: storage, method: method, url: redact(u), err: err}
	if hint, ok := tlsHint(err); ok {
		re.tls, re.hint = true, hint
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		re.timeout = true
	}
	return re
}

// retryable: connection trouble (not TLS failures), 429, 502, 503, 504.
func retryable(resp *response, err error) bool {
	if err != nil {
		return retryableErr(err)
	}
	return retryableStatus(resp.code)
}

// retryableErr: a request that got no answer, except for TLS failures.
func retryableErr(err error) bool {
	var re *requestError
	return errors.As(err, &re) && !re.tls
}

// retryableStatus: 429, 502, 503, 504.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryWait is the wait before retry attempt+1: the answer's Retry-After when usable
// (h may be nil), otherwise the fixed backoff.
func retryWait(attempt int, h http.Header) time.Duration {
	if d, ok := retryAfter(h.Get("Retry-After")); ok {
		return d
	}
	return backoff[attempt]
}

// retryAfter parses a Retry-After header (seconds or HTTP date) and accepts it when
// it is at most maxRetryWait.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	} else {
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	return d, d <= maxRetryWait
}

// check turns a non-success answer into a *StatusError.
func (c *client) check(r *request, resp *response, allowRedirect bool) (*response, error) {
	code := resp.code
	if code >= 200 && code < 300 || allowRedirect && code >= 300 && code < 400 {
		return resp, nil
	}
	se := &StatusError{
		Storage: c.name,
		Method:  r.method,
		URL:     redact(r.url),
		Path:    r.url.EscapedPath(),
		Code:    code,
	}
	if code >= 300 && code < 400 {
		se.Location = resp.header.Get("Location")
		if loc, err := r.url.Parse(se.Location); err == nil && se.Location != "" {
			se.Location = redact(loc)
		}
	}
	if code == http.StatusUnauthorized {
		se.digestOnly = digestOnly(resp.header)
	}
	body := resp.body
	if len(body) > errBodyLimit {
		body = body[:errBodyLimit]
	}
	se.Body = string(body)
	se.Precondition, se.PreconditionHref = parsePrecondition(resp.body)
	c.log.Debug("http error", "method", r.method, "url", se.URL, "status", code, "body", se.Body)
	return nil, se
}

// redact returns u as a string without user info.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	return v.String()
}
