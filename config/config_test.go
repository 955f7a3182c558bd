package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testHome = "/home/alice"

// at builds a Value given on line of file.
func at(file string, line int, name string) Value {
	return Value{Set: true, Pos: Pos{file, line}, Name: name}
}

func literal(file string, line int, name, s string) Value {
	v := at(file, line, name)
	v.Literal = s
	return v
}

// pathLiteral is a literal path-like value, expanded when parsed.
func pathLiteral(file string, line int, name, s, expanded string) Value {
	v := literal(file, line, name, s)
	v.resolved, v.result = true, expanded
	return v
}

func command(file string, line int, name string, cmd ...string) Value {
	v := at(file, line, name)
	v.Cmd = cmd
	return v
}

func shell(file string, line int, name, text string) Value {
	v := at(file, line, name)
	v.Shell = text
	return v
}

func load(t *testing.T, path string) *Config {
	t.Helper()
	t.Setenv("HOME", testHome)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return cfg
}

func parse(t *testing.T, text string) *Config {
	t.Helper()
	t.Setenv("HOME", testHome)
	cfg, err := Parse("t.conf", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return cfg
}

func checkConfig(t *testing.T, got *Config, want *Config) {
	t.Helper()
	if want.Storages == nil {
		want.Storages = map[string]*Storage{}
	}
	if want.Pairs == nil {
		want.Pairs = map[string]*Pair{}
	}
	for _, name := range want.StorageOrder {
		if !reflect.DeepEqual(got.Storages[name], want.Storages[name]) {
			t.Errorf("storage %s:\ngot  %#v\nwant %#v", name, got.Storages[name], want.Storages[name])
		}
	}
	for _, name := range want.PairOrder {
		if !reflect.DeepEqual(got.Pairs[name], want.Pairs[name]) {
			t.Errorf("pair %s:\ngot  %#v\nwant %#v", name, got.Pairs[name], want.Pairs[name])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config:\ngot  %#v\nwant %#v", got, want)
	}
}

func TestExample91(t *testing.T) {
	const f = "testdata/valid/9.1-calendars.conf"
	checkConfig(t, load(t, f), &Config{
		Path:       f,
		StatusPath: pathLiteral(f, 1, "status_path", "~/.local/share/pimsync/status/", testHome+"/.local/share/pimsync/status/"),
		Storages: map[string]*Storage{
			"cal_local": {
				Name: "cal_local", Pos: Pos{f, 3}, Type: TypeVdirICalendar, Interval: 60,
				Path:    pathLiteral(f, 5, "path", "~/.local/share/calendars/", testHome+"/.local/share/calendars/"),
				FileExt: "ics",
			},
			"cal_remote": {
				Name: "cal_remote", Pos: Pos{f, 10}, Type: TypeCalDAV, Interval: 300,
				URL:                 literal(f, 12, "url", "https://dav.example.com/"),
				Username:            literal(f, 13, "username", "alice@example.com"),
				Password:            command(f, 14, "password", "secret-tool", "lookup", "service", "caldav", "user", "alice@example.com"),
				CollectionIDSegment: "last",
			},
		},
		Pairs: map[string]*Pair{
			"calendars": {
				Name: "calendars", Pos: Pos{f, 20}, StorageA: "cal_local", StorageB: "cal_remote",
				Collections:        []string{CollectionsAll},
				ConflictResolution: ResolveCmd, ResolverCmd: []string{"nvim", "-d"},
			},
		},
		StorageOrder: []string{"cal_local", "cal_remote"},
		PairOrder:    []string{"calendars"},
	})
}

func TestExample92(t *testing.T) {
	const f = "testdata/valid/9.2-contacts.conf"
	checkConfig(t, load(t, f), &Config{
		Path:       f,
		StatusPath: pathLiteral(f, 1, "status_path", "~/.local/share/pimsync/status/", testHome+"/.local/share/pimsync/status/"),
		Storages: map[string]*Storage{
			"contacts_local": {
				Name: "contacts_local", Pos: Pos{f, 3}, Type: TypeVdirVCard, Interval: 300,
				Path:    pathLiteral(f, 5, "path", "~/.local/share/contacts/", testHome+"/.local/share/contacts/"),
				FileExt: "vcf",
			},
			"contacts_remote": {
				Name: "contacts_remote", Pos: Pos{f, 9}, Type: TypeCardDAV, Interval: 300,
				URL:                 literal(f, 11, "url", "https://carddav.example.net/"),
				Username:            literal(f, 12, "username", "alice"),
				Password:            shell(f, 13, "password", "pass show carddav/alice | head -n 1"),
				CollectionIDSegment: "last",
			},
		},
		Pairs: map[string]*Pair{
			"contacts": {
				Name: "contacts", Pos: Pos{f, 18}, StorageA: "contacts_local", StorageB: "contacts_remote",
				Collections: []string{CollectionsFromB}, OnDelete: OnDeleteSkip,
				ConflictResolution: ResolveKeepB,
			},
		},
		StorageOrder: []string{"contacts_local", "contacts_remote"},
		PairOrder:    []string{"contacts"},
	})
}

func TestExample93(t *testing.T) {
	const f = "testdata/valid/9.3-webcal.conf"
	checkConfig(t, load(t, f), &Config{
		Path:       f,
		StatusPath: pathLiteral(f, 1, "status_path", "~/.local/share/pimsync/status/", testHome+"/.local/share/pimsync/status/"),
		Storages: map[string]*Storage{
			"cal_local": {
				Name: "cal_local", Pos: Pos{f, 3}, Type: TypeVdirICalendar, Interval: 300,
				Path:    pathLiteral(f, 5, "path", "~/.local/share/calendars/", testHome+"/.local/share/calendars/"),
				FileExt: "ics",
			},
			"holidays": {
				Name: "holidays", Pos: Pos{f, 8}, Type: TypeWebcal, Interval: 86400, ReadOnly: true,
				URL:          literal(f, 10, "url", "https://example.org/holidays/nl.ics"),
				CollectionID: "holidays",
			},
		},
		Pairs: map[string]*Pair{
			"holidays": {
				Name: "holidays", Pos: Pos{f, 15}, StorageA: "holidays", StorageB: "cal_local",
				Explicit: []Mapping{{Pos: Pos{f, 18}, Alias: "holidays", IDA: "holidays", IDB: "holidays"}},
				OneWay:   true,
			},
		},
		StorageOrder: []string{"cal_local", "holidays"},
		PairOrder:    []string{"holidays"},
	})
}

func TestExample94(t *testing.T) {
	const f = "testdata/valid/9.4-mapping-socket.conf"
	checkConfig(t, load(t, f), &Config{
		Path:       f,
		StatusPath: pathLiteral(f, 1, "status_path", "/var/lib/pimsync/status", "/var/lib/pimsync/status"),
		Storages: map[string]*Storage{
			"work_local": {
				Name: "work_local", Pos: Pos{f, 3}, Type: TypeVdirICalendar, Interval: 300,
				Path:    pathLiteral(f, 5, "path", "~/calendars/", testHome+"/calendars/"),
				FileExt: "ics",
			},
			"work_remote": {
				Name: "work_remote", Pos: Pos{f, 8}, Type: TypeCalDAV, Interval: 300,
				URL:                 literal(f, 10, "url", "http://localhost/dav/"),
				Socket:              "/run/xandikos/xandikos.sock",
				CollectionIDSegment: "last",
			},
			"google": {
				Name: "google", Pos: Pos{f, 14}, Type: TypeCalDAV, Interval: 300, ReadOnly: true,
				URL:                 literal(f, 16, "url", "http://127.0.0.1:8080/caldav/v2/"),
				CollectionIDSegment: "second-last",
			},
		},
		Pairs: map[string]*Pair{
			"work": {
				Name: "work", Pos: Pos{f, 21}, StorageA: "work_local", StorageB: "work_remote",
				Explicit: []Mapping{
					{Pos: Pos{f, 24}, Alias: "work", IDA: "work", HrefB: "/dav/user/calendars/7f3c2a9e/"},
					{Pos: Pos{f, 29}, Alias: "team", IDA: "team-calendar", IDB: "team"},
				},
			},
			"google_view": {
				Name: "google_view", Pos: Pos{f, 37}, StorageA: "google", StorageB: "work_local",
				Explicit: []Mapping{
					{Pos: Pos{f, 40}, Alias: "primary", HrefA: "/caldav/v2/alice%40example.com/events/", IDB: "google-primary"},
				},
			},
		},
		StorageOrder: []string{"work_local", "work_remote", "google"},
		PairOrder:    []string{"work", "google_view"},
	})
}

func TestQuotingFile(t *testing.T) {
	const f = "testdata/valid/quoting.conf"
	checkConfig(t, load(t, f), &Config{
		Path:       f,
		StatusPath: pathLiteral(f, 3, "status_path", "/tmp/status dir/#1", "/tmp/status dir/#1"),
		Storages: map[string]*Storage{
			"my local": {
				Name: "my local", Pos: Pos{f, 5}, Type: TypeVdirVCard, Interval: 300, ReadOnly: true,
				Path:    pathLiteral(f, 7, "path", "/srv/contacts with spaces/", "/srv/contacts with spaces/"),
				FileExt: "VCF",
			},
			"remote contacts": {
				Name: "remote contacts", Pos: Pos{f, 12}, Type: TypeCardDAV, Interval: 42,
				URL:                 literal(f, 14, "url", "https://dav.example.com/card dav/"),
				Username:            literal(f, 15, "username", `alice "the" user`),
				Password:            literal(f, 16, "password", "it's"),
				UserAgent:           "Mozilla/5.0 (compatible)",
				TLSFingerprint:      strings.Repeat("abcdef0123456789", 4),
				TLSRoot:             testHome + "/certs/root.pem",
				AuthCert:            "/etc/ssl/me.pem",
				AuthKey:             "/etc/ssl/me.key",
				CollectionIDSegment: "last",
			},
		},
		Pairs: map[string]*Pair{
			"contacts #1": {
				Name: "contacts #1", Pos: Pos{f, 25}, StorageA: "my local", StorageB: "remote contacts",
				Collections: []string{CollectionsFromA, CollectionsAll},
				Explicit: []Mapping{
					{Pos: Pos{f, 30}, Alias: "family", IDA: "family", IDB: "family"},
					{Pos: Pos{f, 31}, Alias: "Work stuff", HrefA: "work", HrefB: "/card dav/alice/work/"},
				},
				OnEmpty: OnEmptySync, OnDelete: OnDeleteSkip, ConflictResolution: ResolveKeepA,
			},
		},
		StorageOrder: []string{"my local", "remote contacts"},
		PairOrder:    []string{"contacts #1"},
	})
}

func TestOneLineBlocks(t *testing.T) {
	const f = "testdata/compat/one-line.conf"
	cfg := load(t, f)
	want := shell(f, 1, "status_path", "echo /tmp/status")
	if !reflect.DeepEqual(cfg.StatusPath, want) {
		t.Errorf("status_path = %#v, want %#v", cfg.StatusPath, want)
	}
	if got, want := cfg.Storages["remote"].Password, command(f, 7, "password", "secret-tool", "lookup", "id", "me"); !reflect.DeepEqual(got, want) {
		t.Errorf("password = %#v, want %#v", got, want)
	}
	if got, want := cfg.Storages["local"].Path, command(f, 12, "path", "echo", "~/cal"); !reflect.DeepEqual(got, want) {
		t.Errorf("path = %#v, want %#v", got, want)
	}
	// A whole storage on one line is a block with its single child: the type is read.
	_, err := Parse("t.conf", []byte("status_path /s\nstorage x { type vdir/vcard }\n"))
	if err == nil || err.Error() != "t.conf:2: storage x: missing `path`" {
		t.Errorf("one-line storage: %v", err)
	}
}

// TestCorpusParses checks that every corpus file is a valid configuration.
func TestCorpusParses(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.conf")
	if err != nil || len(files) < 7 {
		t.Fatalf("corpus: %v, %v", files, err)
	}
	for _, f := range files {
		load(t, f)
	}
}

// TestCRLF checks that every corpus file means the same with CRLF line ends.
func TestCRLF(t *testing.T) {
	t.Setenv("HOME", testHome)
	for _, f := range []string{"testdata/valid/9.4-mapping-socket.conf", "testdata/valid/quoting.conf", "testdata/compat/one-line.conf"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lf, err1 := Parse(f, data)
		crlf, err2 := Parse(f, bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", f, err1, err2)
		}
		if !reflect.DeepEqual(lf, crlf) {
			t.Errorf("%s: CRLF parses differently:\n%#v\n%#v", f, lf, crlf)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg := parse(t, `status_path /s
storage cal { 
	type vdir/icalendar
	path /c
}
storage card {
	type vdir/vcard
	path /v
	fileext .vcard
}
storage dav {
	type carddav
	url https://h/
}
pair p {
	storage_a card
	storage_b dav
	collections all
}
`)
	cal, card, dav, p := cfg.Storages["cal"], cfg.Storages["card"], cfg.Storages["dav"], cfg.Pairs["p"]
	checks := []struct {
		what      string
		got, want any
	}{
		{"cal interval", cal.Interval, 300},
		{"cal fileext", cal.FileExt, "ics"},
		{"card fileext (one dot stripped)", card.FileExt, "vcard"},
		{"dav segment", dav.CollectionIDSegment, "last"},
		{"dav read-only", dav.ReadOnly, false},
		{"dav user agent", dav.UserAgent, ""},
		{"on_empty", p.OnEmpty.String(), "skip"},
		{"on_delete", p.OnDelete.String(), "sync"},
		{"conflict_resolution", p.ConflictResolution.String(), ""},
		{"one_way", p.OneWay, false},
		{"warnings", len(cfg.Warnings), 0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	cfg = parse(t, "status_path /s\nstorage v {\n type vdir/vcard\n path /p\n fileext ..x\n}")
	if got := cfg.Storages["v"].FileExt; got != ".x" {
		t.Errorf("fileext ..x = %q, want .x (only one dot stripped)", got)
	}
}

func TestFingerprintForms(t *testing.T) {
	hexFP := strings.Repeat("0123456789abcdef", 4)
	var colons []string
	for i := 0; i < len(hexFP); i += 2 {
		colons = append(colons, strings.ToUpper(hexFP[i:i+2]))
	}
	for _, in := range []string{hexFP, strings.ToUpper(hexFP), strings.Join(colons, ":")} {
		cfg := parse(t, fmt.Sprintf("status_path /s\nstorage d {\n type caldav\n url https://h/\n tls_fingerprint %s\n}", in))
		if got := cfg.Storages["d"].TLSFingerprint; got != hexFP {
			t.Errorf("tls_fingerprint %s = %q, want %q", in, got, hexFP)
		}
	}
}

func TestURLForms(t *testing.T) {
	tests := []struct {
		typ, url, extra string
		socket, base    string
	}{
		{"caldav", "unix:///run/dav.sock", "", "/run/dav.sock", "http://localhost/"},
		{"carddav", "unix:///run/my%20dav.sock", "", "/run/my dav.sock", "http://localhost/"},
		{"caldav", "HTTPS://Dav.Example.com:8443/x/", "", "", "https://Dav.Example.com:8443/x/"},
		{"webcal", "http://example.org/feed.ics?x=1", "collection_id c", "", "http://example.org/feed.ics?x=1"},
		{"caldav", "http:///dav/", "socket /run/s", "/run/s", "http:///dav/"}, // a socket makes the host optional
	}
	for _, tt := range tests {
		cfg := parse(t, fmt.Sprintf("status_path /s\nstorage d {\n type %s\n url %s\n %s\n}", tt.typ, tt.url, tt.extra))
		s := cfg.Storages["d"]
		if s.Socket != tt.socket {
			t.Errorf("%s: Socket = %q, want %q", tt.url, s.Socket, tt.socket)
		}
		if u, err := s.BaseURL(); err != nil || u.String() != tt.base {
			t.Errorf("%s: BaseURL = %v, %v; want %s", tt.url, u, err, tt.base)
		}
		if s.URL.Get() != tt.url {
			t.Errorf("URL.Get() = %q, want the URL as written", s.URL.Get())
		}
	}
}

func TestPaths(t *testing.T) {
	cfg := parse(t, `status_path ~
storage d {
	type caldav
	url https://h/
	socket ~/run/sock
	tls_root ~/ca.pem
	auth_cert ~/c.pem ~/k.pem
}
storage v {
	type vdir/vcard
	path ~user/x
}
`)
	d, v := cfg.Storages["d"], cfg.Storages["v"]
	for _, c := range [][2]string{
		{cfg.StatusPath.Get(), "~"}, // no bare ~
		{d.Socket, testHome + "/run/sock"},
		{d.TLSRoot, testHome + "/ca.pem"},
		{d.AuthCert, testHome + "/c.pem"},
		{d.AuthKey, testHome + "/k.pem"},
		{v.Path.Get(), "~user/x"}, // no ~user
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
	t.Setenv("HOME", "")
	_, err := Parse("t.conf", []byte("status_path ~/s\n"))
	if err == nil || err.Error() != "t.conf:1: status_path: cannot expand `~/`: $HOME is not defined" {
		t.Errorf("~/ without HOME: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	cfg := parse(t, `status_path /s
storage dav {
	type caldav
	url http://h/
	password secret
	tls_root /ca.pem
	tls_fingerprint `+strings.Repeat("ab", 32)+`
}
storage sock {
	type carddav
	url https://h/
	socket /run/s
	auth_cert /c.pem
}
storage unix {
	type carddav
	url unix:///run/u
	tls_root /ca.pem
}
storage feed {
	type webcal
	url https://h/f.ics
	collection_id f
	readonly
}
storage local {
	type vdir/icalendar
	path /p
}
storage cards {
	type vdir/vcard
	path /c
}
pair empty {
	storage_a dav
	storage_b local
}
pair mirror {
	storage_a feed
	storage_b local
	collection f
	one_way
	conflict_resolution keep a
}
pair ok {
	storage_a cards
	storage_b sock
	collections all
}
`)
	want := []string{
		"t.conf:4: `tls_root`, `tls_fingerprint` ignored: TLS is not used for http:// URLs",
		"t.conf:5: `password` is ignored because `username` is not set",
		"t.conf:11: `auth_cert` ignored: TLS is not used for Unix-socket storages",
		"t.conf:17: `tls_root` ignored: TLS is not used for Unix-socket storages",
		"t.conf:24: `read_only` has no effect: webcal storages are always read-only",
		"t.conf:34: pair empty has no `collections` or `collection` lines, so it syncs nothing",
		"t.conf:43: pair mirror: `conflict_resolution` has no effect with `one_way`",
	}
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\ngot  %q\nwant %q", got, want)
	}
}

// TestValueString checks that printing a config never shows a password or a
// command's output.
func TestValueString(t *testing.T) {
	cfg := parse(t, "status_path /s\nstorage d {\n type caldav\n url https://h/\n username u\n password hunter2\n}\nstorage e {\n type caldav\n url https://h/\n username u\n password {\n  cmd echo s3cret\n }\n}\npair p {\n storage_a d\n storage_b e\n}\n")
	e := cfg.Storages["e"]
	if _, err := e.Password.Resolve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.Password.Get() != "s3cret" {
		t.Fatalf("password = %q", e.Password.Get())
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, s := range []*Storage{cfg.Storages["d"], e} {
			out := fmt.Sprintf(verb, *s) + fmt.Sprintf(verb, s.Password)
			if strings.Contains(out, "hunter2") || strings.Contains(out, "s3cret") {
				t.Errorf("%s shows a secret: %s", verb, out)
			}
		}
	}
	if got := cfg.Storages["d"].URL.String(); got != "https://h/" {
		t.Errorf("URL.String() = %q", got)
	}
	if got := e.Password.String(); got != "<hidden>" {
		t.Errorf("Password.String() = %q", got)
	}
	f := "t.conf"
	for v, want := range map[*Value]string{
		ptr(command(f, 1, "username", "pass", "show", "x")): "{cmd pass show x}",
		ptr(shell(f, 1, "url", "echo $U")):                  "{shell echo $U}",
		ptr(literal(f, 1, "password", "")):                  "<hidden>",
		{}:                                                  "",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
