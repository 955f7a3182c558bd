package dav

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

// Options configure one CalDAV or CardDAV storage. They mirror the storage directives
// of config.md §5.4; the values are already resolved (cmd/shell run) and checked by the
// config package.
type Options struct {
	Name string       // storage name, used in messages
	Kind storage.Kind // storage.Calendars (CalDAV) or storage.Contacts (CardDAV)

	// URL is the bootstrap starting point: http(s)://…, or unix:///path/to/socket
	// (HTTP over that socket, request path "/", Host "localhost").
	URL string
	// Socket, when set, makes every request go over this Unix socket; URL then only
	// gives the request path and Host. Discovery (SRV, .well-known) is skipped.
	Socket string

	// Basic auth is sent on every request when HasAuth is set or Username is not
	// empty (a `username` directive with an empty value still sends auth).
	Username, Password string
	HasAuth            bool

	UserAgent string // "" means "pimsync"; the program passes "pimsync/<version>"

	// Timeouts are the deadlines of every request (connect_timeout, read_timeout,
	// request_timeout); zero fields mean the defaults.
	Timeouts Timeouts
	// MaxItemSize is the largest item read (max_item_size); 0 means
	// storage.DefaultMaxItemSize. A larger item is not fetchable
	// (*storage.TooLargeError), and answers are capped accordingly.
	MaxItemSize int64

	TLSRoot        string // PEM file replacing the system roots
	TLSFingerprint string // SHA-256 of the leaf certificate (hex, colons allowed)
	AuthCert       string // client certificate (or combined certificate and key) PEM
	AuthKey        string // client key PEM when separate from AuthCert

	// CollectionIDSegment is "last" (default) or "second-last" (config.md §7).
	CollectionIDSegment string

	Logger *slog.Logger // nil: discard

	// BootstrapCache, when set, is a file where the bootstrap result is kept between
	// runs (see bootcache.go). Leave it empty for runs that must not write (sync -n)
	// or must verify the server (check).
	BootstrapCache string

	// Resolver is used for RFC 6764 SRV and TXT lookups; nil means net.DefaultResolver.
	// Tests inject their own.
	Resolver Resolver
	// Sleep waits between retries; nil means a context-aware time.Sleep. Tests inject a
	// function that does not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Resolver is the part of *net.Resolver used for RFC 6764 discovery.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Collection id segments.
const (
	SegmentLast       = "last"
	SegmentSecondLast = "second-last"
)

// endpoint is the parsed form of URL and Socket.
type endpoint struct {
	base   *url.URL      // absolute http(s) URL requests are made against, without user info
	socket string        // Unix socket path or ""
	user   *url.Userinfo // user info of URL, if it had any (never logged or saved)
}

func (o *Options) endpoint() (endpoint, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return endpoint{}, fmt.Errorf("url is not a valid URL: %w", err)
	}
	ep := endpoint{socket: o.Socket}
	switch u.Scheme {
	case "unix":
		if o.Socket != "" {
			return endpoint{}, errors.New("socket cannot be combined with a unix:// URL")
		}
		if u.Host != "" || !path.IsAbs(u.Path) {
			return endpoint{}, errors.New("a Unix-socket URL must have the form unix:///path/to/socket")
		}
		ep.socket = u.Path
		ep.base = &url.URL{Scheme: "http", Host: "localhost", Path: "/"}
	case "http", "https":
		if u.Host == "" && o.Socket == "" {
			return endpoint{}, errors.New("url has no host")
		}
		ep.user, u.User = u.User, nil
		u.Fragment, u.RawFragment = "", ""
		if u.Path == "" {
			u.Path = "/"
		}
		if ep.socket != "" {
			u.Scheme = "http"
			if u.Host == "" {
				u.Host = "localhost"
			}
		}
		ep.base = u
	default:
		return endpoint{}, fmt.Errorf("unsupported URL scheme %q (use http, https or unix)", u.Scheme)
	}
	return ep, nil
}

func (o *Options) segment() (string, error) {
	switch o.CollectionIDSegment {
	case "", SegmentLast:
		return SegmentLast, nil
	case SegmentSecondLast:
		return SegmentSecondLast, nil
	}
	return "", errors.New("collection_id_segment must be `last` or `second-last`")
}

func (o *Options) userAgent() string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "pimsync"
}

func (o *Options) maxItem() int64 {
	if o.MaxItemSize > 0 {
		return o.MaxItemSize
	}
	return storage.DefaultMaxItemSize
}

func (o *Options) sendsAuth() bool { return o.HasAuth || o.Username != "" }

// credentialsFrom takes the credentials from the URL's user info when no username is
// configured (https://user:password@host/).
func (o *Options) credentialsFrom(ep endpoint) {
	if ep.user == nil || o.sendsAuth() {
		return
	}
	o.Username = ep.user.Username()
	o.Password, _ = ep.user.Password()
	o.HasAuth = true
}

// normFingerprint turns "AB:cd:…" into lower-case hex without colons.
func normFingerprint(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}
