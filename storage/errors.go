package storage

import (
	"errors"
	"fmt"
)

// Error kinds. Backends wrap one of these (with %w or an *Error) so that callers can
// branch with errors.Is without looking at message text.
var (
	// ErrNotFound: the item or collection does not exist (anymore).
	ErrNotFound = errors.New("not found")
	// ErrPrecondition: a conditional write failed: the etag given to Update or Delete
	// no longer matches, or Create found its target already taken.
	ErrPrecondition = errors.New("precondition failed")
	// ErrReadOnly: the storage is read-only and refused a write.
	ErrReadOnly = errors.New("storage is read-only")
	// ErrUnsupported: the storage cannot do this at all (for example a webcal feed
	// asked to create a collection).
	ErrUnsupported = errors.New("not supported by this storage")
	// ErrAccessDenied: authentication or permission failure.
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalidData: an item or href that cannot be used as it is (not UTF-8, not a
	// syntactically valid component, an href that escapes the storage).
	ErrInvalidData = errors.New("invalid data")
	// ErrCollectionNotEmpty: DeleteCollection found items (or other files) left.
	ErrCollectionNotEmpty = errors.New("collection is not empty")
	// ErrRejected: the storage refused a write for what the item is (a server's 400,
	// 403, 409, 415 or 422 answer to an upload): the same item sent again is refused
	// again.
	ErrRejected = errors.New("the item was refused")
	// ErrOutcomeUnknown: a write was sent but no answer arrived (the connection broke
	// after the request went out, a timeout, a gateway timeout), so it may or may not
	// have taken effect. Every other write error means the write did not happen.
	ErrOutcomeUnknown = errors.New("no answer arrived; the write may or may not have taken effect")
)

// Error carries the kind of a failure together with what was being done. Kind is one of
// the Err* values above (or nil); Err is the underlying cause.
type Error struct {
	Kind      error
	Op        string // "create", "update", "list", ...
	Href      string // the item or collection the operation was about
	Err       error  // underlying cause; may be nil
	Temporary bool   // worth retrying later (network trouble, 5xx, timeouts)
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Href != "" {
		msg += " " + e.Href
	}
	switch {
	case e.Err != nil && e.Kind != nil && !errors.Is(e.Err, e.Kind):
		return fmt.Sprintf("%s: %v: %v", msg, e.Kind, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", msg, e.Err)
	case e.Kind != nil:
		return fmt.Sprintf("%s: %v", msg, e.Kind)
	}
	return msg
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// IsTemporary reports whether err is marked as worth retrying: an *Error with
// Temporary set, or any error with a Temporary() bool method returning true.
func IsTemporary(err error) bool {
	var se *Error
	if errors.As(err, &se) && se.Temporary {
		return true
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return false
}

// Errorf builds an *Error of the given kind for op on href with a formatted cause.
func Errorf(kind error, op, href, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Href: href, Err: fmt.Errorf(format, args...)}
}
