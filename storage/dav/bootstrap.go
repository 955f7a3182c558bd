package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// bootResult is what bootstrap found (storages.md §2.1).
type bootResult struct {
	context   *url.URL
	principal *url.URL
	homeSets  []*url.URL
	cached    bool // loaded from the bootstrap cache, not verified in this process
}

const maxWellKnownHops = 3

// bootstrap finds context URL, principal and home sets once; a failure is retried on
// the next call.
func (s *Storage) bootstrap(ctx context.Context) (*bootResult, error) {
	return s.bootstrapWith(ctx, true)
}

// bootstrapWith is bootstrap; useCache allows a result from the bootstrap cache.
func (s *Storage) bootstrapWith(ctx context.Context, useCache bool) (*bootResult, error) {
	s.mu.Lock()
	b := s.boot
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	s.bootMu.Lock()
	defer s.bootMu.Unlock()
	s.mu.Lock()
	b = s.boot
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	if b = s.loadBootCache(); useCache && b != nil {
		s.mu.Lock()
		s.boot = b
		s.mu.Unlock()
		return b, nil
	}
	b, err := s.runBootstrap(ctx)
	if err != nil {
		return nil, err
	}
	s.saveBootCache(b)
	homes := make([]string, len(b.homeSets))
	for i, h := range b.homeSets {
		homes[i] = redact(h)
	}
	s.log.Info("DAV bootstrap done", "context", redact(b.context), "principal", redact(b.principal), "home_sets", homes)
	s.mu.Lock()
	s.boot = b
	s.mu.Unlock()
	return b, nil
}

func (s *Storage) runBootstrap(ctx context.Context) (*bootResult, error) {
	b := &bootResult{context: s.ep.base}
	if s.ep.socket == "" {
		var err error
		if b.context, err = s.findContext(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if b.principal, err = s.findPrincipal(ctx, b.context); err != nil {
		return nil, err
	}
	if b.homeSets, err = s.findHomeSets(ctx, b.principal); err != nil {
		return nil, err
	}
	return b, nil
}

// capability is the DAV header token of the storage's kind.
func (s *Storage) capability() string {
	if s.kind == storage.Contacts {
		return "addressbook"
	}
	return "calendar-access"
}

// fatalBootError: errors that no other discovery path can fix.
func fatalBootError(err error) bool {
	var re *requestError
	if errors.As(err, &re) && re.tls {
		return true
	}
	code := statusCode(err)
	return code == http.StatusUnauthorized || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// findContext implements steps 2–4: the configured URL if OPTIONS advertises the
// capability, else RFC 6764 SRV candidates, else .well-known, else the configured URL.
func (s *Storage) findContext(ctx context.Context) (*url.URL, error) {
	base := s.ep.base
	advertised, err := s.options(ctx, base)
	if err == nil && advertised {
		return base, nil
	}
	if err != nil && fatalBootError(err) {
		return nil, err
	}
	var connErr error
	if errors.As(err, new(*requestError)) {
		connErr = err // the host may exist only in SRV records; report this if all fails
	}
	cands, err := s.srvCandidates(ctx, base.Scheme, base.Hostname())
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		// Accept a candidate that advertises the capability or merely answers 2xx
		// (Nextcloud does not advertise it at the context path).
		if _, err := s.options(ctx, c); err == nil {
			return c, nil
		} else if fatalBootError(err) {
			return nil, err
		}
	}
	if connErr != nil {
		return nil, connErr
	}
	return s.wellKnown(ctx, base)
}

// options sends OPTIONS to u and reports whether the DAV header lists the capability.
func (s *Storage) options(ctx context.Context, u *url.URL) (bool, error) {
	resp, err := s.c.do(ctx, newRequest(http.MethodOptions, u, "", ""))
	if err != nil {
		return false, err
	}
	want := s.capability()
	for _, v := range resp.header.Values("DAV") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), want) {
				return true, nil
			}
		}
	}
	return false, nil
}

// wellKnown implements step 4: GET /.well-known/caldav (carddav) with redirects
// followed by hand, at most three hops and never from https to http.
func (s *Storage) wellKnown(ctx context.Context, base *url.URL) (*url.URL, error) {
	name := "caldav"
	if s.kind == storage.Contacts {
		name = "carddav"
	}
	wk := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/.well-known/" + name}
	cur := wk
	for hop := 0; ; hop++ {
		resp, err := s.c.doRedirect(ctx, newRequest(http.MethodGet, cur, "", ""))
		switch {
		case err != nil && fatalBootError(err):
			return nil, err
		case err != nil && errors.As(err, new(*requestError)):
			return nil, err
		case err != nil: // 404, 405 or any other status
			if cur == wk {
				return base, nil
			}
			return cur, nil
		case resp.code >= 300 && resp.code < 400:
			loc := resp.header.Get("Location")
			next, perr := cur.Parse(loc)
			if loc == "" || perr != nil {
				return base, nil
			}
			if cur.Scheme == "https" && next.Scheme != "https" {
				s.log.Warn("ignoring a .well-known redirect from https to http", "location", redact(next))
				if cur == wk {
					return base, nil
				}
				return cur, nil
			}
			next.User = nil
			cur = next
			if hop+1 >= maxWellKnownHops {
				return cur, nil
			}
		default: // 2xx: the URL itself is the context
			return cur, nil
		}
	}
}

const principalBody = xmlHeader + `<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`

// findPrincipal implements step 5.
func (s *Storage) findPrincipal(ctx context.Context, contextURL *url.URL) (*url.URL, error) {
	tries := []*url.URL{contextURL}
	if s.ep.base.String() != contextURL.String() {
		tries = append(tries, s.ep.base)
	}
	root := &url.URL{Scheme: contextURL.Scheme, Host: contextURL.Host, Path: "/"}
	if root.String() != contextURL.String() && root.String() != s.ep.base.String() {
		tries = append(tries, root)
	}
	var lastErr error
	for _, u := range tries {
		ms, err := s.propfind(ctx, u, "0", principalBody)
		if err != nil {
			if c := statusCode(err); c == http.StatusNotFound || c == http.StatusMethodNotAllowed {
				lastErr = err
				continue
			}
			return nil, err
		}
		for _, r := range ms.Responses {
			if p, ok := r.prop(nsDAV, "current-user-principal"); ok {
				if hs := p.hrefs(); len(hs) > 0 {
					return resolveHref(u, hs[0])
				}
			}
		}
		return u, nil // missing or empty (DavMail): the context is the principal
	}
	return nil, fmt.Errorf("storage %s: no DAV principal found: %w", s.opts.Name, lastErr)
}

// findHomeSets implements step 6.
func (s *Storage) findHomeSets(ctx context.Context, principal *url.URL) ([]*url.URL, error) {
	ns, local, what := nsCalDAV, "calendar-home-set", "calendar"
	if s.kind == storage.Contacts {
		ns, local, what = nsCardDAV, "addressbook-home-set", "address book"
	}
	body := fmt.Sprintf(xmlHeader+`<d:propfind xmlns:d="DAV:" xmlns:x=%q><d:prop><x:%s/></d:prop></d:propfind>`, ns, local)
	ms, err := s.propfind(ctx, principal, "0", body)
	if err != nil {
		return nil, err
	}
	var homes []*url.URL
	seen := map[string]bool{}
	for _, r := range ms.Responses {
		p, ok := r.prop(ns, local)
		if !ok {
			continue
		}
		for _, h := range p.hrefs() {
			u, err := resolveHref(principal, h)
			if err != nil || seen[u.String()] {
				continue
			}
			seen[u.String()] = true
			homes = append(homes, u)
		}
	}
	if len(homes) == 0 {
		return nil, fmt.Errorf("storage %s: no %s home set found for %s; set url to your principal or home-set URL",
			s.opts.Name, what, redact(principal))
	}
	return homes, nil
}

// propfind sends a PROPFIND and parses the multistatus answer.
func (s *Storage) propfind(ctx context.Context, u *url.URL, depth, body string) (*multistatus, error) {
	return s.multistatus(ctx, newRequest("PROPFIND", u, depth, body))
}

// multistatus sends r and parses its multistatus answer. A 2xx answer that is not a
// multistatus document is an error.
func (s *Storage) multistatus(ctx context.Context, r *request) (*multistatus, error) {
	resp, err := s.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d answer is not a DAV multistatus: %w", r.method, r.url.EscapedPath(), resp.code, err)
	}
	return ms, nil
}
