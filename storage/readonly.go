package storage

import "context"

// ReadOnly wraps a storage so that every write fails with ErrReadOnly and the engine
// plans writes to it as read-only skips. Reads pass through unchanged.
func ReadOnly(s Storage) Storage { return readOnly{s} }

type readOnly struct{ Storage }

func (readOnly) ReadOnly() bool { return true }

func (r readOnly) CreateCollection(context.Context, string) error {
	return &Error{Kind: ErrReadOnly, Op: "create collection"}
}
func (r readOnly) DeleteCollection(_ context.Context, href string) error {
	return &Error{Kind: ErrReadOnly, Op: "delete collection", Href: href}
}
func (r readOnly) Create(_ context.Context, coll string, _ Item) (string, string, error) {
	return "", "", &Error{Kind: ErrReadOnly, Op: "create item in", Href: coll}
}
func (r readOnly) Update(_ context.Context, href, _ string, _ Item) (string, error) {
	return "", &Error{Kind: ErrReadOnly, Op: "update", Href: href}
}
func (r readOnly) Delete(_ context.Context, href, _ string) error {
	return &Error{Kind: ErrReadOnly, Op: "delete", Href: href}
}
func (r readOnly) SetProperty(_ context.Context, coll, name, _ string) error {
	return &Error{Kind: ErrReadOnly, Op: "set " + name + " on", Href: coll}
}
func (r readOnly) DeleteProperty(_ context.Context, coll, name string) error {
	return &Error{Kind: ErrReadOnly, Op: "delete " + name + " on", Href: coll}
}

// Unwrap returns the wrapped storage (so optional abilities such as Incremental can be
// found on it).
func (r readOnly) Unwrap() Storage { return r.Storage }

// ListSince forwards to the wrapped storage when it is Incremental.
func (r readOnly) ListSince(ctx context.Context, coll string, saved Token) (Listing, error) {
	if inc, ok := r.Storage.(Incremental); ok {
		return inc.ListSince(ctx, coll, saved)
	}
	refs, err := r.Storage.List(ctx, coll)
	return Listing{Refs: refs}, err
}

// ListEach forwards to the wrapped storage when it is a Streamer, and otherwise walks
// its List.
func (r readOnly) ListEach(ctx context.Context, coll string, fn func(href, etag []byte) error) error {
	if st, ok := r.Storage.(Streamer); ok {
		return st.ListEach(ctx, coll, fn)
	}
	refs, err := r.Storage.List(ctx, coll)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := fn([]byte(ref.Href), []byte(ref.ETag)); err != nil {
			return err
		}
	}
	return nil
}

// HasProperties forwards to the wrapped storage.
func (r readOnly) HasProperties() bool { return HasProperties(r.Storage) }

// Watch forwards to the wrapped storage when it is a Watcher; otherwise it fails at
// once with ErrUnsupported so that callers poll instead.
func (r readOnly) Watch(ctx context.Context, notify func()) error {
	if w, ok := r.Storage.(Watcher); ok {
		return w.Watch(ctx, notify)
	}
	return &Error{Kind: ErrUnsupported, Op: "watch"}
}
