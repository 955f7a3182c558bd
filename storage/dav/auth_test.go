package dav

import (
	"net/url"
	"testing"
)

func TestSameSite(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://caldav.icloud.com/", "https://p42-caldav.icloud.com/", true},
		{"https://example.org/", "https://dav.example.org/", true},
		{"https://a.example.co.uk/", "https://b.example.co.uk/", true},
		{"https://example.co.uk/", "https://evil.co.uk/", false},
		{"https://example.com.au/", "https://other.com.au/", false},
		{"https://example.org/", "https://example.org.evil.net/", false},
		{"https://example.org/", "https://evil.org/", false},
		{"http://127.0.0.1:1/", "http://127.0.0.1:2/", true},
		{"http://127.0.0.1/", "http://localhost/", false},
		{"http://localhost/", "http://otherhost/", false},
		{"http://[::1]/", "http://[::2]/", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := sameSite(a, b); got != tc.same {
			t.Errorf("sameSite(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestAuthPolicyFollow(t *testing.T) {
	base, _ := url.Parse("https://caldav.icloud.com/")
	p := newAuthPolicy(base, true, "u", "pw")
	part, _ := url.Parse("https://p42-caldav.icloud.com/123/calendars/")
	plain, _ := url.Parse("http://p43-caldav.icloud.com/")
	evil, _ := url.Parse("https://evil.example/")
	if _, _, ok := p.credentials(part); ok {
		t.Fatal("credentials for a partition before bootstrap led there")
	}
	if !p.follow(base, part) {
		t.Fatal("a same-site partition was refused")
	}
	if _, _, ok := p.credentials(part); !ok {
		t.Fatal("no credentials for the partition bootstrap led to")
	}
	if p.follow(base, plain) || p.follow(base, evil) || p.follow(evil, evil) {
		t.Fatal("https to http, another site, or a site that was never allowed was allowed")
	}
	if _, _, ok := p.credentials(evil); ok {
		t.Fatal("credentials for another site")
	}
	off := newAuthPolicy(base, false, "", "")
	if _, _, ok := off.credentials(base); ok {
		t.Fatal("credentials without username")
	}
}
