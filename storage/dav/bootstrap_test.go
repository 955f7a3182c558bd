package dav_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// methods returns "METHOD path" for every logged request.
func methods(srv *davtest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func TestBootstrapOptionsAdvertises(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, func(o *dav.Options) { o.URL += "dav/" })
	seed(srv, storage.Calendars, "work", 0)
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"OPTIONS /dav/", "PROPFIND /dav/", "PROPFIND " + davtest.PrincipalPath}
	if got := methods(srv); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests %v, want %v", got, want)
	}
	colls := discover(t, s)
	if c, ok := colls[davtest.CalendarHome+"work/"]; !ok || c.ID != "work" || c.Token.Kind != "ctag+sync-token" {
		t.Fatalf("Discover = %v", colls)
	}
	if got := s.HomeSets(); len(got) != 1 || got[0] != srv.URL+davtest.CalendarHome {
		t.Fatalf("HomeSets = %v", got)
	}
}

func TestBootstrapWellKnownRedirect(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			s, srv := fake(t, kind, davtest.Options{HideCapabilities: true}, nil)
			if err := s.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
			name := map[storage.Kind]string{storage.Calendars: "caldav", storage.Contacts: "carddav"}[kind]
			got := methods(srv)
			want := []string{"OPTIONS /", "GET /.well-known/" + name, "GET /dav/", "PROPFIND /dav/", "PROPFIND " + davtest.PrincipalPath}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("requests %v, want %v", got, want)
			}
		})
	}
}

func TestBootstrapEmptyPrincipal(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{EmptyPrincipal: true},
		func(o *dav.Options) { o.URL = strings.TrimSuffix(o.URL, "/") + davtest.PrincipalPath })
	seed(srv, storage.Calendars, "work", 0)
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := discover(t, s)[davtest.CalendarHome+"work/"]; !ok {
		t.Fatal("collection not discovered")
	}
}

func TestBootstrapNoHomeSet(t *testing.T) {
	s, _ := fake(t, storage.Contacts, davtest.Options{NoHomeSet: true}, nil)
	err := s.Check(t.Context())
	if err == nil {
		t.Fatal("Check succeeded without a home set")
	}
	wantContains(t, "no home set", err.Error(), "no address book home set found for", davtest.PrincipalPath,
		"set url to your principal or home-set URL")
	// Bootstrap is retried on the next call.
	if err := s.Check(t.Context()); err == nil {
		t.Fatal("second Check succeeded")
	}
}

// resolver answers SRV and TXT lookups from maps.
type resolver struct {
	srv map[string][]*net.SRV
	txt map[string][]string
}

func (r resolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	key := "_" + service + "._" + proto + "." + name
	if recs, ok := r.srv[key]; ok {
		return key, recs, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

func (r resolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if t, ok := r.txt[name]; ok {
		return t, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestBootstrapSRV(t *testing.T) {
	srv := davtest.NewServer(t, davtest.Options{HideCapabilities: true})
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	res := resolver{
		srv: map[string][]*net.SRV{"_caldav._tcp.localhost": {
			{Target: "localhost.", Port: 1, Priority: 20}, // worse priority, closed port
			{Target: "localhost.", Port: uint16(port), Priority: 10, Weight: 5},
		}},
		txt: map[string][]string{"_caldav._tcp.localhost": {"path=/dav/"}},
	}
	// The configured host answers nothing (port 1): only SRV finds the server.
	s := newDAV(t, storage.Calendars, dav.Options{URL: "http://localhost:1/", Resolver: res,
		Sleep: func(ctx context.Context, _ time.Duration) error { return nil }})
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := methods(srv); len(got) < 1 || got[0] != "OPTIONS /dav/" {
		t.Fatalf("requests %v, want OPTIONS /dav/ first", got)
	}

	// A single "." target means the service is unavailable.
	res.srv["_caldav._tcp.localhost"] = []*net.SRV{{Target: ".", Port: 0}}
	s = newDAV(t, storage.Calendars, dav.Options{URL: "http://localhost:1/", Resolver: res,
		Sleep: func(ctx context.Context, _ time.Duration) error { return nil }})
	wantContains(t, "SRV .", errString(s.Check(t.Context())), "not available")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCollectionHrefSecondLast(t *testing.T) {
	s, srv := fake(t, storage.Calendars, davtest.Options{}, func(o *dav.Options) { o.CollectionIDSegment = dav.SegmentSecondLast })
	srv.AddCollection(davtest.CalendarHome+"abc/events/", storage.Calendars, nil)
	srv.AddCollection(davtest.CalendarHome+"def/", storage.Calendars, nil)
	_, err := s.CollectionHref("abc")
	wantErr(t, "CollectionHref with second-last", err, storage.ErrUnsupported)
	wantContains(t, "second-last", err.Error(), "href_a/href_b")
	// Only direct members of the home set are discovered; def's id is "alice".
	colls := discover(t, s)
	if c := colls[davtest.CalendarHome+"def/"]; c.ID != "alice" {
		t.Fatalf("Discover = %v", colls)
	}
	// A collection outside the home set is reached by its href.
	if _, err := s.List(t.Context(), davtest.CalendarHome+"abc/events/"); err != nil {
		t.Fatalf("List of an explicit href: %v", err)
	}
	if n := countMethod(srv, http.MethodGet, "/"); n != 0 {
		t.Fatalf("%d GETs", n)
	}
}
