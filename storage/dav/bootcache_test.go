package dav_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// TestBootstrapCache: a second process (a new Storage) with the cache file discovers
// with one request; a stale cache is dropped and bootstrap runs again; Check always
// verifies the server.
func TestBootstrapCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "remote.bootstrap")
	st, srv := fake(t, storage.Calendars, davtest.Options{}, func(o *dav.Options) { o.BootstrapCache = cache })
	seed(srv, storage.Calendars, "work", 2)
	ctx := context.Background()
	if _, err := st.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	again := func() *dav.Storage {
		o := dav.Options{Name: "fake", Kind: storage.Calendars, URL: srv.URL + "/", Username: "alice", Password: "pw", BootstrapCache: cache}
		s, err := dav.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	srv.ResetLog()
	cols, err := again().Discover(ctx)
	if err != nil || len(cols) != 1 {
		t.Fatalf("cached discover: %v %v", cols, err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("cached discover made %d requests, want 1", n)
	}
	// A cache whose home set no longer exists: bootstrap again and succeed.
	stale := `{"key":"calendars ` + srv.URL + `/  alice","context":"` + srv.URL + `/","principal":"` + srv.URL + `/gone/","home_sets":["` + srv.URL + `/gone/home/"]}`
	if err := os.WriteFile(cache, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if cols, err := again().Discover(ctx); err != nil || len(cols) != 1 {
		t.Fatalf("stale cache: %v %v", cols, err)
	}
	// A cache for another URL or user is ignored.
	o := dav.Options{Name: "fake", Kind: storage.Calendars, URL: srv.URL + "/", Username: "bob", Password: "pw", BootstrapCache: cache}
	s, _ := dav.New(o)
	srv.ResetLog()
	s.Discover(ctx)
	if srv.Count("PROPFIND") < 2 {
		t.Fatal("a cache for another user was used")
	}
	// Check verifies the server even with a cache.
	srv.ResetLog()
	if err := again().Check(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Count("PROPFIND") < 2 {
		t.Fatalf("Check used the cache: %d PROPFINDs", srv.Count("PROPFIND"))
	}
}
