package dav

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// Hrefs (storages.md §2.2) come in two forms:
//   - the wire form, the exact string of a <D:href>, kept for requests in
//     Storage.wire (status form → absolute URL built from the wire string);
//   - the status form, the URL path percent-decoded once, which the engine and the
//     status database see.

// statusForm returns the percent-decoded path of u.
func statusForm(u *url.URL) string {
	return u.Path
}

// resolveHref resolves a wire href against the URL of the request that returned it.
func resolveHref(base *url.URL, wire string) (*url.URL, error) {
	ref, err := url.Parse(wire)
	if err != nil {
		return nil, fmt.Errorf("%w: unusable href %q: %v", storage.ErrInvalidData, wire, err)
	}
	u := base.ResolveReference(ref)
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	return u, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Hostname() + ":443"
	case "http":
		return u.Hostname() + ":80"
	}
	return u.Host
}

// trimSlash removes one trailing slash (for comparing collection paths).
func trimSlash(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// samePath compares decoded paths, ignoring a trailing slash.
func samePath(a, b string) bool { return trimSlash(a) == trimSlash(b) }

// withSlash returns p with a trailing slash.
func withSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// errOrigin builds the item error of the origin rule (sync.md §13.3).
func errOrigin(href, coll string) error {
	return fmt.Errorf("%w: href %s is outside collection %s; refusing to use it", storage.ErrInvalidData, href, coll)
}

// insideCollection checks the origin rule for item URL u of the collection at cu:
// same scheme, host and port, and a path strictly below the collection's path without
// dot segments.
func insideCollection(u, cu *url.URL) bool {
	if !sameOrigin(u, cu) {
		return false
	}
	return insidePath(u.Path, cu.Path)
}

// insidePath reports whether decoded path p names a direct member of collection path
// c: one non-empty segment below it, which is not "." or "..".
func insidePath(p, c string) bool {
	rest, ok := strings.CutPrefix(p, withSlash(c))
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest != "" && rest != "." && rest != ".." && !strings.Contains(rest, "/")
}

// encodePath percent-encodes a decoded path: every byte except
// A–Z a–z 0–9 - . _ ~ / ! $ & ' ( ) * + , ; = : @ (storages.md §2.2).
func encodePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// urlForPath builds the absolute URL for decoded path p on the origin of base, using
// the encoding of encodePath.
func urlForPath(base *url.URL, p string) (*url.URL, error) {
	return resolveHref(base, encodePath(p))
}

// collectionID returns the id of a collection at decoded path p (config.md §7): the
// last non-empty segment, or the one before it for second-last.
func collectionID(p, segment string) (string, error) {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	i := len(segs) - 1
	if segment == SegmentSecondLast {
		i--
	}
	if i < 0 {
		return "", fmt.Errorf("collection href %s has no %s path segment to use as id", p, segment)
	}
	id := segs[i]
	if err := validID(id); err != nil {
		return "", err
	}
	return id, nil
}

func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
		return errors.New("invalid collection id " + quote(id))
	}
	return nil
}

// quote returns s in Go double-quoted form for messages.
func quote(s string) string { return fmt.Sprintf("%q", s) }

// itemName is the base name for a new item (storages.md §1.3 steps 1–2): the ident's
// ASCII letters, digits, '_', '+' and '-', or the hash when nothing or more than 200
// bytes remain.
func itemName(it storage.Item) string {
	var b strings.Builder
	for _, c := range []byte(it.Ident()) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-' {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 || b.Len() > 200 {
		return it.Hash()
	}
	return b.String()
}
