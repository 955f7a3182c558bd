package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
)

// LevelTrace is below debug; trace logs may contain secrets and item data.
const LevelTrace = storage.LevelTrace

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid log level %q (want trace, debug, info, warn or error)", s)
}

// logger builds the process logger for -v: one line per record on stderr, or wherever
// a.logEmit sends them (the TUI's log pane).
func (a *app) logger() *slog.Logger {
	l, _ := parseLevel(a.logLevel)
	emit := a.logEmit
	if emit == nil {
		emit = a.stderrLog()
	}
	return slog.New(present.NewLineHandler(l, emit))
}

// stderrLog writes log lines to stderr, "level: text".
func (a *app) stderrLog() func(slog.Level, string) {
	var mu sync.Mutex
	w := a.stderr
	return func(level slog.Level, text string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s: %s\n", present.LevelName(level), text)
	}
}
