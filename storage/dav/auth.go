package dav

import (
	"net"
	"net/url"
	"strings"
	"sync"
)

// authPolicy decides which requests carry the storage's credentials: those to the
// configured origin (scheme, host and port of url), and those to origins that an
// allowed origin redirected to, or named as the principal or a home set during
// bootstrap, when they are on the same site. Nothing else ever gets them: not an item
// href on another host, not a redirect to another site, not http after https.
type authPolicy struct {
	send     bool
	user     string
	password string

	mu      sync.Mutex
	origins map[string]bool // allowed origins, as originKey
}

func newAuthPolicy(base *url.URL, send bool, user, password string) *authPolicy {
	p := &authPolicy{send: send, user: user, password: password, origins: map[string]bool{}}
	if base != nil {
		p.origins[originKey(base)] = true
	}
	return p
}

// credentials returns the Basic credentials for a request to u, if it may have them.
func (p *authPolicy) credentials(u *url.URL) (string, string, bool) {
	if !p.send {
		return "", "", false
	}
	p.mu.Lock()
	ok := p.origins[originKey(u)]
	p.mu.Unlock()
	return p.user, p.password, ok
}

// allow lets requests to u carry the credentials (an SRV target of the configured
// host).
func (p *authPolicy) allow(u *url.URL) {
	p.mu.Lock()
	p.origins[originKey(u)] = true
	p.mu.Unlock()
}

// allowed reports whether requests to u carry the credentials.
func (p *authPolicy) allowed(u *url.URL) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.origins[originKey(u)]
}

// follow is called when an allowed origin sends us to "to" (a redirect, or a
// principal or home-set href during bootstrap). The new origin is allowed if it is on
// the same site as from and does not go from https to http. It reports whether to is
// allowed now.
func (p *authPolicy) follow(from, to *url.URL) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.origins[originKey(to)] {
		return true
	}
	if !p.origins[originKey(from)] || !sameSite(from, to) {
		return false
	}
	if strings.EqualFold(from.Scheme, "https") && !strings.EqualFold(to.Scheme, "https") {
		return false
	}
	p.origins[originKey(to)] = true
	return true
}

// originKey is scheme://host:port in lower case, with the default port spelled out.
func originKey(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(hostPort(u))
}

// sameSite approximates "the same registrable domain" without a public-suffix list:
// the hosts are equal, or neither is an IP address and they share their last two
// labels — three when the second-last label is a short one under a two-letter
// country domain, as in example.co.uk or example.com.au. (It errs on the side of "not
// the same site" only for unusual public suffixes; a host on another site never
// passes.)
func sameSite(a, b *url.URL) bool {
	ha, hb := strings.ToLower(a.Hostname()), strings.ToLower(b.Hostname())
	if ha == hb {
		return true
	}
	if net.ParseIP(ha) != nil || net.ParseIP(hb) != nil {
		return false
	}
	sa, sb := siteOf(ha), siteOf(hb)
	return sa != "" && sa == sb
}

// siteOf returns the approximate registrable domain of host, or "" when host has too
// few labels to tell.
func siteOf(host string) string {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	n := 2
	if len(labels) >= 3 && len(labels[len(labels)-1]) == 2 && len(labels[len(labels)-2]) <= 3 {
		n = 3 // example.co.uk, example.com.au
	}
	if len(labels) < n {
		return ""
	}
	return strings.Join(labels[len(labels)-n:], ".")
}
