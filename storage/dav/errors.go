package dav

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// StatusError is an HTTP answer other than 2xx or 207. Callers branch on Code with
// errors.As; errors.Is maps it onto the storage error kinds (401/403 →
// storage.ErrAccessDenied, 404/410 → storage.ErrNotFound, 412 →
// storage.ErrPrecondition) and storage.IsTemporary is true for 408, 429 and 5xx.
type StatusError struct {
	Storage  string // storage name
	Method   string
	URL      string // request URL without credentials
	Path     string // request path (the URL's escaped path)
	Code     int
	Location string // Location header of a 3xx answer
	// Body holds up to 512 bytes of the answer, for debug logs; never in Error().
	Body string
	// Precondition names the DAV precondition element of the error body, if any
	// (for example "no-uid-conflict", "valid-sync-token").
	Precondition string
	// PreconditionHref is the href inside the precondition element, if any.
	PreconditionHref string
	// digestOnly: WWW-Authenticate offered only Digest.
	digestOnly bool
}

func (e *StatusError) Error() string {
	switch {
	case e.Code == http.StatusUnauthorized:
		msg := fmt.Sprintf("storage %s: authentication failed at %s (HTTP 401); check username and password", e.Storage, e.URL)
		if e.digestOnly {
			msg += "; the server offers only Digest authentication, which is not supported (use Basic)"
		}
		return msg
	case e.Code >= 300 && e.Code < 400:
		loc := e.Location
		if loc == "" {
			loc = "(no Location header)"
		}
		return fmt.Sprintf("storage %s: %s %s was redirected (HTTP %d) to %s; set url to the new location", e.Storage, e.Method, e.URL, e.Code, loc)
	}
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Precondition != "" {
		msg += " (" + e.Precondition + ")"
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

// requestError is a request that got no HTTP answer: connection refused, TLS failure,
// timeout, dropped connection.
type requestError struct {
	storage, method, url string
	err                  error
	hint                 string
	tls                  bool
	timeout              bool
	redirect             bool // refused by the redirect policy (NewHTTPClient)
}

func (e *requestError) Error() string {
	msg := fmt.Sprintf("storage %s: %s %s: %v", e.storage, e.method, e.url, e.err)
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

func (e *requestError) Unwrap() error { return e.err }

// Temporary: network trouble is worth retrying later; a certificate problem or a
// refused redirect is not.
func (e *requestError) Temporary() bool { return !e.tls && !e.redirect }

// isTimeout reports whether err is a request that timed out.
func isTimeout(err error) bool {
	var re *requestError
	return errors.As(err, &re) && re.timeout
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
