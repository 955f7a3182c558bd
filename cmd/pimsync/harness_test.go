package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage/davtest"
)

// raceNoSleep stops binaries built with -race from sleeping a second at exit.
const raceNoSleep = "GORACE=atexit_sleep_ms=0"

// binPath is the pimsync binary built once for the CLI tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pimsync-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // tests may run the binary as an unprivileged user
	binPath = filepath.Join(dir, "pimsync")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building pimsync:", err)
		os.Exit(1)
	}
	code := davtest.RunShared(m) // stops the shared Cyrus and DAViCal afterwards
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is a throwaway workspace: two vdir roots a/ and b/, a status directory and a
// config file.
type env struct {
	t      *testing.T
	dir    string
	cfg    string
	home   string
	rundir string              // XDG_RUNTIME_DIR (see runtimeDir)
	cred   *syscall.Credential // run the binary as this user (see unprivileged)
}

// runtimeDir is the workspace's XDG_RUNTIME_DIR, where a daemon puts its control
// socket: a short path of its own (socket paths are limited to about 100 bytes), made
// on first use and removed with the test.
func (e *env) runtimeDir() string {
	e.t.Helper()
	if e.rundir == "" {
		d, err := os.MkdirTemp("", "rt")
		if err != nil {
			e.t.Fatal(err)
		}
		os.Chmod(d, 0o700)
		if e.cred != nil {
			os.Chown(d, nobody, nobody)
		}
		e.t.Cleanup(func() { os.RemoveAll(d) })
		e.rundir = d
	}
	return e.rundir
}

// nobody is the unprivileged user tests switch to when they run as root.
const nobody = 65534

// unprivileged makes the binary run as an unprivileged user when the tests run as root
// (CI does), so that file permissions apply to it. Files the test writes afterwards
// are handed to that user too.
func (e *env) unprivileged() {
	e.t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	e.cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	// Let the user reach the workspace, then own it.
	for d := e.dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if info, err := os.Stat(d); err == nil && info.Mode().Perm()&0o005 != 0o005 {
			os.Chmod(d, info.Mode().Perm()|0o005)
		}
	}
	e.chown()
}

func (e *env) chown() {
	if e.cred == nil {
		return
	}
	filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, nobody, nobody)
		}
		return nil
	})
}

// newEnv creates a workspace whose config has storages a and b (vdir/icalendar unless
// kind says "vcard") and one pair p with the given extra pair directives (default
// `collections all`).
func newEnv(t *testing.T, pairExtra ...string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.home = filepath.Join(e.dir, "home")
	for _, d := range []string{"a", "b", "home"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if len(pairExtra) == 0 {
		pairExtra = []string{"collections all"}
	}
	e.writeConfig("", "", pairExtra...)
	return e
}

// writeConfig (re)writes the config with extra storage directives for a and b.
func (e *env) writeConfig(extraA, extraB string, pairExtra ...string) {
	e.t.Helper()
	cfg := fmt.Sprintf(`status_path %q

storage a {
    type vdir/icalendar
    path %q
%s
}

storage b {
    type vdir/icalendar
    path %q
%s
}

pair p {
    storage_a a
    storage_b b
%s
}
`, e.path("status"), e.path("a"), indent(extraA), e.path("b"), indent(extraB), indent(strings.Join(pairExtra, "\n")))
	e.cfg = e.path("pimsync.conf")
	e.write("pimsync.conf", cfg)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func (e *env) path(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

// write creates a file (and its parents) relative to the workspace.
func (e *env) write(rel, content string) {
	e.t.Helper()
	p := e.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.chown()
}

func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(e.path(rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) exists(rel string) bool {
	_, err := os.Lstat(e.path(rel))
	return err == nil
}

func (e *env) remove(rel string) {
	e.t.Helper()
	if err := os.RemoveAll(e.path(rel)); err != nil {
		e.t.Fatal(err)
	}
}

// files lists the regular files below rel (relative paths, sorted), skipping dot files.
func (e *env) files(rel string) []string {
	e.t.Helper()
	var out []string
	root := e.path(rel)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		r, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(r))
		return nil
	})
	sort.Strings(out)
	return out
}

// snapshot records path → (mtime, size, content) of every file below the workspace's
// a/ and b/ so tests can prove that nothing was written.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, side := range []string{"a", "b"} {
		root := e.path(side)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			r, _ := filepath.Rel(e.dir, p)
			v := fmt.Sprintf("%d %d", info.ModTime().UnixNano(), info.Size())
			if !d.IsDir() {
				b, _ := os.ReadFile(p)
				v += " " + string(b)
			}
			out[filepath.ToSlash(r)] = v
			return nil
		})
	}
	return out
}

func (e *env) assertUnchanged(before map[string]string) {
	e.t.Helper()
	after := e.snapshot()
	for k, v := range before {
		if after[k] != v {
			e.t.Errorf("%s changed", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			e.t.Errorf("%s appeared", k)
		}
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%sstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the binary with -c <config> and args.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runWith(nil, "", append([]string{"-c", e.cfg}, args...)...)
}

// runWith runs the binary with extra environment and stdin.
func (e *env) runWith(extraEnv []string, stdin string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME=", "NO_COLOR=1", raceNoSleep)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	if e.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute): // a safety net only: a loaded machine is slow
		cmd.Process.Kill()
		e.t.Fatalf("pimsync %v did not finish", args)
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatal(err)
	}
	return r
}

// mustRun runs and fails the test unless the exit status is want.
func (e *env) mustRun(want int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != want {
		e.t.Fatalf("pimsync %v: want exit %d, got %s", args, want, r)
	}
	return r
}

// event returns a VCALENDAR with one VEVENT (CRLF line ends).
func event(uid, summary string, extra ...string) string {
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT"}
	if uid != "" {
		lines = append(lines, "UID:"+uid)
	}
	lines = append(lines, "DTSTAMP:20240101T000000Z", "DTSTART:20240102T100000Z", "SUMMARY:"+summary)
	lines = append(lines, extra...)
	lines = append(lines, "END:VEVENT", "END:VCALENDAR", "")
	return strings.Join(lines, "\r\n")
}
