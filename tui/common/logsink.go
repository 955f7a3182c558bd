package common

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// LogLine is one log record shown in the log pane.
type LogLine struct {
	Level slog.Level
	Text  string
}

// LevelTrace is the level below debug (`-v trace`).
const LevelTrace = slog.LevelDebug - 4

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

// LogSink collects log records while the TUI runs so that nothing is written onto the
// screen. Records are kept until the TUI attaches (logs of the start-up, before the
// screen exists, are shown too) and then pushed onto the bus as they come.
type LogSink struct {
	mu      sync.Mutex
	level   slog.Leveler
	pending []LogLine
	push    func(any)
	partial []byte
	all     []LogLine // every line, for printing after the TUI is gone if asked
}

// NewLogSink returns a sink that keeps records at or above level.
func NewLogSink(level slog.Leveler) *LogSink { return &LogSink{level: level} }

// Attach starts delivering lines through push (the bus); lines collected so far are
// delivered first.
func (s *LogSink) Attach(push func(any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push = push
	for _, l := range s.pending {
		push(l)
	}
	s.pending = nil
}

// Detach stops delivering; later lines are kept again.
func (s *LogSink) Detach() {
	s.mu.Lock()
	s.push = nil
	s.mu.Unlock()
}

// Lines returns every line received so far.
func (s *LogSink) Lines() []LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogLine(nil), s.all...)
}

// Flush writes the lines not yet delivered to w (used when the TUI never started).
func (s *LogSink) Flush(w io.Writer) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, l := range pending {
		fmt.Fprintf(w, "%s: %s\n", LevelName(l.Level), l.Text)
	}
}

func (s *LogSink) add(l LogLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, l)
	if len(s.all) > 2000 {
		s.all = append([]LogLine(nil), s.all[len(s.all)-1000:]...)
	}
	if s.push != nil {
		s.push(l)
		return
	}
	s.pending = append(s.pending, l)
}

// Handler returns a slog.Handler that sends records to the sink.
func (s *LogSink) Handler() slog.Handler { return &sinkHandler{sink: s} }

type sinkHandler struct {
	sink  *LogSink
	attrs []slog.Attr
	group string
}

func (h *sinkHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.sink.level.Level()
}

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) {
			return
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", key, v)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	h.sink.add(LogLine{Level: r.Level, Text: b.String()})
	return nil
}

func (h *sinkHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *sinkHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// Writer returns an io.Writer for loggers that are already bound to a writer (the
// CLI's line handler, "LEVEL: message key=value" per line): each line becomes a log
// line of the level its prefix names (lines without one count as warnings).
func (s *LogSink) Writer() io.Writer { return sinkWriter{s} }

type sinkWriter struct{ s *LogSink }

func (w sinkWriter) Write(p []byte) (int, error) {
	s := w.s
	s.mu.Lock()
	s.partial = append(s.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	s.mu.Unlock()
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		s.add(parseLine(line))
	}
	return len(p), nil
}

func parseLine(line string) LogLine {
	levels := []struct {
		name  string
		level slog.Level
	}{{"trace", LevelTrace}, {"debug", slog.LevelDebug}, {"info", slog.LevelInfo},
		{"warn", slog.LevelWarn}, {"warning", slog.LevelWarn}, {"error", slog.LevelError}}
	for _, l := range levels {
		if rest, ok := strings.CutPrefix(line, l.name+": "); ok {
			return LogLine{Level: l.level, Text: rest}
		}
	}
	return LogLine{Level: slog.LevelWarn, Text: line}
}
