// Package bench holds the benchmarks of pimsync and the generator of their data.
// See docs/BENCHMARKS.md for the figures and the commands that reproduce them.
package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Event returns the text of benchmark event i: CRLF line ends, about 330 bytes, a
// deterministic UID (test-servers.md §6).
func Event(i int, rng *rand.Rand) (uid, text string) {
	uid = fmt.Sprintf("bench-%06d-%08x-%04x-%04x-%04x-%012x", i, rng.Uint32(), rng.Uint32()&0xffff,
		rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	t0 := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	s := t0.Add(time.Duration(7*i) * time.Hour)
	e := s.Add(45 * time.Minute)
	const f = "20060102T150405Z"
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//gen//EN", "BEGIN:VEVENT",
		"UID:" + uid, "DTSTAMP:20240101T000000Z", "DTSTART:" + s.Format(f), "DTEND:" + e.Format(f),
		fmt.Sprintf("SUMMARY:Benchmark event %d", i), fmt.Sprintf("DESCRIPTION:Generated event number %d.", i),
		fmt.Sprintf("LOCATION:Room %d", i%17), "END:VEVENT", "END:VCALENDAR", ""}
	return uid, strings.Join(lines, "\r\n")
}

// WriteEvents writes n events as <UID>.ics files into dir (created if needed), with a
// fixed seed so every run produces the same data.
func WriteEvents(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range n {
		uid, text := Event(i, rng)
		if err := os.WriteFile(filepath.Join(dir, uid+".ics"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
