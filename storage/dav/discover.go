package dav

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// collInfo is what we know about one collection from discovery or a Depth 0 PROPFIND.
type collInfo struct {
	href      string   // status form
	url       *url.URL // absolute URL from the wire href
	id        string
	props     map[string]string // property name (storage.Prop*) → trimmed value
	syncToken string
	ctag      string
	canSync   bool // sync-collection supported
	// fresh: the token was read by this run's discovery (or probe) and ListSince has
	// not used it yet. A Storage outlives one run in the daemon, so ListSince probes
	// again once the token has been used.
	fresh bool
	etag  string // the collection's own getetag, "" if none
}

func (ci *collInfo) path() string { return ci.url.Path }

// token is the collection's change token: both the ctag and the sync-token when the
// server has both (see tokenBoth), else the one it has.
func (ci *collInfo) token() storage.Token {
	if ci.syncToken != "" && ci.ctag != "" {
		return bothToken(ci.ctag, ci.syncToken)
	}
	if ci.syncToken != "" {
		return storage.Token{Kind: "sync-token", Value: ci.syncToken}
	}
	if ci.ctag != "" {
		return storage.Token{Kind: "ctag", Value: ci.ctag}
	}
	return storage.Token{}
}

// propElem describes how a storage property is spelled in XML (storages.md §2.9).
type propElem struct {
	name, ns, local, prefix string
}

func (s *Storage) propElems() []propElem {
	if s.kind == storage.Contacts {
		return []propElem{
			{storage.PropDisplayName, nsDAV, "displayname", "d"},
			{storage.PropDescription, nsCardDAV, "addressbook-description", "cr"},
		}
	}
	return []propElem{
		{storage.PropDisplayName, nsDAV, "displayname", "d"},
		{storage.PropColor, nsApple, "calendar-color", "ic"},
		{storage.PropDescription, nsCalDAV, "calendar-description", "c"},
		{storage.PropOrder, nsApple, "calendar-order", "ic"},
	}
}

func (s *Storage) propElem(name string) (propElem, bool) {
	for _, p := range s.propElems() {
		if p.name == name {
			return p, true
		}
	}
	return propElem{}, false
}

// nsDecl declares every namespace prefix our request bodies use.
const nsDecl = `xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cr="urn:ietf:params:xml:ns:carddav" ` +
	`xmlns:cs="http://calendarserver.org/ns/" xmlns:ic="http://apple.com/ns/ical/"`

// discoveryBody is the PROPFIND body of storages.md §2.11 (plus getetag, for a
// conditional collection DELETE).
func (s *Storage) discoveryBody() string { return s.propfindBody("") }

// propfindBody is the discovery body; with tokenKind "sync-token" or "ctag" it asks for
// that token only. Servers such as Radicale compute each token over every item of the
// collection, so a probe that only needs to tell whether a saved token still holds asks
// for that one.
func (s *Storage) propfindBody(tokenKind string) string {
	var b strings.Builder
	b.WriteString(xmlHeader + `<d:propfind ` + nsDecl + `><d:prop><d:resourcetype/>`)
	switch tokenKind {
	case "sync-token":
		b.WriteString(`<d:sync-token/>`)
	case "ctag":
		b.WriteString(`<cs:getctag/>`)
	default:
		// The collection's own getetag is only needed to delete it, and costs a
		// computation over every item on some servers (Xandikos): full probes only.
		b.WriteString(`<d:getetag/><d:sync-token/><cs:getctag/><d:supported-report-set/>`)
	}
	for _, p := range s.propElems() {
		fmt.Fprintf(&b, "<%s:%s/>", p.prefix, p.local)
	}
	b.WriteString(`</d:prop></d:propfind>`)
	return b.String()
}

// collType is the resourcetype element of the storage's collections.
func (s *Storage) collType() (string, string) {
	if s.kind == storage.Contacts {
		return nsCardDAV, "addressbook"
	}
	return nsCalDAV, "calendar"
}

// Discover lists the collections under every home set (storages.md §2.1 step 7) and
// caches their tokens and properties for this run.
func (s *Storage) Discover(ctx context.Context) ([]storage.Collection, error) {
	cols, err := s.discover(ctx)
	if err != nil && s.bootWasCached() && !errors.Is(err, context.Canceled) {
		// The cached home set may be stale (moved account, changed server): bootstrap
		// afresh and try once more.
		s.log.Info("cached DAV bootstrap failed; bootstrapping again", "err", err)
		s.dropBootCache()
		cols, err = s.discover(ctx)
	}
	return cols, err
}

func (s *Storage) bootWasCached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boot != nil && s.boot.cached
}

func (s *Storage) discover(ctx context.Context) ([]storage.Collection, error) {
	b, err := s.bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	found := map[string]*collInfo{}
	var order []string
	for _, home := range b.homeSets {
		ms, err := s.discoveryPropfind(ctx, home, "1", s.discoveryBody())
		if err != nil {
			return nil, opError("discover collections in", home.Path, err)
		}
		for i := range ms.Responses {
			r := &ms.Responses[i]
			ci, ok := s.collFromResponse(home, r, true)
			if !ok || found[ci.href] != nil {
				continue
			}
			ci.fresh = true
			found[ci.href] = ci
			order = append(order, ci.href)
		}
	}
	s.mu.Lock()
	s.colls = found
	for _, ci := range found {
		s.wire[ci.href] = ci.url
	}
	s.mu.Unlock()
	out := make([]storage.Collection, 0, len(order))
	for _, h := range order {
		ci := found[h]
		out = append(out, storage.Collection{ID: ci.id, Href: ci.href, Token: ci.token()})
	}
	return out, nil
}

// collFromResponse builds a collInfo from a PROPFIND response on reqURL. With
// skipSelf, the response for reqURL itself is skipped (a home set's own entry).
func (s *Storage) collFromResponse(reqURL *url.URL, r *msResponse, skipSelf bool) (*collInfo, bool) {
	if len(r.Hrefs) == 0 || r.Status != 0 && (r.Status < 200 || r.Status > 299) {
		return nil, false
	}
	u, err := resolveHref(reqURL, r.Hrefs[0])
	if err != nil {
		return nil, false
	}
	if skipSelf && samePath(u.Path, reqURL.Path) {
		return nil, false
	}
	if ns, local := s.collType(); !r.hasType(ns, local) {
		return nil, false
	}
	if !sameOrigin(u, reqURL) {
		s.log.Warn("ignoring a collection on another host", "href", redact(u))
		return nil, false
	}
	ci := &collInfo{href: statusForm(u), url: u, props: map[string]string{}}
	if ci.id, err = collectionID(ci.href, s.segment); err != nil {
		s.log.Warn("ignoring collection", "href", ci.href, "err", err)
		return nil, false
	}
	s.fillCollInfo(ci, r)
	return ci, true
}

// fillCollInfo reads tokens and properties from a PROPFIND response.
func (s *Storage) fillCollInfo(ci *collInfo, r *msResponse) {
	ci.syncToken, _ = r.propText(nsDAV, "sync-token", true)
	ci.ctag, _ = r.propText(nsCS, "getctag", true)
	ci.etag, _ = r.propText(nsDAV, "getetag", true)
	ci.canSync = ci.syncToken != "" || r.supportsReport("sync-collection")
	icloud := strings.HasSuffix(strings.ToLower(ci.url.Hostname()), "icloud.com")
	for _, p := range s.propElems() {
		v, ok := r.propText(p.ns, p.local, true)
		if !ok || v == "" || icloud && v == "None" {
			continue
		}
		ci.props[p.name] = v
	}
}

// collection returns what is known about the collection at status href: the
// discovery cache, else a Depth 0 PROPFIND (explicit hrefs outside the home sets).
// ErrNotFound when it does not exist.
func (s *Storage) collection(ctx context.Context, href string) (*collInfo, error) {
	s.mu.Lock()
	ci := s.cached(href)
	s.mu.Unlock()
	if ci != nil {
		return ci, nil
	}
	return s.probeCollection(ctx, href, "")
}

// currentCollection is collection for ListSince: it needs the collection's current
// token, so it uses a cached one only once (discovery of this run) and otherwise
// probes, asking only for the token of kind tokenKind when that is set.
func (s *Storage) currentCollection(ctx context.Context, href, tokenKind string) (*collInfo, error) {
	s.mu.Lock()
	ci := s.cached(href)
	if ci != nil && ci.fresh {
		ci.fresh = false
		s.mu.Unlock()
		return ci, nil
	}
	s.mu.Unlock()
	ci, err := s.probeCollection(ctx, href, tokenKind)
	if err == nil {
		s.mu.Lock()
		ci.fresh = false
		s.mu.Unlock()
	}
	return ci, err
}

// cached returns the cached collection for href; s.mu must be held.
func (s *Storage) cached(href string) *collInfo {
	if ci := s.colls[href]; ci != nil {
		return ci
	}
	for _, c := range s.colls {
		if samePath(c.href, href) {
			return c
		}
	}
	return nil
}

// collectionURL returns the URL of a collection href: the wire form when known, else
// the encoded path on the origin of the first home set (or the configured URL).
func (s *Storage) collectionURL(ctx context.Context, href string) (*url.URL, error) {
	if !strings.HasPrefix(href, "/") {
		return nil, fmt.Errorf("%w: collection href %q is not an absolute path", storage.ErrInvalidData, href)
	}
	s.mu.Lock()
	u := s.wire[href]
	s.mu.Unlock()
	if u != nil {
		return u, nil
	}
	base := s.ep.base
	if b, err := s.bootstrap(ctx); err == nil && len(b.homeSets) > 0 {
		base = b.homeSets[0]
	} else if err != nil && s.ep.socket == "" {
		return nil, err
	}
	return urlForPath(base, href)
}

// probeCollection sends a Depth 0 PROPFIND with the discovery body and caches it.
func (s *Storage) probeCollection(ctx context.Context, href, tokenKind string) (*collInfo, error) {
	u, err := s.collectionURL(ctx, href)
	if err != nil {
		return nil, err
	}
	ms, err := s.discoveryPropfind(ctx, u, "0", s.propfindBody(tokenKind))
	if err != nil {
		return nil, err
	}
	for i := range ms.Responses {
		r := &ms.Responses[i]
		ci, ok := s.collFromResponse(u, r, false)
		if !ok {
			continue
		}
		if !samePath(ci.href, href) {
			continue
		}
		ci.url = u
		ci.href = href
		s.mu.Lock()
		s.colls[href] = ci
		s.wire[href] = u
		s.mu.Unlock()
		return ci, nil
	}
	ns, local := s.collType()
	return nil, &storage.Error{Kind: storage.ErrNotFound, Op: "open collection", Href: href,
		Err: fmt.Errorf("no %s:%s collection at %s", nsPrefix(ns), local, redact(u))}
}

func nsPrefix(ns string) string {
	if ns == nsCardDAV {
		return "CR"
	}
	return "C"
}

// addCollection caches a collection we created.
func (s *Storage) addCollection(href string, u *url.URL) {
	id, _ := collectionID(href, s.segment)
	s.mu.Lock()
	s.colls[href] = &collInfo{href: href, url: u, id: id, props: map[string]string{}}
	s.wire[href] = u
	s.mu.Unlock()
}

// dropCollection forgets a deleted collection.
func (s *Storage) dropCollection(href string) {
	s.mu.Lock()
	delete(s.colls, href)
	delete(s.wire, href)
	s.mu.Unlock()
}
