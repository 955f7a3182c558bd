package dav

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

const sampleMultistatus = `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:x="urn:x-cyrus">
 <d:response><d:href>/cal/a%40b.ics</d:href>
  <d:propstat><d:prop><d:getetag>W/"1"</d:getetag><x:calendar-data>BEGIN:VCALENDAR&#13;
UID:a &amp; b
END:VCALENDAR<![CDATA[
]]></x:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
 <d:response><d:href>/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
 <d:sync-token>tok-2</d:sync-token>
</d:multistatus>`

func TestParseMultistatus(t *testing.T) {
	ms, err := parseMultistatus([]byte(sampleMultistatus))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Responses) != 2 || ms.SyncToken != "tok-2" {
		t.Fatalf("parsed %+v", ms)
	}
	r := ms.Responses[0]
	if r.Hrefs[0] != "/cal/a%40b.ics" {
		t.Fatalf("wire href %q changed", r.Hrefs[0])
	}
	if etag, _ := r.propText(nsDAV, "getetag", true); etag != `W/"1"` {
		t.Fatalf("etag %q", etag)
	}
	data, ok := r.propText(nsCalDAV, "calendar-data", false) // other namespace: by local name
	if !ok || data != "BEGIN:VCALENDAR\r\nUID:a & b\nEND:VCALENDAR\n" {
		t.Fatalf("data %q, %v", data, ok)
	}
	if ms.Responses[1].Status != 404 {
		t.Fatalf("status %d", ms.Responses[1].Status)
	}
	if _, err := parseMultistatus([]byte("<html>oops</html>")); err == nil {
		t.Fatal("an HTML page parsed as multistatus")
	}
}

func FuzzMultistatus(f *testing.F) {
	f.Add([]byte(sampleMultistatus))
	f.Add([]byte(`<multistatus xmlns="DAV:"><response><href>x</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200</status></propstat></response></multistatus>`))
	f.Add([]byte("<d:error xmlns:d=\"DAV:\"><d:valid-sync-token/></d:error>"))
	f.Add([]byte("\xff\xfe<a>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := parseMultistatus(data)
		if err == nil {
			for i := range ms.Responses {
				r := &ms.Responses[i]
				r.propText(nsDAV, "getetag", true)
				r.hasType(nsCalDAV, "calendar")
				r.supportsReport("sync-collection")
				r.propStatus(nsDAV, "displayname")
			}
		}
		parsePrecondition(data)
	})
}

func TestEncodePath(t *testing.T) {
	for in, want := range map[string]string{
		"/dav/calendars/me@example.com/work/": "/dav/calendars/me@example.com/work/",
		"/a b/ü%/?#":                          "/a%20b/%C3%BC%25/%3F%23",
	} {
		if got := encodePath(in); got != want {
			t.Errorf("encodePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollectionID(t *testing.T) {
	for _, c := range []struct{ path, seg, want string }{
		{"/dav/calendars/alice/work/", SegmentLast, "work"},
		{"/caldav/v2/abc%40x/events/", SegmentSecondLast, "abc%40x"},
		{"//a//b//", SegmentLast, "b"},
		{"/a/b/", SegmentSecondLast, "a"},
	} {
		if got, err := collectionID(c.path, c.seg); err != nil || got != c.want {
			t.Errorf("collectionID(%q, %s) = %q, %v; want %q", c.path, c.seg, got, err, c.want)
		}
	}
	if _, err := collectionID("/", SegmentLast); err == nil {
		t.Error("collectionID(/) succeeded")
	}
}

func TestItemName(t *testing.T) {
	for uid, want := range map[string]string{
		"11bb6bed-c29b-4999-a627-12dee35f8395": "11bb6bed-c29b-4999-a627-12dee35f8395",
		"these/slashes/are/not/okay":           "theseslashesarenotokay",
	} {
		if got := itemName(storage.MustItem("BEGIN:VCARD\r\nUID:" + uid + "\r\nEND:VCARD\r\n")); got != want {
			t.Errorf("itemName(%q) = %q, want %q", uid, got, want)
		}
	}
	for _, uid := range []string{"äää", strings.Repeat("x", 201)} {
		it := storage.MustItem("BEGIN:VCARD\r\nUID:" + uid + "\r\nEND:VCARD\r\n")
		if got := itemName(it); got != it.Hash() {
			t.Errorf("itemName(%q) = %q, want the hash", uid, got)
		}
	}
}

func TestInsideCollection(t *testing.T) {
	c, _ := url.Parse("https://h.example/cal/")
	for ref, want := range map[string]bool{
		"/cal/a.ics": true, "a.ics": true, "https://h.example:443/cal/a.ics": true,
		"/cal/": false, "/cal/../x.ics": false, "/cal/%2e%2e": false, "/cal/sub/a.ics": false,
		"http://h.example/cal/a.ics": false, "https://other.example/cal/a.ics": false, "/other/a.ics": false,
	} {
		u, err := resolveHref(c, ref)
		if got := err == nil && insideCollection(u, c); got != want {
			t.Errorf("insideCollection(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	if d, ok := retryAfter("5"); !ok || d != 5*time.Second {
		t.Errorf("retryAfter(5) = %v, %v", d, ok)
	}
	if _, ok := retryAfter("3600"); ok {
		t.Error("a wait over 60 s was accepted")
	}
	if _, ok := retryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); !ok {
		t.Error("an HTTP date was not accepted")
	}
}
