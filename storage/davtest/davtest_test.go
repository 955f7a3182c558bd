package davtest_test

import (
	"net/http"
	"os"
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

func TestMain(m *testing.M) { os.Exit(davtest.RunShared(m)) }

// TestSharedHarness checks that Cyrus and DAViCal start, that each test gets a user of
// its own whose homes accept new collections, and that the server answers as that user.
func TestSharedHarness(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *davtest.RealServer{"cyrus": davtest.StartCyrus, "davical": davtest.StartDAViCal} {
		t.Run(name, func(t *testing.T) {
			a, b := start(t), start(t)
			if a.Username == b.Username || a.URL != b.URL || a.Name != name {
				t.Fatalf("two users %q and %q on %q and %q", a.Username, b.Username, a.URL, b.URL)
			}
			cal, ab := a.NewCalendar(t), a.NewAddressBook(t)
			for _, p := range []string{cal, ab} {
				code, _, body := a.Do(t, "PROPFIND", p, map[string]string{"Depth": "0", "Content-Type": "application/xml"}, nil)
				if code != http.StatusMultiStatus {
					t.Fatalf("PROPFIND %s: %d %s", p, code, body)
				}
				// Another user cannot see it.
				if code, _, _ := b.Do(t, "PROPFIND", p, map[string]string{"Depth": "0", "Content-Type": "application/xml"}, nil); code == http.StatusMultiStatus {
					t.Fatalf("user %s sees %s of user %s", b.Username, p, a.Username)
				}
			}
			wrong := *a
			wrong.Password = "wrong"
			if code, _, _ := wrong.Do(t, "PROPFIND", cal, map[string]string{"Depth": "0"}, nil); code != http.StatusUnauthorized {
				t.Fatalf("wrong password: HTTP %d, want 401", code)
			}
		})
	}
}
