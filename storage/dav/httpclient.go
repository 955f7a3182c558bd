package dav

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// HTTPClient is an *http.Client set up from Options the way a DAV storage's own client
// is, for the other HTTP-based backends (webcal): they share the TLS, auth, proxy,
// timeout and retry code instead of repeating it. Build it with NewHTTPClient.
type HTTPClient struct {
	*http.Client
	requests *atomic.Int64
}

// Requests returns the number of HTTP requests sent so far: every attempt, retries and
// redirect hops included.
func (c *HTTPClient) Requests() int64 { return c.requests.Load() }

// NewHTTPClient returns a client configured from opts as in storages.md §2.10:
//   - TLS from TLSRoot, TLSFingerprint and AuthCert/AuthKey (minimum TLS 1.2);
//   - proxies from the environment, HTTP over Socket when it is set;
//   - the connect, response-header and idle-read timeouts;
//   - User-Agent on every request, and HTTP Basic auth (when HasAuth is set or Username
//     is not empty) on every request to the host of opts.URL — never to another host a
//     redirect leads to;
//   - GET, HEAD and OPTIONS without a body are retried up to twice on connection errors
//     (not certificate failures) and on 429, 502, 503 and 504, honouring Retry-After up
//     to 60 s (opts.Sleep waits, as for the DAV client);
//   - failures without an answer (connection, certificate, redirect policy) are errors,
//     inside the *url.Error that Do returns, that name the storage, method and URL,
//     with a hint for certificate problems; storage.IsTemporary tells whether a later
//     attempt may succeed.
//
// Redirects are followed up to maxRedirects times and never from https to http; with
// maxRedirects 0 a 3xx answer is returned to the caller as it is (what the DAV client
// does). Of opts only Name, URL, Socket, the credentials, UserAgent, the TLS fields,
// Logger and Sleep are used.
func NewHTTPClient(opts Options, maxRedirects int) (*HTTPClient, error) {
	ep, err := opts.endpoint()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	t, err := newTransport(&opts, ep.socket)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	rt := &roundTripper{
		base:      t,
		name:      opts.Name,
		authHost:  ep.base.Hostname(),
		username:  opts.Username,
		password:  opts.Password,
		auth:      opts.sendsAuth(),
		userAgent: opts.userAgent(),
		sleep:     sleep,
		log:       log.With("storage", opts.Name),
		requests:  new(atomic.Int64),
	}
	return &HTTPClient{
		Client:   &http.Client{Transport: rt, CheckRedirect: redirectPolicy(opts.Name, maxRedirects)},
		requests: rt.requests,
	}, nil
}

// redirectPolicy follows at most max redirects (none: return the 3xx answer) and never
// from https to http. Its errors name the storage and the URL first requested.
func redirectPolicy(name string, max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if max <= 0 {
			return http.ErrUseLastResponse
		}
		fail := func(format string, args ...any) error {
			return &requestError{storage: name, method: via[0].Method, url: redact(via[0].URL),
				err: fmt.Errorf(format, args...), redirect: true}
		}
		if len(via) > max {
			return fail("stopped after %d redirects (the last one to %s)", max, redact(req.URL))
		}
		if prev := via[len(via)-1].URL; strings.EqualFold(prev.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return fail("refusing to follow a redirect from https to %s", redact(req.URL))
		}
		return nil
	}
}

// roundTripper adds the user agent and credentials, counts requests and retries
// idempotent requests (storages.md §2.10).
type roundTripper struct {
	base      http.RoundTripper
	name      string
	authHost  string // credentials go only to this host
	username  string
	password  string
	auth      bool
	userAgent string
	sleep     func(context.Context, time.Duration) error
	log       *slog.Logger
	requests  *atomic.Int64
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	r := req.Clone(ctx)
	r.Header.Set("User-Agent", rt.userAgent)
	if rt.auth && strings.EqualFold(r.URL.Hostname(), rt.authHost) {
		r.SetBasicAuth(rt.username, rt.password)
	}
	retries := 0
	if (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions) &&
		(r.Body == nil || r.Body == http.NoBody) {
		retries = maxRetries
	}
	for attempt := 0; ; attempt++ {
		rt.requests.Add(1)
		start := time.Now()
		resp, err := rt.base.RoundTrip(r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			err = netError(rt.name, r.Method, r.URL, err)
			rt.log.Debug("http", "method", r.Method, "url", redact(r.URL), "err", err)
		} else {
			rt.log.Debug("http", "method", r.Method, "url", redact(r.URL), "status", resp.StatusCode,
				"duration", time.Since(start))
		}
		if attempt >= retries || ctx.Err() != nil ||
			(err != nil && !retryableErr(err)) || (err == nil && !retryableStatus(resp.StatusCode)) {
			return resp, err
		}
		var h http.Header
		if resp != nil {
			h = resp.Header
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		wait := retryWait(attempt, h)
		rt.log.Debug("retrying request", "method", r.Method, "url", redact(r.URL), "wait", wait)
		if err := rt.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}
