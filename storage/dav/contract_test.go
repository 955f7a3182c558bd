package dav_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/caldav"
	"github.com/pimsync-go/pimsync/storage/carddav"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

var kinds = []storage.Kind{storage.Calendars, storage.Contacts}

// newDAV builds a CalDAV or CardDAV storage through the public constructors.
func newDAV(t testing.TB, kind storage.Kind, o dav.Options) *dav.Storage {
	t.Helper()
	if o.Name == "" {
		o.Name = "test"
	}
	newFn := caldav.New
	if kind == storage.Contacts {
		newFn = carddav.New
	}
	s, err := newFn(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// TestContractFake runs the storage contract suite against the fake server with each
// etag style.
func TestContractFake(t *testing.T) {
	styles := map[string]davtest.ETagStyle{"quoted": davtest.ETagQuoted, "weak": davtest.ETagWeak, "unquoted": davtest.ETagUnquoted}
	for _, kind := range kinds {
		for name, style := range styles {
			t.Run(kind.String()+"/"+name, func(t *testing.T) {
				var mu sync.Mutex
				servers := map[storage.Storage]*davtest.Server{}
				storagetest.Run(t, func(t *testing.T) storage.Storage {
					srv := davtest.NewServer(t, davtest.Options{ETagStyle: style, RequireUser: true, RequireXMLContentType: true})
					s := newDAV(t, kind, dav.Options{URL: srv.URL + "/", Username: "alice", Password: "pw"})
					mu.Lock()
					servers[s] = srv
					mu.Unlock()
					return s
				}, storagetest.Options{
					Kind: kind,
					Plant: func(t *testing.T, s storage.Storage, coll, name string, raw []byte) string {
						mu.Lock()
						srv := servers[s]
						mu.Unlock()
						href := coll + name + "." + kind.Ext()
						srv.PutItem(href, raw)
						return href
					},
				})
			})
		}
	}
}

// Sub-tests of the contract suite that real servers cannot pass, with the reason. The
// suite compares calendar items byte for byte, but Radicale and Xandikos re-serialise
// calendar objects (Radicale also vCards) and invent default display names; see
// storages.md §4. The DAV-specific tests in this package cover these areas with
// hash comparisons instead.
var (
	reserialised = "the server re-serialises items (storages.md §4); the suite compares bytes"
	defaultName  = "the server reports a default displayname for new collections"
	radicaleSkip = map[storage.Kind]map[string]string{
		storage.Calendars: {
			"Collections": defaultName, "DeleteCollectionNotEmpty": reserialised, "CreateListGet": reserialised, "RoundTrip": reserialised,
			"NoUID": "Radicale rejects items without UID (400)", "CreateNeverOverwrites": reserialised,
			"Update": reserialised, "GetMixed": reserialised, "ConcurrentWrites": reserialised,
			"CancelledContext": reserialised,
		},
		storage.Contacts: {
			"Collections": defaultName, "RoundTrip": reserialised,
			"NoUID": "Radicale rejects items without UID (400)",
		},
	}
	xandikosSkip = map[storage.Kind]map[string]string{
		storage.Calendars: {
			"Collections": defaultName, "DeleteCollectionNotEmpty": reserialised, "CreateListGet": reserialised,
			"RoundTrip": reserialised, "CreateNeverOverwrites": reserialised, "Update": reserialised,
			"GetMixed": reserialised, "ConcurrentWrites": reserialised, "CancelledContext": reserialised,
			"Properties": "Xandikos refuses calendar-description with 409",
		},
		storage.Contacts: {
			"Collections": defaultName, "Properties": "Xandikos answers 500 to removing displayname",
		},
	}
)

// skipKnown skips a contract sub-test that the server cannot pass.
func skipKnown(t *testing.T, known map[string]string) {
	t.Helper()
	name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	if why, ok := known[name]; ok {
		t.Skip("known server behaviour: " + why)
	}
}

// TestContractRadicale runs the contract suite against Radicale with htpasswd auth.
func TestContractRadicale(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{Auth: true})
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Storage {
				skipKnown(t, radicaleSkip[kind])
				cleanReal(t, srv, srv.CalendarHome)
				return newDAV(t, kind, dav.Options{URL: srv.URL, Username: srv.Username, Password: srv.Password})
			}, storagetest.Options{Kind: kind})
		})
	}
}

// TestContractXandikos runs the contract suite against Xandikos.
func TestContractXandikos(t *testing.T) {
	srv := davtest.StartXandikos(t)
	for _, kind := range kinds {
		home := srv.CalendarHome
		if kind == storage.Contacts {
			home = srv.AddressBookHome
		}
		t.Run(kind.String(), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Storage {
				skipKnown(t, xandikosSkip[kind])
				cleanReal(t, srv, home)
				return newDAV(t, kind, dav.Options{URL: srv.URL})
			}, storagetest.Options{Kind: kind})
		})
	}
}

// cleanReal removes the collections the contract suite creates, so that each sub-test
// starts from an empty home set on a shared server.
func cleanReal(t *testing.T, srv *davtest.RealServer, home string) {
	t.Helper()
	for _, id := range []string{"storagetest", "work"} {
		code, _, body := srv.Do(t, http.MethodDelete, home+id+"/", nil, nil)
		if code >= 300 && code != http.StatusNotFound {
			t.Fatalf("cleaning %s%s/: HTTP %d: %s", home, id, code, strings.TrimSpace(string(body)))
		}
	}
}
