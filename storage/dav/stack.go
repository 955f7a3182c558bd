package dav

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP stack of one storage (storages.md §2.10) is a chain of http.RoundTripper
// layers under one *http.Client, used by the DAV item and collection code, by
// go-webdav during bootstrap and by the webcal backend alike:
//
//	headerLayer    User-Agent; Basic auth only to the origins the authPolicy allows
//	retryLayer     retries of idempotent requests (connection trouble, 429, 502–504)
//	limitLayer     at most maxInFlight requests of the storage in flight
//	deadlineLayer  per-attempt deadlines, the answer size cap, typed network errors
//	*http.Transport  TLS, proxy, Unix socket, connect and header timeouts
//
// A request holds its in-flight slot, its deadline timer and its size cap until its
// body is closed, so a caller that streams an answer is bounded like one that reads it
// whole.

// Defaults of the deadline directives (pimsync.conf(5)).
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultReadTimeout    = 120 * time.Second
	DefaultRequestTimeout = 300 * time.Second
	// bytesPerSecond is the transfer rate every request is granted on top of
	// RequestTimeout: each 64 KiB sent or received extends its deadline by a second.
	bytesPerSecond = 64 << 10
)

// maxAnswer caps an answer that holds no item text (listings, sync deltas, discovery,
// error bodies read for their reason), decompressed. Item answers get caps derived from
// the item-size limit.
const maxAnswer = 64 << 20

// Timeouts are the deadlines of every request of a storage. Zero fields take the
// defaults above.
type Timeouts struct {
	// Connect bounds the TCP (or Unix socket) connect and, separately, the TLS
	// handshake (connect_timeout).
	Connect time.Duration
	// Read bounds the wait for the answer's headers after the request was sent, and
	// every pause while the answer's body arrives (read_timeout).
	Read time.Duration
	// Request bounds a whole request, answer included (request_timeout); every 64 KiB
	// sent or received extends it by one second, so large transfers that keep moving
	// are not cut off, while the answer size caps keep the total bounded.
	Request time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultConnectTimeout
	}
	if t.Read <= 0 {
		t.Read = DefaultReadTimeout
	}
	if t.Request <= 0 {
		t.Request = DefaultRequestTimeout
	}
	return t
}

// ctxKey carries per-request settings through the layers.
type ctxKey int

const (
	keyMaxBody ctxKey = iota // int64: the answer size cap of this request
)

// withMaxBody sets the answer size cap of the requests made with ctx.
func withMaxBody(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, keyMaxBody, n)
}

func maxBodyOf(ctx context.Context) int64 {
	if n, ok := ctx.Value(keyMaxBody).(int64); ok && n > 0 {
		return n
	}
	return maxAnswer
}

// stack is the HTTP stack of one storage.
type stack struct {
	name     string
	client   *http.Client // never follows redirects (the DAV code and bootstrap)
	policy   *authPolicy
	requests *atomic.Int64
	log      *slog.Logger
	timeouts Timeouts
	rt       http.RoundTripper // the top layer
}

// newStack builds the stack for o. The client returned by client() never follows
// redirects; followingClient adds a redirect policy (webcal).
func newStack(o *Options, ep endpoint, log *slog.Logger) (*stack, error) {
	o.credentialsFrom(ep)
	to := o.Timeouts.withDefaults()
	base, err := newTransport(o, ep.socket, to)
	if err != nil {
		return nil, err
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	st := &stack{name: o.Name, requests: new(atomic.Int64), log: log, timeouts: to}
	st.policy = newAuthPolicy(ep.base, o.sendsAuth(), o.Username, o.Password)
	var rt http.RoundTripper = &deadlineLayer{next: base, to: to, requests: st.requests, log: log}
	rt = &limitLayer{next: rt, sem: make(chan struct{}, maxInFlight)}
	rt = &retryLayer{next: rt, sleep: sleep, log: log}
	rt = &headerLayer{next: rt, userAgent: o.userAgent(), policy: st.policy}
	st.rt = rt
	st.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return st, nil
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

// --- headerLayer ---------------------------------------------------------------------

// headerLayer sets the User-Agent, and Basic auth on requests to allowed origins only;
// an Authorization header on any other request is removed.
type headerLayer struct {
	next      http.RoundTripper
	userAgent string
	policy    *authPolicy
}

func (l *headerLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", l.userAgent)
	r.Header.Del("Authorization")
	if user, pass, ok := l.policy.credentials(r.URL); ok {
		r.SetBasicAuth(user, pass)
	}
	return l.next.RoundTrip(r)
}

// --- retryLayer ----------------------------------------------------------------------

const (
	maxRetries   = 2                // retries of idempotent requests
	maxRetryWait = 60 * time.Second // longest Retry-After honoured
)

// backoff is the wait before retry 1 and 2 without a usable Retry-After.
var backoff = [maxRetries]time.Duration{time.Second, 4 * time.Second}

// retryLayer retries idempotent requests (OPTIONS, PROPFIND, REPORT, GET, HEAD) whose
// body can be sent again: after a connection that broke (not a refused connection, a
// failed name lookup, a certificate failure or a timeout: those would only fail again,
// later) and after 429, 502, 503 and 504, honouring Retry-After up to 60 s.
type retryLayer struct {
	next  http.RoundTripper
	sleep func(context.Context, time.Duration) error
	log   *slog.Logger
}

// noRetryKey marks a request that must not be retried even if idempotent (a multiget
// that is being split already).
type noRetryKey struct{}

func withoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodOptions, "PROPFIND", "REPORT", http.MethodGet, http.MethodHead:
		return true
	}
	return false
}

func (l *retryLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retries := 0
	if idempotent(req.Method) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) && ctx.Value(noRetryKey{}) == nil {
		retries = maxRetries
	}
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := l.next.RoundTrip(r)
		if attempt >= retries || ctx.Err() != nil || !retryable(resp, err) {
			return resp, err
		}
		var h http.Header
		if resp != nil {
			h = resp.Header
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		wait := retryWait(attempt, h)
		l.log.Debug("retrying request", "method", req.Method, "url", redact(req.URL), "wait", wait)
		if err := l.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryable: a connection that broke, 429, 502, 503, 504.
func retryable(resp *http.Response, err error) bool {
	if err != nil {
		var re *RequestError
		return errors.As(err, &re) && re.broken()
	}
	return retryableStatus(resp.StatusCode)
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

// --- limitLayer ----------------------------------------------------------------------

// maxInFlight is the number of requests of one storage in flight at once.
const maxInFlight = 4

// limitLayer holds one of maxInFlight slots from sending a request until its answer's
// body is closed (or the request failed).
type limitLayer struct {
	next http.RoundTripper
	sem  chan struct{}
}

func (l *limitLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case l.sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	var once sync.Once
	release := func() { once.Do(func() { <-l.sem }) }
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseBody gives the slot back when the body is closed or read to its end.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// --- deadlineLayer -------------------------------------------------------------------

// deadlineLayer runs one attempt under its own deadlines: the request deadline
// (Timeouts.Request plus one second per 64 KiB sent or received) and, once the headers
// arrived, the read timeout between two reads of the body. The transport below bounds
// connecting, the TLS handshake and the wait for the headers. Failures without an
// answer become *RequestError, which records whether the request may have reached the
// server; an answer larger than its cap fails with *AnswerTooLargeError.
type deadlineLayer struct {
	next     http.RoundTripper
	to       Timeouts
	requests *atomic.Int64
	log      *slog.Logger
}

// errRequestDeadline and errReadTimeout are the causes given to the attempt's
// context when a deadline passes.
var (
	errRequestDeadline = errors.New("request deadline passed")
	errReadTimeout     = errors.New("read timeout")
)

func (l *deadlineLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	l.requests.Add(1)
	parent := req.Context()
	ctx, cancel := context.WithCancelCause(parent)
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { sent.Store(true) },
	})
	deadline := time.Now().Add(l.to.Request + perBytes(max(req.ContentLength, 0)))
	timer := time.AfterFunc(time.Until(deadline), func() { cancel(errRequestDeadline) })
	start := time.Now()
	resp, err := l.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		cause := context.Cause(ctx)
		cancel(nil)
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		re := netError(req.Method, req.URL, err, cause, l.to)
		re.Sent = sent.Load()
		l.log.Debug("http", "method", req.Method, "url", redact(req.URL), "err", re)
		return nil, re
	}
	timer.Stop()
	l.log.Debug("http", "method", req.Method, "url", redact(req.URL), "status", resp.StatusCode,
		"duration", time.Since(start))
	b := &boundedBody{
		rc: resp.Body, ctx: ctx, parent: parent, cancel: cancel,
		max: maxBodyOf(parent), deadline: deadline, read: l.to.Read,
		method: req.Method, url: req.URL, to: l.to,
	}
	b.timer = time.AfterFunc(time.Hour, b.fire)
	b.mu.Lock()
	b.arm(time.Now())
	b.mu.Unlock()
	resp.Body = b
	return resp, nil
}

// perBytes is the extra time granted for n bytes.
func perBytes(n int64) time.Duration {
	return time.Duration(n) * time.Second / bytesPerSecond
}

// boundedBody is an answer body under the attempt's deadlines and size cap. Read is
// not safe for concurrent use (as for any body); Close may be called at any time.
type boundedBody struct {
	rc     io.ReadCloser
	ctx    context.Context // the attempt's
	parent context.Context // the caller's
	cancel context.CancelCauseFunc
	max, n int64
	read   time.Duration
	method string
	url    *url.URL
	to     Timeouts
	err    error // sticky

	mu       sync.Mutex // guards the fields below
	timer    *time.Timer
	deadline time.Time
	cause    error // what the timer means when it fires
	closed   bool
}

// arm sets the timer to the next limit: the read timeout from now, or the request
// deadline if that comes first (b.mu held).
func (b *boundedBody) arm(now time.Time) {
	if b.closed {
		return
	}
	next, cause := now.Add(b.read), errReadTimeout
	if b.deadline.Before(next) {
		next, cause = b.deadline, errRequestDeadline
	}
	b.cause = cause
	b.timer.Reset(next.Sub(now))
}

func (b *boundedBody) fire() {
	b.mu.Lock()
	cause := b.cause
	b.mu.Unlock()
	b.cancel(cause)
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.max-b.n+1 {
		p = p[:b.max-b.n+1]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if n > 0 {
		b.mu.Lock()
		b.deadline = b.deadline.Add(perBytes(int64(n)))
		b.arm(time.Now())
		b.mu.Unlock()
	}
	if b.n > b.max {
		b.err = &AnswerTooLargeError{Method: b.method, URL: redact(b.url), Limit: b.max}
		return n - int(b.n-b.max), b.err
	}
	if err != nil && err != io.EOF {
		if b.parent.Err() != nil {
			err = b.parent.Err()
		} else {
			re := netError(b.method, b.url, err, context.Cause(b.ctx), b.to)
			re.Sent, re.Answered = true, true
			err = re
		}
		b.err = err
	}
	return n, err
}

func (b *boundedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.timer.Stop()
	b.mu.Unlock()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

// --- the client's helpers ------------------------------------------------------------

// redact returns u as a string without user info.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	return v.String()
}
