// Package dav implements the CalDAV and CardDAV storage backends (storages.md §2): one
// Storage type that speaks to a DAV server over our own HTTP client wrapper and our own
// XML layer on encoding/xml, keeping item bytes, hrefs and etags exactly as the server
// sent them.
//
// The package is split by concern:
//
//	options.go      Options and their validation
//	stack.go        the HTTP stack: RoundTripper layers for headers, retries, the
//	                in-flight limit, deadlines and answer size caps
//	auth.go         which origins get the credentials
//	transport.go    net/http transport: TLS, Unix sockets, proxy, connect timeouts
//	client.go       requests with exact wire URLs, status errors, streamed answers
//	errors.go       StatusError, RequestError and messages people can act on
//	bootstrap.go    context URL, principal and home sets (storages.md §2.1); the
//	                principal and home-set lookups go through go-webdav
//	webdav.go       the adapter that gives go-webdav our HTTP stack
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
