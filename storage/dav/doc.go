// Package dav implements the CalDAV and CardDAV storage backends (storages.md §2): one
// Storage type that speaks to a DAV server over our own HTTP client wrapper and our own
// XML layer on encoding/xml, keeping item bytes, hrefs and etags exactly as the server
// sent them.
//
// The package is split by concern:
//
//	options.go      Options and their validation
//	client.go       HTTP client: auth, user agent, concurrency limit, retries, typed errors
//	transport.go    net/http transport: TLS, Unix sockets, proxy, timeouts
//	errors.go       StatusError and error messages people can act on
//	bootstrap.go    context URL, principal and home sets (storages.md §2.1)
//	srv.go          RFC 6764 SRV/TXT discovery
//	xml.go          multistatus parser and request bodies
//	hrefs.go        wire and status forms, the origin rule, collection ids
//	discover.go     collection discovery and the per-collection cache
//	items.go        listing and multiget fetching
//	synccoll.go     sync-collection and ListSince
//	write.go        PUT and DELETE of items
//	collections.go  MKCALENDAR, extended MKCOL, collection DELETE
//	props.go        collection properties (PROPFIND, PROPPATCH)
//	httpclient.go   NewHTTPClient: the same HTTP setup for other backends (webcal)
//
// Use caldav.New or carddav.New to build a storage from configuration values.
package dav

// Version is the program version used in the default User-Agent "pimsync/<Version>".
// The main package sets it at start-up.
var Version = "dev"
