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
	// TrashMaxSize (bytes) and TrashMaxAgeDays bound each pair's trash (our
	// extensions, trash_max_size and trash_max_age); 0 when not set.
	TrashMaxSize    int64
	TrashMaxAgeDays int
	Storages        map[string]*Storage
	Pairs           map[string]*Pair
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

	OnEmpty  OnEmpty  // `on_empty` (default skip)
	OnDelete OnDelete // `on_delete` (default sync)

	// ConflictResolution is `conflict_resolution`; ResolverCmd holds the program and
	// arguments for `cmd`.
	ConflictResolution Resolution
	ResolverCmd        []string

	OneWay bool
}

// OnEmpty is the `on_empty` policy (sync.md §7).
type OnEmpty int

const (
	OnEmptySkip OnEmpty = iota // the default: an emptied side is protected
	OnEmptySync                // propagate the emptying
)

func (o OnEmpty) String() string {
	if o == OnEmptySync {
		return "sync"
	}
	return "skip"
}

// OnDelete is the `on_delete` policy (sync.md §5.2).
type OnDelete int

const (
	OnDeleteSync OnDelete = iota // the default: a deleted collection is deleted on the other side
	OnDeleteSkip                 // leave the mapping alone
)

func (o OnDelete) String() string {
	if o == OnDeleteSkip {
		return "skip"
	}
	return "sync"
}

// Resolution is the `conflict_resolution` policy (sync.md §9).
type Resolution int

const (
	ResolveNone  Resolution = iota // no resolution: conflicts stay for a person
	ResolveKeepA                   // `keep a`, applied during sync
	ResolveKeepB                   // `keep b`, applied during sync
	ResolveCmd                     // `cmd PROGRAM [ARG...]`, run by resolve-conflicts and the TUI
	// ResolveMerge (`merge`, ours): sync merges conflicts whose sides changed different
	// properties since the last sync; the others stay for a person.
	ResolveMerge
	// ResolveKeepBoth (`keep both`, ours): sync keeps a's version under the item's UID
	// and b's as a new item with a new UID, marked "(conflict copy)", on both sides.
	ResolveKeepBoth
)

// String is the configuration text ("" for none).
func (r Resolution) String() string {
	switch r {
	case ResolveKeepA:
		return "keep a"
	case ResolveKeepB:
		return "keep b"
	case ResolveCmd:
		return "cmd"
	case ResolveMerge:
		return "merge"
	case ResolveKeepBoth:
		return "keep both"
	}
	return ""
}

// Automatic reports whether sync itself resolves conflicts (keep a, keep b, keep both).
func (r Resolution) Automatic() bool {
	return r == ResolveKeepA || r == ResolveKeepB || r == ResolveKeepBoth
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
