package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// This file checks `storage NAME { ... }` blocks (config.md §5).

// typeSet is a set of storage types, for the applicability table of config.md §5.2.
type typeSet uint8

const (
	vdirTypes   typeSet = 1 << iota // vdir/icalendar, vdir/vcard
	davTypes                        // caldav, carddav
	webcalTypes                     // webcal

	httpTypes = davTypes | webcalTypes
	anyType   = vdirTypes | httpTypes
)

func (t StorageType) set() typeSet {
	switch {
	case t.IsVdir():
		return vdirTypes
	case t == TypeCalDAV || t == TypeCardDAV:
		return davTypes
	case t == TypeWebcal:
		return webcalTypes
	}
	return 0
}

var storageTypes = map[string]StorageType{
	string(TypeVdirICalendar): TypeVdirICalendar,
	string(TypeVdirVCard):     TypeVdirVCard,
	string(TypeCalDAV):        TypeCalDAV,
	string(TypeCardDAV):       TypeCardDAV,
	string(TypeWebcal):        TypeWebcal,
}

const (
	defaultInterval = 300
	// maxInterval keeps interval*time.Second within a time.Duration.
	maxInterval = math.MaxInt64 / int64(time.Second)
)

// storage applies a top-level `storage NAME { ... }` directive.
func (c *checker) storage(d *directive) {
	s := &Storage{Name: d.params[0], Pos: c.pos(d.line), Interval: defaultInterval}
	if prev, dup := c.cfg.Storages[s.Name]; dup {
		c.errorf(d.line, "storage `%s` is already defined on line %d", s.Name, prev.Pos.Line)
	} else if s.Name == "" {
		c.errorf(d.line, "a storage name must not be empty")
	} else {
		c.cfg.Storages[s.Name] = s
		c.cfg.StorageOrder = append(c.cfg.StorageOrder, s.Name)
	}
	s.Type = storageType(d.children)
	seen := c.walk(d.children, c.storageRules(s), func(d *directive, r rule) bool {
		if s.Type == "" || r.types&s.Type.set() != 0 {
			return true
		}
		c.errorf(d.line, "`%s` is not valid for storage type %s", d.name, s.Type)
		return false
	})
	if _, ok := seen["type"]; !ok {
		c.errorf(d.line, "storage %s: missing `type`", s.Name)
	}
	if s.Type != "" {
		c.finishStorage(s, seen)
	}
}

// storageType finds a storage's type ahead of the walk, so that the walk can check
// which directives apply. It is "" when the type is missing or invalid; the walk
// reports why.
func storageType(ds []*directive) StorageType {
	for _, d := range ds {
		if d.name == "type" {
			if len(d.params) == 1 && !d.hasBlock {
				return storageTypes[d.params[0]]
			}
			return ""
		}
	}
	return ""
}

func (c *checker) storageRules(s *Storage) map[string]rule {
	readOnly := rule{key: "read_only", types: anyType, apply: func(*directive) { s.ReadOnly = true }}
	value := func(dst *Value) func(*directive) {
		return func(d *directive) { *dst = c.value(d) }
	}
	return map[string]rule{
		"type":      {min: 1, max: 1, types: anyType, apply: c.checkType},
		"interval":  {min: 1, max: 1, types: anyType, apply: func(d *directive) { s.Interval = c.interval(d) }},
		"read_only": readOnly,
		"readonly":  readOnly,
		"path":      {form: valueForm, types: vdirTypes, apply: func(d *directive) { s.Path = c.pathValue(d) }},
		"fileext":   {min: 1, max: 1, types: vdirTypes, apply: func(d *directive) { s.FileExt = c.fileExt(d) }},
		"encoding": {max: -1, types: vdirTypes, apply: func(d *directive) {
			c.errorf(d.line, "encoding is not supported; items are UTF-8")
		}},
		"url":                   {form: valueForm, types: httpTypes, apply: value(&s.URL)},
		"username":              {form: valueForm, types: httpTypes, apply: value(&s.Username)},
		"password":              {form: valueForm, types: httpTypes, apply: value(&s.Password)},
		"collection_id_segment": {min: 1, max: 1, types: davTypes, apply: func(d *directive) { s.CollectionIDSegment = c.idSegment(d) }},
		"socket":                {min: 1, max: 1, types: davTypes, apply: func(d *directive) { s.Socket = c.path(d, d.params[0]) }},
		"user_agent":            {min: 1, max: -1, types: httpTypes, apply: func(d *directive) { s.UserAgent = c.userAgent(d) }},
		"tls_root":              {min: 1, max: 1, types: httpTypes, apply: func(d *directive) { s.TLSRoot = c.path(d, d.params[0]) }},
		"tls_fingerprint":       {min: 1, max: 1, types: httpTypes, apply: func(d *directive) { s.TLSFingerprint = c.fingerprint(d) }},
		"auth_cert": {min: 1, max: 2, types: httpTypes, apply: func(d *directive) {
			s.AuthCert = c.path(d, d.params[0])
			if len(d.params) == 2 {
				s.AuthKey = c.path(d, d.params[1])
			}
		}},
		"connect_timeout": {min: 1, max: 1, types: httpTypes, apply: func(d *directive) { s.ConnectTimeout = c.seconds(d) }},
		"read_timeout":    {min: 1, max: 1, types: httpTypes, apply: func(d *directive) { s.ReadTimeout = c.seconds(d) }},
		"request_timeout": {min: 1, max: 1, types: httpTypes, apply: func(d *directive) { s.RequestTimeout = c.seconds(d) }},
		"collection_id": {min: 1, max: 1, types: webcalTypes, apply: func(d *directive) {
			if c.idOK(d.line, d.params[0]) {
				s.CollectionID = d.params[0]
			}
		}},
	}
}

// requiredDirectives lists what a storage of type t must define (config.md §5.2).
func requiredDirectives(t StorageType) []string {
	switch t.set() {
	case vdirTypes:
		return []string{"path"}
	case davTypes:
		return []string{"url"}
	}
	return []string{"url", "collection_id"}
}

// finishStorage checks what needs the whole block and fills in defaults.
func (c *checker) finishStorage(s *Storage, seen map[string]int) {
	for _, name := range requiredDirectives(s.Type) {
		if _, ok := seen[name]; !ok {
			c.errorf(s.Pos.Line, "storage %s: missing `%s`", s.Name, name)
		}
	}
	switch s.Type.set() {
	case vdirTypes:
		if s.FileExt == "" {
			s.FileExt = defaultFileExt(s.Type)
		}
		return
	case webcalTypes:
		if line, ok := seen["read_only"]; ok {
			c.warnf(line, "`read_only` has no effect: webcal storages are always read-only")
		}
		s.ReadOnly = true
	default:
		if s.CollectionIDSegment == "" {
			s.CollectionIDSegment = "last"
		}
	}
	if s.Password.Set && !s.Username.Set {
		c.warnf(s.Password.Pos.Line, "`password` is ignored because `username` is not set")
	}
	if s.URL.Set && !s.URL.IsDynamic() {
		warning, err := s.checkURL(s.URL.Literal)
		if err != nil {
			c.errorf(s.URL.Pos.Line, "%v", err)
		} else if warning != "" {
			c.warnf(s.URL.Pos.Line, "%s", warning)
		}
	}
}

func defaultFileExt(t StorageType) string {
	if t == TypeVdirVCard {
		return "vcf"
	}
	return "ics"
}

func (c *checker) checkType(d *directive) {
	switch t := d.params[0]; {
	case storageTypes[t] != "":
	case t == "jmap/icalendar" || t == "jmap/vcard":
		c.errorf(d.line, "JMAP storages are not supported by this build")
	default:
		c.errorf(d.line, "unknown storage type %s", t)
	}
}

func (c *checker) interval(d *directive) int {
	p := d.params[0]
	n, err := strconv.ParseInt(p, 10, 64)
	switch {
	case p == "" || strings.Trim(p, "0123456789") != "" || (err != nil && !errors.Is(err, strconv.ErrRange)) || n < 1:
		c.errorf(d.line, "`interval` must be an integer >= 1, got `%s`", p)
	case err != nil || n > maxInterval:
		c.errorf(d.line, "`interval` is too large: %s seconds", p)
	default:
		return int(n)
	}
	return defaultInterval
}

// seconds checks a deadline directive: an integer number of seconds >= 1.
func (c *checker) seconds(d *directive) int {
	p := d.params[0]
	n, err := strconv.ParseInt(p, 10, 64)
	switch {
	case p == "" || strings.Trim(p, "0123456789") != "" || (err != nil && !errors.Is(err, strconv.ErrRange)) || n < 1:
		c.errorf(d.line, "`%s` must be a number of seconds >= 1, got `%s`", d.name, p)
	case err != nil || n > maxInterval:
		c.errorf(d.line, "`%s` is too large: %s seconds", d.name, p)
	default:
		return int(n)
	}
	return 0
}

// days checks a number of days from 1 to 3650.
func (c *checker) days(d *directive) int {
	p := d.params[0]
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 3650 || strings.Trim(p, "0123456789") != "" {
		c.errorf(d.line, "`%s` must be a number of days from 1 to 3650, got `%s`", d.name, p)
		return 0
	}
	return n
}

// maxSize is the largest max_item_size (1 GiB): an item is held in memory whole.
const maxSize = 1 << 30

// size checks a size in bytes: digits with an optional K, M or G suffix (KiB, MiB,
// GiB), at least 1 KiB and at most 1 GiB.
func (c *checker) size(d *directive) int64 {
	p := d.params[0]
	digits, mult := p, int64(1)
	if n := len(p); n > 0 {
		switch p[n-1] {
		case 'K', 'k':
			digits, mult = p[:n-1], 1<<10
		case 'M', 'm':
			digits, mult = p[:n-1], 1<<20
		case 'G', 'g':
			digits, mult = p[:n-1], 1<<30
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	switch {
	case digits == "" || strings.Trim(digits, "0123456789") != "" || (err != nil && !errors.Is(err, strconv.ErrRange)):
		c.errorf(d.line, "`%s` must be a size in bytes, optionally with K, M or G, got `%s`", d.name, p)
	case err != nil || n > maxSize/mult || n*mult > maxSize:
		c.errorf(d.line, "`%s` is too large: %s (at most 1G)", d.name, p)
	case n*mult < 1<<10:
		c.errorf(d.line, "`%s` is too small: %s (at least 1K)", d.name, p)
	default:
		return n * mult
	}
	return 0
}

func (c *checker) fileExt(d *directive) string {
	ext := strings.TrimPrefix(d.params[0], ".")
	if ext == "" {
		c.errorf(d.line, "`fileext` must not be empty")
	}
	return ext
}

func (c *checker) idSegment(d *directive) string {
	v := d.params[0]
	if v != "last" && v != "second-last" {
		c.errorf(d.line, "collection_id_segment must be `last` or `second-last`")
		return ""
	}
	return v
}

func (c *checker) userAgent(d *directive) string {
	ua := strings.Join(d.params, "")
	if ua == "" {
		c.errorf(d.line, "`user_agent` must not be empty")
	}
	return ua
}

// fingerprint normalises a SHA-256 certificate fingerprint to 64 lower-case hex
// digits without colons.
func (c *checker) fingerprint(d *directive) string {
	fp := strings.ToLower(strings.ReplaceAll(d.params[0], ":", ""))
	if _, err := hex.DecodeString(fp); err != nil || len(fp) != 64 {
		c.errorf(d.line, "`tls_fingerprint` must be a SHA-256 fingerprint: 64 hex digits, colons allowed")
		return ""
	}
	return fp
}

// CheckURL validates the storage's URL for its type (config.md §5.4, §5.5) and sets
// Socket from a unix:// URL. Parse does this for a literal URL; a dynamic one can only
// be checked once resolved, which ResolveFor and ResolveStorages do. It may be called
// more than once. The warnings say when TLS directives have no effect.
func (s *Storage) CheckURL() ([]Warning, error) {
	raw, ok := s.URL.current()
	if !ok {
		return nil, &Error{Pos: s.URL.Pos, Msg: "url: the command has not been run yet"}
	}
	warning, err := s.checkURL(raw)
	if err != nil {
		return nil, &Error{Pos: s.URL.Pos, Msg: err.Error()}
	}
	if warning == "" {
		return nil, nil
	}
	return []Warning{{Pos: s.URL.Pos, Msg: warning}}, nil
}

// checkURL is CheckURL for the URL raw. Its messages never quote the URL, which may
// come from a command and hold a secret.
func (s *Storage) checkURL(raw string) (warning string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("`url` is not a valid URL: %v", err)
	}
	allowed := "http or https"
	if s.Type != TypeWebcal {
		allowed = "http, https or unix"
	}
	switch {
	case u.Scheme == "":
		return "", errors.New("`url` must be an absolute URL with a scheme, such as https://")
	case s.Type == TypeWebcal && (u.Scheme == "webcal" || u.Scheme == "webcals"):
		return "", fmt.Errorf("%s:// URLs are not supported; write https:// instead", u.Scheme)
	case u.Scheme == "unix" && s.Type != TypeWebcal:
		return s.tlsWarning("Unix-socket storages"), s.useUnixURL(u)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("unsupported URL scheme `%s` for storage type %s (use %s)", u.Scheme, s.Type, allowed)
	case u.Host == "" && s.Socket == "":
		return "", errors.New("`url` has no host")
	case s.Socket != "":
		return s.tlsWarning("Unix-socket storages"), nil
	case u.Scheme == "http":
		return s.tlsWarning("http:// URLs"), nil
	}
	return "", nil
}

// useUnixURL sets Socket from a unix:///path URL.
func (s *Storage) useUnixURL(u *url.URL) error {
	if u.Host != "" || u.OmitHost || u.Opaque != "" || u.User != nil || !path.IsAbs(u.Path) ||
		u.RawQuery != "" || u.Fragment != "" {
		return errors.New("a Unix-socket URL must have the form unix:///path/to/socket")
	}
	if s.Socket != "" && !s.urlSocket {
		return errors.New("`socket` cannot be combined with a unix:// URL")
	}
	s.Socket, s.urlSocket = u.Path, true
	return nil
}

// tlsWarning returns a warning naming the TLS directives that have no effect on where,
// or "" when there are none.
func (s *Storage) tlsWarning(where string) string {
	var names []string
	for _, f := range []struct{ name, value string }{
		{"tls_root", s.TLSRoot}, {"tls_fingerprint", s.TLSFingerprint}, {"auth_cert", s.AuthCert},
	} {
		if f.value != "" {
			names = append(names, "`"+f.name+"`")
		}
	}
	if len(names) == 0 {
		return ""
	}
	return strings.Join(names, ", ") + " ignored: TLS is not used for " + where
}

// BaseURL returns the storage's URL as an HTTP client uses it: for a unix:// URL that
// is http://localhost/, the requests going over Socket. The URL must be resolved and
// checked (see CheckURL).
func (s *Storage) BaseURL() (*url.URL, error) {
	if s.urlSocket {
		return &url.URL{Scheme: "http", Host: "localhost", Path: "/"}, nil
	}
	return url.Parse(s.URL.Get())
}
