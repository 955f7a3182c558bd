package dav_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

// sleeps records the waits of the retry logic without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// fake starts a fake server and a storage of kind on it. mod may adjust the options.
func fake(t *testing.T, kind storage.Kind, so davtest.Options, mod func(*dav.Options)) (*dav.Storage, *davtest.Server) {
	t.Helper()
	srv := davtest.NewServer(t, so)
	o := dav.Options{Name: "fake", URL: srv.URL + "/", Username: "alice", Password: "pw",
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	if mod != nil {
		mod(&o)
	}
	return newDAV(t, kind, o), srv
}

// home returns the fake server's home set for kind.
func home(kind storage.Kind) string {
	if kind == storage.Contacts {
		return davtest.AddressBookHome
	}
	return davtest.CalendarHome
}

// seed creates collection id with n items on the fake server and returns its href
// and the item hrefs.
func seed(srv *davtest.Server, kind storage.Kind, id string, n int) (string, []string) {
	coll := home(kind) + id + "/"
	srv.AddCollection(coll, kind, nil)
	var hrefs []string
	for i := range n {
		h := fmt.Sprintf("%sitem-%03d.%s", coll, i, kind.Ext())
		srv.PutItem(h, []byte(text(kind, fmt.Sprintf("uid-%03d", i), "Item")))
		hrefs = append(hrefs, h)
	}
	return coll, hrefs
}

func text(kind storage.Kind, uid, summary string) string {
	return storagetest.ItemText(kind, uid, summary)
}

func item(kind storage.Kind, uid, summary string) storage.Item {
	return storage.MustItem(text(kind, uid, summary))
}

// discover runs Discover and fails the test on error.
func discover(t *testing.T, s *dav.Storage) map[string]storage.Collection {
	t.Helper()
	colls, err := s.Discover(t.Context())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	m := map[string]storage.Collection{}
	for _, c := range colls {
		m[c.Href] = c
	}
	return m
}

func wantErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: error %v, want %v", what, err, kind)
	}
}

func wantContains(t *testing.T, what, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("%s: message %q does not contain %q", what, msg, p)
		}
	}
}

// countMethod counts logged requests of method whose path starts with prefix.
func countMethod(srv *davtest.Server, method, prefix string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// newStorageLike returns a fresh storage (a new process, in effect: nothing discovered
// or cached) for the fake server, as fake makes them.
func newStorageLike(t *testing.T, srv *davtest.Server) (*dav.Storage, error) {
	t.Helper()
	o := dav.Options{Name: "fake", URL: srv.URL + "/", Username: "alice", Password: "pw",
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	return newDAV(t, storage.Calendars, o), nil
}

// wantNoStorageName checks that a storage error does not name its storage: the engine
// and the commands that report it do, once.
func wantNoStorageName(t *testing.T, err error, name string) {
	t.Helper()
	if strings.Contains(err.Error(), "storage "+name) {
		t.Fatalf("error %q names its storage; the caller does that", err)
	}
}
