package vdirsyncer

import (
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/config"
)

// convert converts a vdirsyncer config and returns the generated pimsync.conf, which
// must parse without errors and hold every wanted directive line.
func convert(t *testing.T, vdsConfig string, wantDirectives ...string) (string, *config.Config) {
	t.Helper()
	res, err := Convert("vdirsyncer.conf", []byte(vdsConfig))
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	cfg, err := config.Parse("generated.conf", []byte(res.Config))
	if err != nil {
		t.Fatalf("the generated config does not parse: %v\n%s", err, res.Config)
	}
	// Directives are compared one per line with their indentation removed.
	lines := map[string]bool{}
	for _, l := range strings.Split(res.Config, "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range wantDirectives {
		if !lines[want] {
			t.Errorf("the generated config has no line %q:\n%s", want, res.Config)
		}
	}
	return res.Config, cfg
}

// notesMention checks that the "# vdirsyncer:" comments mention each text.
func notesMention(t *testing.T, out string, texts ...string) {
	t.Helper()
	var notes strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "#") {
			notes.WriteString(strings.TrimSpace(strings.TrimPrefix(l, "#")) + " ")
		}
	}
	for _, text := range texts {
		if !strings.Contains(notes.String(), text) {
			t.Errorf("no comment mentions %q:\n%s", text, out)
		}
	}
}

// The configuration of test-servers.md §5, with collections = null on both pairs.
func TestMigrateTestServersConfig(t *testing.T) {
	out, cfg := convert(t, `[general]
status_path = "/tmp/T/vds/status/"

[pair cal_radicale]
a = "local_cal"
b = "radicale_cal"
collections = null
conflict_resolution = "a wins"

[storage local_cal]
type = "filesystem"
path = "/tmp/T/vds/local/cal/"
fileext = ".ics"

[storage radicale_cal]
type = "caldav"
url = "http://127.0.0.1:5232/bench/bench-cal/"
username = "bench"
password = "x"

[pair cal_xandikos]
a = "local_cal2"
b = "xandikos_cal"
collections = null

[storage local_cal2]
type = "filesystem"
path = "/tmp/T/vds/local/cal2/"
fileext = ".ics"

[storage xandikos_cal]
type = "caldav"
url = "http://127.0.0.1:8080/user/calendars/bench-cal/"
`,
		"status_path ~/.local/share/pimsync/status/",
		"type vdir/icalendar", "path /tmp/T/vds/local", "fileext ics",
		"type caldav", "url http://127.0.0.1:5232/bench/bench-cal/", "username bench", "password x",
		"storage_a local_cal", "storage_b radicale_cal", "alias cal_radicale", "id_a cal",
		"href_b /bench/bench-cal/", "conflict_resolution keep a",
		"alias cal_xandikos", "id_a cal2", "href_b /user/calendars/bench-cal/")
	if got := strings.Join(cfg.PairOrder, " "); got != "cal_radicale cal_xandikos" {
		t.Errorf("pairs %q", got)
	}
	if got := strings.Join(cfg.StorageOrder, " "); got != "local_cal radicale_cal local_cal2 xandikos_cal" {
		t.Errorf("storages %q", got)
	}
	if p := cfg.Pairs["cal_xandikos"]; p.ConflictResolution != config.ResolveNone || len(p.Explicit) != 1 {
		t.Errorf("cal_xandikos: %+v", p)
	}
	notesMention(t, out, "/tmp/T/vds/status/", "starts a fresh one")
}

func TestMigrateFetchCommandsAndTLS(t *testing.T) {
	out, cfg := convert(t, `# contacts, with secrets from commands
[general]
status_path = "~/.vdirsyncer/status/"

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = ["from a", "from b"]
conflict_resolution = ["command", "vimdiff"]
metadata = ["displayname", "color"]

[storage contacts_local]
type = "filesystem"
path = "~/.contacts/"
fileext = ".vcf"
post_hook = "~/bin/notify-contacts"

[storage contacts_remote]
type = "carddav"
url.fetch = ["shell", "cat ~/.dav-url | head -n 1"]
username.fetch = ["command", "~/bin/dav-user", "--plain"]
password.fetch = ["command", "pass", "show", "dav/alice password"]
verify = "/etc/ssl/my-ca.pem"
verify_fingerprint = "94:FD:7A:CB:50:75:A4:69:82:0A:F8:23:DF:07:FC:69:3E:1D:36:16:6E:4E:3A:4A:E3:4C:C1:A5:D1:5A:A5:62"
auth = "digest"
auth_cert = ["/etc/ssl/me.crt", "/etc/ssl/me.key"]
useragent = "My Agent/1.0"

[storage other]
type = "caldav"
url = "https://cal.example.com/"
username = "bob"
password.fetch = ["prompt", "Password for bob"]
verify = false
verify_fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
start_date = "datetime.now() - timedelta(days=365)"
end_date = "datetime.now() + timedelta(days=365)"
item_types = ["VEVENT", "VTODO"]
`,
		"type vdir/vcard", "path ~/.contacts/", "fileext vcf",
		"type carddav",
		`shell "cat ~/.dav-url | head -n 1"`,
		`shell "\"$HOME\"/bin/dav-user --plain"`,
		`cmd pass show "dav/alice password"`,
		"tls_root /etc/ssl/my-ca.pem",
		"tls_fingerprint 94:FD:7A:CB:50:75:A4:69:82:0A:F8:23:DF:07:FC:69:3E:1D:36:16:6E:4E:3A:4A:E3:4C:C1:A5:D1:5A:A5:62",
		"auth_cert /etc/ssl/me.crt /etc/ssl/me.key",
		`user_agent "My Agent/1.0"`,
		"collections all", "conflict_resolution cmd vimdiff",
		`cmd systemd-ask-password "Password for bob"`)
	s := cfg.Storages["contacts_remote"]
	if s.URL.Shell != "cat ~/.dav-url | head -n 1" || s.Username.Shell != `"$HOME"/bin/dav-user --plain` ||
		strings.Join(s.Password.Cmd, "|") != "pass|show|dav/alice password" {
		t.Errorf("contacts_remote values: url %#v username %#v password cmd %q", s.URL.Shell, s.Username.Shell, s.Password.Cmd)
	}
	if s.UserAgent != "My Agent/1.0" || s.AuthCert != "/etc/ssl/me.crt" || s.AuthKey != "/etc/ssl/me.key" {
		t.Errorf("contacts_remote: %+v", s)
	}
	notesMention(t, out, "post_hook", "metadata", "always synchronises", "resolve-conflicts",
		"auth = \"digest\"", "Basic", "verify = false", "tls_fingerprint", "not a SHA-256 fingerprint",
		"start_date", "end_date", "item_types", "prompt")
	if strings.Contains(out, "tls_fingerprint AB:CD") {
		t.Errorf("a SHA-1 fingerprint was copied into tls_fingerprint:\n%s", out)
	}
}

func TestMigrateCollectionsAndPartialSync(t *testing.T) {
	out, cfg := convert(t, `[general]
status_path = "status"

[storage cal_local]
type = "filesystem"
path = "~/.calendars"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = "https://dav.example.com/"
username = "alice"
password = "secret"

[pair named]
a = "cal_local"
b = "cal_remote"
collections = ["home", "work", ["team", "team-cal", "team"], ["inbox", "local-inbox", null]]
conflict_resolution = "b wins"
partial_sync = "ignore"

[storage holidays_local]
type = "filesystem"
path = "~/.calendars/holidays/"
fileext = ".ics"

[storage holidays_remote]
type = "http"
url = "https://example.org/holidays/nl.ics"

[pair holidays]
a = "holidays_local"
b = "holidays_remote"
collections = null
conflict_resolution = "a wins"

[storage feed_local]
type = "filesystem"
path = "~/.calendars/feed/"
fileext = ".ics"

[pair feed]
a = "holidays_remote"
b = "feed_local"
collections = null
partial_sync = "ignore"

[pair strict]
a = "cal_remote"
b = "holidays_remote"
collections = null
partial_sync = "error"

[storage archive]
type = "singlefile"
path = "~/calendar.ics"

[pair archived]
a = "archive"
b = "cal_local"
collections = null

[pair broken]
a = "cal_local"
b = "nowhere"
collections = ["from a"]
`,
		"collection home", "collection work", "alias team", "id_a team-cal", "id_b team",
		"alias inbox", "id_a local-inbox", "id_b cal_remote", "conflict_resolution keep b",
		"type webcal", "collection_id holidays_remote", "url https://example.org/holidays/nl.ics",
		"path ~/.calendars",
		// holidays: the read-only side becomes storage a of a one_way pair.
		"storage_a holidays_remote", "storage_b holidays_local", "id_a holidays_remote", "id_b holidays", "one_way",
		"storage_b feed_local", "id_b feed")
	_ = out
	if p := cfg.Pairs["holidays"]; !p.OneWay || p.ConflictResolution != config.ResolveNone || p.StorageA != "holidays_remote" {
		t.Errorf("holidays: %+v", p)
	}
	if p := cfg.Pairs["feed"]; p.OneWay || p.StorageA != "holidays_remote" {
		t.Errorf("feed (partial_sync = ignore) must stay two-way: %+v", p)
	}
	if p := cfg.Pairs["strict"]; p == nil || p.OneWay {
		t.Errorf("strict (partial_sync = error): %+v", p)
	}
	if _, ok := cfg.Pairs["archived"]; ok {
		t.Errorf("a pair using a singlefile storage was converted")
	}
	if _, ok := cfg.Pairs["broken"]; ok {
		t.Errorf("a pair naming an undefined storage was converted")
	}
	if _, ok := cfg.Storages["archive"]; ok {
		t.Errorf("the singlefile storage was converted")
	}
	if p := cfg.Pairs["named"]; len(p.Collections) != 0 || len(p.Explicit) != 4 {
		t.Errorf("named: %+v", p)
	}
	notesMention(t, out, "singlefile", "pair archived is left out", "pair broken is left out",
		"nowhere", "a and b are swapped", "partial_sync = ignore", "partial_sync = error",
		"conflict_resolution has no effect", "guesses the id")
	if strings.Contains(out, "secret") && !strings.Contains(out, "password secret") {
		t.Errorf("the password appears outside its directive:\n%s", out)
	}
}

// Multi-line values (continuation lines) and key: value syntax, as configparser reads
// them.
func TestMigrateINIDialect(t *testing.T) {
	convert(t, `; a comment
[general]
status_path: "/var/lib/vds"

[pair P]
A = "a"
b = "b"
collections = [
    "from a",
    "home"
  ]

[storage a]
type = "filesystem"
path = "/srv/a"
fileext = "vcf"

[storage b]
type = "filesystem"
path = "/srv/b"
fileext = "vcf"
read_only = true
`,
		// b is read-only and partial_sync defaults to revert: a one_way pair from b.
		"pair P {", "storage_a b", "storage_b a", "collections from b", "collection home", "one_way", "type vdir/vcard", "read_only")
}

// Syntax errors name the file and line; nothing is converted.
func TestConvertErrors(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{"[general]\nstatus_path = ~/.vdirsyncer/status\n", "vdirsyncer.conf:2: option status_path: the value is not valid JSON"},
		{"status_path = \"x\"\n", "vdirsyncer.conf:1: option outside of a section"},
		{"[general]\nstatus_path = \"x\"\n[pair p]\na = \"x\"\na = \"y\"\n", "vdirsyncer.conf:5: option a already given"},
		{"[storage s]\ntype = \"filesystem\"\n", "no [general] section"},
		{"[general]\nstatus_path = \"x\"\n[pair p]\ncollections = [\"a\",\n", "vdirsyncer.conf:4"},
	} {
		res, err := Convert("vdirsyncer.conf", []byte(c.config))
		if err == nil || !strings.Contains(err.Error(), c.want) || res != nil {
			t.Errorf("config %q: want an error with %q, got %v, %v", c.config, c.want, res, err)
		}
	}
}

// The counts of the result: what was converted and what needs a look.
func TestConvertCounts(t *testing.T) {
	res, err := Convert("v.conf", []byte(`[general]
status_path = "~/.vdirsyncer/status/"

[pair cal]
a = "local"
b = "remote"
collections = ["from a", "from b"]
conflict_resolution = "a wins"

[storage local]
type = "filesystem"
path = "~/cal/"
fileext = ".ics"

[storage remote]
type = "caldav"
url = "https://dav.example.com/"
username = "me"
password = "secret"
`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Storages != 2 || res.Pairs != 1 {
		t.Errorf("counts: %+v", res)
	}
	if n := strings.Count(res.Config, "# vdirsyncer:"); n != res.Notes {
		t.Errorf("%d notes counted, %d in the text:\n%s", res.Notes, n, res.Config)
	}
	if !strings.Contains(res.Config, "conflict_resolution keep a") {
		t.Errorf("a wins is not keep a:\n%s", res.Config)
	}
}

// DefaultPath looks where vdirsyncer looks.
func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("VDIRSYNCER_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	if p, err := DefaultPath(); err != nil || p != home+"/.config/vdirsyncer/config" {
		t.Errorf("no file anywhere: %q %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if p, _ := DefaultPath(); p != "/x/vdirsyncer/config" {
		t.Errorf("XDG_CONFIG_HOME: %q", p)
	}
	t.Setenv("VDIRSYNCER_CONFIG", "/y/conf")
	if p, _ := DefaultPath(); p != "/y/conf" {
		t.Errorf("VDIRSYNCER_CONFIG: %q", p)
	}
}
