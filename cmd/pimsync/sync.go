package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
)

func (a *app) cmdSync(args []string) error {
	fs := a.flags("sync")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	dry := boolFlag(fs, "n")
	open := a.openWritable
	if dry {
		open = a.open
	}
	ws, err := open(fs.Args())
	if err != nil {
		return err
	}
	pairs := ws.enginePairs()
	if dry {
		eng := ws.engine(nil)
		plans := eng.Plan(a.ctx, pairs)
		if err := present.WritePlan(a.stdout, plans); err != nil {
			return err
		}
		code := engine.PlanExitStatus(plans)
		if code == exitError {
			for _, msg := range present.PlanErrors(plans) {
				fmt.Fprintf(a.stderr, "error: %s\n", msg)
			}
		}
		if code == exitConflict {
			counts := map[string]int{}
			for _, p := range plans {
				counts[p.Name()] = len(p.Conflicts()) + len(p.PropertyConflicts())
			}
			return exitCodeError{code: code, err: conflictsLeft(pairs, counts)}
		}
		return exitCodeError{code: code}
	}
	prog := newProgress(a.stderr, a.isTerminal(a.stderr))
	out := &syncOutput{stdout: a.stdout, stderr: a.stderr, progress: prog}
	eng := ws.engine(out)
	eng.LockTimeout = 60 * time.Second
	results := eng.Sync(a.ctx, pairs)
	prog.clear()
	code := engine.ExitStatus(results)
	if a.ctx.Err() != nil {
		return exitCodeError{code: exitError, err: fmt.Errorf("interrupted; the next sync continues where this one stopped")}
	}
	if code == exitConflict {
		counts := map[string]int{}
		for _, r := range results {
			for _, m := range r.Mappings {
				counts[r.Pair] += m.Conflicts
			}
		}
		return exitCodeError{code: code, err: conflictsLeft(pairs, counts)}
	}
	return exitCodeError{code: code}
}

// conflictsLeft is the stderr line of a sync that ends with conflicts (DECISIONS #6:
// every non-zero exit says why).
func conflictsLeft(pairs []*engine.Pair, counts map[string]int) error {
	var parts, names []string
	total := 0
	for _, p := range pairs {
		if n := counts[p.Name]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d in pair %s", n, p.Name))
			names = append(names, p.Name)
		}
	}
	return fmt.Errorf("%d %s left (%s): resolve them with `pimsync resolve-conflicts %s` or in the TUI (`pimsync`), or set conflict_resolution keep a|b",
		total, plural(total, "conflict", "conflicts"), strings.Join(parts, ", "), strings.Join(names, " "))
}

// syncOutput turns engine events into the sync command's output: a summary line per
// changed collection on stdout, errors on stderr, live progress on a terminal.
type syncOutput struct {
	mu       sync.Mutex
	stdout   io.Writer
	stderr   io.Writer
	progress *progress
}

func (o *syncOutput) Event(ev engine.Event) {
	switch e := ev.(type) {
	case engine.ActionStarted:
		o.progress.item(e.Pair, e.Mapping, e.Action)
	case engine.ActionFinished:
		o.progress.step(e.Pair, e.Mapping, e.Done, e.Total)
	case engine.PairFinished:
		o.mu.Lock()
		defer o.mu.Unlock()
		o.progress.clear()
		r := e.Result
		for _, err := range r.Errors() {
			fmt.Fprintf(o.stderr, "error: %v\n", err)
		}
		for _, m := range r.Mappings {
			if line := present.MappingSummary(m, r.Pair); line != "" {
				fmt.Fprintln(o.stdout, line)
			}
		}
	}
}

// progress draws one status line on a terminal, at most ten times a second. It uses
// only carriage returns and blanks, no escape sequence, so that even a terminal that
// understands none shows it right (docs/DECISIONS.md, Terminal).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	last    time.Time
	shown   int // cells of the line on screen
	current string
}

func newProgress(w io.Writer, enabled bool) *progress {
	return &progress{w: w, enabled: enabled}
}

func (p *progress) item(pair, mapping string, a *engine.ItemAction) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	p.current = fmt.Sprintf("%s %s", present.ActionLabel(a), a.Ident)
	p.mu.Unlock()
}

func (p *progress) step(pair, mapping string, done, total int) {
	if !p.enabled || total < 20 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond && done != total {
		return
	}
	p.last = time.Now()
	line := []rune(fmt.Sprintf("%s/%s: %d/%d %s", pair, mapping, done, total, p.current))
	if len(line) > 78 {
		line = append(line[:77], '…')
	}
	pad := max(p.shown-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", string(line), strings.Repeat(" ", pad))
	p.shown = len(line) + pad
}

func (p *progress) clear() {
	if p == nil || !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.shown))
		p.shown = 0
	}
}
