package status

import "errors"

// Row is one status row of the items table: what the last run recorded for one ident in
// one mapping (sync.md §3.4). Etags are "" when unknown (stored as the empty string,
// never as NULL; a NULL read back is "").
type Row struct {
	Ident string
	Hash  string // 64 upper-case hex digits
	HrefA string
	ETagA string
	HrefB string
	ETagB string
}

// Mapping is one row of the collections table.
type Mapping struct {
	UID   int64
	HrefA string
	HrefB string
}

// Token is a saved collection change token (extension table x_collection_tokens,
// sync.md §3.7).
type Token struct {
	Href      string // collection href the token belongs to
	Kind      string // "sync-token", "ctag", "http-etag", "http-last-modified"
	Value     string
	ItemCount int // number of status rows of the mapping when it was saved
}

// Pending is a write in flight (x_pending_writes): recorded before an upload starts,
// removed with the status row that describes its outcome.
type Pending struct {
	Ident       string
	Side        Side   // the side written
	Hash        string // hash of the text written
	Fingerprint string // storage.Fingerprint of the text written ("" in old records)
	Create      bool   // a create (else an update)
	// The source item when the write began, and the target item it replaced ("" for
	// a create).
	SrcHref, SrcETag string
	TgtHref, TgtETag string
}

// Side names one side of a pair; its value is what x_collection_tokens.side stores.
type Side string

// The two sides of a pair.
const (
	SideA Side = "a"
	SideB Side = "b"
)

var (
	// ErrNoUpdate: a compare-and-swap update matched no row (a concurrent writer, or a
	// plan built on stale status). Fatal for the pair's run.
	ErrNoUpdate = errors.New("status row changed concurrently (compare-and-swap matched no row)")
	// ErrUnsupportedVersion: the file has a schema version we do not know.
	ErrUnsupportedVersion = errors.New("unsupported status schema version")
)
