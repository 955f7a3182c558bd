package main

// The manuals (docs/man/) are lint-clean and agree with `pimsync --help`; every command
// answers --help; `make install` installs binary, manuals and completions.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// repoRoot is the top of the source tree, relative to this package.
const repoRoot = "../.."

var manPages = []string{"docs/man/pimsync.1", "docs/man/pimsync.conf.5"}

func TestManPagesLint(t *testing.T) {
	mandoc := requireTool(t, "mandoc", "mandoc")
	for _, page := range manPages {
		out, err := exec.Command(mandoc, "-T", "lint", "-W", "warning", filepath.Join(repoRoot, page)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("mandoc -T lint -W warning %s: %v\n%s", page, err, out)
		}
	}
}

// flagRE finds options in usage text and in rendered mdoc: a dash after a blank or a
// bracket, so that "resolve-conflicts" does not count.
var flagRE = regexp.MustCompile(`(?:^|[\s\[|])(--?[a-z][a-z-]*)`)

// normFlag maps a flag to its canonical spelling: Go's flag package treats --x like
// -x, and -help is the long form of -h.
func normFlag(f string) string {
	f = "-" + strings.TrimLeft(f, "-")
	if f == "-help" {
		f = "-h"
	}
	return f
}

func flagsIn(s string) []string {
	set := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(s, -1) {
		set[normFlag(m[1])] = true
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// usageSpec reads main.go's usage text: each command with the flags on its line, and
// the global flags (those on the other lines).
func usageSpec(t *testing.T) (commands map[string][]string, order []string, global []string) {
	t.Helper()
	commands = map[string][]string{}
	var other strings.Builder
	inCommands := false
	for _, line := range strings.Split(usageText(), "\n") {
		switch {
		case line == "Commands:":
			inCommands = true
			continue
		case inCommands && strings.HasPrefix(line, "  "):
			fields := strings.Fields(line)
			// The synopsis ends where the description starts (two blanks or more).
			synopsis := strings.SplitN(strings.TrimSpace(line), "  ", 2)[0]
			commands[fields[0]] = flagsIn(strings.TrimPrefix(synopsis, fields[0]))
			order = append(order, fields[0])
			continue
		case inCommands && strings.TrimSpace(line) == "":
			inCommands = false
		}
		other.WriteString(line + "\n")
	}
	if len(order) == 0 {
		t.Fatal("no commands found in usageText")
	}
	return commands, order, flagsIn(other.String())
}

// manSpec reads pimsync(1): the commands of COMMANDS (".It Cm NAME ...") with the
// flags of their heading line, and the flags of SYNOPSIS and OPTIONS.
func manSpec(t *testing.T) (commands map[string][]string, order []string, global []string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "docs/man/pimsync.1"))
	if err != nil {
		t.Fatal(err)
	}
	commands = map[string][]string{}
	section, depth := "", 0
	var globalText strings.Builder
	// "Fl x" is the mdoc spelling of -x; "\-" an escaped dash.
	toText := func(s string) string {
		s = strings.ReplaceAll(s, `\-`, "-")
		return regexp.MustCompile(`\bFl (\S+)`).ReplaceAllString(s, " -$1")
	}
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, ".Sh "):
			section, depth = strings.TrimPrefix(line, ".Sh "), 0
		case strings.HasPrefix(line, ".Bl"):
			depth++
		case strings.HasPrefix(line, ".El"):
			depth--
		case section == "COMMANDS" && depth == 1 && strings.HasPrefix(line, ".It Cm "):
			name := strings.Fields(line)[2]
			commands[name] = flagsIn(toText(strings.TrimPrefix(line, ".It Cm "+name)))
			order = append(order, name)
		case section == "SYNOPSIS" || (section == "OPTIONS" && strings.HasPrefix(line, ".It ")):
			globalText.WriteString(toText(line) + "\n")
		}
	}
	return commands, order, flagsIn(globalText.String())
}

// The manual documents exactly the commands and options of `pimsync --help`, and the
// completion scripts know the same ones.
func TestManPageMatchesUsage(t *testing.T) {
	uCmds, uOrder, uGlobal := usageSpec(t)
	mCmds, mOrder, mGlobal := manSpec(t)
	if strings.Join(uOrder, " ") != strings.Join(mOrder, " ") {
		t.Errorf("commands differ:\n  pimsync --help: %v\n  pimsync(1):     %v", uOrder, mOrder)
	}
	for _, c := range uOrder {
		if strings.Join(uCmds[c], " ") != strings.Join(mCmds[c], " ") {
			t.Errorf("flags of %s differ: pimsync --help %v, pimsync(1) %v", c, uCmds[c], mCmds[c])
		}
	}
	if strings.Join(uGlobal, " ") != strings.Join(mGlobal, " ") {
		t.Errorf("global options differ: pimsync --help %v, pimsync(1) %v", uGlobal, mGlobal)
	}
	// The completion table (completion.go).
	var cOrder []string
	for _, c := range commands {
		cOrder = append(cOrder, c.name)
		var flags []string
		for _, f := range c.flags {
			flags = append(flags, "-"+f.name)
		}
		sort.Strings(flags)
		if strings.Join(flags, " ") != strings.Join(uCmds[c.name], " ") {
			t.Errorf("completion flags of %s: %v, pimsync --help: %v", c.name, flags, uCmds[c.name])
		}
	}
	if strings.Join(uOrder, " ") != strings.Join(cOrder, " ") {
		t.Errorf("completion commands %v, pimsync --help %v", cOrder, uOrder)
	}
}

// Every directive of config.md is documented in pimsync.conf(5).
func TestConfManPageDirectives(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "docs/man/pimsync.conf.5"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	for _, d := range []string{
		"status_path", "storage", "pair", "cmd", "shell",
		"type", "interval", "read_only", "readonly", "path", "fileext", "encoding",
		"url", "username", "password", "socket", "collection_id_segment", "user_agent",
		"tls_root", "tls_fingerprint", "auth_cert", "collection_id",
		"storage_a", "storage_b", "collections", "collection", "alias", "id_a", "href_a",
		"id_b", "href_b", "on_empty", "on_delete", "conflict_resolution", "one_way",
	} {
		if !regexp.MustCompile(`(?m)\bIc ` + regexp.QuoteMeta(d) + `\b`).MatchString(text) {
			t.Errorf("pimsync.conf(5) does not document the directive %s", d)
		}
	}
	for _, v := range []string{"vdir/icalendar", "vdir/vcard", "caldav", "carddav", "webcal", "last", "second-last", "all", "from a", "from b", "skip", "sync", "keep a", "keep b"} {
		if !strings.Contains(text, v) {
			t.Errorf("pimsync.conf(5) does not mention %q", v)
		}
	}
}

func TestHelp(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}} {
		r := e.runWith(nil, "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: pimsync ") || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("pimsync %v: %s", args, r)
		}
	}
	_, order, _ := usageSpec(t)
	for _, c := range order {
		for _, h := range []string{"--help", "-h"} {
			r := e.runWith(nil, "", c, h)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: pimsync "+c) {
				t.Errorf("pimsync %s %s: want exit 0 and a usage line, got %s", c, h, r)
			}
		}
	}
}

// `pimsync COMMAND --help` says what the command does and explains every option of
// the command table, which is also what the command accepts.
func TestCommandHelpExplainsEveryOption(t *testing.T) {
	e := newEnv(t)
	for _, c := range commands {
		r := e.runWith(nil, "", c.name, "--help")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("pimsync %s --help: %s", c.name, r)
			continue
		}
		words := strings.Fields(c.about)
		if len(words) < 5 || !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), strings.Join(words[:5], " ")) {
			t.Errorf("pimsync %s --help does not say what it does:\n%s", c.name, r.stdout)
		}
		for _, f := range c.flags {
			dash := "-" + f.name
			if len(f.name) > 1 {
				dash = "--" + f.name
			}
			help := strings.Join(strings.Fields(f.help), " ")
			if !regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(dash)+`\b`).MatchString(r.stdout) ||
				!strings.Contains(strings.Join(strings.Fields(r.stdout), " "), help) {
				t.Errorf("pimsync %s --help does not explain %s:\n%s", c.name, dash, r.stdout)
			}
			// The option is accepted (with a value where it takes one).
			args := []string{c.name, dash}
			if f.arg != "" {
				args = append(args, "x")
			}
			if r := e.runWith(nil, "", append(args, "--help")...); r.code != 0 {
				t.Errorf("pimsync %v --help: %s", args, r)
			}
		}
	}
}

// A usage error is one line on stderr that says what is wrong and where the help is,
// with exit status 100.
func TestUsageErrorsAreOneLine(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args       []string
		want, hint string
	}{
		{[]string{"snyc"}, `unknown command "snyc"; did you mean sync?`, "pimsync --help"},
		{[]string{"-x"}, "-x", "pimsync --help"},
		{[]string{"sync", "-x"}, "unknown option -x", "pimsync sync --help"},
		{[]string{"daemon", "-r"}, "option -r needs an argument", "pimsync daemon --help"},
		{[]string{"version", "extra"}, "version takes no arguments", "pimsync version --help"},
		{[]string{"trash", "frob"}, `unknown trash command "frob"`, "pimsync trash --help"},
		{[]string{"completion", "tcsh"}, `unknown shell "tcsh"`, "pimsync completion --help"},
	} {
		r := e.runWith(nil, "", append([]string{"-c", e.cfg}, c.args...)...)
		if r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) ||
			!strings.Contains(r.stderr, "(see "+c.hint+")") || r.stdout != "" {
			t.Errorf("pimsync %v: want exit 100 and one line with %q and %q, got %s", c.args, c.want, c.hint, r)
		}
	}
}

// Without a configuration file, pimsync says how to get one.
func TestNoConfigurationFile(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"sync"}, {"check"}, {"-c", e.path("nope.conf"), "discover"}} {
		r := e.runWith(nil, "", args...)
		if r.code != exitError || !strings.Contains(r.stderr, "no configuration file at ") ||
			!strings.Contains(r.stderr, "pimsync demo") || !strings.Contains(r.stderr, "pimsync migrate-vdirsyncer > ") ||
			!strings.Contains(r.stderr, "short form") || !strings.Contains(r.stderr, "pimsync.conf(5)") {
			t.Errorf("pimsync %v without a configuration: %s", args, r)
		}
	}
}

// `make install` puts everything in place under DESTDIR/PREFIX, and the installed
// manuals render.
func TestMakeInstall(t *testing.T) {
	mk := requireTool(t, "make", "make")
	mandoc := requireTool(t, "mandoc", "mandoc")
	dest := t.TempDir()
	build := filepath.Join(t.TempDir(), "pimsync")
	cmd := exec.Command(mk, "-s", "install", "DESTDIR="+dest, "PREFIX=/usr", "BIN="+build)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	files := map[string]os.FileMode{
		"usr/bin/pimsync":                                  0o755,
		"usr/share/man/man1/pimsync.1":                     0o644,
		"usr/share/man/man5/pimsync.conf.5":                0o644,
		"usr/share/bash-completion/completions/pimsync":    0o644,
		"usr/share/zsh/site-functions/_pimsync":            0o644,
		"usr/share/fish/vendor_completions.d/pimsync.fish": 0o644,
	}
	for f, mode := range files {
		info, err := os.Stat(filepath.Join(dest, f))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", f, info.Mode().Perm(), mode)
		}
	}
	for shell, f := range map[string]string{"bash": "usr/share/bash-completion/completions/pimsync",
		"zsh": "usr/share/zsh/site-functions/_pimsync", "fish": "usr/share/fish/vendor_completions.d/pimsync.fish"} {
		got, _ := os.ReadFile(filepath.Join(dest, f))
		if want := bashOrOther(shell); string(got) != want {
			t.Errorf("installed %s completion differs from `pimsync completion %s`", shell, shell)
		}
	}
	out, err := exec.Command(filepath.Join(dest, "usr/bin/pimsync"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "pimsync ") {
		t.Errorf("installed binary: %v %s", err, out)
	}
	for page, want := range map[string]string{
		"usr/share/man/man1/pimsync.1":      "resolve-conflicts",
		"usr/share/man/man5/pimsync.conf.5": "conflict_resolution",
	} {
		raw, err := exec.Command(mandoc, "-T", "utf8", filepath.Join(dest, page)).CombinedOutput()
		out := overstrike.ReplaceAll(raw, nil)
		if err != nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "NAME") {
			t.Errorf("mandoc cannot render the installed %s: %v\n%s", page, err, out)
		}
	}
	// man(1) finds the installed pages through MANPATH too, where man-db is installed.
	if man, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command(man, "-l", filepath.Join(dest, "usr/share/man/man1/pimsync.1"))
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80")
		out, err := cmd.CombinedOutput()
		out = overstrike.ReplaceAll(out, nil)
		if err != nil || !strings.Contains(string(out), "SYNOPSIS") {
			t.Errorf("man -l: %v\n%s", err, out)
		}
	}
}

// overstrike matches the "character, backspace" pairs of bold and underlined text in
// terminal output of mandoc and man, leaving the plain text.
var overstrike = regexp.MustCompile(`.\x08`)

// bashOrOther returns the completion script the binary generates for a shell.
func bashOrOther(shell string) string {
	switch shell {
	case "bash":
		return bashCompletion()
	case "zsh":
		return zshCompletion()
	}
	return fishCompletion()
}
