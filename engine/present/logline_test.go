package present

import (
	"log/slog"
	"testing"
)

func TestLineHandler(t *testing.T) {
	var got []string
	var levels []slog.Level
	h := NewLineHandler(slog.LevelInfo, func(l slog.Level, s string) { levels = append(levels, l); got = append(got, s) })
	log := slog.New(h).With("storage", "my server").WithGroup("http")
	log.Debug("hidden")
	log.Info("request", "status", 200, "url", "", "q", `a"b`)
	log.Error("failed")
	if len(got) != 2 {
		t.Fatalf("lines: %q", got)
	}
	if want := `request storage="my server" http.status=200 http.url="" http.q="a\"b"`; got[0] != want {
		t.Errorf("got  %s\nwant %s", got[0], want)
	}
	if levels[1] != slog.LevelError || got[1] != `failed storage="my server"` {
		t.Errorf("second line: %v %q", levels[1], got[1])
	}
	for l, want := range map[slog.Level]string{slog.LevelDebug - 4: "trace", slog.LevelDebug: "debug", slog.LevelInfo: "info", slog.LevelWarn: "warn", slog.LevelError: "error"} {
		if LevelName(l) != want {
			t.Errorf("LevelName(%v) = %q, want %q", l, LevelName(l), want)
		}
	}
}
