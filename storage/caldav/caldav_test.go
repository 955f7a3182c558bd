package caldav_test

import (
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/caldav"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// The contract suite for CalDAV runs in package dav (fake server with every etag
// style, Radicale and Xandikos); this checks the constructor.
func TestNew(t *testing.T) {
	srv := davtest.NewServer(t, davtest.Options{})
	srv.AddCollection(davtest.CalendarHome+"work/", storage.Calendars, nil)
	srv.AddCollection(davtest.AddressBookHome+"contacts/", storage.Contacts, nil)
	s, err := caldav.New(dav.Options{Name: "c", Kind: storage.Contacts, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != storage.Calendars {
		t.Fatalf("Kind = %v", s.Kind())
	}
	colls, err := s.Discover(t.Context())
	if err != nil || len(colls) != 1 || colls[0].Href != davtest.CalendarHome+"work/" {
		t.Fatalf("Discover = %v, %v", colls, err)
	}
}
