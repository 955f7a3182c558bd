package common

import (
	"bytes"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestBusDeliversInOrderAndNeverBlocks(t *testing.T) {
	b := NewBus()
	for i := range 10000 { // far more than any channel buffer: Push never blocks
		b.Push(i)
	}
	msg := b.Wait()().(BusMsg)
	if len(msg.Items) != 10000 || msg.Items[0] != 0 || msg.Items[9999] != 9999 {
		t.Fatalf("got %d items", len(msg.Items))
	}
	done := make(chan any)
	go func() { done <- b.Wait()() }()
	b.Push("late")
	if got := (<-done).(BusMsg); len(got.Items) != 1 || got.Items[0] != "late" {
		t.Fatalf("got %#v", got)
	}
	go func() { done <- b.Wait()() }()
	b.Close()
	if got := <-done; got != nil {
		t.Fatalf("after Close: %#v", got)
	}
	b.Push("dropped")
	if b.Pending() != 0 {
		t.Fatal("push after close kept")
	}
}

func TestLogSink(t *testing.T) {
	s := NewLogSink(slog.LevelInfo)
	log := slog.New(s.Handler()).With("storage", "remote")
	log.Debug("hidden")
	log.Warn("before attach", "n", 2)
	s.Add(slog.LevelError, "added directly")
	var got []LogLine
	s.Attach(func(x any) { got = append(got, x.(LogLine)) })
	log.Info("after attach")
	want := []LogLine{
		{slog.LevelWarn, "before attach storage=remote n=2"},
		{slog.LevelError, "added directly"},
		{slog.LevelInfo, "after attach storage=remote"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %v, want %v", i, got[i], want[i])
		}
	}
	s.Detach()
	log.Warn("kept for the flush")
	var out bytes.Buffer
	s.Flush(&out)
	if out.String() != "warn: kept for the flush storage=remote\n" {
		t.Errorf("flush: %q", out.String())
	}
}

func TestFitAndAgo(t *testing.T) {
	got := Fit("abc\nlong line here\n", 6, 4)
	want := "abc   \nlong …\n      \n      "
	if got != want {
		t.Errorf("Fit = %q, want %q", got, want)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 5 * time.Minute: "5 min ago", 3 * time.Hour: "3 h ago",
		30 * time.Hour: "1 day ago", 72 * time.Hour: "3 days ago",
	} {
		if got := Ago(now, now.Add(-d)); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
	if got := Ago(now, now.AddDate(0, -2, 0)); !strings.HasPrefix(got, "2025-04-") {
		t.Errorf("old date: %q", got)
	}
}

func TestNaturalLess(t *testing.T) {
	in := []string{"bulk-190", "bulk-19", "bulk-184", "Bulk-2", "bulk-02x", "a", "bulk-1"}
	sort.SliceStable(in, func(i, j int) bool { return NaturalLess(in[i], in[j]) })
	want := "a bulk-1 Bulk-2 bulk-02x bulk-19 bulk-184 bulk-190"
	if got := strings.Join(in, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
