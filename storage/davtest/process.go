package davtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server process the harness started: in its own process group, with
// its output in a log file. If the test binary dies without stopping it (a panic, a
// test timeout, kill -9), the kernel sends it its parent-death signal: a server that
// has children of its own gets the signal that makes it stop them too.
type process struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	exited  chan struct{} // closed when the process has exited
	err     error         // its exit status, valid once exited is closed
}

// spawn starts bin with args. cred, when set, runs it as that user (the harness runs
// as root in CI, and PostgreSQL refuses to run as root); env is added to the
// environment; pdeath is the signal the process gets when the test binary dies.
func spawn(name, logPath string, cred *syscall.Credential, env []string, pdeath syscall.Signal, bin string, args ...string) (*process, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	setPdeathsig(cmd.SysProcAttr, pdeath)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{name: name, cmd: cmd, log: lf, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// exitedEarly returns an error if the process has already exited.
func (p *process) exitedEarly() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited before it was ready (%v); its log:\n%s", p.name, p.err, p.logTail(8<<10))
	default:
		return nil
	}
}

// stop sends sig to the process, waits up to grace for it to exit, then kills its
// whole process group (the server's own children included).
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	// Children that outlived their parent (none should) go with the group.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.log.Close()
}

// logTail returns the last n bytes of the process log.
func (p *process) logTail(n int64) string {
	return fileTail(p.logPath, n)
}

func fileTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > n {
		_, _ = f.Seek(-n, 2)
	}
	buf := make([]byte, n)
	k, _ := f.Read(buf)
	return string(buf[:k])
}

// poll calls ready every 50 ms until it returns true, the process exits, or the
// safety limit passes. It never sleeps longer than needed.
func poll(p *process, limit time.Duration, what string, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for {
		if ready() {
			return nil
		}
		if err := p.exitedEarly(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready within %s; log:\n%s", p.name, what, limit, p.logTail(8<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a helper command to completion and returns its combined output.
func run(cred *syscall.Credential, env []string, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// serviceUser returns the credentials of a system user to run a server as when the
// tests run as root, and nil (run as ourselves) otherwise.
func serviceUser(name, pkg string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("system user %s not found (it comes with the Debian package %s): %w", name, pkg, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chownTree hands a directory tree to cred's user (no-op for nil).
func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	_, err := run(nil, nil, "chown", "-R", fmt.Sprintf("%d:%d", cred.Uid, cred.Gid), dir)
	return err
}

// findBinary looks a server binary up in PATH or at fixed locations and names the
// Debian package in the error.
func findBinary(bin, pkg string, dirs ...string) (string, error) {
	for _, d := range dirs {
		p := d + "/" + bin
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: install the Debian package %s (apt-get install %s)", bin, pkg, pkg)
}

// ownerFile marks a shared instance's directory with the PID of the test binary that
// owns it, so that a later run can remove what a killed binary left behind.
const ownerFile = "owner.pid"

// newInstanceDir creates a directory for a shared server instance (world-traversable:
// servers run as their own system users) after removing the directories of earlier
// instances whose test binary is gone.
func newInstanceDir(prefix string) (string, error) {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range old {
		data, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}
