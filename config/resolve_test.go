package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// resolveConf uses $LOG, a file each command appends its name to, to show which
// commands ran and in what order. Storage `unused` is in no pair: its commands fail.
const resolveConf = `storage remote {
	type caldav
	url {
		shell echo url >> $LOG; echo https://dav.example.com/
	}
	username {
		cmd sh -c "echo username >> \"$LOG\"; echo '  alice  '"
	}
	password {
		shell echo password >> $LOG; echo hunter2
	}
}
storage unused {
	type caldav
	url {
		shell echo unused >> $LOG; exit 1
	}
}
status_path {
	shell echo status_path >> $LOG; echo ~/status
}
storage local {
	type vdir/icalendar
	path {
		cmd sh -c "echo path >> \"$LOG\"; echo '~/cal'"
	}
}
storage other {
	type vdir/icalendar
	path {
		shell echo other >> $LOG; echo /other
	}
}
pair p {
	storage_a local
	storage_b remote
	collections all
}
pair q {
	storage_a other
	storage_b unused
	collections all
}
pair r {
	storage_a other
	storage_b remote
	collections all
}
`

// setupLog points $LOG at a fresh file and returns a function reading its lines.
func setupLog(t *testing.T) func() []string {
	t.Helper()
	log := filepath.Join(t.TempDir(), "log")
	t.Setenv("LOG", log)
	return func() []string {
		data, err := os.ReadFile(log)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(data))
	}
}

func TestResolveFor(t *testing.T) {
	ran := setupLog(t)
	cfg := parse(t, resolveConf)
	warnings, err := cfg.ResolveFor(t.Context(), []string{"p"})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("ResolveFor: %v, %v", warnings, err)
	}
	// File order, and only status_path and the storages of pair p.
	if got, want := ran(), []string{"url", "username", "password", "status_path", "path"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands ran in order %q, want %q", got, want)
	}
	remote, local := cfg.Storages["remote"], cfg.Storages["local"]
	for _, c := range [][2]string{
		{cfg.StatusPath.Get(), testHome + "/status"},
		{remote.URL.Get(), "https://dav.example.com/"},
		{remote.Username.Get(), "alice"}, // trimmed
		{remote.Password.Get(), "hunter2"},
		{local.Path.Get(), testHome + "/cal"}, // ~/ expanded after resolution
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}

	// Cached: running again for p and r runs only storage other's command.
	if _, err := cfg.ResolveFor(t.Context(), []string{"r", "p"}); err != nil {
		t.Fatal(err)
	}
	if got, want := ran(), []string{"url", "username", "password", "status_path", "path", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after second ResolveFor: %q, want %q", got, want)
	}
	if got := cfg.Storages["other"].Path.Get(); got != "/other" {
		t.Errorf("other path = %q", got)
	}
	// Unused is still unresolved.
	defer func() {
		if recover() == nil {
			t.Errorf("Get on an unresolved value did not panic")
		}
	}()
	cfg.Storages["unused"].URL.Get()
}

func TestResolveForAllPairs(t *testing.T) {
	ran := setupLog(t)
	cfg := parse(t, resolveConf)
	_, err := cfg.ResolveFor(t.Context(), nil)
	if err == nil || err.Error() != "t.conf:15: url: command exited with status 1" {
		t.Errorf("ResolveFor(all) error = %v", err)
	}
	// It stops at the first failure: nothing after line 15 ran.
	if got, want := ran(), []string{"url", "username", "password", "unused"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands ran %q, want %q", got, want)
	}
}

func TestResolveStorages(t *testing.T) {
	ran := setupLog(t)
	cfg := parse(t, resolveConf)
	if _, err := cfg.ResolveStorages(t.Context(), []string{"local", "other"}); err != nil {
		t.Fatal(err)
	}
	if got, want := ran(), []string{"path", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands ran %q, want %q (no status_path)", got, want)
	}
	_, err := cfg.ResolveStorages(t.Context(), []string{"x", "local", "y"})
	if err == nil || err.Error() != "storage x is not defined in t.conf\nstorage y is not defined in t.conf" {
		t.Errorf("unknown storages: %v", err)
	}
}

func TestSelectPairs(t *testing.T) {
	cfg := parse(t, resolveConf)
	names := func(ps []*Pair) (out []string) {
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	all, err := cfg.SelectPairs(nil)
	if err != nil || !reflect.DeepEqual(names(all), []string{"p", "q", "r"}) {
		t.Errorf("SelectPairs(nil) = %q, %v", names(all), err)
	}
	some, err := cfg.SelectPairs([]string{"r", "p", "r"})
	if err != nil || !reflect.DeepEqual(names(some), []string{"r", "p"}) {
		t.Errorf("SelectPairs(r p r) = %q, %v", names(some), err)
	}
	_, err = cfg.SelectPairs([]string{"p", "nope"})
	if err == nil || err.Error() != "pair nope is not defined in t.conf" {
		t.Errorf("unknown pair: %v", err)
	}
	if _, err := cfg.ResolveFor(t.Context(), []string{"nope"}); err == nil || err.Error() != "pair nope is not defined in t.conf" {
		t.Errorf("ResolveFor(unknown pair): %v", err)
	}
}

// resolveOne parses a config whose status_path is the given dynamic block and
// resolves it.
func resolveOne(t *testing.T, directive string, block string) (string, error) {
	t.Helper()
	other := "username u"
	if directive == "username" {
		other = "password p"
	}
	cfg := parse(t, "status_path /s\nstorage d {\n type caldav\n url https://h/\n "+other+"\n "+directive+" {\n  "+block+"\n }\n}\n")
	d := cfg.Storages["d"]
	if directive == "username" {
		return d.Username.Resolve(t.Context())
	}
	return d.Password.Resolve(t.Context())
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		directive, block, want string
	}{
		{"password", "shell echo s3cret; exit 3", "t.conf:6: password: command exited with status 3"},
		{"password", "shell kill -9 $$", "t.conf:6: password: command was terminated by signal 9 (killed)"},
		{"password", "cmd true", "t.conf:6: password: password command returned an empty string"},
		{"password", `shell echo "   "`, "t.conf:6: password: password command returned an empty string"},
		{"username", "cmd true", "t.conf:6: username: command returned an empty value"},
		{"password", `shell printf "'s3cret\\377'"`, "t.conf:6: password: command output is not valid UTF-8"},
		{"password", "cmd pimsync-test-no-such-program", `t.conf:6: password: exec: "pimsync-test-no-such-program": executable file not found in $PATH`},
		{"password", "cmd /nonexistent/program", "t.conf:6: password: fork/exec /nonexistent/program: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.block, func(t *testing.T) {
			got, err := resolveOne(t, tt.directive, tt.block)
			if err == nil || err.Error() != tt.want || got != "" {
				t.Errorf("Resolve = %q, %v; want error %q", got, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Pos.Line != 6 {
				t.Errorf("error %#v is not an *Error on line 6", err)
			}
		})
	}
}

func TestResolveCommandForms(t *testing.T) {
	tests := []struct{ block, want string }{
		// cmd runs the program directly: no shell expansion.
		{`cmd echo "$HOME" '*' "a  b"`, "$HOME * a  b"},
		// shell joins its parameters with single spaces and runs sh -c.
		{`shell echo "$X"   "a  b"`, "from-env a b"},
		{`cmd printf "  padded\\n\\n"`, "padded"},
		{`cmd printf "ünïcödé"`, "ünïcödé"},
	}
	t.Setenv("X", "from-env")
	for _, tt := range tests {
		got, err := resolveOne(t, "password", tt.block)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.block, got, err, tt.want)
		}
	}
}

func TestResolveCanceled(t *testing.T) {
	cfg := parse(t, "status_path {\n cmd sleep 10\n}\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := cfg.StatusPath.Resolve(ctx)
	if err == nil || err.Error() != "t.conf:1: status_path: context canceled" {
		t.Errorf("canceled: %v", err)
	}
}

func TestResolvedURLs(t *testing.T) {
	t.Setenv("HOME", testHome)
	tests := []struct {
		name, storage string
		socket, base  string
		warnings      []string
		err           string
	}{
		{
			name:    "unix URL sets the socket",
			storage: "type caldav\n url {\n  cmd echo unix:///run/dav.sock\n }",
			socket:  "/run/dav.sock", base: "http://localhost/",
		},
		{
			name:    "http URL with TLS settings warns",
			storage: "type caldav\n tls_root /ca.pem\n url {\n  cmd echo http://h/dav/\n }",
			base:    "http://h/dav/", warnings: []string{"t.conf:5: `tls_root` ignored: TLS is not used for http:// URLs"},
		},
		{
			name:    "bad scheme",
			storage: "type caldav\n url {\n  cmd echo ftp://h/\n }",
			err:     "t.conf:4: unsupported URL scheme `ftp` for storage type caldav (use http, https or unix)",
		},
		{
			name:    "webcal scheme",
			storage: "type webcal\n collection_id c\n url {\n  cmd echo webcal://h/f.ics\n }",
			err:     "t.conf:5: webcal:// URLs are not supported; write https:// instead",
		},
		{
			name:    "socket with unix URL",
			storage: "type caldav\n socket /run/a\n url {\n  cmd echo unix:///run/b\n }",
			err:     "t.conf:5: `socket` cannot be combined with a unix:// URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, "status_path /s\nstorage s {\n "+tt.storage+"\n}\nstorage v {\n type vdir/icalendar\n path /v\n}\npair p {\n storage_a v\n storage_b s\n collections all\n}\n")
			var got []string
			for i := 0; i < 2; i++ { // checking again gives the same result
				warnings, err := cfg.ResolveFor(t.Context(), nil)
				if tt.err != "" {
					if err == nil || err.Error() != tt.err {
						t.Fatalf("error = %v, want %s", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got = got[:0]
				for _, w := range warnings {
					got = append(got, w.String())
				}
				if !reflect.DeepEqual(got, tt.warnings) && (len(got) > 0 || len(tt.warnings) > 0) {
					t.Errorf("warnings = %q, want %q", got, tt.warnings)
				}
			}
			s := cfg.Storages["s"]
			if s.Socket != tt.socket {
				t.Errorf("Socket = %q, want %q", s.Socket, tt.socket)
			}
			if u, err := s.BaseURL(); err != nil || u.String() != tt.base {
				t.Errorf("BaseURL = %v, %v; want %s", u, err, tt.base)
			}
		})
	}
	// CheckURL before the command ran.
	cfg := parse(t, "status_path /s\nstorage s {\n type caldav\n url {\n  cmd echo https://h/\n }\n}\n")
	if _, err := cfg.Storages["s"].CheckURL(); err == nil || err.Error() != "t.conf:4: url: the command has not been run yet" {
		t.Errorf("CheckURL before Resolve: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		xdg, home, want, err string
	}{
		{xdg: "/xdg", home: "/home/a", want: "/xdg/pimsync/pimsync.conf"},
		{xdg: "/xdg", home: "", want: "/xdg/pimsync/pimsync.conf"},
		{xdg: "", home: "/home/a", want: "/home/a/.config/pimsync/pimsync.conf"},
		{xdg: "", home: "", err: "cannot find the configuration file: neither XDG_CONFIG_HOME nor HOME is set"},
	}
	for _, tt := range tests {
		t.Setenv("XDG_CONFIG_HOME", tt.xdg)
		t.Setenv("HOME", tt.home)
		got, err := DefaultPath()
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("XDG_CONFIG_HOME=%q HOME=%q: DefaultPath() = %q, %v; want %q, %q", tt.xdg, tt.home, got, err, tt.want, tt.err)
		}
	}
	// Unset (not just empty) XDG_CONFIG_HOME.
	t.Setenv("HOME", "/home/b")
	os.Unsetenv("XDG_CONFIG_HOME")
	if got, err := DefaultPath(); err != nil || got != "/home/b/.config/pimsync/pimsync.conf" {
		t.Errorf("unset XDG_CONFIG_HOME: %q, %v", got, err)
	}
}
