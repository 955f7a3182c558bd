package main

import (
	"errors"
	"log/slog"

	"github.com/pimsync-go/pimsync/tui"
)

// cmdTUIRun opens the interactive TUI on the selected pairs (all when none). A bare
// `pimsync` on a terminal comes here too.
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
	if err != nil {
		restore()
		sink.Flush(a.stderr)
		return err
	}
	defer restore()
	return a.runTUI(ws, sink, "pimsync")
}

// logToPane sends everything logged through the app's loggers (configuration
// warnings, storages, engine) to the sink instead of stderr while the TUI runs; the
// returned function restores stderr.
func (a *app) logToPane(sink *tui.LogSink) func() {
	prev := a.logEmit
	a.logEmit = sink.Add
	return func() { a.logEmit = prev }
}

// runTUI runs the TUI on an opened workspace. While it runs, the process's default
// slog logger also goes to the log pane, never onto the screen.
func (a *app) runTUI(ws *workspace, sink *tui.LogSink, title string) error {
	eng := ws.engine(nil)
	eng.Log = slog.New(sink.Handler())
	prev := slog.Default()
	slog.SetDefault(slog.New(sink.Handler()))
	defer slog.SetDefault(prev)
	return tui.Run(a.ctx, tui.Options{Engine: eng, Pairs: ws.enginePairs(), Logs: sink, Title: title}, a.stdin, a.stdout)
}
