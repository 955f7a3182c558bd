package main

// The service definitions in contrib/ (contrib/README.md): systemd-analyze verifies
// the systemd unit, s6-supervise runs the s6 service directory against the real
// binary, and the dinit description is parsed and its command run the way dinit runs
// it, with a pipe on the notification descriptor.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/engine/control"
)

// newDaemonEnv is a workspace whose default configuration (HOME/.config/pimsync/
// pimsync.conf) pairs a/ with b/, with one event in a/cal/ for the daemon to copy.
func newDaemonEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.write("home/.config/pimsync/pimsync.conf", e.read("pimsync.conf"))
	e.write("a/cal/ev.ics", event("contrib-1@example.com", "Supervised"))
	return e
}

// serviceEnv is the environment a service manager would give pimsync: HOME and a PATH
// that finds the binary under test.
func (e *env) serviceEnv() []string {
	return append([]string{"HOME=" + e.home, "PATH=" + filepath.Dir(binPath) + ":/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}, raceNoSleep)
}

// attachable checks that the TUI of a login session, which has an XDG_RUNTIME_DIR of
// its own while the service manager gave the daemon none, finds the supervised daemon
// on its control socket.
func (e *env) attachable() {
	e.t.Helper()
	e.t.Setenv("XDG_RUNTIME_DIR", e.runtimeDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := control.Dial(ctx, e.path("home/.config/pimsync/pimsync.conf"))
	if err != nil {
		e.t.Errorf("a TUI cannot find the supervised daemon: %v", err)
		return
	}
	if !c.Runs("p") || c.Hello.Config != control.ConfigKey(e.path("home/.config/pimsync/pimsync.conf")) {
		e.t.Errorf("the supervised daemon says %+v", c.Hello)
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func TestContribSystemdUnit(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	src, err := os.ReadFile(filepath.Join(repoRoot, "contrib/systemd/pimsync.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	for _, want := range []string{"\nType=exec\n", "\nExecStart=pimsync -v info daemon\n", "\nRestart=on-failure\n", "\nWantedBy=default.target\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("pimsync.service lacks %q", strings.TrimSpace(want))
		}
	}
	dir := t.TempDir()
	runtime := filepath.Join(dir, "runtime")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	verify := func(name, text string) string {
		t.Helper()
		// systemd looks bare names up in its fixed path, which does not hold the binary
		// under test: point ExecStart at it.
		text = strings.Replace(text, "ExecStart=pimsync ", "ExecStart="+binPath+" ", 1)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(analyze, "--user", "--man=no", "verify", p)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "HOME="+dir, "SYSTEMD_LOG_COLOR=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Sprintf("%v\n%s", err, out)
		}
		return string(out)
	}
	if out := verify("pimsync.service", unit); out != "" {
		t.Errorf("systemd-analyze verify pimsync.service:\n%s", out)
	}
	// The check is not vacuous: systemd-analyze does complain about a broken unit.
	if out := verify("broken.service", strings.Replace(unit, "\nType=exec\n", "\nType=exec\nRestartSecs=3\n", 1)); !strings.Contains(out, "RestartSecs") {
		t.Errorf("systemd-analyze verify accepted an unknown key:\n%s", out)
	}
}

func TestContribS6ServiceDirectory(t *testing.T) {
	supervise := requireTool(t, "s6-supervise", "s6")
	svwait := requireTool(t, "s6-svwait", "s6")
	svstat := requireTool(t, "s6-svstat", "s6")
	svc := requireTool(t, "s6-svc", "s6")

	e := newDaemonEnv(t)
	// Copy the service directory unchanged (s6-supervise writes supervise/ into it).
	sd := e.path("service/pimsync")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"run", "notification-fd", "type"} {
		src := filepath.Join(repoRoot, "contrib/s6/pimsync", f)
		info, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if f == "run" && info.Mode().Perm()&0o111 == 0 {
			t.Errorf("contrib/s6/pimsync/run is not executable")
		}
		data, _ := os.ReadFile(src)
		if err := os.WriteFile(filepath.Join(sd, f), data, info.Mode().Perm()|0o700); err != nil {
			t.Fatal(err)
		}
	}
	if fd := strings.TrimSpace(e.read("service/pimsync/notification-fd")); !strings.Contains(e.read("service/pimsync/run"), "daemon -r "+fd) {
		t.Errorf("run does not pass the notification-fd (%s) to pimsync daemon -r", fd)
	}

	logf, err := os.Create(e.path("supervise.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(supervise, sd)
	cmd.Env = e.serviceEnv()
	cmd.Dir = e.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			exec.Command(svc, "-d", "-x", sd).Run()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			log, _ := os.ReadFile(e.path("supervise.log"))
			t.Logf("s6-supervise output:\n%s", log)
		}
	}()

	// s6-svwait -U returns once the service is up *and* has notified readiness.
	if !waitFor(10*time.Second, func() bool { return e.exists("service/pimsync/supervise/control") }) {
		t.Fatal("s6-supervise did not start")
	}
	if out, err := exec.Command(svwait, "-U", "-t", "20000", sd).CombinedOutput(); err != nil {
		t.Fatalf("s6-svwait -U: the service did not become ready: %v\n%s", err, out)
	}
	out, err := exec.Command(svstat, sd).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "up ") || !strings.Contains(string(out), "ready") {
		t.Fatalf("s6-svstat: %v: %s", err, out)
	}
	// The daemon syncs the pair, and the TUI can attach to it.
	if !waitFor(20*time.Second, func() bool { return e.holdsUID("b/cal", "contrib-1@example.com") }) {
		t.Fatalf("the supervised daemon did not sync a/cal/ev.ics to b/; b holds %v", e.files("b"))
	}
	e.attachable()
	// Stopping it: SIGTERM, the daemon exits 0.
	if out, err := exec.Command(svc, "-wd", "-T", "20000", "-d", sd).CombinedOutput(); err != nil {
		t.Fatalf("s6-svc -wd -d: %v\n%s", err, out)
	}
	out, _ = exec.Command(svstat, sd).CombinedOutput()
	if !strings.HasPrefix(string(out), "down (exitcode 0)") {
		t.Errorf("after stopping, s6-svstat says %q, want down with exit code 0", out)
	}
	if err := exec.Command(svc, "-x", sd).Run(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(10 * time.Second):
		t.Errorf("s6-supervise did not exit after s6-svc -x")
	}
}

// dinitSettings are the service settings of dinit-service(5) and a check for each
// value; the dinit description may use only these.
var dinitSettings = map[string]func(string) bool{
	"type":                   func(v string) bool { return v == "process" || v == "bgprocess" || v == "scripted" || v == "internal" },
	"command":                func(v string) bool { return v != "" },
	"ready-notification":     func(v string) bool { return strings.HasPrefix(v, "pipefd:") || strings.HasPrefix(v, "pipevar:") },
	"restart":                dinitBool,
	"smooth-recovery":        dinitBool,
	"restart-delay":          dinitSeconds,
	"restart-limit-interval": dinitSeconds,
	"restart-limit-count":    func(v string) bool { _, err := strconv.Atoi(v); return err == nil },
	"start-timeout":          dinitSeconds,
	"stop-timeout":           dinitSeconds,
	"logfile":                func(v string) bool { return strings.HasPrefix(v, "/") },
	"working-dir":            func(v string) bool { return v != "" },
	"depends-on":             func(v string) bool { return v != "" },
	"waits-for":              func(v string) bool { return v != "" },
}

func dinitBool(v string) bool {
	return v == "yes" || v == "true" || v == "no" || v == "false"
}

func dinitSeconds(v string) bool {
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// parseDinit reads a service description with dinit's rules: "name = value" lines,
// # comments (whole lines, or after a blank), blanks collapsed.
func parseDinit(t *testing.T, text string) map[string]string {
	t.Helper()
	settings := map[string]string{}
	for n, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Join(strings.Fields(value), " ")
		check, known := dinitSettings[name]
		switch {
		case !ok:
			t.Errorf("dinit/pimsync:%d: not a setting: %q", n+1, line)
		case !known:
			t.Errorf("dinit/pimsync:%d: unknown setting %q", n+1, name)
		case !check(value):
			t.Errorf("dinit/pimsync:%d: bad value for %s: %q", n+1, name, value)
		case settings[name] != "":
			t.Errorf("dinit/pimsync:%d: %s given twice", n+1, name)
		}
		settings[name] = value
	}
	return settings
}

func TestContribDinitService(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "contrib/dinit/pimsync"))
	if err != nil {
		t.Fatal(err)
	}
	s := parseDinit(t, string(src))
	if s["type"] != "process" {
		t.Errorf("type = %q, want process", s["type"])
	}
	fd, ok := strings.CutPrefix(s["ready-notification"], "pipefd:")
	if !ok {
		t.Fatalf("ready-notification = %q, want pipefd:N", s["ready-notification"])
	}
	args := strings.Fields(s["command"])
	if len(args) < 2 || filepath.Base(args[0]) != "pimsync" || !filepath.IsAbs(args[0]) {
		t.Fatalf("command = %q, want an absolute path to pimsync", s["command"])
	}
	if !strings.Contains(s["command"], " daemon -r "+fd) {
		t.Fatalf("command %q does not pass the pipefd %s to daemon -r", s["command"], fd)
	}
	n, err := strconv.Atoi(fd)
	if err != nil || n < 3 {
		t.Fatalf("pipefd %q must be a descriptor number of 3 or more", fd)
	}

	// Run the command as dinit does: the write end of a pipe on descriptor n, and
	// the service is started once the process writes to it.
	e := newDaemonEnv(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(binPath, args[1:]...)
	cmd.Env = e.serviceEnv()
	cmd.Dir = e.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	// ExtraFiles[i] becomes descriptor 3+i; fill the gap below n with the pipe too.
	for i := 3; i <= n; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, pw)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		rest, _ := io.ReadAll(pr) // the daemon closes the descriptor after notifying
		ready <- line + string(rest)
	}()
	select {
	case got := <-ready:
		if got != "READY=1\n" {
			t.Fatalf("readiness notification %q, want \"READY=1\\n\"; stderr:\n%s", got, stderr.String())
		}
	case err := <-exited:
		t.Fatalf("pimsync exited before it was ready: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("no readiness notification within 20 s")
	}
	if !waitFor(20*time.Second, func() bool { return e.holdsUID("b/cal", "contrib-1@example.com") }) {
		t.Errorf("the daemon did not sync; b holds %v", e.files("b"))
	}
	e.attachable()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("after SIGTERM pimsync exited with %v, want status 0\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("pimsync did not stop within 15 s of SIGTERM")
	}
}

// contrib/README.md documents every file of contrib/.
func TestContribReadme(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "contrib/README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"systemd/pimsync.service", "s6/pimsync/", "notification-fd", "dinit/pimsync", "Type=exec", "pipefd:3", "-r 3"} {
		if !strings.Contains(string(readme), f) {
			t.Errorf("contrib/README.md does not mention %s", f)
		}
	}
}
