package dav_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

func TestListSinceUnchanged(t *testing.T) {
	for name, so := range map[string]davtest.Options{"ctag+sync-token": {}, "sync-token": {NoCTag: true}, "ctag": {NoSyncCollection: true}} {
		t.Run(name, func(t *testing.T) {
			s, srv := fake(t, storage.Calendars, so, nil)
			coll, _ := seed(srv, storage.Calendars, "c", 3)
			tok := discover(t, s)[coll].Token
			if tok.Kind != name || tok.IsZero() {
				t.Fatalf("discovered token %+v, want kind %s", tok, name)
			}
			before := srv.Count("")
			l, err := s.ListSince(t.Context(), coll, tok)
			if err != nil || !l.Unchanged || l.Token != tok || len(l.Refs) != 0 {
				t.Fatalf("ListSince = %+v, %v; want Unchanged", l, err)
			}
			if n := srv.Count("") - before; n != 0 {
				t.Fatalf("ListSince of an unchanged collection sent %d requests", n)
			}
			// A change: a full listing (ctag) or a delta (sync-token).
			srv.PutItem(coll+"new.ics", []byte(text(storage.Calendars, "new", "New")))
			discover(t, s)
			l, err = s.ListSince(t.Context(), coll, tok)
			if err != nil || l.Unchanged || l.Token == tok {
				t.Fatalf("ListSince after a change = %+v, %v", l, err)
			}
			if name == "ctag" && (l.Delta || len(l.Refs) != 4) {
				t.Fatalf("ctag: want a full listing of 4, got %+v", l)
			}
			if name != "ctag" && (!l.Delta || len(l.Refs) != 1) {
				t.Fatalf("%s: want a delta of 1, got %+v", name, l)
			}
		})
	}
}

func TestListSinceDelta(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, hrefs := seed(srv, storage.Calendars, "c", 4)
	saved := discover(t, s)[coll].Token
	srv.PutItem(hrefs[0], []byte(text(storage.Calendars, "uid-000", "changed")))
	srv.DeleteItem(hrefs[1])
	srv.PutItem(coll+"new.ics", []byte(text(storage.Calendars, "new", "New")))
	current := discover(t, s)[coll].Token
	srv.ResetLog()
	l, err := s.ListSince(t.Context(), coll, saved)
	if err != nil || !l.Delta {
		t.Fatalf("ListSince = %+v, %v; want a delta", l, err)
	}
	var changed []string
	for _, r := range l.Refs {
		changed = append(changed, r.Href)
		if _, etag, _ := srv.Item(r.Href); r.ETag != etag {
			t.Fatalf("delta etag of %s = %q, want %q", r.Href, r.ETag, etag)
		}
	}
	slices.Sort(changed)
	if want := []string{coll + "item-000.ics", coll + "new.ics"}; !slices.Equal(changed, want) {
		t.Fatalf("changed %v, want %v", changed, want)
	}
	if !slices.Equal(l.Removed, []string{hrefs[1]}) {
		t.Fatalf("removed %v, want %v", l.Removed, hrefs[1:2])
	}
	if l.Token != current {
		t.Fatalf("token %+v, want %+v", l.Token, current)
	}
	if got := methods(srv); len(got) != 1 || got[0] != "REPORT "+coll {
		t.Fatalf("requests %v, want one REPORT", got)
	}
	if r := srv.Requests()[0]; r.Header.Get("Depth") != "0" {
		t.Fatalf("sync-collection Depth %q, want 0", r.Header.Get("Depth"))
	}
}

func TestListSinceTruncated(t *testing.T) {
	s, srv := fake(t, storage.Contacts, davtest.Options{SyncPageSize: 2}, nil)
	coll, hrefs := seed(srv, storage.Contacts, "c", 2)
	saved := discover(t, s)[coll].Token
	for i := range 3 {
		srv.PutItem(coll+"n"+string(rune('a'+i))+".vcf", []byte(text(storage.Contacts, "n"+string(rune('a'+i)), "N")))
	}
	srv.DeleteItem(hrefs[0])
	srv.PutItem(coll+"na.vcf", []byte(text(storage.Contacts, "na", "again"))) // changed twice
	current := discover(t, s)[coll].Token
	srv.ResetLog()
	l, err := s.ListSince(t.Context(), coll, saved)
	if err != nil || !l.Delta {
		t.Fatalf("ListSince = %+v, %v", l, err)
	}
	if len(l.Refs) != 3 || !slices.Equal(l.Removed, hrefs[:1]) || l.Token != current {
		t.Fatalf("merged delta %+v, want 3 changed, %v removed, token %v", l, hrefs[:1], current)
	}
	if n := srv.Count("REPORT"); n != 2 {
		t.Fatalf("%d REPORTs, want 2 pages (4 changes, 2 per page)", n)
	}
}

// TestListSinceBothTokens: with a ctag and a sync-token saved, an unchanged collection
// costs one probe that asks for the ctag only; a change is fetched as a delta.
func TestListSinceBothTokens(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 3)
	saved := discover(t, s)[coll].Token
	if saved.Kind != "ctag+sync-token" {
		t.Fatalf("token %+v", saved)
	}
	fresh, _ := newStorageLike(t, srv)
	srv.ResetLog()
	l, err := fresh.ListSince(t.Context(), coll, saved)
	if err != nil || !l.Unchanged {
		t.Fatalf("ListSince = %+v, %v", l, err)
	}
	var reqs []davtest.Request // requests on the collection (the rest is bootstrap)
	for _, r := range srv.Requests() {
		if r.Path == coll {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 1 || reqs[0].Method != "PROPFIND" || reqs[0].Header.Get("Depth") != "0" {
		t.Fatalf("requests %v, want one Depth 0 PROPFIND of the collection", methods(srv))
	}
	if body := string(reqs[0].Body); !strings.Contains(body, "getctag") || strings.Contains(body, "sync-token") {
		t.Fatalf("the probe should ask for the ctag only:\n%s", body)
	}
	srv.PutItem(coll+"new.ics", []byte(text(storage.Calendars, "new", "New")))
	fresh, _ = newStorageLike(t, srv)
	l, err = fresh.ListSince(t.Context(), coll, saved)
	if err != nil || !l.Delta || len(l.Refs) != 1 || l.Token.Kind != "ctag+sync-token" || l.Token == saved {
		t.Fatalf("after a change: %+v, %v", l, err)
	}
}

func TestListSinceInvalidToken(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 3)
	saved := discover(t, s)[coll].Token
	srv.InvalidateSyncTokens()
	current := discover(t, s)[coll].Token
	l, err := s.ListSince(t.Context(), coll, saved)
	if err != nil || l.Delta || l.Unchanged || len(l.Refs) != 3 || l.Token != current {
		t.Fatalf("ListSince with a rejected token = %+v, %v; want a full listing", l, err)
	}
}

func TestListSinceExplicitHref(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{NoSyncCollection: true}, nil)
	coll := "/shared/team cal/"
	srv.AddCollection(coll, storage.Calendars, map[string]string{storage.PropDisplayName: " Team "})
	srv.PutItem("/shared/team%20cal/a.ics", []byte(text(storage.Calendars, "a", "A")))
	if _, ok := discover(t, s)[coll]; ok {
		t.Fatal("a collection outside the home set was discovered")
	}
	srv.ResetLog()
	l, err := s.ListSince(t.Context(), coll, storage.Token{})
	if err != nil || len(l.Refs) != 1 || l.Token.Kind != "ctag" {
		t.Fatalf("ListSince = %+v, %v", l, err)
	}
	props, err := s.Properties(t.Context(), coll)
	if err != nil || props[storage.PropDisplayName] != "Team" {
		t.Fatalf("Properties = %v, %v", props, err)
	}
	if got := methods(srv); len(got) != 2 || got[0] != "PROPFIND /shared/team%20cal/" {
		t.Fatalf("requests %v, want one Depth 0 PROPFIND and one listing", got)
	}
	if l, err := s.ListSince(t.Context(), "/shared/nothing/", storage.Token{}); !isNotFound(err) {
		t.Fatalf("ListSince of a missing collection = %+v, %v", l, err)
	}
}

func TestNoTokens(t *testing.T) {
	s, srv := fake(t, storage.Contacts, davtest.Options{NoSyncCollection: true, NoCTag: true}, nil)
	coll, _ := seed(srv, storage.Contacts, "c", 1)
	if tok := discover(t, s)[coll].Token; !tok.IsZero() {
		t.Fatalf("token %+v, want none", tok)
	}
	l, err := s.ListSince(t.Context(), coll, storage.Token{})
	if err != nil || len(l.Refs) != 1 || !l.Token.IsZero() {
		t.Fatalf("ListSince = %+v, %v", l, err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// TestListSinceSeesChangesInALongLivedStorage: the daemon keeps one Storage for many
// runs; a collection's token is read afresh by every ListSince, not taken from an
// earlier run's cache.
func TestListSinceSeesChangesInALongLivedStorage(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, nil)
	coll, _ := seed(srv, storage.Calendars, "c", 2)
	l, err := s.ListSince(t.Context(), coll, storage.Token{}) // a probe: no discovery
	if err != nil {
		t.Fatal(err)
	}
	saved := l.Token
	if l, err := s.ListSince(t.Context(), coll, saved); err != nil || !l.Unchanged {
		t.Fatalf("second run: %+v, %v", l, err)
	}
	srv.PutItem(coll+"new.ics", []byte(text(storage.Calendars, "new", "New")))
	l, err = s.ListSince(t.Context(), coll, saved)
	if err != nil || l.Unchanged || len(l.Refs) != 1 {
		t.Fatalf("third run after a change: %+v, %v", l, err)
	}
}
