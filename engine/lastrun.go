package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LastRun is what the last real sync of a pair did, kept next to the status database
// in <status_path>/<pair>.lastrun (JSON) so that front ends can show it without
// touching the status database, and so that a no-op run leaves the status file alone.
type LastRun struct {
	Finished time.Time        `json:"finished"`
	Error    string           `json:"error,omitempty"` // pair-level failure
	Mappings []LastRunMapping `json:"mappings,omitempty"`
}

// LastRunMapping is one collection's part of a LastRun.
type LastRunMapping struct {
	Alias     string    `json:"alias"`
	HrefA     string    `json:"href_a"`
	HrefB     string    `json:"href_b"`
	Counts    [2]Counts `json:"counts"`
	Conflicts int       `json:"conflicts"`
	Errors    []string  `json:"errors,omitempty"`
}

func (e *Engine) lastRunPath(pair string) string {
	return filepath.Join(e.StatusDir, pair+".lastrun")
}

// LastRun returns the record of the pair's last real sync; ok is false when there is
// none yet.
func (e *Engine) LastRun(pair string) (run LastRun, ok bool, err error) {
	b, err := os.ReadFile(e.lastRunPath(pair))
	if errors.Is(err, fs.ErrNotExist) {
		return LastRun{}, false, nil
	}
	if err != nil {
		return LastRun{}, false, err
	}
	if err := json.Unmarshal(b, &run); err != nil {
		return LastRun{}, false, fmt.Errorf("%s: %w", e.lastRunPath(pair), err)
	}
	return run, true, nil
}

// saveLastRun writes the record atomically; failures are logged, never fatal.
func (e *Engine) saveLastRun(res *PairResult) {
	run := LastRun{Finished: time.Now().UTC().Truncate(time.Second)}
	if res.Err != nil {
		run.Error = res.Err.Error()
	}
	for _, m := range res.Mappings {
		lm := LastRunMapping{Alias: m.Alias, HrefA: m.HrefA, HrefB: m.HrefB, Counts: m.Counts, Conflicts: m.Conflicts}
		for _, err := range m.Errors {
			lm.Errors = append(lm.Errors, err.Error())
		}
		run.Mappings = append(run.Mappings, lm)
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err == nil {
		tmp := e.lastRunPath(res.Pair) + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, e.lastRunPath(res.Pair))
		}
	}
	if err != nil {
		e.log().Warn(fmt.Sprintf("pair %s: recording the last run: %v", res.Pair, err))
	}
}
