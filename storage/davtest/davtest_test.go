package davtest_test

import (
	"net/http"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// The fake server is exercised through the storage tests of package dav; these check
// the seeding helpers and the real-server harness itself.

func TestFakeSeedAndReadBack(t *testing.T) {
	srv := davtest.NewServer(t, davtest.Options{ETagStyle: davtest.ETagWeak})
	srv.AddCollection(davtest.CalendarHome+"a b/", storage.Calendars, map[string]string{storage.PropColor: "#ff0000"})
	raw := []byte("BEGIN:VCALENDAR\r\nUID:x\r\nEND:VCALENDAR")
	etag := srv.PutItem(davtest.CalendarHome+"a%20b/x.ics", raw)
	data, got, ok := srv.Item(davtest.CalendarHome + "a b/x.ics")
	if !ok || string(data) != string(raw) || got != etag || etag[:2] != `W/` {
		t.Fatalf("Item = %q, %q, %v (PutItem etag %q)", data, got, ok, etag)
	}
	if p := srv.Props(davtest.CalendarHome + "a%20b/"); p[storage.PropColor] != "#ff0000" {
		t.Fatalf("Props = %v", p)
	}
	resp, err := http.Get(srv.URL + "/dav/calendars/alice/a%20b/x.ics")
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != etag {
		t.Fatalf("GET = %v, %v", resp, err)
	}
	resp.Body.Close()
	if srv.Count(http.MethodGet) != 1 {
		t.Fatalf("request log: %v", srv.Requests())
	}
}

func TestRadicaleHarness(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	cal, ab := srv.NewCalendar(t), srv.NewAddressBook(t)
	if cal == ab || srv.Username == "" {
		t.Fatalf("collections %q %q, user %q", cal, ab, srv.Username)
	}
	if code, _, _ := srv.Do(t, "PROPFIND", cal, map[string]string{"Depth": "0"}, nil); code != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %d", cal, code)
	}
}
