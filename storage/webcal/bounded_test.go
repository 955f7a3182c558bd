package webcal_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
	"github.com/pimsync-go/pimsync/storage/webcal"
)

// Issue 10: a feed download is bounded in time and size, and items are bounded by the
// one item-size limit.

func TestOversizedFeedItem(t *testing.T) {
	srv := newFeedServer(t)
	srv.add(t, item("small", "Small"))
	big := item("big", "Big")
	big = strings.Replace(big, "END:VEVENT", strings.Repeat("DESCRIPTION:"+strings.Repeat("z", 60)+"\r\n", 200)+"END:VEVENT", 1)
	srv.add(t, big)
	s := newWebcal(t, srv.URL+"/feed.ics", func(o *webcal.Options) { o.MaxItemSize = 8 << 10 })
	got, err := s.Get(t.Context(), "hol", []string{"small", "big"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Err != nil {
		t.Fatalf("small: %v", got[0].Err)
	}
	var tl *storage.TooLargeError
	if !errors.As(got[1].Err, &tl) || !errors.Is(got[1].Err, storage.ErrInvalidData) || tl.Limit != 8<<10 {
		t.Fatalf("big: %v, want a *storage.TooLargeError", got[1].Err)
	}
}

func TestFeedTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/calendar")
		w.Write([]byte("BEGIN:VCALENDAR\r\n"))
		line := []byte("X-PAD:" + strings.Repeat("p", 1000) + "\r\n")
		for n := 0; n < 40<<20; n += len(line) {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	s := newWebcal(t, srv.URL+"/feed.ics", nil)
	err := s.Check(t.Context())
	var fe *webcal.FeedError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "feed "+srv.URL+"/feed.ics: the feed is larger than 32 MiB") {
		t.Fatalf("40 MiB feed: %v", err)
	}
}

func TestFeedDeadline(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	s := newWebcal(t, srv.URL+"/feed.ics", func(o *webcal.Options) {
		o.Timeouts = dav.Timeouts{Read: 200 * time.Millisecond}
	})
	_, err := s.List(t.Context(), "hol")
	var re *dav.RequestError
	if !errors.As(err, &re) || !re.Timeout || !strings.Contains(err.Error(), "GET "+srv.URL+"/feed.ics: no answer within 200ms (read_timeout)") {
		t.Fatalf("silent feed: %v", err)
	}
	if errors.Is(err, storage.ErrNotFound) {
		t.Fatal("a feed that does not answer is ErrNotFound")
	}
}
