package dav

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// Errors of this package never name their storage: the engine and the commands that
// report them do, once.

// StatusError is an HTTP answer other than 2xx or 207. Callers branch on Code with
// errors.As; errors.Is maps it onto the storage error kinds (401/403 →
// storage.ErrAccessDenied, 404/410 → storage.ErrNotFound, 412 →
// storage.ErrPrecondition; 502 and 504 to a write → storage.ErrOutcomeUnknown, because
// a gateway may have passed the request on) and storage.IsTemporary is true for 408,
// 429 and 5xx. Error() is one line: method, URL, status and the server's reason.
type StatusError struct {
	Storage  string // storage name (not part of Error())
	Method   string
	URL      string // request URL without credentials
	Path     string // request path (the URL's escaped path)
	Code     int
	Location string // Location header of a 3xx answer
	// Reason is what the server said about the failure, one line: the DAV
	// precondition element (with the server's message, if any), else the title of an
	// HTML answer or the first line of a text answer, at most 200 bytes. Empty when the
	// answer had nothing useful.
	Reason string
	// Precondition names the DAV precondition element of the error body, if any
	// (for example "no-uid-conflict", "valid-sync-token", "valid-calendar-data").
	Precondition string
	// PreconditionHref is the href inside the precondition element, if any.
	PreconditionHref string
	// Discovery: the answer came during bootstrap or collection discovery, so a 401
	// may mean a wrong url as much as wrong credentials.
	Discovery bool
	// digestOnly: WWW-Authenticate offered only Digest.
	digestOnly bool
}

func (e *StatusError) Error() string {
	switch {
	case e.Code == http.StatusUnauthorized:
		msg := fmt.Sprintf("%s %s: HTTP 401 Unauthorized", e.Method, e.URL)
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		if e.Discovery {
			msg += "; check username and password, and that url is the address of your own account (its path is part of it)"
		} else {
			msg += "; check username and password"
		}
		if e.digestOnly {
			msg += "; the server offers only Digest authentication, which is not supported (use Basic)"
		}
		return msg
	case e.Code >= 300 && e.Code < 400:
		loc := e.Location
		if loc == "" {
			loc = "(no Location header)"
		}
		return fmt.Sprintf("%s %s: HTTP %d redirect to %s; set url to the new location", e.Method, e.URL, e.Code, loc)
	}
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Is maps the status code onto the storage error kinds.
func (e *StatusError) Is(target error) bool {
	switch target {
	case storage.ErrAccessDenied:
		return e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden
	case storage.ErrNotFound:
		return e.Code == http.StatusNotFound || e.Code == http.StatusGone
	case storage.ErrPrecondition:
		return e.Code == http.StatusPreconditionFailed
	case storage.ErrOutcomeUnknown:
		return !idempotent(e.Method) && (e.Code == http.StatusBadGateway || e.Code == http.StatusGatewayTimeout)
	}
	return false
}

// Temporary reports whether the request is worth retrying later.
func (e *StatusError) Temporary() bool {
	return e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// statusCode returns the HTTP status of err if it is a *StatusError, else 0.
func statusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// RequestError is a request that got no (complete) HTTP answer: connection refused,
// name lookup or TLS failure, a deadline, a dropped connection. Sent records whether
// the request may have reached the server; for a write (PUT, DELETE, PROPPATCH, MKCOL,
// MKCALENDAR) that was sent, errors.Is(err, storage.ErrOutcomeUnknown) is true, since
// it may or may not have taken effect. A failure before anything was sent (a refused
// connection, DNS, TLS) is definite.
type RequestError struct {
	Method string
	URL    string // without credentials
	Err    error  // the cause
	Hint   string // what to do about it, if known
	// Sent: the request headers were written, so the server may have seen it.
	Sent bool
	// Answered: the answer's headers arrived; the failure came while reading its body.
	Answered bool
	// Timeout: a deadline passed (connect, TLS handshake, headers, read, request).
	Timeout bool
	// Dial: connecting failed (refused, unreachable, name lookup, connect timeout).
	Dial bool
	// TLS: the TLS handshake or certificate check failed.
	TLS bool
	// redirect: refused by the redirect policy (webcal).
	redirect bool
}

func (e *RequestError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *RequestError) Unwrap() error { return e.Err }

// Is makes a write that was sent without an answer match storage.ErrOutcomeUnknown.
func (e *RequestError) Is(target error) bool {
	return target == storage.ErrOutcomeUnknown && e.Sent && !idempotent(e.Method)
}

// Temporary: network trouble and deadlines are worth retrying later; a certificate
// problem or a refused redirect is not.
func (e *RequestError) Temporary() bool { return !e.TLS && !e.redirect }

// broken: a connection that broke while the request was under way, the only failure
// the retry layer tries again at once.
func (e *RequestError) broken() bool {
	return !e.Dial && !e.TLS && !e.Timeout && !e.redirect && !e.Answered
}

// isTimeout reports whether err is a request that timed out.
func isTimeout(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Timeout
}

// AnswerTooLargeError is an answer larger than the cap of its request.
type AnswerTooLargeError struct {
	Method, URL string
	Limit       int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("%s %s: the answer is larger than %d bytes; refusing to read more", e.Method, e.URL, e.Limit)
}

// netError describes a request to u that got no answer. cause is the attempt's
// context cause (a deadline of ours) or nil.
func netError(method string, u *url.URL, err error, cause error, to Timeouts) *RequestError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	re := &RequestError{Method: method, URL: redact(u), Err: err}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var ne net.Error
	switch {
	case errors.Is(cause, errRequestDeadline):
		re.Timeout = true
		re.Err = fmt.Errorf("no complete answer within the request deadline (request_timeout %s, plus 1 s per 64 KiB)", to.Request)
	case errors.Is(cause, errReadTimeout):
		re.Timeout = true
		re.Err = fmt.Errorf("the server sent nothing for %s while answering (read_timeout)", to.Read)
	case errors.As(err, &dnsErr):
		re.Dial = true
		re.Err = fmt.Errorf("cannot look up host %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		re.Dial = true
		addr := ""
		if opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			re.Err = fmt.Errorf("cannot connect to %s: connection refused", addr)
		case opErr.Timeout():
			re.Timeout = true
			re.Err = fmt.Errorf("cannot connect to %s within %s (connect_timeout)", addr, to.Connect)
		default:
			re.Err = fmt.Errorf("cannot connect to %s: %v", addr, unwrapSyscall(opErr.Err))
		}
	case strings.Contains(err.Error(), "TLS handshake timeout"):
		re.Timeout, re.TLS = true, false
		re.Err = fmt.Errorf("no TLS handshake within %s (connect_timeout)", to.Connect)
	case strings.Contains(err.Error(), "timeout awaiting response headers"):
		re.Timeout = true
		re.Err = fmt.Errorf("no answer within %s (read_timeout)", to.Read)
	case errors.As(err, &ne) && ne.Timeout():
		re.Timeout = true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		re.Err = errors.New("the server closed the connection before its answer was complete")
	case errors.Is(err, syscall.ECONNRESET):
		re.Err = errors.New("the server reset the connection before its answer was complete")
	}
	if hint, ok := tlsHint(err); ok {
		re.TLS, re.Hint = true, hint
	} else if isTLSFailure(err) {
		re.TLS = true
	}
	return re
}

// unwrapSyscall shortens "connect: network is unreachable" to its errno text.
func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// isTLSFailure reports TLS protocol failures that tlsHint does not explain.
func isTLSFailure(err error) bool {
	var ae tls.AlertError
	var re tls.RecordHeaderError
	return errors.As(err, &ae) || errors.As(err, &re)
}

// opError wraps err as a *storage.Error for operation op on href, keeping the kind
// that err already maps to.
func opError(op, href string, err error) error {
	if err == nil {
		return nil
	}
	e := &storage.Error{Op: op, Href: href, Err: err, Temporary: storage.IsTemporary(err)}
	for _, k := range []error{storage.ErrNotFound, storage.ErrPrecondition, storage.ErrAccessDenied,
		storage.ErrInvalidData, storage.ErrUnsupported, storage.ErrCollectionNotEmpty} {
		if errors.Is(err, k) {
			e.Kind = k
			break
		}
	}
	return e
}

// digestOnly reports whether every WWW-Authenticate challenge is Digest.
func digestOnly(h http.Header) bool {
	vals := h.Values("WWW-Authenticate")
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "digest") {
			return false
		}
	}
	return true
}

// errBodyLimit is how much of an error answer is read for its reason.
const errBodyLimit = 8 << 10

// newStatusError reads (at most errBodyLimit bytes of) a non-success answer and closes
// it.
func newStatusError(name string, req *http.Request, resp *http.Response) *StatusError {
	se := &StatusError{
		Storage: name,
		Method:  req.Method,
		URL:     redact(req.URL),
		Path:    req.URL.EscapedPath(),
		Code:    resp.StatusCode,
	}
	if se.Code >= 300 && se.Code < 400 {
		se.Location = resp.Header.Get("Location")
		if loc, err := req.URL.Parse(se.Location); err == nil && se.Location != "" {
			se.Location = redact(loc)
		}
	}
	if se.Code == http.StatusUnauthorized {
		se.digestOnly = digestOnly(resp.Header)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	resp.Body.Close()
	se.Reason, se.Precondition, se.PreconditionHref = reasonOf(resp.Header.Get("Content-Type"), body, se.Code)
	return se
}

// nsSabre is SabreDAV's namespace (Nextcloud), whose DAV:error holds the exception
// class and a message.
const nsSabre = "http://sabredav.org/ns"

// reasonOf extracts the server's reason from an error body.
func reasonOf(contentType string, body []byte, code int) (reason, precondition, href string) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return "", "", ""
	case strings.HasSuffix(mt, "xml") || bytes.HasPrefix(trimmed, []byte("<?xml")) || bytes.HasPrefix(trimmed, []byte("<d:error")):
		precondition, href, msg := parsePrecondition(body)
		reason = precondition
		if msg != "" {
			if reason != "" {
				reason += ": "
			}
			reason += msg
		}
		return oneLine(reason), precondition, href
	case mt == "text/html" || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<html")):
		lower := bytes.ToLower(body)
		if i := bytes.Index(lower, []byte("<title>")); i >= 0 {
			rest := body[i+len("<title>"):]
			if j := bytes.Index(bytes.ToLower(rest), []byte("</title>")); j >= 0 {
				reason = oneLine(string(rest[:j]))
			}
		}
	default:
		for _, line := range strings.Split(string(trimmed), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				reason = oneLine(line)
				break
			}
		}
	}
	// A reason that only repeats the status adds nothing.
	r := strings.ToLower(strings.TrimSpace(reason))
	st := strings.ToLower(http.StatusText(code))
	if r == st || r == fmt.Sprintf("%d %s", code, st) || r == fmt.Sprint(code) {
		reason = ""
	}
	return reason, "", ""
}

// oneLine collapses white space, drops control characters and invalid UTF-8, and cuts
// s to 200 bytes.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() >= 200 {
			return strings.TrimSpace(b.String()) + "…"
		}
	}
	return b.String()
}

// isCtxErr reports whether err is a cancelled or expired context.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ctxErr returns the caller's context error if it ended, else err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
