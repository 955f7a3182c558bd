// Package vdirsyncer converts a vdirsyncer configuration file into an equivalent
// pimsync.conf: storages, pairs, collections, conflict resolution, fetch commands and
// TLS options, with a "# vdirsyncer:" comment wherever an option has no exact
// equivalent. `pimsync migrate-vdirsyncer` prints the result;
// docs/migrating-from-vdirsyncer.md explains how to switch over without re-uploading
// anything.
package vdirsyncer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Result is a converted configuration.
type Result struct {
	// Config is the pimsync.conf text.
	Config string
	// Storages and Pairs count what was converted; Notes the "# vdirsyncer:" comments
	// that need a look.
	Storages, Pairs, Notes int
}

// Convert converts the vdirsyncer configuration data read from file (the name is used
// in messages and in the header comment). Syntax errors name the file and line.
func Convert(file string, data []byte) (*Result, error) {
	vc, err := parseVdirsyncerConfig(file, data)
	if err != nil {
		return nil, err
	}
	m := newMigration(file, vc)
	out := m.convert()
	return &Result{Config: out, Storages: m.nStorages, Pairs: m.nPairs, Notes: m.nNotes}, nil
}

// DefaultPath finds vdirsyncer's configuration the way vdirsyncer does:
// $VDIRSYNCER_CONFIG, else ~/.vdirsyncer/config if it exists, else
// $XDG_CONFIG_HOME/vdirsyncer/config (XDG_CONFIG_HOME defaulting to ~/.config).
func DefaultPath() (string, error) {
	return vdirsyncerConfigPath()
}

// vdirsyncerConfigPath finds vdirsyncer's configuration the way vdirsyncer does:
// $VDIRSYNCER_CONFIG, else ~/.vdirsyncer/config if it exists, else
// $XDG_CONFIG_HOME/vdirsyncer/config (XDG_CONFIG_HOME defaulting to ~/.config).
func vdirsyncerConfigPath() (string, error) {
	if p := os.Getenv("VDIRSYNCER_CONFIG"); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("cannot find the vdirsyncer configuration: HOME is not set; name the file")
	}
	p := filepath.Join(home, ".vdirsyncer", "config")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".config")
	}
	return filepath.Join(xdg, "vdirsyncer", "config"), nil
}

// --- reading the vdirsyncer file ---------------------------------------------------

// vdsOption is one `key = value` of a vdirsyncer section; value is the JSON-decoded
// value (string, bool, json.Number, nil, []any or map[string]any).
type vdsOption struct {
	key   string
	raw   string
	value any
	line  int
}

// vdsSection is one `[kind name]` section.
type vdsSection struct {
	kind, name string
	line       int
	options    []vdsOption
}

func (s *vdsSection) get(key string) (vdsOption, bool) {
	for _, o := range s.options {
		if o.key == key {
			return o, true
		}
	}
	return vdsOption{}, false
}

func (s *vdsSection) str(key string) string {
	o, _ := s.get(key)
	v, _ := o.value.(string)
	return v
}

type vdsConfig struct {
	general  *vdsSection
	storages map[string]*vdsSection
	pairs    map[string]*vdsSection
	order    []*vdsSection // every section in file order
}

var iniOption = regexp.MustCompile(`^(.*?)\s*[=:]\s*(.*)$`)

// parseVdirsyncerConfig reads the INI dialect of Python's RawConfigParser, as
// vdirsyncer does: `[section]` headers, `key = value` or `key: value` (keys are
// lower-cased), whole-line comments starting with # or ;, and continuation lines
// indented deeper than their key. Every value must be JSON.
func parseVdirsyncerConfig(file string, data []byte) (*vdsConfig, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	vc := &vdsConfig{storages: map[string]*vdsSection{}, pairs: map[string]*vdsSection{}}
	var errs []string
	errorf := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	var cur *vdsSection
	curOpt := -1 // index of the option that continuation lines extend
	curIndent := 0
	names := map[string]int{}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			if trimmed == "" && cur != nil && curOpt >= 0 {
				cur.options[curOpt].raw += "\n"
			}
			continue
		}
		if cur != nil && curOpt >= 0 && indent > curIndent {
			cur.options[curOpt].raw += "\n" + trimmed
			continue
		}
		curOpt = -1
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") && len(trimmed) > 2 {
			header := trimmed[1 : len(trimmed)-1]
			kind, name, found := strings.Cut(header, " ")
			if !found {
				name = kind
			}
			cur = &vdsSection{kind: kind, name: name, line: n}
			if first, dup := names[header]; dup {
				errorf(n, "section [%s] already defined on line %d", header, first)
			}
			names[header] = n
			vc.order = append(vc.order, cur)
			switch kind {
			case "general":
				vc.general = cur
			case "storage":
				vc.storages[name] = cur
			case "pair":
				vc.pairs[name] = cur
			}
			continue
		}
		if cur == nil {
			errorf(n, "option outside of a section")
			continue
		}
		m := iniOption.FindStringSubmatch(trimmed)
		if m == nil || m[1] == "" {
			errorf(n, "not an option, section header or comment: %q", trimmed)
			continue
		}
		key := strings.ToLower(m[1])
		if _, dup := cur.get(key); dup {
			errorf(n, "option %s already given in section [%s]", key, cur.kind+" "+cur.name)
			continue
		}
		cur.options = append(cur.options, vdsOption{key: key, raw: m[2], line: n})
		curOpt, curIndent = len(cur.options)-1, indent
	}
	for _, s := range vc.order {
		for i := range s.options {
			o := &s.options[i]
			o.raw = strings.TrimSpace(o.raw)
			dec := json.NewDecoder(strings.NewReader(o.raw))
			dec.UseNumber()
			if err := dec.Decode(&o.value); err != nil {
				errorf(o.line, "option %s: the value is not valid JSON (vdirsyncer requires quoted strings, true/false, null or lists): %s", o.key, o.raw)
				continue
			}
			if dec.More() {
				errorf(o.line, "option %s: unexpected text after the value: %s", o.key, o.raw)
			}
		}
	}
	if vc.general == nil && len(errs) == 0 {
		errorf(1, "no [general] section: is this a vdirsyncer configuration?")
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return vc, nil
}

// --- writing pimsync.conf ------------------------------------------------------------

// confWriter builds scfg text with four-space indentation.
type confWriter struct {
	b      strings.Builder
	indent int
}

func (w *confWriter) line(s string) {
	if s != "" {
		w.b.WriteString(strings.Repeat("    ", w.indent))
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// dir writes a directive; words are quoted as needed.
func (w *confWriter) dir(name string, params ...string) {
	parts := []string{name}
	for _, p := range params {
		parts = append(parts, scfgQuote(p))
	}
	w.line(strings.Join(parts, " "))
}

func (w *confWriter) open(name string, params ...string) {
	parts := []string{name}
	for _, p := range params {
		parts = append(parts, scfgQuote(p))
	}
	w.line(strings.Join(append(parts, "{"), " "))
	w.indent++
}

func (w *confWriter) close() {
	w.indent--
	w.line("}")
}

// comment writes a comment, wrapped at about 88 columns.
func (w *confWriter) comment(text string) {
	width := 86 - 4*w.indent
	for _, para := range strings.Split(text, "\n") {
		line := "#"
		for _, word := range strings.Fields(para) {
			if len(line)+1+len(word) > width && line != "#" {
				w.line(line)
				line = "#  "
			}
			line += " " + word
		}
		w.line(line)
	}
}

var bareWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./~-]+$`)

// scfgQuote quotes a parameter for pimsync.conf when it is not a plain word.
func scfgQuote(s string) string {
	if bareWord.MatchString(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

var shWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shQuote quotes a word for sh -c.
func shQuote(s string) string {
	if shWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// --- the conversion -------------------------------------------------------------------

// migration converts one parsed vdirsyncer configuration.
type migration struct {
	file string
	vc   *vdsConfig
	w    confWriter
	home string

	// single reports the storages used with `collections = null` (or a null side of
	// a [alias, a, b] entry): their path or url points at one collection.
	single map[string]bool
	// discovering reports the storages used in pairs that discover collections.
	discovering map[string]bool
	// skipped holds the storages that have no pimsync equivalent.
	skipped map[string]bool

	nStorages, nPairs, nNotes int
}

func newMigration(file string, vc *vdsConfig) *migration {
	home, _ := os.UserHomeDir()
	return &migration{file: file, vc: vc, home: home,
		single: map[string]bool{}, discovering: map[string]bool{}, skipped: map[string]bool{}}
}

// note writes a "# vdirsyncer:" comment, the marker users search for.
func (m *migration) note(format string, args ...any) {
	m.nNotes++
	m.w.comment("vdirsyncer: " + fmt.Sprintf(format, args...))
}

func (m *migration) storageType(name string) string {
	if s, ok := m.vc.storages[name]; ok {
		return s.str("type")
	}
	return ""
}

func (m *migration) readOnly(name string) bool {
	s, ok := m.vc.storages[name]
	if !ok {
		return false
	}
	if s.str("type") == "http" {
		return true
	}
	o, _ := s.get("read_only")
	b, _ := o.value.(bool)
	return b
}

// convert returns the pimsync.conf text.
func (m *migration) convert() string {
	m.w.comment(fmt.Sprintf("pimsync.conf converted by \"pimsync migrate-vdirsyncer\" from %s.", m.file))
	m.w.comment("Review every comment starting with \"vdirsyncer:\", then run `pimsync check` and `pimsync sync -n` before the first real sync. See pimsync.conf(5), and pimsync(1) on migrating from vdirsyncer.")
	m.w.line("")
	m.scanPairs()
	m.general()
	for _, s := range m.vc.order {
		switch s.kind {
		case "general":
		case "storage":
			m.w.line("")
			m.storage(s)
		case "pair":
			m.w.line("")
			m.pair(s)
		default:
			m.w.line("")
			m.note("section [%s %s] (line %d) is not a vdirsyncer section; ignored.", s.kind, s.name, s.line)
		}
	}
	return m.w.b.String()
}

// scanPairs finds which storages are used as single collections and which discover.
func (m *migration) scanPairs() {
	for _, p := range m.vc.pairs {
		a, b := p.str("a"), p.str("b")
		o, ok := p.get("collections")
		if !ok || !convertible(m.storageType(a)) || !convertible(m.storageType(b)) {
			continue
		}
		list, isList := o.value.([]any)
		if o.value == nil {
			m.single[a], m.single[b] = true, true
			continue
		}
		if !isList {
			continue
		}
		for _, e := range list {
			triple, ok := e.([]any)
			if !ok || len(triple) != 3 {
				m.discovering[a], m.discovering[b] = true, true
				continue
			}
			for i, side := range []string{a, b} {
				if triple[i+1] == nil {
					m.single[side] = true
				} else {
					m.discovering[side] = true
				}
			}
		}
	}
}

// convertible reports whether a vdirsyncer storage type has a pimsync equivalent.
func convertible(typ string) bool {
	switch typ {
	case "filesystem", "caldav", "carddav", "http":
		return true
	}
	return false
}

func (m *migration) general() {
	g := m.vc.general
	if g != nil {
		for _, o := range g.options {
			switch o.key {
			case "status_path":
				m.w.comment(fmt.Sprintf("vdirsyncer kept its status in %s. pimsync's status database has another format, so pimsync starts a fresh one: its first sync records the items that are equal on both sides and writes nothing for them.", o.raw))
			default:
				m.note("[general] option %s has no equivalent; ignored.", o.key)
			}
		}
	}
	m.w.dir("status_path", "~/.local/share/pimsync/status/")
}

// vdirType chooses vdir/icalendar or vdir/vcard for a filesystem storage: from the
// DAV storages it is paired with, else from its file extension.
func (m *migration) vdirType(s *vdsSection) (string, bool) {
	for _, p := range m.vc.pairs {
		a, b := p.str("a"), p.str("b")
		other := ""
		switch s.name {
		case a:
			other = b
		case b:
			other = a
		default:
			continue
		}
		switch m.storageType(other) {
		case "caldav", "http", "google_calendar":
			return "vdir/icalendar", true
		case "carddav", "google_contacts":
			return "vdir/vcard", true
		}
	}
	switch strings.ToLower(strings.TrimPrefix(s.str("fileext"), ".")) {
	case "vcf", "vcard":
		return "vdir/vcard", true
	case "ics", "ical", "ifb":
		return "vdir/icalendar", true
	}
	return "vdir/icalendar", false
}

// singlePath splits the path of a filesystem storage used with `collections = null`
// into pimsync's storage root and the collection id (the directory name).
func singlePath(p string) (root, id string) {
	clean := path.Clean(strings.TrimRight(p, "/"))
	root, id = path.Dir(clean), path.Base(clean)
	if root == "~" {
		root = "~/"
	}
	return root, id
}

// collectionID makes a webcal collection id from a storage name.
func collectionID(name string) string {
	id := strings.Trim(strings.ReplaceAll(name, "/", "_"), ".")
	if id == "" {
		id = "feed"
	}
	return id
}

func (m *migration) storage(s *vdsSection) {
	typ := s.str("type")
	pimType := ""
	switch typ {
	case "filesystem":
		t, sure := m.vdirType(s)
		pimType = t
		if !sure {
			m.note("storage %s: could not tell calendars from contacts (no DAV partner, fileext %q); assumed calendars. Change the type to vdir/vcard for contacts.", s.name, s.str("fileext"))
		}
	case "caldav", "carddav":
		pimType = typ
	case "http":
		pimType = "webcal"
	case "singlefile":
		m.skipStorage(s, "singlefile storages (one .ics or .vcf file holding everything) are not supported. Split the file into a vdir (one file per item, e.g. with `vdirsyncer` itself or khal's import) and sync that directory as a vdir storage.")
		return
	case "google_calendar", "google_contacts":
		m.skipStorage(s, "pimsync has no Google OAuth of its own. Run a local OAuth-handling CalDAV/CardDAV proxy and use a caldav/carddav storage pointing at it (see pimsync.conf(5), the example with collection_id_segment second-last).")
		return
	case "":
		m.skipStorage(s, "the storage has no type.")
		return
	default:
		m.skipStorage(s, fmt.Sprintf("storage type %q has no pimsync equivalent.", typ))
		return
	}
	m.nStorages++
	single := m.single[s.name]
	if typ == "filesystem" && single && m.discovering[s.name] {
		m.note("storage %s is used both as a single collection (collections = null) and as a directory of collections; this file uses it as a directory of collections for the pairs that discover, so check the pairs using it.", s.name)
		single = false
	}
	m.w.open("storage", s.name)
	m.w.dir("type", pimType)
	if typ == "http" {
		m.w.dir("collection_id", collectionID(s.name))
	}
	for _, o := range s.options {
		m.storageOption(s, typ, o, single)
	}
	m.w.close()
}

// skipStorage writes the storage as a comment; pairs using it are commented out too.
func (m *migration) skipStorage(s *vdsSection, why string) {
	m.skipped[s.name] = true
	m.note("storage %s (type %s) is left out: %s", s.name, s.str("type"), why)
	for _, o := range s.options {
		if isSecretKey(o.key) {
			m.w.line(fmt.Sprintf("#   %s = …", o.key))
			continue
		}
		m.w.line(fmt.Sprintf("#   %s = %s", o.key, strings.ReplaceAll(o.raw, "\n", " ")))
	}
}

func isSecretKey(key string) bool {
	k := strings.TrimSuffix(key, ".fetch")
	return k == "password" || k == "client_secret" || k == "token_file"
}

// storageOption converts one option of a storage section.
func (m *migration) storageOption(s *vdsSection, typ string, o vdsOption, single bool) {
	key, fetch := strings.CutSuffix(o.key, ".fetch")
	dav := typ == "caldav" || typ == "carddav" || typ == "http"
	switch {
	case key == "type":
		return
	case fetch:
		switch {
		case key == "url" && dav, key == "username" && dav, key == "password" && dav:
			m.fetchValue(key, o)
		case key == "path" && typ == "filesystem":
			if single {
				m.note("storage %s: path.fetch points at a single collection; pimsync's path is the directory that holds collections. Change the command to print the parent directory.", s.name)
			}
			m.fetchValue("path", o)
		default:
			m.note("option %s.fetch has no equivalent (pimsync runs commands only for status_path, path, url, username and password); ignored.", key)
		}
		return
	}
	str, isStr := o.value.(string)
	switch key {
	case "instance_name", "collection":
		m.note("option %s is internal to vdirsyncer; ignored.", key)
	case "read_only":
		b, ok := o.value.(bool)
		switch {
		case !ok:
			m.note("read_only = %s is not true or false; ignored.", o.raw)
		case b && typ != "http": // webcal storages are always read-only
			m.w.dir("read_only")
		}
	case "url", "username", "password":
		if !dav || !isStr {
			m.note("option %s = %s is not valid here; ignored.", key, redact(key, o.raw))
			return
		}
		m.w.dir(key, str)
	case "path":
		if typ != "filesystem" || !isStr {
			m.note("option path is not valid for type %s; ignored.", typ)
			return
		}
		if single {
			root, id := singlePath(str)
			m.w.comment(fmt.Sprintf("vdirsyncer's path %s is one collection; pimsync's path is the directory holding collections, and the pair names the collection %q.", str, id))
			m.w.dir("path", root)
			return
		}
		m.w.dir("path", str)
	case "fileext":
		ext := strings.TrimPrefix(str, ".")
		if !isStr || ext == "" {
			m.note("fileext = %s: pimsync needs a non-empty extension; the default (ics or vcf) is used.", o.raw)
			return
		}
		m.w.dir("fileext", ext)
	case "encoding":
		if !isStr || !strings.EqualFold(strings.ReplaceAll(str, "-", ""), "utf8") {
			m.note("encoding = %s has no equivalent: pimsync reads and writes items as UTF-8. Convert the files (e.g. with iconv) first.", o.raw)
		}
	case "post_hook", "pre_deletion_hook":
		m.note("%s = %s has no equivalent: pimsync runs no hook per item. Run the command after `pimsync sync` in a script, or watch the directory (e.g. with inotifywait).", key, o.raw)
	case "fileignoreext":
		m.note("fileignoreext = %s: pimsync only reads files ending in .<fileext> and ignores everything else, temporary files included; nothing to configure.", o.raw)
	case "verify":
		switch v := o.value.(type) {
		case bool:
			if !v {
				m.note("verify = false has no equivalent: pimsync always verifies TLS. Pin the server's certificate with tls_fingerprint (SHA-256 of the leaf certificate), or trust its CA with tls_root.")
			}
		case string:
			m.w.dir("tls_root", v)
		default:
			m.note("verify = %s is not understood; ignored.", o.raw)
		}
	case "verify_fingerprint":
		hex := strings.ToLower(strings.ReplaceAll(str, ":", ""))
		if isStr && len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == "" {
			m.w.dir("tls_fingerprint", str)
			m.w.comment("With tls_fingerprint alone, only the fingerprint is checked (as with vdirsyncer's verify_fingerprint).")
			return
		}
		m.note("verify_fingerprint = %s is not a SHA-256 fingerprint, which pimsync's tls_fingerprint needs. Get it with: openssl s_client -connect HOST:443 </dev/null | openssl x509 -noout -fingerprint -sha256", o.raw)
	case "auth":
		switch str {
		case "basic":
		case "guess":
			m.note("auth = guess: pimsync always uses HTTP Basic authentication when username is set.")
		default:
			m.note("auth = %s has no equivalent: pimsync supports HTTP Basic authentication only.", o.raw)
		}
	case "auth_cert":
		switch v := o.value.(type) {
		case string:
			m.w.dir("auth_cert", v)
		case []any:
			if len(v) == 2 {
				c, ok1 := v[0].(string)
				k, ok2 := v[1].(string)
				if ok1 && ok2 {
					m.w.dir("auth_cert", c, k)
					return
				}
			}
			m.note("auth_cert = %s is not understood; ignored.", o.raw)
		default:
			m.note("auth_cert = %s is not understood; ignored.", o.raw)
		}
	case "useragent":
		if isStr && str != "" {
			m.w.dir("user_agent", str)
		}
	case "start_date", "end_date":
		m.note("%s has no equivalent: pimsync synchronises every item, whatever its date.", key)
	case "item_types":
		m.note("item_types = %s has no equivalent: pimsync synchronises every component type (events, todos, journals) of a calendar. Use a separate calendar for the types you want to keep apart.", o.raw)
	default:
		m.note("option %s has no equivalent; ignored.", key)
	}
}

// redact hides secret values in notes.
func redact(key, raw string) string {
	if isSecretKey(key) {
		return "…"
	}
	return raw
}

// fetchValue converts `KEY.fetch = ["command", ...]`, `["shell", "..."]` or
// `["prompt", "..."]` into a cmd/shell block.
func (m *migration) fetchValue(key string, o vdsOption) {
	list, _ := o.value.([]any)
	var words []string
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			m.note("%s.fetch = %s: every element must be a string; ignored.", key, redact(key, o.raw))
			return
		}
		words = append(words, s)
	}
	if len(words) < 2 {
		m.note("%s.fetch = %s is not understood; ignored.", key, redact(key, o.raw))
		return
	}
	switch words[0] {
	case "command":
		args := words[1:]
		tilde := false
		for _, a := range args {
			if strings.HasPrefix(a, "~") {
				tilde = true
			}
		}
		m.w.open(key)
		if !tilde {
			m.w.dir("cmd", args...)
		} else {
			// vdirsyncer expands ~ in every word; pimsync's cmd does not, so let sh
			// do it.
			quoted := make([]string, len(args))
			for i, a := range args {
				if rest, ok := strings.CutPrefix(a, "~/"); ok {
					quoted[i] = `"$HOME"/` + shQuote(rest)
				} else if a == "~" {
					quoted[i] = `"$HOME"`
				} else {
					quoted[i] = shQuote(a)
				}
			}
			m.w.dir("shell", strings.Join(quoted, " "))
		}
		m.w.close()
	case "shell":
		m.w.open(key)
		m.w.dir("shell", strings.Join(words[1:], " "))
		m.w.close()
	case "prompt":
		m.note("%s.fetch = [\"prompt\", ...]: pimsync has no built-in prompt; this asks with systemd-ask-password instead (any program printing the secret works, e.g. pinentry or zenity --password).", key)
		m.w.open(key)
		m.w.dir("cmd", "systemd-ask-password", words[1])
		m.w.close()
	default:
		m.note("%s.fetch strategy %q is not known; ignored.", key, words[0])
	}
}

// mappingOut is one explicit collection mapping of a converted pair; for each side
// exactly one of id and href is set.
type mappingOut struct {
	alias string
	id    [2]string
	href  [2]string
}

func (m *migration) pair(p *vdsSection) {
	names := [2]string{p.str("a"), p.str("b")}
	var problems []string
	for i, n := range names {
		side := "ab"[i : i+1]
		switch {
		case n == "":
			problems = append(problems, fmt.Sprintf("it has no storage %s", side))
		case m.vc.storages[n] == nil:
			problems = append(problems, fmt.Sprintf("storage %s (%s) is not defined", n, side))
		case m.skipped[n]:
			problems = append(problems, fmt.Sprintf("storage %s was left out", n))
		}
	}
	if len(problems) == 0 && names[0] == names[1] {
		problems = append(problems, "both sides are the same storage")
	}
	if len(problems) == 0 && m.readOnly(names[0]) && m.readOnly(names[1]) {
		problems = append(problems, "both storages are read-only")
	}
	if len(problems) > 0 {
		m.note("pair %s is left out: %s.", p.name, strings.Join(problems, "; "))
		for _, o := range p.options {
			m.w.line(fmt.Sprintf("#   %s = %s", o.key, strings.ReplaceAll(o.raw, "\n", " ")))
		}
		return
	}
	m.nPairs++

	// Collect the pimsync directives first: a pair may have to be turned around.
	var modes []string // "all", "from a", "from b"
	var plain []string // `collection ID`
	var maps []mappingOut
	var notes []string
	var conflict []string // e.g. {"keep", "a"} or {"cmd", prog, args...}
	swap, oneWay := false, false

	if o, ok := p.get("collections"); !ok {
		notes = append(notes, "the pair has no collections option (vdirsyncer requires one); add `collections all` or `collection NAME`.")
	} else if o.value == nil {
		mp := mappingOut{alias: p.name}
		for i, n := range names {
			var note string
			mp.id[i], mp.href[i], note = m.singleCollection(n)
			if note != "" {
				notes = append(notes, note)
			}
		}
		maps = append(maps, mp)
	} else if list, ok := o.value.([]any); ok {
		fromA, fromB := false, false
		for _, e := range list {
			switch v := e.(type) {
			case string:
				switch v {
				case "from a":
					fromA = true
				case "from b":
					fromB = true
				default:
					plain = append(plain, v)
				}
			case []any:
				alias, _ := v[0].(string)
				mp := mappingOut{alias: alias}
				okEntry := len(v) == 3 && alias != ""
				for i := 0; okEntry && i < 2; i++ {
					switch id := v[i+1].(type) {
					case nil:
						var note string
						mp.id[i], mp.href[i], note = m.singleCollection(names[i])
						if note != "" {
							notes = append(notes, note)
						}
					case string:
						mp.id[i] = id
					default:
						okEntry = false
					}
				}
				if !okEntry {
					notes = append(notes, fmt.Sprintf("collections entry %v is not [\"alias\", \"id on a\", \"id on b\"]; left out.", e))
					continue
				}
				maps = append(maps, mp)
			default:
				notes = append(notes, fmt.Sprintf("collections entry %v is not understood; left out.", e))
			}
		}
		switch {
		case fromA && fromB:
			modes = append(modes, "all")
		case fromA:
			modes = append(modes, "from a")
		case fromB:
			modes = append(modes, "from b")
		}
		if len(list) == 0 {
			notes = append(notes, "collections = [] syncs nothing; pimsync warns about a pair without collections.")
		}
	} else {
		notes = append(notes, fmt.Sprintf("collections = %s is not understood; add `collections all` or `collection NAME`.", o.raw))
	}

	if o, ok := p.get("conflict_resolution"); ok {
		switch v := o.value.(type) {
		case nil:
		case string:
			switch v {
			case "a wins":
				conflict = []string{"keep", "a"}
			case "b wins":
				conflict = []string{"keep", "b"}
			default:
				notes = append(notes, fmt.Sprintf("conflict_resolution = %s is not understood; conflicts are left for `pimsync resolve-conflicts`.", o.raw))
			}
		case []any:
			var words []string
			for _, x := range v {
				if s, ok := x.(string); ok {
					words = append(words, s)
				}
			}
			if len(words) >= 2 && len(words) == len(v) && words[0] == "command" {
				prog := words[1]
				if rest, ok := strings.CutPrefix(prog, "~/"); ok && m.home != "" {
					prog = filepath.Join(m.home, rest)
					notes = append(notes, fmt.Sprintf("conflict_resolution: %s was expanded to %s (pimsync does not expand ~ in commands).", words[1], prog))
				}
				conflict = append([]string{"cmd", prog}, words[2:]...)
				notes = append(notes, "conflict_resolution command: pimsync runs it with the two versions' files, as vdirsyncer does, but only from `pimsync resolve-conflicts` (and the TUI), never during `sync`.")
			} else {
				notes = append(notes, fmt.Sprintf("conflict_resolution = %s is not understood; ignored.", o.raw))
			}
		}
	}

	roA, roB := m.readOnly(names[0]), m.readOnly(names[1])
	partial := "revert"
	if o, ok := p.get("partial_sync"); ok {
		partial, _ = o.value.(string)
	}
	switch {
	case !roA && !roB:
		if _, ok := p.get("partial_sync"); ok {
			notes = append(notes, "partial_sync only matters when one storage is read-only; ignored.")
		}
	case partial == "revert":
		// vdirsyncer reverts changes on the writable side: pimsync's one_way, which
		// mirrors storage_a onto storage_b, so the read-only storage must be A.
		oneWay = true
		swap = roB
		how := "revert (vdirsyncer's default)"
		if _, ok := p.get("partial_sync"); ok {
			how = "revert"
		}
		msg := fmt.Sprintf("partial_sync = %s undoes changes made on the writable side; pimsync's one_way does the same, mirroring storage_a (the read-only %s) onto storage_b.", how, names[map[bool]int{false: 0, true: 1}[roB]])
		if swap {
			msg += " a and b are swapped for that."
		}
		if conflict != nil {
			msg += " conflict_resolution has no effect with one_way and is left out."
			conflict = nil
		}
		notes = append(notes, msg)
	case partial == "ignore":
		notes = append(notes, "partial_sync = ignore: this is what pimsync does with a read-only storage (changes on the writable side stay there); nothing to configure.")
	case partial == "error":
		notes = append(notes, "partial_sync = error has no equivalent: pimsync skips writes to a read-only storage (they show in `pimsync sync -n` and in info logs) instead of failing.")
	default:
		notes = append(notes, fmt.Sprintf("partial_sync = %q is not understood; ignored.", partial))
	}

	if o, ok := p.get("metadata"); ok {
		notes = append(notes, fmt.Sprintf("metadata = %s: pimsync always synchronises the collection properties displayname, color, description and order; nothing to configure.", o.raw))
	}
	for _, o := range p.options {
		switch o.key {
		case "a", "b", "collections", "conflict_resolution", "partial_sync", "metadata":
		default:
			notes = append(notes, fmt.Sprintf("option %s has no equivalent; ignored.", o.key))
		}
	}

	if swap {
		names[0], names[1] = names[1], names[0]
		for i, md := range modes {
			switch md {
			case "from a":
				modes[i] = "from b"
			case "from b":
				modes[i] = "from a"
			}
		}
		for i := range maps {
			maps[i].id[0], maps[i].id[1] = maps[i].id[1], maps[i].id[0]
			maps[i].href[0], maps[i].href[1] = maps[i].href[1], maps[i].href[0]
		}
	}

	m.w.open("pair", p.name)
	for _, n := range notes {
		m.note("%s", n)
	}
	m.w.dir("storage_a", names[0])
	m.w.dir("storage_b", names[1])
	for _, md := range modes {
		m.w.line("collections " + md)
	}
	for _, c := range plain {
		if c == "" || strings.Contains(c, "/") || c == "." || c == ".." {
			m.note("collection %q is not a valid collection id; left out.", c)
			continue
		}
		m.w.dir("collection", c)
	}
	for _, mp := range maps {
		m.w.open("collection")
		m.w.dir("alias", mp.alias)
		for i, side := range []string{"a", "b"} {
			if mp.href[i] != "" {
				m.w.dir("href_"+side, mp.href[i])
			} else {
				m.w.dir("id_"+side, mp.id[i])
			}
		}
		m.w.close()
	}
	if conflict != nil {
		m.w.dir("conflict_resolution", conflict...)
	}
	if oneWay {
		m.w.dir("one_way")
	}
	m.w.close()
}

// singleCollection returns the id or href that names the one collection a storage
// points at when vdirsyncer uses it without discovery (collections = null), and a
// note when it cannot be told from the configuration.
func (m *migration) singleCollection(name string) (id, href, note string) {
	s := m.vc.storages[name]
	switch s.str("type") {
	case "filesystem":
		if p := s.str("path"); p != "" {
			_, id = singlePath(p)
			return id, "", ""
		}
	case "http":
		return collectionID(name), "", ""
	case "caldav", "carddav":
		u, err := url.Parse(s.str("url"))
		if err == nil && u.Path != "" && u.Path != "/" {
			p := u.EscapedPath()
			if !strings.HasSuffix(p, "/") {
				p += "/"
			}
			return "", p, ""
		}
	}
	// A value from a command, or a server root: the collection cannot be named here.
	id = collectionID(name)
	return id, "", fmt.Sprintf("storage %s points at one collection, but its path or url does not show which; the mapping below guesses the id %q. Run `pimsync discover` and put the collection's id or href there.", name, id)
}
