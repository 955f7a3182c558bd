package common

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/pimsync-go/pimsync/engine/present"
)

// LogLine is one log record shown in the log pane.
type LogLine struct {
	Level slog.Level
	Text  string
}

// LogSink collects log records while the TUI runs so that nothing is written onto the
// screen. Records are kept until the TUI attaches (logs of the start-up, before the
// screen exists, are shown too) and then pushed onto the bus as they come.
type LogSink struct {
	mu      sync.Mutex
	level   slog.Leveler
	pending []LogLine
	push    func(any)
	all     []LogLine // every line, for printing after the TUI is gone if asked
}

// NewLogSink returns a sink that keeps records at or above level.
func NewLogSink(level slog.Leveler) *LogSink { return &LogSink{level: level} }

// Level is the lowest level the sink keeps.
func (s *LogSink) Level() slog.Level { return s.level.Level() }

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
		fmt.Fprintf(w, "%s: %s\n", present.LevelName(l.Level), l.Text)
	}
}

// Add records one log line (the emit function of an engine.LineHandler).
func (s *LogSink) Add(level slog.Level, text string) { s.add(LogLine{Level: level, Text: text}) }

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
func (s *LogSink) Handler() slog.Handler { return present.NewLineHandler(s.level, s.Add) }
