package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Reusable pieces for error cases. Each is a complete block; vdirCal starts on the
// line it is placed at.
const (
	vdirCal  = "storage cal {\n type vdir/icalendar\n path /cal\n}\n"                      // 4 lines
	vdirCard = "storage card {\n type vdir/vcard\n path /card\n}\n"                        // 4 lines
	davCal   = "storage dav {\n type caldav\n url https://h/\n}\n"                         // 4 lines
	davCard  = "storage cdav {\n type carddav\n url https://h/\n}\n"                       // 4 lines
	webcal   = "storage feed {\n type webcal\n url https://h/f.ics\n collection_id f\n}\n" // 5 lines
)

// storageConf is a config with status_path on line 1 and a storage block of the given
// type from line 2, its directives from line 4 on.
func storageConf(typ string, lines ...string) string {
	return "status_path /s\nstorage s {\n type " + typ + "\n" + strings.Join(lines, "\n") + "\n}\n"
}

// pairConf is a config with status_path on line 1, the given storages from line 2, and
// the pair's directives from the line after `pair p {`.
func pairConf(storages string, lines ...string) string {
	return "status_path /s\n" + storages + "pair p {\n" + strings.Join(lines, "\n") + "\n}\n"
}

func checkErrors(t *testing.T, text string, want ...string) {
	t.Helper()
	t.Setenv("HOME", testHome)
	cfg, err := Parse("t.conf", []byte(text))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse returned %v (config %v), want *Errors\n%s", err, cfg != nil, text)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config together with errors")
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	for i := range want {
		want[i] = "t.conf:" + want[i]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\ngot  %q\nwant %q\nconfig:\n%s", got, want, text)
	}
	if err.Error() != strings.Join(got, "\n") {
		t.Errorf("Error() = %q, want one error per line", err.Error())
	}
}

// TestConfigErrors covers the config-time errors of config.md §8, items 2 to 17 (1 and
// 18 are in TestLoadErrors and TestSelectPairs).
func TestConfigErrors(t *testing.T) {
	const needBlock = "a block opens with `{` at the end of a line and closes with `}` on a line of its own"
	tests := []struct {
		name string
		conf string
		want []string
	}{
		// 2: syntax
		{"2 unterminated quote", "status_path \"/s\n", []string{"1: unterminated quote"}},
		{"2 quote then non-blank", "status_path '/s'x\n", []string{"1: a closing quote must be followed by a blank or the end of the line"}},
		{"2 unexpected close", "status_path /s\n}\n", []string{"2: unexpected `}`"}},
		{"2 unterminated block", "status_path /s\nstorage s {\n type caldav\n", []string{"2: unterminated block: `{` is never closed by a `}` line"}},
		{"2 brace mid-line", "status_path /s\nstorage s { type\n}\n", []string{"2: unexpected `{`; " + needBlock}},

		// 3: unknown directives, directives not valid for the type
		{"3 top level", "status_path /s\nstorages x {\n}\n", []string{"2: unknown directive `storages`"}},
		{"3 storage", storageConf("caldav", " url https://h/", " colour red"), []string{"5: unknown directive `colour`"}},
		{"3 pair", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " sync_tokens on"), []string{"14: unknown directive `sync_tokens`"}},
		{"3 collection block", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  id_a a", "  id_b b", "  color red", " }"), []string{"17: unknown directive `color`"}},
		{"3 cmd block child", storageConf("caldav", " url {", "  exec foo", " }"), []string{"4: url: block must contain exactly one `cmd` or `shell` directive"}},
		{"3 fileext on caldav", storageConf("caldav", " url https://h/", " fileext ics"), []string{"5: `fileext` is not valid for storage type caldav"}},
		{"3 url on vdir", storageConf("vdir/vcard", " path /p", " url https://h/"), []string{"5: `url` is not valid for storage type vdir/vcard"}},
		{"3 socket on webcal", storageConf("webcal", " url https://h/", " collection_id c", " socket /s"), []string{"6: `socket` is not valid for storage type webcal"}},
		{"3 collection_id on caldav", storageConf("caldav", " url https://h/", " collection_id c"), []string{"5: `collection_id` is not valid for storage type caldav"}},
		{"3 collection_id_segment on webcal", storageConf("webcal", " url https://h/", " collection_id c", " collection_id_segment last"), []string{"6: `collection_id_segment` is not valid for storage type webcal"}},
		{"3 path on caldav", storageConf("carddav", " url https://h/", " path /p"), []string{"5: `path` is not valid for storage type carddav"}},

		// 4: repeated directives
		{"4 interval twice", storageConf("caldav", " url https://h/", " interval 5", " interval 6"), []string{"6: `interval` is specified more than once (first on line 5)"}},
		{"4 read_only and readonly", storageConf("caldav", " url https://h/", " read_only", " readonly"), []string{"6: `readonly` is specified more than once (first on line 5)"}},
		{"4 url twice", storageConf("caldav", " url https://h/", " url {", "  cmd x", " }"), []string{"5: `url` is specified more than once (first on line 4)"}},
		{"4 type twice", storageConf("caldav", " type caldav", " url https://h/"), []string{"4: `type` is specified more than once (first on line 3)"}},
		{"4 storage_b twice", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " storage_b dav", " collections all"), []string{"13: `storage_b` is specified more than once (first on line 12)"}},
		{"4 on_empty twice", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " on_empty skip", " on_empty sync"), []string{"15: `on_empty` is specified more than once (first on line 14)"}},
		{"4 one_way twice", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " one_way", " one_way"), []string{"15: `one_way` is specified more than once (first on line 14)"}},
		{"4 alias twice", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  alias b", "  id_a a", "  id_b b", " }"), []string{"15: `alias` is specified more than once (first on line 14)"}},

		// 5: parameter counts and blocks
		{"5 type with two", storageConf("caldav caldav", " url https://h/"), []string{"3: `type` takes exactly 1 parameter, got 2"}},
		{"5 storage without name", "status_path /s\nstorage {\n}\n", []string{"2: `storage` takes exactly 1 parameter, got 0"}},
		{"5 storage without block", "status_path /s\nstorage s\n", []string{"2: `storage` needs a block"}},
		{"5 pair with two names", "status_path /s\npair a b {\n}\n", []string{"2: `pair` takes exactly 1 parameter, got 2"}},
		{"5 interval with block", storageConf("caldav", " url https://h/", " interval {", "  cmd echo 5", " }"), []string{"5: `interval` does not take a block"}},
		{"5 url with both", storageConf("caldav", " url https://h/ {", "  cmd x", " }"), []string{"4: `url` takes either a parameter or a block, not both"}},
		{"5 password with nothing", storageConf("caldav", " url https://h/", " username u", " password"), []string{"6: `password` needs a parameter or a block"}},
		{"5 username with two", storageConf("caldav", " url https://h/", " username a b"), []string{"5: `username` takes exactly 1 parameter, got 2"}},
		{"5 empty value block", storageConf("caldav", " url {", " }"), []string{"4: url: block must contain exactly one `cmd` or `shell` directive"}},
		{"5 cmd and shell", storageConf("caldav", " url {", "  cmd a", "  shell b", " }"), []string{"4: url: block must contain exactly one `cmd` or `shell` directive"}},
		{"5 cmd without program", storageConf("caldav", " url {", "  cmd", " }"), []string{"5: url: `cmd` is missing its parameter, the program to run"}},
		{"5 shell without text", storageConf("caldav", " url {", "  shell \"\"", " }"), []string{"5: url: `shell` is missing its parameter, the command text"}},
		{"5 cmd with block", storageConf("caldav", " url {", "  cmd x {", "  }", " }"), []string{"5: url: `cmd` does not take a block"}},
		{"5 storage_a with block", pairConf(vdirCal+davCal, " storage_a {", " }", " storage_b dav"), []string{"11: `storage_a` does not take a block"}},
		{"5 auth_cert with three", storageConf("caldav", " url https://h/", " auth_cert a b c"), []string{"5: `auth_cert` takes 1 to 2 parameters, got 3"}},
		{"5 collections with three", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections from a b"), []string{"13: `collections` takes 1 to 2 parameters, got 3"}},
		{"5 conflict_resolution without", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " conflict_resolution"), []string{"14: `conflict_resolution` takes at least 1 parameter, got 0"}},

		// 6: status_path
		{"6 missing", davCal, []string{" missing `status_path`"}},
		{"6 repeated", "status_path /a\nstatus_path {\n cmd echo /b\n}\n", []string{"2: `status_path` is specified more than once (first on line 1)"}},
		{"6 empty", "status_path \"\"\n", []string{"1: `status_path` must not be empty"}},

		// 7: names
		{"7 duplicate storage", "status_path /s\n" + davCal + davCal, []string{"6: storage `dav` is already defined on line 2"}},
		{"7 duplicate pair", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all") + "pair p {\n storage_a cal\n storage_b dav\n collections all\n}\n", []string{"15: pair `p` is already defined on line 10"}},
		{"7 pair name with slash", "status_path /s\n" + vdirCal + davCal + "pair a/b {\n storage_a cal\n storage_b dav\n collections all\n}\n", []string{"10: invalid pair name `a/b`: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL"}},
		{"7 pair name dot-dot", "status_path /s\npair .. {\n}\n", []string{"2: invalid pair name `..`: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL", "2: pair ..: missing `storage_a`", "2: pair ..: missing `storage_b`"}},
		{"7 pair name empty", "status_path /s\npair \"\" {\n collections all\n storage_a x\n storage_b x\n}\n", []string{"2: invalid pair name ``: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL", "4: storage x is not defined", "5: storage x is not defined"}},
		{"7 pair name NUL", "status_path /s\npair \"a\x00b\" {\n}\n", []string{"2: invalid pair name `a\x00b`: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL", "2: pair a\x00b: missing `storage_a`", "2: pair a\x00b: missing `storage_b`"}},
		{"7 empty storage name", "status_path /s\nstorage \"\" {\n type caldav\n url https://h/\n}\n", []string{"2: a storage name must not be empty"}},

		// 8: type
		{"8 missing", "status_path /s\nstorage s {\n url https://h/\n}\n", []string{"2: storage s: missing `type`"}},
		{"8 unknown", storageConf("vdir/ical", " path /p"), []string{"3: unknown storage type vdir/ical"}},
		{"8 jmap icalendar", storageConf("jmap/icalendar", " url https://h/"), []string{"3: JMAP storages are not supported by this build"}},
		{"8 jmap vcard", storageConf("jmap/vcard"), []string{"3: JMAP storages are not supported by this build"}},

		// 9: required directives
		{"9 vdir path", storageConf("vdir/icalendar", " fileext ics"), []string{"2: storage s: missing `path`"}},
		{"9 dav url", storageConf("carddav", " username u"), []string{"2: storage s: missing `url`"}},
		{"9 webcal url and collection_id", storageConf("webcal"), []string{"2: storage s: missing `url`", "2: storage s: missing `collection_id`"}},
		{"9 pair storages", pairConf("", " collections all"), []string{"2: pair p: missing `storage_a`", "2: pair p: missing `storage_b`"}},

		// 10: enums
		{"10 collections", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections from c"), []string{"13: invalid value for collections: `from c` (expected `all`, `from a` or `from b`)"}},
		{"10 collections one word", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections some"), []string{"13: invalid value for collections: `some` (expected `all`, `from a` or `from b`)"}},
		{"10 on_empty", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " on_empty delete"), []string{"14: invalid value for on_empty: `delete` (expected `skip` or `sync`)"}},
		{"10 on_delete", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " on_delete never"), []string{"14: invalid value for on_delete: `never` (expected `sync` or `skip`)"}},
		{"10 conflict_resolution keep", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " conflict_resolution keep c"), []string{"14: invalid value for conflict_resolution: `keep c` (expected `keep a`, `keep b`, `keep both`, `merge` or `cmd PROGRAM [ARG...]`)"}},
		{"10 conflict_resolution cmd alone", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " conflict_resolution cmd"), []string{"14: invalid value for conflict_resolution: `cmd` (expected `keep a`, `keep b`, `keep both`, `merge` or `cmd PROGRAM [ARG...]`)"}},
		{"10 collection_id_segment", storageConf("caldav", " url https://h/", " collection_id_segment first"), []string{"5: collection_id_segment must be `last` or `second-last`"}},

		// 11: interval
		{"11 zero", storageConf("caldav", " url https://h/", " interval 0"), []string{"5: `interval` must be an integer >= 1, got `0`"}},
		{"11 negative", storageConf("caldav", " url https://h/", " interval -5"), []string{"5: `interval` must be an integer >= 1, got `-5`"}},
		{"11 plus", storageConf("caldav", " url https://h/", " interval +5"), []string{"5: `interval` must be an integer >= 1, got `+5`"}},
		{"11 unit", storageConf("caldav", " url https://h/", " interval 5m"), []string{"5: `interval` must be an integer >= 1, got `5m`"}},
		{"11 fraction", storageConf("caldav", " url https://h/", " interval 1.5"), []string{"5: `interval` must be an integer >= 1, got `1.5`"}},
		{"11 empty", storageConf("caldav", " url https://h/", " interval \"\""), []string{"5: `interval` must be an integer >= 1, got ``"}},
		{"11 too large", storageConf("caldav", " url https://h/", " interval 99999999999999999999"), []string{"5: `interval` is too large: 99999999999999999999 seconds"}},
		{"11 beyond a Duration", storageConf("caldav", " url https://h/", " interval 9223372037"), []string{"5: `interval` is too large: 9223372037 seconds"}},

		// 12: flags with parameters
		{"12 read_only", storageConf("caldav", " url https://h/", " read_only yes"), []string{"5: `read_only` takes no parameters, got 1"}},
		{"12 one_way", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collections all", " one_way true"), []string{"14: `one_way` takes no parameters, got 1"}},

		// 13: URLs
		{"13 ftp", storageConf("caldav", " url ftp://h/"), []string{"4: unsupported URL scheme `ftp` for storage type caldav (use http, https or unix)"}},
		{"13 no scheme", storageConf("carddav", " url /dav/"), []string{"4: `url` must be an absolute URL with a scheme, such as https://"}},
		{"13 host:port", storageConf("carddav", " url localhost:8080/dav/"), []string{"4: unsupported URL scheme `localhost` for storage type carddav (use http, https or unix)"}},
		{"13 unparsable", storageConf("caldav", " url http://[::1/"), []string{"4: `url` is not a valid URL: missing ']' in host"}},
		{"13 no host", storageConf("caldav", " url http:///dav/"), []string{"4: `url` has no host"}},
		{"13 empty", storageConf("caldav", " url \"\""), []string{"4: `url` must be an absolute URL with a scheme, such as https://"}},
		{"13 webcal scheme", storageConf("webcal", " url webcal://example.org/f.ics", " collection_id c"), []string{"4: webcal:// URLs are not supported; write https:// instead"}},
		{"13 webcals scheme", storageConf("webcal", " url webcals://example.org/f.ics", " collection_id c"), []string{"4: webcals:// URLs are not supported; write https:// instead"}},
		{"13 webcal on unix", storageConf("webcal", " url unix:///run/s", " collection_id c"), []string{"4: unsupported URL scheme `unix` for storage type webcal (use http or https)"}},
		{"13 socket and unix", storageConf("caldav", " socket /run/a", " url unix:///run/b"), []string{"5: `socket` cannot be combined with a unix:// URL"}},
		{"13 unix with host", storageConf("caldav", " url unix://run/dav.sock"), []string{"4: a Unix-socket URL must have the form unix:///path/to/socket"}},
		{"13 unix without slashes", storageConf("caldav", " url unix:/run/dav.sock"), []string{"4: a Unix-socket URL must have the form unix:///path/to/socket"}},
		{"13 unix relative", storageConf("caldav", " url unix:run/dav.sock"), []string{"4: a Unix-socket URL must have the form unix:///path/to/socket"}},

		// 14: user_agent, tls_fingerprint
		{"14 empty user_agent", storageConf("caldav", " url https://h/", " user_agent \"\" ''"), []string{"5: `user_agent` must not be empty"}},
		{"14 short fingerprint", storageConf("caldav", " url https://h/", " tls_fingerprint "+strings.Repeat("ab", 31)), []string{"5: `tls_fingerprint` must be a SHA-256 fingerprint: 64 hex digits, colons allowed"}},
		{"14 non-hex fingerprint", storageConf("caldav", " url https://h/", " tls_fingerprint "+strings.Repeat("xy", 32)), []string{"5: `tls_fingerprint` must be a SHA-256 fingerprint: 64 hex digits, colons allowed"}},
		{"14 SHA-1 fingerprint", storageConf("webcal", " url https://h/", " collection_id c", " tls_fingerprint "+strings.Repeat("ab:", 19)+"ab"), []string{"6: `tls_fingerprint` must be a SHA-256 fingerprint: 64 hex digits, colons allowed"}},

		// 15: encoding, fileext
		{"15 encoding on vdir", storageConf("vdir/icalendar", " path /p", " encoding utf-8"), []string{"5: encoding is not supported; items are UTF-8"}},
		{"15 encoding on caldav", storageConf("caldav", " url https://h/", " encoding utf-8"), []string{"5: `encoding` is not valid for storage type caldav"}},
		{"15 empty fileext", storageConf("vdir/vcard", " path /p", " fileext \"\""), []string{"5: `fileext` must not be empty"}},
		{"15 dot fileext", storageConf("vdir/vcard", " path /p", " fileext ."), []string{"5: `fileext` must not be empty"}},
		{"15 empty path", storageConf("vdir/vcard", " path \"\""), []string{"4: `path` must not be empty"}},
		{"15 empty socket", storageConf("caldav", " url https://h/", " socket ''"), []string{"5: `socket` must not be empty"}},

		// 16: collection blocks and ids
		{"16 missing alias", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  id_a a", "  id_b b", " }"), []string{"13: collection block must define alias"}},
		{"16 neither id_a nor href_a", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  id_b b", " }"), []string{"13: collection block must define id_a or href_a"}},
		{"16 both id_b and href_b", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  id_a a", "  id_b b", "  href_b /b/", " }"), []string{"13: collection block cannot define both id_b and href_b"}},
		{"16 empty block", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", " }"), []string{"13: collection block must define alias", "13: collection block must define id_a or href_a", "13: collection block must define id_b or href_b"}},
		{"16 extra parameters", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection x {", "  alias a", "  id_a a", "  id_b b", " }"), []string{"13: `collection` takes either a parameter or a block, not both"}},
		{"16 two ids", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection a b"), []string{"13: `collection` takes exactly 1 parameter, got 2"}},
		{"16 no id", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection"), []string{"13: `collection` needs a parameter or a block"}},
		{"16 id with slash", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection a/b"), []string{"13: invalid collection id `a/b`: it must not contain `/`"}},
		{"16 id dot", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection ."), []string{"13: invalid collection id `.`: it must not be `.` or `..`"}},
		{"16 empty id", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection \"\""), []string{"13: invalid collection id ``: it must not be empty"}},
		{"16 id_b dot-dot", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  id_a a", "  id_b ..", " }"), []string{"16: invalid collection id `..`: it must not be `.` or `..`"}},
		{"16 hidden id with vdir", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection .hidden"), []string{"13: invalid collection id `.hidden`: vdir storage cal ignores directories starting with `.`"}},
		{"16 hidden id_b with vdir a", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  href_a a", "  id_b .b", " }"), []string{"13: invalid collection id `.b`: vdir storage cal ignores directories starting with `.`"}},
		{"16 vdir href", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  href_a ../x", "  id_b b", " }"), []string{"13: invalid collection id `../x`: it must not contain `/`"}},
		{"16 dav href not absolute", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias a", "  id_a a", "  href_b cal/a/", " }"), []string{"13: `href_b` of a caldav storage must be an absolute path starting with `/`"}},
		{"16 empty alias and href", pairConf(vdirCal+davCal, " storage_a cal", " storage_b dav", " collection {", "  alias ''", "  id_a a", "  href_b ''", " }"), []string{"14: `alias` must not be empty", "16: `href_b` must not be empty"}},
		{"16 webcal collection_id", storageConf("webcal", " url https://h/", " collection_id ../x"), []string{"5: invalid collection id `../x`: it must not contain `/`"}},
		{"16 hidden webcal id with vdir", "status_path /s\n" + vdirCal + "storage feed {\n type webcal\n url https://h/\n collection_id .f\n}\npair p {\n storage_a feed\n storage_b cal\n collections all\n}\n", []string{"11: invalid collection id `.f`: vdir storage cal ignores directories starting with `.`"}},

		// 17: pairs and their storages
		{"17 empty storage name", pairConf(vdirCal, " storage_a cal", " storage_b ''", " collections all"), []string{"8: `storage_b` must not be empty"}},
		{"17 undefined storage", pairConf(vdirCal, " storage_a cal", " storage_b nowhere", " collections all"), []string{"8: storage nowhere is not defined"}},
		{"17 same storage", pairConf(vdirCal, " storage_a cal", " storage_b cal", " collections all"), []string{"8: pair p uses storage cal on both sides"}},
		{"17 calendar with contacts", pairConf(vdirCard+davCal, " storage_a card", " storage_b dav", " collections all"), []string{"10: pair p mixes calendar storage dav with contacts storage card"}},
		{"17 webcal with carddav", pairConf(webcal+davCard, " storage_a cdav", " storage_b feed", " collections all"), []string{"11: pair p mixes calendar storage feed with contacts storage cdav"}},
		{"17 both read-only", pairConf(webcal+"storage dav {\n type caldav\n url https://h/\n read_only\n}\n", " storage_a dav", " storage_b feed", " collections all"), []string{"12: pair p: both storages are read-only"}},
		{"17 one_way to read-only b", pairConf(vdirCal+"storage dav {\n type caldav\n url https://h/\n readonly\n}\n", " storage_a cal", " storage_b dav", " collections all", " one_way"), []string{"15: pair p: one_way needs a writable storage b"}},
		{"17 one_way to webcal", pairConf(vdirCal+webcal, " storage_a cal", " storage_b feed", " collections all", " one_way"), []string{"15: pair p: one_way needs a writable storage b"}},
		{"17 storage defined later is fine", "status_path /s\npair p {\n storage_a cal\n storage_b dav\n storage_a cal\n}\n" + vdirCal + davCal, []string{"5: `storage_a` is specified more than once (first on line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrors(t, tt.conf, tt.want...) })
	}
}

func TestCollectedErrors(t *testing.T) {
	checkErrors(t, `storage a {
	type caldav
	url ftp://h/
	interval 0
	bogus
}
storage b {
	type vdir/vcard
	encoding utf-8
}
storage a {
	type jmap/vcard
}
pair "x/y" {
	storage_a a
	storage_b c
	collections sometimes
	one_way please
}
top_level_typo 1
`,
		" missing `status_path`",
		"3: unsupported URL scheme `ftp` for storage type caldav (use http, https or unix)",
		"4: `interval` must be an integer >= 1, got `0`",
		"5: unknown directive `bogus`",
		"7: storage b: missing `path`",
		"9: encoding is not supported; items are UTF-8",
		"11: storage `a` is already defined on line 1",
		"12: JMAP storages are not supported by this build",
		"14: invalid pair name `x/y`: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL",
		"16: storage c is not defined",
		"17: invalid value for collections: `sometimes` (expected `all`, `from a` or `from b`)",
		"18: `one_way` takes no parameters, got 1",
		"20: unknown directive `top_level_typo`",
	)
	// errors.As reaches the individual errors.
	_, err := Parse("t.conf", []byte("status_path /s\nx\n"))
	var one *Error
	if !errors.As(err, &one) || one.Pos != (Pos{"t.conf", 2}) || one.Msg != "unknown directive `x`" {
		t.Errorf("errors.As(*Error) = %#v", one)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "pimsync.conf")
	_, err := Load(missing)
	if err == nil || err.Error() != "cannot read configuration file "+missing+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v does not match fs.ErrNotExist", err)
	}

	t.Chdir(dir)
	_, err = Load("relative.conf")
	if want := filepath.Join(dir, "relative.conf"); err == nil || !strings.Contains(err.Error(), want+":") {
		t.Errorf("relative path: %v, want the full path %s", err, want)
	}

	_, err = Load(dir)
	if err == nil || err.Error() != "cannot read configuration file "+dir+": is a directory" {
		t.Errorf("directory: %v", err)
	}

	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("status_path /s\nnope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil || err.Error() != bad+":2: unknown directive `nope`" {
		t.Errorf("bad file: %v", err)
	}
}
