package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionConfig has two storages and two pairs; the default configuration in the
// workspace's HOME has different names, so the tests can tell which one was read.
const completionConfig = `status_path %q

storage local {
    type vdir/icalendar
    path %q
}

storage remote {
    type vdir/icalendar
    path %q
    read_only
}

pair calendars {
    storage_a local
    storage_b remote
    collections all
}

pair cal_archive {
    storage_a remote
    storage_b local
    collections all
}
`

const defaultConfig = `status_path %q

storage home_store {
    type vdir/icalendar
    path %q
}

storage other_store {
    type vdir/icalendar
    path %q
}

pair homepair {
    storage_a home_store
    storage_b other_store
    collection x
}
`

func newCompletionEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.write("comp.conf", fmt.Sprintf(completionConfig, e.path("status"), e.path("a"), e.path("b")))
	e.write("home/.config/pimsync/pimsync.conf", fmt.Sprintf(defaultConfig, e.path("status"), e.path("a"), e.path("b")))
	return e
}

func TestCompletionBash(t *testing.T) {
	bash := requireTool(t, "bash", "bash")
	e := newCompletionEnv(t)
	script := e.runWith(nil, "", "completion", "bash")
	if script.code != 0 || !strings.Contains(script.stdout, "complete -F _pimsync pimsync") {
		t.Fatalf("pimsync completion bash: %s", script)
	}
	e.write("pimsync.bash", script.stdout)

	cases := []struct {
		words []string // the command line; the last word is the one being completed
		want  string   // COMPREPLY, space-separated, in order
	}{
		{[]string{"pimsync", ""}, strings.Join(commandNames("*"), " ")},
		{[]string{"pimsync", "s"}, "sync"},
		{[]string{"pimsync", "re"}, "resolve-conflicts repair"},
		{[]string{"pimsync", "-"}, "-c -v -h --help"},
		{[]string{"pimsync", "-v", ""}, "trace debug info warn error"},
		{[]string{"pimsync", "-v", "d"}, "debug"},
		{[]string{"pimsync", "-v", "info", "d"}, "daemon discover demo"},
		{[]string{"pimsync", "-c", "comp.conf", "sync", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "sync", "cal_"}, "cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "sync", "calendars", ""}, "cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "sync", "-"}, "-n"},
		{[]string{"pimsync", "-c", "comp.conf", "sync", "-n", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-v", "debug", "-c", "comp.conf", "daemon", "-r", ""}, ""},
		{[]string{"pimsync", "-c", "comp.conf", "daemon", "-r", "3", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "resolve-conflicts", "c"}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "check", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "discover", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "tui", ""}, "calendars cal_archive"},
		{[]string{"pimsync", "-c", "comp.conf", "repair", ""}, "local remote"},
		{[]string{"pimsync", "-c", "comp.conf", "repair", "-n", "r"}, "remote"},
		{[]string{"pimsync", "-c", "=", "comp.conf", "repair", ""}, "local remote"}, // -c=FILE split at "="
		{[]string{"pimsync", "-c", "~/.config/pimsync/pimsync.conf", "check", ""}, "homepair"},
		{[]string{"pimsync", "sync", ""}, "homepair"}, // the default configuration
		{[]string{"pimsync", "repair", ""}, "home_store other_store"},
		{[]string{"pimsync", "-c", "missing.conf", "sync", ""}, ""},
		{[]string{"pimsync", "completion", ""}, "bash zsh fish"},
		{[]string{"pimsync", "completion", "z"}, "zsh"},
		{[]string{"pimsync", "completion", "bash", ""}, ""},
		{[]string{"pimsync", "version", ""}, ""},
		{[]string{"pimsync", "demo", ""}, ""},
		{[]string{"pimsync", "migrate-vdirsyncer", "comp."}, "comp.conf"},
	}
	var driver strings.Builder
	driver.WriteString(`source ./pimsync.bash
t() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _pimsync
    printf '%s\n' "${COMPREPLY[*]}"
}
`)
	for _, c := range cases {
		quoted := make([]string, len(c.words))
		for i, w := range c.words {
			quoted[i] = "'" + w + "'"
		}
		fmt.Fprintf(&driver, "t %s\n", strings.Join(quoted, " "))
	}
	e.write("driver.bash", driver.String())
	cmd := exec.Command(bash, "--norc", "--noprofile", "driver.bash")
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), raceNoSleep, "HOME="+e.home, "XDG_CONFIG_HOME=", "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(cases) {
		t.Fatalf("bash printed %d lines for %d cases:\n%s", len(got), len(cases), out)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("completing %q: got %q, want %q", strings.Join(c.words, " "), got[i], c.want)
		}
	}
}

func TestCompleteHelper(t *testing.T) {
	e := newCompletionEnv(t)
	r := e.runWith(nil, "", "-c", "comp.conf", "__complete", "pairs")
	if r.code != 0 || r.stdout != "calendars\ncal_archive\n" || r.stderr != "" {
		t.Errorf("__complete pairs: %s", r)
	}
	r = e.runWith(nil, "", "-c", "comp.conf", "__complete", "storages")
	if r.code != 0 || r.stdout != "local\nremote\n" || r.stderr != "" {
		t.Errorf("__complete storages: %s", r)
	}
	r = e.runWith(nil, "", "__complete", "pairs")
	if r.code != 0 || r.stdout != "homepair\n" {
		t.Errorf("__complete pairs with the default configuration: %s", r)
	}

	// Broken, missing or unusable configurations give no names and no noise, and no
	// credential command ever runs.
	e.write("broken.conf", "storage x {\n")
	e.write("cmd.conf", fmt.Sprintf(`status_path { shell touch %q }
storage s {
    type caldav
    url https://dav.example.com/
    username u
    password { shell touch %q }
}
pair p {
    storage_a s
    storage_b s2
    collections all
}
storage s2 {
    type vdir/icalendar
    path %q
}
`, e.path("marker1"), e.path("marker2"), e.path("a")))
	for _, args := range [][]string{
		{"-c", "broken.conf", "__complete", "pairs"},
		{"-c", "missing.conf", "__complete", "storages"},
		{"-c", "comp.conf", "__complete", "bogus"},
		{"-c", "comp.conf", "__complete"},
	} {
		r := e.runWith(nil, "", args...)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("pimsync %v: want silence and exit 0, got %s", args, r)
		}
	}
	r = e.runWith(nil, "", "-c", "cmd.conf", "__complete", "pairs")
	if r.code != 0 || r.stdout != "p\n" {
		t.Errorf("__complete pairs with command values: %s", r)
	}
	if e.exists("marker1") || e.exists("marker2") {
		t.Errorf("__complete ran a credential command")
	}
}

func TestCompletionCommandErrors(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		r := e.runWith(nil, "", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "completion") {
			t.Errorf("pimsync %v: want a usage error, got %s", args, r)
		}
	}
}

func TestCompletionZshAndFish(t *testing.T) {
	e := newEnv(t)
	for _, shell := range []string{"zsh", "fish"} {
		r := e.runWith(nil, "", "completion", shell)
		if r.code != 0 {
			t.Fatalf("pimsync completion %s: %s", shell, r)
		}
		script := r.stdout
		// Every command, the log levels and both name helpers are in the script.
		for _, c := range commands {
			if !strings.Contains(script, c.name) {
				t.Errorf("%s script does not mention command %s", shell, c.name)
			}
		}
		for _, want := range []string{"__complete pairs", "__complete storages", strings.Join(logLevels, " ")} {
			if shell == "fish" && strings.HasPrefix(want, "__complete") {
				want = "__pimsync_names " + strings.TrimPrefix(want, "__complete ")
			}
			if shell == "zsh" && strings.HasPrefix(want, "__complete") {
				want = "_pimsync_names " + strings.TrimPrefix(want, "__complete ")
			}
			if !strings.Contains(script, want) {
				t.Errorf("%s script does not contain %q", shell, want)
			}
		}
		if err := checkShellStructure(shell, script); err != nil {
			t.Errorf("%s script: %v", shell, err)
		}
		// The shell itself parses the script (make deps installs zsh and fish).
		bin, err := exec.LookPath(shell)
		if err != nil {
			t.Fatalf("%s not found: install the Debian package %s", shell, shell)
		}
		e.write("script."+shell, script)
		out, err := exec.Command(bin, "-n", e.path("script."+shell)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}

// TestCompletionFish asks a real fish for completions with the generated script.
func TestCompletionFish(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Fatal("fish not found: install the Debian package fish")
	}
	e := newEnv(t, "collections all")
	r := e.runWith(nil, "", "completion", "fish")
	if r.code != 0 {
		t.Fatal(r)
	}
	e.write("pimsync.fish", r.stdout)
	complete := func(line string) string {
		t.Helper()
		cmd := exec.Command(fish, "--no-config", "-c", "source "+e.path("pimsync.fish")+"; complete -C '"+line+"'")
		cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME="+e.path("home"), raceNoSleep,
			"PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := complete("pimsync sy"); !strings.Contains(got, "sync") {
		t.Errorf("commands: %q", got)
	}
	if got := complete("pimsync -v "); !strings.Contains(got, "debug") || !strings.Contains(got, "trace") {
		t.Errorf("log levels: %q", got)
	}
	if got := complete("pimsync -c " + e.cfg + " sync "); !strings.HasPrefix(got, "p\tPair") {
		t.Errorf("pair names: %q", got)
	}
	if got := complete("pimsync -c " + e.cfg + " repair "); !strings.Contains(got, "a\tStorage") || !strings.Contains(got, "b\tStorage") {
		t.Errorf("storage names: %q", got)
	}
}

// The structural check itself must catch broken scripts.
func TestCheckShellStructureFindsMistakes(t *testing.T) {
	for _, c := range []struct{ shell, script string }{
		{"zsh", "case $x in\n  (a) true ;;\n"},
		{"zsh", "if true; then\n  echo 'x\nfi\n"},
		{"zsh", "f() {\n  echo x\n"},
		{"fish", "function f\n    switch $x\n    end\n"},
		{"fish", "complete -c x -a '(foo)\n"},
	} {
		if checkShellStructure(c.shell, c.script) == nil {
			t.Errorf("%s script %q passes the structural check", c.shell, c.script)
		}
	}
	if err := checkShellStructure("fish", "function f\n    echo (string replace a b -- $x)\nend\n"); err != nil {
		t.Errorf("a correct fish script fails: %v", err)
	}
}

// checkShellStructure parses a zsh or fish script far enough to catch the mistakes a
// generator makes: unbalanced quotes, brackets and braces, and unbalanced block
// keywords (if/fi, case/esac, for/do/done for zsh; function/if/switch/while/for/begin
// ... end for fish).
func checkShellStructure(shell, script string) error {
	var stack []string
	push := func(s string) { stack = append(stack, s) }
	pop := func(want string, line int) error {
		if len(stack) == 0 || stack[len(stack)-1] != want {
			return fmt.Errorf("line %d: unexpected closing %q (open: %v)", line, want, stack)
		}
		stack = stack[:len(stack)-1]
		return nil
	}
	for n, line := range strings.Split(script, "\n") {
		n++
		// Walk the characters for quotes and brackets, collecting unquoted words.
		var words []string
		var word strings.Builder
		quote := byte(0)
		flush := func() {
			if word.Len() > 0 {
				words = append(words, word.String())
				word.Reset()
			}
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case quote != 0:
				if c == '\\' && quote == '"' {
					i++
				} else if c == quote {
					quote = 0
				}
				word.WriteByte('q')
			case c == '\\':
				i++
				word.WriteByte('q')
			case c == '#' && word.Len() == 0:
				i = len(line)
			case c == '\'' || c == '"':
				quote = c
				word.WriteByte('q')
			case c == '(' || c == '{' || c == '[':
				flush()
				push(string(c))
			case c == ')' || c == '}' || c == ']':
				flush()
				open := map[byte]string{')': "(", '}': "{", ']': "["}[c]
				// zsh case patterns are written "(pattern)": balanced, fine.
				if err := pop(open, n); err != nil {
					return err
				}
			case c == ' ' || c == '\t' || c == ';' || c == '|' || c == '&':
				flush()
			default:
				word.WriteByte(c)
			}
		}
		if quote != 0 {
			return fmt.Errorf("line %d: unterminated %c quote", n, quote)
		}
		flush()
		for i, w := range words {
			var err error
			switch shell {
			case "zsh":
				switch w {
				case "if", "case":
					push(w)
				case "fi":
					err = pop("if", n)
				case "esac":
					err = pop("case", n)
				case "do":
					push(w)
				case "done":
					err = pop("do", n)
				}
			case "fish":
				if i == 0 {
					switch w {
					case "function", "if", "switch", "while", "for", "begin":
						push("block")
					case "end":
						err = pop("block", n)
					}
				}
			}
			if err != nil {
				return err
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed at the end: %v", stack)
	}
	return nil
}
