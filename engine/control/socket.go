package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ConfigKey is the identity of a configuration file: its absolute path with symbolic
// links resolved (as far as they exist).
func ConfigKey(configPath string) string {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		abs = configPath
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs
}

// socketName is the file name of the socket of a daemon for configPath.
func socketName(configPath string) string {
	sum := sha256.Sum256([]byte(ConfigKey(configPath)))
	return "daemon-" + hex.EncodeToString(sum[:8]) + ".sock"
}

// socketDirs are the directories a socket may be in, in order: $XDG_RUNTIME_DIR/pimsync,
// /run/user/UID/pimsync when that exists and is ours (a daemon started by s6 or dinit
// may lack XDG_RUNTIME_DIR while the TUI has it), and $TMPDIR/pimsync-UID.
func socketDirs() []string {
	uid := os.Getuid()
	var dirs []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		dirs = append(dirs, filepath.Join(d, "pimsync"))
	}
	run := fmt.Sprintf("/run/user/%d", uid)
	if ownDir(run) == nil {
		if p := filepath.Join(run, "pimsync"); len(dirs) == 0 || dirs[0] != p {
			dirs = append(dirs, p)
		}
	}
	return append(dirs, filepath.Join(os.TempDir(), "pimsync-"+strconv.Itoa(uid)))
}

// SocketPaths are the places a daemon for configPath may listen on, in the order a
// daemon tries them and a client looks.
func SocketPaths(configPath string) []string {
	var out []string
	for _, d := range socketDirs() {
		out = append(out, filepath.Join(d, socketName(configPath)))
	}
	return out
}

// ownDir checks that dir is a directory owned by us that nobody else may write to.
func ownDir(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	switch {
	case !info.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case ok && int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to another user", dir)
	case info.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s may be written by other users", dir)
	}
	return nil
}

// ErrDaemonRunning: another daemon for the same configuration answers on the socket.
var ErrDaemonRunning = errors.New("another pimsync daemon is running for this configuration")

// Listen creates the control socket of a daemon for configPath in the first usable
// directory (created with mode 0700), with mode 0600. A socket left behind by a daemon
// that died is replaced; one a live daemon answers on is not (ErrDaemonRunning, with
// its hello).
func Listen(configPath string) (net.Listener, string, *Hello, error) {
	var errs []error
	for _, p := range SocketPaths(configPath) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := ownDir(filepath.Dir(p)); err != nil {
			errs = append(errs, err)
			continue
		}
		if h, err := hello(p); err == nil {
			return nil, p, h, fmt.Errorf("%w (pid %d, socket %s)", ErrDaemonRunning, h.PID, p)
		}
		os.Remove(p) // a socket nobody answers on
		ln, err := net.Listen("unix", p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			ln.Close()
			errs = append(errs, err)
			continue
		}
		return ln, p, nil, nil
	}
	return nil, "", nil, fmt.Errorf("cannot create the control socket: %w", errors.Join(errs...))
}

// dialTimeout bounds connecting to a socket (a local one: it answers at once or not
// at all).
const dialTimeout = 2 * time.Second

// hello asks the daemon on the socket at path what it is.
func hello(path string) (*Hello, error) {
	c := &Client{Path: path}
	var ans Answer
	if err := c.call(context.Background(), Request{Op: "hello"}, &ans); err != nil {
		return nil, err
	}
	if ans.Hello == nil {
		return nil, errors.New("no hello in the answer")
	}
	return ans.Hello, nil
}
