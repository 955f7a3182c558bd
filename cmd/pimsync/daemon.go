package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
)

func (a *app) cmdDaemon(args []string) error {
	fs := a.flags("daemon")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	readyFD := stringFlag(fs, "r")
	var fd int
	if readyFD != "" {
		n, err := strconv.Atoi(readyFD)
		if err != nil || n < 0 {
			return usagef("-r needs a file descriptor number, not %q", readyFD)
		}
		if n <= 2 {
			return usagef("-r %d: file descriptors 0, 1 and 2 are stdin, stdout and stderr; use 3 or higher", n)
		}
		fd = n
	}
	// Every log line also goes to the clients of the control socket.
	server := &control.Server{}
	toStderr := a.stderrLog()
	a.logEmit = func(l slog.Level, text string) {
		toStderr(l, text)
		server.LogLine(l, text)
	}
	ws, err := a.openWritable(fs.Args())
	if err != nil {
		return err
	}
	if err := checkWritableDir(ws.statusDir); err != nil {
		return err
	}
	// The control socket exists before readiness is announced, so that a TUI started
	// after it finds the daemon.
	ln, sock, _, err := control.Listen(ws.cfg.Path)
	switch {
	case errors.Is(err, control.ErrDaemonRunning):
		return err
	case err != nil:
		ws.log.Warn(fmt.Sprintf("%v; the TUI cannot attach to this daemon", err))
	}
	if fd > 0 {
		if err := notifyReady(fd); err != nil {
			if ln != nil {
				ln.Close()
			}
			return err
		}
	}
	ws.log.Info(fmt.Sprintf("daemon ready; syncing %d pairs", len(ws.pairs)))
	d := &engine.Daemon{
		Engine: ws.engine(nil),
		Pairs:  ws.enginePairs(),
		Interval: func(p *engine.Pair, s engine.Side) time.Duration {
			name := p.NameA
			if s == engine.B {
				name = p.NameB
			}
			return time.Duration(ws.cfg.Storages[name].Interval) * time.Second
		},
	}
	pairNames := make([]string, len(ws.pairs))
	for i, p := range ws.pairs {
		pairNames[i] = p.Name
	}
	server.Daemon, server.Log = d, ws.log
	server.Hello = control.Hello{Version: pimsyncVersion(), PID: os.Getpid(), Config: control.ConfigKey(ws.cfg.Path), Pairs: pairNames}
	d.Engine.Reporter = server
	d.OnState = server.State
	ctx, stop := context.WithCancel(a.ctx)
	defer stop()
	served := make(chan struct{})
	if ln != nil {
		ws.log.Info("control socket " + sock)
		go func() {
			defer close(served)
			if err := server.Serve(ctx, ln); err != nil {
				ws.log.Warn(fmt.Sprintf("control socket %s: %v", sock, err))
			}
		}()
	} else {
		close(served)
	}
	err = d.Run(ctx)
	stop()
	<-served // the socket is gone before the daemon says it stopped
	if err != nil {
		return err
	}
	ws.log.Info("daemon stopped")
	return nil
}

// checkWritableDir makes sure the status directory can be created and written.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("status_path %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".pimsync-check-*")
	if err != nil {
		return fmt.Errorf("status_path %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// notifyReady writes READY=1\n to fd and closes it (s6, dinit and systemd convention).
func notifyReady(fd int) error {
	f := os.NewFile(uintptr(fd), "ready-fd")
	if f == nil {
		return fmt.Errorf("-r %d: not an open file descriptor", fd)
	}
	defer f.Close()
	if _, err := f.Write([]byte("READY=1\n")); err != nil {
		if errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EBADF) {
			return fmt.Errorf("-r %d: not an open file descriptor", fd)
		}
		return fmt.Errorf("-r %d: cannot write the readiness notification: %w", fd, err)
	}
	return nil
}
