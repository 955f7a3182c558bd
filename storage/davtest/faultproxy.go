package davtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is a reverse proxy for tests that sits between a client and any DAV
// server (a RealServer or the fake Server) and injects faults into chosen requests:
// the upstream handles a request but its answer is lost, cut off, held back or late,
// or the proxy answers with a status of its own without forwarding. Requests pass
// through with their Host, Authorization and every other end-to-end header
// unchanged, so the upstream sees what the client sent (DAViCal builds its URLs from
// Host; Radicale needs the username).
//
// Tests wait on events, not on time: each rule counts the requests it matches, and
// WaitFor returns once the upstream has answered the nth of them.
//
//	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
//	p := davtest.NewFaultProxy(t, srv.URL)
//	put := p.Add(davtest.Rule{Method: "PUT", Nth: 1, Action: davtest.Hold()})
//	// … run pimsync with url p.URL in the background …
//	put.WaitFor(t, 1) // the server has stored the item; its answer is held
//	// … kill -9 pimsync …
//	put.Release()
type FaultProxy struct {
	// URL is the proxy's base URL: the upstream URL with the proxy's address, so that
	// paths map one to one.
	URL string

	upstream  *url.URL
	transport *http.Transport
	server    *http.Server
	closed    chan struct{}

	mu    sync.Mutex
	rules []*ProxyRule
	log   []ProxyRequest
}

// Rule selects requests and says what to do with them. A request matches when its
// method and decoded path match; the rule counts its matching requests in the order
// they arrive, and its Action applies to the Nth of them, or to every one when Nth is
// 0. A rule with the zero Action only counts and reports (WaitFor) and lets requests
// through. When several rules match a request, every one counts it and the first
// (in the order they were added) whose action applies decides what happens.
type Rule struct {
	Method string         // "" matches every method
	Path   string         // decoded path prefix; "" matches every path
	PathRE *regexp.Regexp // if set, the decoded path must also match it
	Nth    int            // 1-based; 0: every matching request
	Action Action
}

// Action is what the proxy does with a request a rule applies to.
type Action struct {
	kind  actionKind
	delay time.Duration
	code  int
}

type actionKind int

const (
	actPass actionKind = iota
	actDrop
	actReset
	actHold
	actDelay
	actStatus
)

func (a Action) String() string {
	switch a.kind {
	case actDrop:
		return "drop answer"
	case actReset:
		return "reset mid-body"
	case actHold:
		return "hold"
	case actDelay:
		return "delay " + a.delay.String()
	case actStatus:
		return fmt.Sprintf("status %d", a.code)
	}
	return "pass"
}

// DropAnswer forwards the request, lets the upstream handle it completely, then
// closes the client's connection without sending any of the answer.
func DropAnswer() Action { return Action{kind: actDrop} }

// ResetMidBody forwards the request, then sends the status line, the headers and
// half of the upstream's body and resets the connection (TCP RST). An answer without
// a body is cut inside its header block instead, so the client never gets a
// complete answer.
func ResetMidBody() Action { return Action{kind: actReset} }

// Hold forwards the request and holds the upstream's answer until the rule's Release
// (or the end of the test, or the client going away).
func Hold() Action { return Action{kind: actHold} }

// Delay waits d before forwarding the request (a slow network or server); the answer
// then passes unchanged.
func Delay(d time.Duration) Action { return Action{kind: actDelay, delay: d} }

// Status answers with the given status (and its status text as body) without
// forwarding: the upstream never sees the request.
func Status(code int) Action { return Action{kind: actStatus, code: code} }

// ProxyRule is a rule added to a FaultProxy.
type ProxyRule struct {
	Rule
	p *FaultProxy

	matched  int
	answered int
	done     map[int]chan struct{} // match number → closed once answered
	release  chan struct{}         // closed and replaced by Release
}

// ProxyRequest is one entry of the proxy's request log.
type ProxyRequest struct {
	Method, Path string
	// Status is the upstream's status (the proxy's for Status), 0 when the upstream
	// could not be reached.
	Status int
	Action string // what the proxy did ("pass", "drop answer", …)
}

// NewFaultProxy starts a proxy in front of upstream (an http:// base URL) on a free
// 127.0.0.1 port. It stops, releasing every held answer, when the test ends.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		t.Fatalf("fault proxy: upstream %q is not an http:// URL", upstream)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{
		URL:       "http://" + l.Addr().String() + u.EscapedPath(),
		upstream:  u,
		transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
		closed:    make(chan struct{}),
	}
	p.server = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: time.Minute}
	go func() { _ = p.server.Serve(l) }()
	t.Cleanup(p.Close)
	return p
}

// Close stops the proxy and releases every held answer.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
		close(p.closed)
	}
	p.mu.Unlock()
	_ = p.server.Close()
	p.transport.CloseIdleConnections()
}

// Add adds a rule and returns it, to wait on and release.
func (p *FaultProxy) Add(r Rule) *ProxyRule {
	pr := &ProxyRule{Rule: r, p: p, done: map[int]chan struct{}{}, release: make(chan struct{})}
	p.mu.Lock()
	p.rules = append(p.rules, pr)
	p.mu.Unlock()
	return pr
}

// Remove removes a rule (requests it holds stay held until it is released).
func (p *FaultProxy) Remove(r *ProxyRule) {
	p.mu.Lock()
	p.rules = slices.DeleteFunc(p.rules, func(x *ProxyRule) bool { return x == r })
	p.mu.Unlock()
}

// Requests returns the request log.
func (p *FaultProxy) Requests() []ProxyRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// Matched returns how many requests the rule has matched so far.
func (r *ProxyRule) Matched() int {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.matched
}

// Answered returns how many of the rule's matching requests have been answered by
// the upstream (or, for Status, by the proxy).
func (r *ProxyRule) Answered() int {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.answered
}

// Done returns a channel that is closed once the upstream has answered the nth
// (1-based) request the rule matched (for Status: once the proxy has answered it).
// "Answered" includes an upstream that could not be reached.
func (r *ProxyRule) Done(n int) <-chan struct{} {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.doneLocked(n)
}

func (r *ProxyRule) doneLocked(n int) chan struct{} {
	ch := r.done[n]
	if ch == nil {
		ch = make(chan struct{})
		r.done[n] = ch
	}
	return ch
}

// WaitFor blocks until Done(n) is closed. It fails the test if that takes more than
// two minutes (a safety net, not a timing assumption).
func (r *ProxyRule) WaitFor(t testing.TB, n int) {
	t.Helper()
	select {
	case <-r.Done(n):
	case <-time.After(2 * time.Minute):
		t.Fatalf("fault proxy: request %d matching %s %s was not answered within 2 minutes (matched %d so far)",
			n, r.Method, r.Path, r.Matched())
	}
}

// Release sends every answer the rule holds now. Later requests it applies to are
// held again.
func (r *ProxyRule) Release() {
	r.p.mu.Lock()
	close(r.release)
	r.release = make(chan struct{})
	r.p.mu.Unlock()
}

func (r *ProxyRule) matches(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	if !strings.HasPrefix(req.URL.Path, r.Path) {
		return false
	}
	return r.PathRE == nil || r.PathRE.MatchString(req.URL.Path)
}

// hit is one rule's view of one request.
type hit struct {
	rule *ProxyRule
	n    int // the request's match number for this rule
}

// classify counts the request for every matching rule and picks the action.
func (p *FaultProxy) classify(req *http.Request) ([]hit, Action, *ProxyRule, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hits []hit
	var act Action
	var by *ProxyRule
	for _, r := range p.rules {
		if !r.matches(req) {
			continue
		}
		r.matched++
		hits = append(hits, hit{r, r.matched})
		if by == nil && r.Action.kind != actPass && (r.Nth == 0 || r.Nth == r.matched) {
			act, by = r.Action, r
		}
	}
	var release chan struct{}
	if by != nil {
		release = by.release
	}
	return hits, act, by, release
}

// answered records that the upstream (or the proxy) answered the request.
func (p *FaultProxy) answered(hits []hit, entry ProxyRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, entry)
	for _, h := range hits {
		h.rule.answered++
		close(h.rule.doneLocked(h.n))
	}
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1), nor is Expect: the proxy has read
// the whole body already.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

func (p *FaultProxy) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the client went away
	}
	hits, act, _, release := p.classify(req)
	entry := ProxyRequest{Method: req.Method, Path: req.URL.Path, Action: act.String()}

	if act.kind == actStatus {
		http.Error(w, http.StatusText(act.code), act.code)
		entry.Status = act.code
		p.answered(hits, entry)
		return
	}
	if act.kind == actDelay {
		select {
		case <-time.After(act.delay):
		case <-req.Context().Done():
		case <-p.closed:
		}
	}

	// Forward. The upstream request outlives the client: a client that gives up (or is
	// killed) does not stop the server from handling what it was sent.
	target := *p.upstream
	target.Path, target.RawPath, target.RawQuery = req.URL.Path, req.URL.RawPath, req.URL.RawQuery
	out, err := http.NewRequestWithContext(context.WithoutCancel(req.Context()), req.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		p.answered(hits, entry)
		return
	}
	out.Header = req.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Host = req.Host // unchanged Host header
	out.ContentLength = int64(len(body))
	resp, err := p.transport.RoundTrip(out)
	var respBody []byte
	if err == nil {
		respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		p.answered(hits, entry)
		http.Error(w, "fault proxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	entry.Status = resp.StatusCode
	p.answered(hits, entry)

	switch act.kind {
	case actDrop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	case actReset:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		raw := rawResponse(resp, respBody)
		cut := len(raw) - len(respBody)/2 // half of the body
		if len(respBody) == 0 {
			cut = bytes.Index(raw, []byte("\r\n\r\n")) // inside the header block
		}
		_, _ = buf.Write(raw[:cut])
		_ = buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		conn.Close()
		return
	case actHold:
		select {
		case <-release:
		case <-req.Context().Done():
			return
		case <-p.closed:
		}
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Set("Content-Length", fmt.Sprint(len(respBody)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// rawResponse serialises an answer as HTTP/1.1 with its full body length.
func rawResponse(resp *http.Response, body []byte) []byte {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	_ = h.Write(bw)
	bw.WriteString("\r\n")
	bw.Write(body)
	bw.Flush()
	return b.Bytes()
}
