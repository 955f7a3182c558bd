package webcal_test

// The splitter as the storage presents it: listings and fetch results for feeds with a
// calendar-level UID, duplicate idents, unusable components, CR-only line ends and a
// BOM (issue 9 item 9, issue 13).

import (
	"errors"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// listAndGet lists the feed and fetches every listed href: href → result.
func listAndGet(t *testing.T, body string) ([]storage.ItemRef, map[string]storage.Fetched) {
	t.Helper()
	srv := newFeedServer(t)
	srv.set(func(f *feedServer) { f.raw = []byte(body) })
	s := newWebcal(t, srv.URL, nil)
	refs, err := s.List(t.Context(), "hol")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	hrefs := make([]string, len(refs))
	for i, r := range refs {
		hrefs[i] = r.Href
	}
	got, err := s.Get(t.Context(), "hol", hrefs)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	out := map[string]storage.Fetched{}
	for _, f := range got {
		out[f.Href] = f
	}
	return refs, out
}

func vevent(uid, summary string) string {
	lines := []string{"BEGIN:VEVENT"}
	if uid != "" {
		lines = append(lines, "UID:"+uid)
	}
	return strings.Join(append(lines, "DTSTART:20240102T100000Z", "SUMMARY:"+summary, "END:VEVENT"), "\r\n") + "\r\n"
}

func calendar(header string, comps ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + header + strings.Join(comps, "") + "END:VCALENDAR\r\n"
}

// TestFeedCalendarUID: RFC 7986 allows UID on VCALENDAR. Every event keeps its own
// identity, none is dropped, and the calendar's UID is in no item.
func TestFeedCalendarUID(t *testing.T) {
	body := calendar("UID:0d2b2c2e-feed\r\nNAME:Team\r\n", vevent("a", "A"), vevent("b", "B"), vevent("", "no uid"), vevent("c", "C"))
	refs, got := listAndGet(t, body)
	if len(refs) != 4 {
		t.Fatalf("%d items listed, want 4: %v", len(refs), refs)
	}
	for _, uid := range []string{"a", "b", "c"} {
		f := got[uid]
		if f.Err != nil || f.Item.Ident() != uid {
			t.Fatalf("item %s: %+v", uid, f)
		}
		if strings.Contains(f.Item.Text(), "0d2b2c2e-feed") || !strings.Contains(f.Item.Text(), "NAME:Team\r\n") {
			t.Fatalf("item %s:\n%s", uid, f.Item.Text())
		}
	}
}

// TestFeedDuplicateIdents: two items of a feed with one ident are never dropped
// silently: the ident is listed once, with an error that names the feed lines; every
// other item is usable.
func TestFeedDuplicateIdents(t *testing.T) {
	// The same UID-less event twice, and two events whose items start with the same
	// VTIMEZONE, which (oddly) has a UID line: the first UID line of both items
	// (sync.md §2.2).
	tz := "BEGIN:VTIMEZONE\r\nTZID:Odd\r\nUID:tz-1\r\nEND:VTIMEZONE\r\n"
	withTZ := "BEGIN:VEVENT\r\nUID:%s\r\nDTSTART;TZID=Odd:20240102T100000\r\nEND:VEVENT\r\n"
	body := calendar("", tz, vevent("good", "Good"), vevent("", "Twice"), strings.Replace(withTZ, "%s", "x", 1),
		vevent("", "Twice"), strings.Replace(withTZ, "%s", "y", 1), vevent("also-good", "Also good"))
	refs, got := listAndGet(t, body)
	if len(refs) != 4 {
		t.Fatalf("listed %v, want 4 hrefs", refs)
	}
	for _, uid := range []string{"good", "also-good"} {
		if got[uid].Err != nil || got[uid].Item.Ident() != uid {
			t.Fatalf("%s: %+v", uid, got[uid])
		}
	}
	twice := storage.MustItem(calendar("", vevent("", "Twice"))).Hash()
	for href, want := range map[string]string{
		twice:  `holds 2 items with the same content and no UID (components at feed lines 12, 20; "Twice"); none of them is synced until the feed is fixed`,
		"tz-1": `holds 2 items with UID "tz-1" (components at feed lines 16, 24); none of them`,
	} {
		f := got[href]
		if !errors.Is(f.Err, storage.ErrInvalidData) || !strings.Contains(f.Err.Error(), want) || !strings.Contains(f.Err.Error(), "webcal storage holidays") {
			t.Errorf("%s: %v, want %q", href, f.Err, want)
		}
		if f.ETag == "" || f.ETag == twice {
			t.Errorf("%s: etag %q must differ from any single item's", href, f.ETag)
		}
	}
}

// TestFeedUnusableComponent: a component that is not UTF-8 is an item error that names
// the feed line and byte offset; the other events sync.
func TestFeedUnusableComponent(t *testing.T) {
	body := calendar("", vevent("good", "Good"), "BEGIN:VEVENT\r\nUID:latin1\r\nSUMMARY;CHARSET=ISO-8859-1:Caf\xe9\r\nEND:VEVENT\r\n")
	refs, got := listAndGet(t, body)
	if len(refs) != 2 || got["good"].Err != nil {
		t.Fatalf("refs %v, good %+v", refs, got["good"])
	}
	err := got["latin1"].Err
	if !errors.Is(err, storage.ErrInvalidData) || !strings.Contains(err.Error(), "line 10, byte 162: not valid UTF-8 (bytes E9 0D 0A 45); the item declares CHARSET=ISO-8859-1") {
		t.Fatalf("latin1: %v", err)
	}
}

// TestFeedLineEnds: CR-only line ends with a BOM give the same items as CRLF.
func TestFeedLineEnds(t *testing.T) {
	body := calendar("PRODID:-//x//EN\r\n", vevent("a", "A"), vevent("b", "B"))
	_, want := listAndGet(t, body)
	for name, variant := range map[string]string{
		"CR":         strings.ReplaceAll(body, "\r\n", "\r"),
		"BOM and CR": "\uFEFF" + strings.ReplaceAll(body, "\r\n", "\r"),
		"BOM and LF": "\uFEFF" + strings.ReplaceAll(body, "\r\n", "\n"),
	} {
		refs, got := listAndGet(t, variant)
		if len(refs) != 2 {
			t.Fatalf("%s: %v", name, refs)
		}
		for href, f := range want {
			if got[href].Err != nil || got[href].Item.Text() != f.Item.Text() {
				t.Errorf("%s: %s = %+v", name, href, got[href])
			}
		}
	}
}
