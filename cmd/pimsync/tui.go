package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/config/vdirsyncer"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/tui"
)

// cmdTUIRun opens the interactive TUI on the selected pairs (all when none). A bare
// `pimsync` on a terminal comes here too. When a `pimsync daemon` runs for the same
// configuration, the TUI attaches to it; when there is no configuration file yet, it
// opens on the first-run page.
func (a *app) cmdTUIRun(args []string) error {
	fs := a.flags("tui")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	if !a.isTerminal(a.stdin) || !a.isTerminal(a.stdout) {
		return exitCodeError{code: exitUsage, err: errors.New("the TUI needs a terminal; use `pimsync sync` in scripts")}
	}
	level, _ := parseLevel(a.logLevel)
	sink := tui.NewLogSink(level)
	restore := a.logToPane(sink)
	ws, err := a.open(fs.Args())
	var noConfig noConfigError
	if errors.As(err, &noConfig) && fs.NArg() == 0 {
		err = a.runSetup(sink, noConfig.path)
		restore()
		return a.tuiExit(err)
	}
	if err != nil {
		restore()
		sink.Flush(a.stderr)
		return err
	}
	defer restore()
	return a.tuiExit(a.runTUI(ws, sink, "pimsync", fs.Args()))
}

// tuiExit maps the TUI's outcome to the command's.
func (a *app) tuiExit(err error) error {
	switch {
	case errors.Is(err, tui.ErrInterrupted):
		return exitCodeError{code: exitError, err: err}
	case errors.Is(err, tui.ErrStartDemo):
		a.configPath = ""
		return a.cmdDemo(nil)
	}
	return err
}

// logToPane sends everything logged through the app's loggers (configuration
// warnings, storages, engine) to the sink instead of stderr while the TUI runs; the
// returned function restores stderr.
func (a *app) logToPane(sink *tui.LogSink) func() {
	prev := a.logEmit
	a.logEmit = sink.Add
	return func() { a.logEmit = prev }
}

// attach finds the daemon for the configuration, if one runs.
func (a *app) attach(ws *workspace) *control.Client {
	ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, ws.cfg.Path)
	if err != nil {
		if !errors.Is(err, control.ErrNoDaemon) {
			ws.log.Warn(fmt.Sprintf("not attaching to the daemon: %v", err))
		}
		return nil
	}
	ws.log.Info(fmt.Sprintf("attached to the pimsync daemon (pid %d, %s): its pairs are synced by it", c.Hello.PID, c.Path))
	return c
}

// runTUI runs the TUI on an opened workspace. While it runs, the process's default
// slog logger also goes to the log pane, never onto the screen. The demo has no
// daemon and passes pairNames nil.
func (a *app) runTUI(ws *workspace, sink *tui.LogSink, title string, pairNames []string) error {
	eng := ws.engine(nil)
	eng.Log = slog.New(sink.Handler())
	prev := slog.Default()
	slog.SetDefault(slog.New(sink.Handler()))
	defer slog.SetDefault(prev)
	opts := tui.Options{Engine: eng, Pairs: ws.enginePairs(), Logs: sink, Title: title}
	if title != "pimsync demo" {
		opts.Daemon = a.attach(ws)
		opts.Reload = func(ctx context.Context) (*tui.Reloaded, error) {
			nws, err := a.open(pairNames)
			if err != nil {
				return nil, err
			}
			neng := nws.engine(nil)
			neng.Log = slog.New(sink.Handler())
			return &tui.Reloaded{Engine: neng, Pairs: nws.enginePairs(), Daemon: a.attach(nws)}, nil
		}
	}
	return tui.Run(a.ctx, opts, a.stdin, a.stdout)
}

// runSetup runs the TUI's first-run page: there is no configuration file at path.
func (a *app) runSetup(sink *tui.LogSink, path string) error {
	s := &tui.Setup{ConfigPath: path, DefaultFolder: "~/.local/share/pimsync"}
	if p, err := vdirsyncer.DefaultPath(); err == nil {
		if _, err := os.Stat(p); err == nil {
			s.Vdirsyncer = p
			s.Convert = func() (string, error) {
				data, err := os.ReadFile(p)
				if err != nil {
					return "", err
				}
				res, err := vdirsyncer.Convert(p, data)
				if err != nil {
					return "", err
				}
				return res.Config, nil
			}
		}
	}
	s.Check = func(ctx context.Context, text string) ([]string, error) { return a.checkText(ctx, path, text) }
	s.Save = func(text string) error {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(text); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	opts := tui.Options{Setup: s, Logs: sink, Title: "pimsync"}
	opts.Reload = func(ctx context.Context) (*tui.Reloaded, error) {
		a.configPath = path
		ws, err := a.open(nil)
		if err != nil {
			return nil, err
		}
		eng := ws.engine(nil)
		eng.Log = slog.New(sink.Handler())
		return &tui.Reloaded{Engine: eng, Pairs: ws.enginePairs(), Daemon: a.attach(ws)}, nil
	}
	return tui.Run(a.ctx, opts, a.stdin, a.stdout)
}

// checkText checks a configuration that is not saved yet, as `pimsync check` would,
// after creating the local folders it names; the report speaks of the path it will be
// saved to.
func (a *app) checkText(ctx context.Context, path, text string) ([]string, error) {
	cfg, err := config.Parse(path, []byte(text))
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.StorageOrder {
		sc := cfg.Storages[name]
		if !sc.Type.IsVdir() || sc.Path.IsDynamic() {
			continue
		}
		dir, err := sc.Path.Resolve(ctx)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the local folder: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "pimsync-setup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "pimsync.conf")
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	b := *a
	b.configPath, b.stdout, b.command = tmp, &out, "check"
	b.ctx = ctx
	err = b.cmdCheck(nil)
	var report []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line != "" {
			report = append(report, strings.ReplaceAll(line, tmp, path))
		}
	}
	var ce exitCodeError
	if errors.As(err, &ce) && ce.err == nil {
		err = nil
	}
	if err != nil {
		return report, errors.New(strings.ReplaceAll(err.Error(), tmp, path))
	}
	return report, nil
}
