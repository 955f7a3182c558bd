package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

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
		// The credentials go where bootstrap found them going (same site only: the
		// cache file cannot widen that).
		for _, u := range append([]*url.URL{b.context, b.principal}, b.homeSets...) {
			s.c.st.policy.follow(s.ep.base, u)
		}
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
	var re *RequestError
	if errors.As(err, &re) && re.TLS {
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
	if errors.As(err, new(*RequestError)) {
		connErr = err // the host may exist only in SRV records; report this if all fails
	}
	cands, err := s.srvCandidates(ctx, base.Scheme, base.Hostname())
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		// DNS for the configured host names the server: it gets the credentials.
		s.c.st.policy.allow(c)
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
	r := newRequest(http.MethodOptions, u, "", "")
	r.discovery = true
	resp, err := s.c.do(ctx, r)
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
		r := newRequest(http.MethodGet, cur, "", "")
		r.discovery = true
		resp, err := s.c.doRedirect(ctx, r)
		switch {
		case err != nil && fatalBootError(err):
			return nil, err
		case err != nil && transportError(err) && statusCode(err) == 0:
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
			if err := s.mayFollow(cur, next, ".well-known redirect target"); err != nil {
				return nil, err
			}
			cur = next
			if hop+1 >= maxWellKnownHops {
				return cur, nil
			}
		default: // 2xx: the URL itself is the context
			return cur, nil
		}
	}
}

// findPrincipal implements step 5 with go-webdav's FindCurrentUserPrincipal, on the
// context URL, then the configured URL, then "/" while they answer 404 or 405. An
// answer without a usable principal (DavMail's empty element, a missing property)
// makes the URL asked the principal. A principal on another origin is used when
// credentials may go there (authPolicy.follow), or when no credentials are configured.
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
		wc := &webdavClient{c: s.c, exact: u}
		cl, err := webdav.NewClient(wc, u.String())
		if err != nil {
			return nil, err
		}
		p, err := cl.FindCurrentUserPrincipal(ctx)
		switch {
		case err != nil && (statusCode(err) == http.StatusNotFound || statusCode(err) == http.StatusMethodNotAllowed):
			lastErr = err
			continue
		case err != nil && transportError(err):
			return nil, err
		case err != nil || p == "":
			// go-webdav found no principal (one answer with several responses, an
			// empty element): our own reading of the answer may, else the URL asked is
			// the principal (DavMail).
			if ks := wc.keptHrefs(u, nsDAV, "current-user-principal"); len(ks) > 0 {
				if err := s.mayFollow(u, ks[0], "principal"); err != nil {
					return nil, err
				}
				return ks[0], nil
			}
			s.log.Debug("no current-user-principal; using the URL asked as the principal", "url", redact(u), "err", err)
			return u, nil
		}
		// go-webdav gives the decoded path; the kept answer has the href as sent,
		// possibly on another host.
		pu, err := urlForPath(u, p)
		if err != nil {
			return nil, err
		}
		for _, k := range wc.keptHrefs(u, nsDAV, "current-user-principal") {
			if k.Path == p {
				pu = k
				break
			}
		}
		if err := s.mayFollow(u, pu, "principal"); err != nil {
			return nil, err
		}
		return pu, nil
	}
	return nil, fmt.Errorf("no DAV principal found: %w", lastErr)
}

// mayFollow checks a principal or home set that bootstrap found on another origin: it
// is used if the credentials may go there (same site), or if there are none to send.
func (s *Storage) mayFollow(from, to *url.URL, what string) error {
	if sameOrigin(from, to) || !s.opts.sendsAuth() || s.c.st.policy.follow(from, to) {
		return nil
	}
	return fmt.Errorf("the %s %s is on another site than %s; refusing to send the credentials there (set url to it if you trust it)",
		what, redact(to), redact(from))
}

// findHomeSets implements step 6 with go-webdav's FindCalendarHomeSet or
// FindAddressBookHomeSet. go-webdav returns the first home set only, as a decoded
// path; the answer it read is read again for every home set, as sent.
func (s *Storage) findHomeSets(ctx context.Context, principal *url.URL) ([]*url.URL, error) {
	ns, local, what := nsCalDAV, "calendar-home-set", "calendar"
	if s.kind == storage.Contacts {
		ns, local, what = nsCardDAV, "addressbook-home-set", "address book"
	}
	wc := &webdavClient{c: s.c, exact: principal}
	var home string
	var err error
	if s.kind == storage.Contacts {
		var cl *carddav.Client
		if cl, err = carddav.NewClient(wc, principal.String()); err == nil {
			home, err = cl.FindAddressBookHomeSet(ctx, principal.Path)
		}
	} else {
		var cl *caldav.Client
		if cl, err = caldav.NewClient(wc, principal.String()); err == nil {
			home, err = cl.FindCalendarHomeSet(ctx, principal.Path)
		}
	}
	if err != nil && transportError(err) {
		return nil, err
	}
	var homes []*url.URL
	seen := map[string]bool{}
	add := func(u *url.URL) {
		if seen[u.String()] {
			return
		}
		if err := s.mayFollow(principal, u, "home set"); err != nil {
			s.log.Warn("ignoring a home set", "err", err)
			return
		}
		seen[u.String()] = true
		homes = append(homes, u)
	}
	for _, u := range wc.keptHrefs(principal, ns, local) {
		add(u)
	}
	if len(homes) == 0 && home != "" {
		if u, err := urlForPath(principal, home); err == nil {
			add(u)
		}
	}
	if len(homes) == 0 {
		return nil, fmt.Errorf("no %s home set found for %s; set url to your principal or home-set URL",
			what, redact(principal))
	}
	return homes, nil
}

// propfind sends a PROPFIND and reads its (small) multistatus answer whole.
func (s *Storage) propfind(ctx context.Context, u *url.URL, depth, body string) (*multistatus, error) {
	return s.collect(ctx, newRequest("PROPFIND", u, depth, body))
}

// discoveryPropfind is propfind for collection discovery and probes, whose 401
// answers may mean a wrong url as much as wrong credentials.
func (s *Storage) discoveryPropfind(ctx context.Context, u *url.URL, depth, body string) (*multistatus, error) {
	r := newRequest("PROPFIND", u, depth, body)
	r.discovery = true
	return s.collect(ctx, r)
}

// collect sends r and reads its multistatus answer whole (answers without item text:
// discovery, probes).
func (s *Storage) collect(ctx context.Context, r *request) (*multistatus, error) {
	ms := &multistatus{}
	tok, err := s.multistatus(ctx, r, func(resp *msResponse) error {
		ms.Responses = append(ms.Responses, *resp)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ms.SyncToken = tok
	return ms, nil
}

// smallToken bounds single XML tokens of answers without item text.
const smallToken = 1 << 20

// multistatus sends r and decodes its multistatus answer as a stream, calling fn for
// each response. A 2xx answer that is not a multistatus document is an error. The
// answer's size cap is r.maxBody (maxAnswer when 0); its XML tokens are bounded by
// the item-size limit when r carries items, by 1 MiB otherwise.
func (s *Storage) multistatus(ctx context.Context, r *request, fn func(*msResponse) error) (string, error) {
	resp, err := s.c.send(ctx, r, false)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if r.any2xx && resp.StatusCode != http.StatusMultiStatus {
		return "", errNotMultistatus
	}
	limit := int64(smallToken)
	if r.items {
		limit = s.itemTokenLimit()
	}
	tok, err := decodeMultistatus(resp.Body, limit, fn)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(err, errTokenTooLarge) {
			return "", &AnswerTooLargeError{Method: r.method, URL: redact(r.url), Limit: limit}
		}
		if transportError(err) || errors.Is(err, errStop) || errors.As(err, new(*errTooManyItems)) {
			return "", err
		}
		return "", fmt.Errorf("%s %s: HTTP %d answer is not a DAV multistatus: %w", r.method, redact(r.url), resp.StatusCode, err)
	}
	return tok, nil
}

// errNotMultistatus: a request with any2xx got a 2xx answer other than 207.
var errNotMultistatus = errors.New("answer is not a multistatus")

// errStop is returned by a multistatus callback that has read enough.
var errStop = errors.New("stop reading")

// itemTokenLimit bounds the XML text of one item: the item-size limit plus room for
// escaping (a CR written as &#13; on every line, entities).
func (s *Storage) itemTokenLimit() int64 {
	m := s.opts.maxItem()
	return m + m/4 + 64<<10
}
