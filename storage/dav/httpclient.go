package dav

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// HTTPClient is the HTTP stack of a DAV storage (stack.go) for the other HTTP-based
// backends (webcal), so that they share its TLS, auth, proxy, deadline, size-cap and
// retry code instead of repeating it. Build it with NewHTTPClient.
type HTTPClient struct {
	*http.Client
	st *stack
}

// Requests returns the number of HTTP requests sent so far: every attempt, retries and
// redirect hops included.
func (c *HTTPClient) Requests() int64 { return c.st.requests.Load() }

// WithAnswerLimit returns a context whose requests fail with *AnswerTooLargeError
// once their answer's body passes n bytes (decompressed). Without it the cap is 64 MiB.
func WithAnswerLimit(ctx context.Context, n int64) context.Context {
	return withMaxBody(ctx, n)
}

// StatusErrorOf reads a non-success answer of the client (at most 8 KiB of its body)
// into a *StatusError and closes the body.
func (c *HTTPClient) StatusErrorOf(resp *http.Response) *StatusError {
	return newStatusError(c.st.name, resp.Request, resp)
}

// NewHTTPClient returns a client configured from opts as in storages.md §2.10:
//   - TLS from TLSRoot, TLSFingerprint and AuthCert/AuthKey (minimum TLS 1.2);
//   - proxies from the environment, HTTP over Socket when it is set;
//   - the deadlines of opts.Timeouts and the answer size cap (WithAnswerLimit);
//   - User-Agent on every request, and HTTP Basic auth (when HasAuth is set or Username
//     is not empty) on requests to the origin of opts.URL and to the origins of the
//     same site that it redirects to — never to another site, never from https to
//     http;
//   - idempotent requests are retried up to twice after a connection broke and on
//     429, 502, 503 and 504, honouring Retry-After up to 60 s (opts.Sleep waits);
//   - failures without an answer are *RequestError values (inside the *url.Error that
//     Do returns) naming the method and URL, with a hint for certificate problems;
//     storage.IsTemporary tells whether a later attempt may succeed.
//
// Redirects are followed up to maxRedirects times and never from https to http; with
// maxRedirects 0 a 3xx answer is returned to the caller as it is (what the DAV client
// does).
func NewHTTPClient(opts Options, maxRedirects int) (*HTTPClient, error) {
	ep, err := opts.endpoint()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st, err := newStack(&opts, ep, log.With("storage", opts.Name))
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", opts.Name, err)
	}
	return &HTTPClient{
		Client: &http.Client{Transport: st.rt, CheckRedirect: redirectPolicy(st.policy, maxRedirects)},
		st:     st,
	}, nil
}

// redirectPolicy follows at most max redirects (none: return the 3xx answer) and never
// from https to http. A redirect to an origin of the same site extends the
// credentials to it (authPolicy.follow).
func redirectPolicy(policy *authPolicy, max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if max <= 0 {
			return http.ErrUseLastResponse
		}
		fail := func(format string, args ...any) error {
			return &RequestError{Method: via[0].Method, URL: redact(via[0].URL),
				Err: fmt.Errorf(format, args...), redirect: true}
		}
		if len(via) > max {
			return fail("stopped after %d redirects (the last one to %s)", max, redact(req.URL))
		}
		prev := via[len(via)-1].URL
		if strings.EqualFold(prev.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return fail("refusing to follow a redirect from https to %s", redact(req.URL))
		}
		policy.follow(prev, req.URL)
		return nil
	}
}
