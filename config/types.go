package config

// This file is the typed result of parsing pimsync.conf (config.md). The parser fills it;
// cmd/pimsync turns storages into backends and the engine consumes pairs.

// Config is a whole parsed configuration file.
type Config struct {
	Path       string // the file it was read from
	StatusPath Value  // status_path (may be dynamic)
	// MaxItemSize is max_item_size in bytes (our extension), 0 when not set: the
	// largest item any storage reads.
	MaxItemSize int64
	Storages    map[string]*Storage
	Pairs       map[string]*Pair
	// StorageOrder and PairOrder list names in file order.
	StorageOrder []string
	PairOrder    []string
	// Warnings lists the problems found that are not errors, in line order. The package
	// never prints them.
	Warnings []Warning
}

// Pos is a location in the config file.
type Pos struct {
	File string
	Line int
}

// Value is a directive parameter that is either a literal or computed by a `cmd`/`shell`
// block (config.md §3). Resolve runs the command at most once and caches the result.
type Value struct {
	Set     bool     // the directive was given at all
	Literal string   // the literal parameter, when Cmd and Shell are empty
	Cmd     []string // `cmd PROG ARG...`
	Shell   string   // `shell TEXT...` joined by single spaces
	Pos     Pos      // where the directive is
	Name    string   // the directive name, for messages ("password", "url", ...)

	resolved bool
	result   string
}

// IsDynamic reports whether the value comes from a command.
func (v *Value) IsDynamic() bool { return len(v.Cmd) > 0 || v.Shell != "" }

// StorageType is a storage's `type`.
type StorageType string

const (
	TypeVdirICalendar StorageType = "vdir/icalendar"
	TypeVdirVCard     StorageType = "vdir/vcard"
	TypeCalDAV        StorageType = "caldav"
	TypeCardDAV       StorageType = "carddav"
	TypeWebcal        StorageType = "webcal"
)

// IsCalendar reports whether the type holds calendars (vs contacts).
func (t StorageType) IsCalendar() bool {
	return t == TypeVdirICalendar || t == TypeCalDAV || t == TypeWebcal
}

// IsVdir reports whether the type is a local vdir.
func (t StorageType) IsVdir() bool { return t == TypeVdirICalendar || t == TypeVdirVCard }

// Storage is one `storage NAME { ... }` block.
type Storage struct {
	Name     string
	Pos      Pos
	Type     StorageType
	Interval int  // seconds; default 300
	ReadOnly bool // read_only / readonly; always true for webcal

	// vdir
	Path    Value
	FileExt string // without leading dot; default ics / vcf

	// caldav, carddav, webcal
	URL                 Value
	Username            Value
	Password            Value
	CollectionIDSegment string // "last" (default) or "second-last"
	Socket              string // path, "" if none (also set from a unix:// URL)
	UserAgent           string // "" means the default pimsync/<version>
	TLSRoot             string // path or ""
	TLSFingerprint      string // 64 lower-case hex digits (colons removed) or ""
	AuthCert            string // certificate (or combined PEM) path, or ""
	AuthKey             string // key path when two files were given, or ""

	// Deadlines of caldav, carddav and webcal storages (our extensions), in seconds;
	// 0 when not set (the defaults apply).
	ConnectTimeout int // connect_timeout: connecting and the TLS handshake
	ReadTimeout    int // read_timeout: the answer's headers, and every pause in its body
	RequestTimeout int // request_timeout: a whole request, plus 1 s per 64 KiB moved

	// webcal
	CollectionID string

	urlSocket bool // Socket was derived from a unix:// URL rather than `socket`
}

// Collections modes of a pair.
const (
	CollectionsAll   = "all"
	CollectionsFromA = "from a"
	CollectionsFromB = "from b"
)

// Pair is one `pair NAME { ... }` block.
type Pair struct {
	Name     string
	Pos      Pos
	StorageA string
	StorageB string

	// Collections holds the `collections ...` modes in file order ("all", "from a",
	// "from b"), duplicates kept.
	Collections []string
	// Explicit holds `collection ID` and `collection { ... }` mappings in file order.
	Explicit []Mapping

	OnEmpty  string // "skip" (default) or "sync"
	OnDelete string // "sync" (default) or "skip"

	// ConflictResolution: "" (none), "keep a", "keep b" or "cmd"; ResolverCmd holds the
	// program and arguments for "cmd".
	ConflictResolution string
	ResolverCmd        []string

	OneWay bool
}

// Mapping is one explicit collection mapping. For `collection ID`, Alias, IDA and IDB are
// all ID. For a block, exactly one of IDA/HrefA and one of IDB/HrefB is set.
type Mapping struct {
	Pos   Pos
	Alias string
	IDA   string
	HrefA string
	IDB   string
	HrefB string
}
