package present

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// LineHandler is a slog.Handler that renders each record as one line of text,
// "message key=value ...", and hands it with its level to an emit function. Front ends
// use it to print logs (the CLI, on stderr) or to show them in a pane (the TUI).
type LineHandler struct {
	level slog.Leveler
	emit  func(slog.Level, string)
	attrs []slog.Attr
	group string
}

// NewLineHandler returns a handler for records at or above level. emit may be called
// from several goroutines at once.
func NewLineHandler(level slog.Leveler, emit func(slog.Level, string)) *LineHandler {
	return &LineHandler{level: level, emit: emit}
}

// Enabled implements slog.Handler.
func (h *LineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *LineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		writeAttr(&b, "", a) // keys qualified when they were added
	}
	r.Attrs(func(a slog.Attr) bool { writeAttr(&b, h.group, a); return true })
	h.emit(r.Level, b.String())
	return nil
}

// writeAttr writes " group.key=value", quoting values with blanks, quotes or '='.
func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	v := a.Value.Resolve().String()
	if strings.ContainsAny(v, " \t\"=") || v == "" {
		v = fmt.Sprintf("%q", v)
	}
	fmt.Fprintf(b, " %s=%s", key, v)
}

// WithAttrs implements slog.Handler.
func (h *LineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *LineHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// LevelName is the lower-case name of a level as `-v` spells it.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
