package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"unicode/utf8"
)

// This file runs the commands of dynamic values (config.md §3).

// Resolve returns the value, running its `cmd` or `shell` command the first time and
// returning the cached result afterwards. A path-like value (status_path, path) has a
// leading `~/` expanded. Errors are *Error values naming the file, line and directive;
// they never include the command's output. Resolve is not safe for concurrent use.
func (v *Value) Resolve(ctx context.Context) (string, error) {
	if s, ok := v.current(); ok {
		return s, nil
	}
	out, err := v.run(ctx)
	if err == nil && v.isPath() {
		out, err = expandHome(out)
	}
	if err != nil {
		return "", &Error{Pos: v.Pos, Msg: v.Name + ": " + err.Error()}
	}
	v.result, v.resolved = out, true
	return out, nil
}

// Get returns the value: the literal (with `~/` expanded for a path) or the result of
// Resolve. It panics for a dynamic value that has not been resolved, which is a
// programming error: run Config.ResolveFor first.
func (v *Value) Get() string {
	s, ok := v.current()
	if !ok {
		panic(fmt.Sprintf("config: %s: %s used before it was resolved", v.Pos, v.Name))
	}
	return s
}

// Known returns the value if it is known without running a command.
func (v *Value) Known() (string, bool) { return v.current() }

// current returns the value if it is known without running a command.
func (v *Value) current() (string, bool) {
	switch {
	case v.resolved:
		return v.result, true
	case v.IsDynamic():
		return "", false
	}
	return v.Literal, true
}

func (v *Value) isPath() bool { return v.Name == "status_path" || v.Name == "path" }

// run runs the command with stdin and stderr inherited, and returns its trimmed
// standard output.
func (v *Value) run(ctx context.Context) (string, error) {
	var cmd *exec.Cmd
	if len(v.Cmd) > 0 {
		cmd = exec.CommandContext(ctx, v.Cmd[0], v.Cmd[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, "sh", "-c", v.Shell)
	}
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", commandError(err)
	}
	if !utf8.Valid(stdout.Bytes()) {
		return "", errors.New("command output is not valid UTF-8")
	}
	out := strings.TrimSpace(stdout.String())
	switch {
	case out != "":
		return out, nil
	case v.Name == "password":
		return "", errors.New("password command returned an empty string")
	}
	return "", errors.New("command returned an empty value")
}

// commandError describes why a command failed.
func commandError(err error) error {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return err
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Errorf("command was terminated by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Errorf("command exited with status %d", exit.ExitCode())
}

// expandHome turns a leading `~/` into `$HOME/`. Nothing else is expanded.
func expandHome(p string) (string, error) {
	rest, ok := strings.CutPrefix(p, "~/")
	if !ok {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand `~/`: %w", err)
	}
	return strings.TrimSuffix(home, "/") + "/" + rest, nil
}

// String describes the value for messages and logs without revealing a secret: a
// password always shows as "<hidden>" and a dynamic value as its command, never its
// output. Use Get for the value itself.
func (v Value) String() string {
	switch {
	case v.Name == "password" && v.Set:
		return "<hidden>"
	case len(v.Cmd) > 0:
		return "{cmd " + strings.Join(v.Cmd, " ") + "}"
	case v.Shell != "":
		return "{shell " + v.Shell + "}"
	}
	return v.Literal
}

// GoString is String, so that %#v does not reveal secrets either.
func (v Value) GoString() string { return v.String() }
