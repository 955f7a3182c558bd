package main

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/pimsync-go/pimsync/config"
	"os/exec"
	"strings"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
)

func (a *app) cmdResolve(args []string) error {
	fs := a.flags("resolve-conflicts")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	dry := boolFlag(fs, "n")
	ws, err := a.open(fs.Args())
	if err != nil {
		return err
	}
	eng := ws.engine(nil)
	r := &resolver{a: a, eng: eng, prompt: a.isTerminal(a.stdin)}
	if r.prompt {
		r.in = bufio.NewReader(a.stdin)
	}
	for _, p := range ws.enginePairs() {
		if a.ctx.Err() != nil {
			break
		}
		if p.Config.ConflictResolution.Automatic() {
			fmt.Fprintf(a.stdout, "conflicts in pair %s are resolved automatically by sync (conflict_resolution %s)\n", p.Name, p.Config.ConflictResolution)
			continue
		}
		plan := eng.Plan(a.ctx, []*engine.Pair{p})[0]
		if plan.Err != nil {
			r.failed++
			fmt.Fprintf(a.stderr, "error: %v\n", plan.Err)
			continue
		}
		if dry {
			r.list(plan)
			continue
		}
		r.pair(plan)
	}
	switch {
	case r.failed > 0:
		return exitCodeError{code: exitError}
	case r.left > 0:
		return exitCodeError{code: exitConflict}
	}
	return nil
}

type resolver struct {
	a            *app
	eng          *engine.Engine
	prompt       bool
	in           *bufio.Reader
	failed, left int
}

// list prints the conflicts of a plan with a field-level summary (-n).
func (r *resolver) list(plan *engine.PairPlan) {
	cs, ps := plan.Conflicts(), plan.PropertyConflicts()
	n := len(cs) + len(ps)
	if n == 0 {
		fmt.Fprintf(r.a.stdout, "pair %s: no conflicts\n", plan.Name())
		return
	}
	fmt.Fprintf(r.a.stdout, "pair %s: %d %s\n", plan.Name(), n, plural(n, "conflict", "conflicts"))
	for _, c := range ps {
		r.left++
		fmt.Fprintf(r.a.stdout, "  %s: %s\n", c, propValues(c.Action))
	}
	for _, c := range cs {
		r.left++
		act := c.Action
		fmt.Fprintf(r.a.stdout, "  %s/%s uid %s%s\n", plan.Name(), c.Mapping.Alias, act.Ident, quoted(act.Summary()))
		fmt.Fprintf(r.a.stdout, "    a: %s\n    b: %s\n", act.A.Href, act.B.Href)
		if act.A.Item != nil && act.B.Item != nil {
			fmt.Fprintf(r.a.stdout, "    %s\n", present.DiffSummary(act.A.Item.Text(), act.B.Item.Text()))
		}
	}
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", s)
}

// propValues renders both values of a property conflict.
func propValues(p *engine.PropAction) string {
	v := func(s string, has bool) string {
		if !has {
			return "(none)"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%s on a, %s on b", v(p.A, p.HasA), v(p.B, p.HasB))
}

// pair resolves the conflicts of one pair in plan order (sync.md §9.3): property
// conflicts by a choice of side, item conflicts with the merge tool.
func (r *resolver) pair(plan *engine.PairPlan) {
	cs, ps := plan.Conflicts(), plan.PropertyConflicts()
	if len(cs)+len(ps) == 0 {
		fmt.Fprintf(r.a.stdout, "pair %s: no conflicts\n", plan.Name())
		return
	}
	if !r.props(plan, ps) {
		r.left += len(cs)
		return
	}
	if len(cs) > 0 && plan.Pair.Config.ConflictResolution != config.ResolveCmd {
		r.failed++
		fmt.Fprintf(r.a.stderr, "error: pair %s has %d item %s but no conflict_resolution; add `conflict_resolution cmd PROGRAM` (for example `cmd nvim -d`) or `keep a`/`keep b` to it, or resolve them in the TUI (pimsync tui %s)\n",
			plan.Name(), len(cs), plural(len(cs), "conflict", "conflicts"), plan.Name())
		r.left += len(cs)
		return
	}
	for i, c := range cs {
		if r.a.ctx.Err() != nil {
			r.left += len(cs) - i
			return
		}
		if r.prompt {
			switch r.ask(fmt.Sprintf("Conflict %d/%d in %s/%s, uid %s%s: resolve now? [Y/n/q/k] (k: keep both) ",
				i+1, len(cs), plan.Name(), c.Mapping.Alias, c.Action.Ident, quoted(c.Action.Summary()))) {
			case "n":
				r.left++
				continue
			case "q":
				r.left += len(cs) - i
				return
			case "k":
				r.keepBoth(c)
				continue
			}
		}
		r.one(c)
	}
}

// props settles property conflicts by asking which side to keep. Without a terminal
// there is nobody to ask: they are reported and left. It returns false after q.
func (r *resolver) props(plan *engine.PairPlan, ps []engine.PropConflict) bool {
	for i, c := range ps {
		if r.a.ctx.Err() != nil {
			r.left += len(ps) - i
			return false
		}
		if !r.prompt {
			r.left++
			fmt.Fprintf(r.a.stderr, "%s: conflict: %s; choose a side with `pimsync resolve-conflicts %s` on a terminal or in the TUI, or set conflict_resolution keep a|b\n",
				c, propValues(c.Action), plan.Name())
			continue
		}
		var keep engine.Side
		switch r.choose(fmt.Sprintf("Property conflict %d/%d in %s/%s: %s is %s. Keep [a/b/n/q]? ",
			i+1, len(ps), plan.Name(), c.Mapping.Alias, c.Action.Name, propValues(c.Action))) {
		case "a":
			keep = engine.A
		case "b":
			keep = engine.B
		case "n":
			r.left++
			continue
		default:
			r.left += len(ps) - i
			return false
		}
		err := r.eng.ResolveProperty(r.a.ctx, c, keep)
		switch {
		case errors.Is(err, engine.ErrConflictSolved):
			fmt.Fprintf(r.a.stdout, "%s: %v\n", c, err)
		case errors.Is(err, engine.ErrConflictChanged):
			r.left++
			fmt.Fprintf(r.a.stderr, "%s: %v\n", c, err)
		case err != nil:
			r.failed++
			fmt.Fprintf(r.a.stderr, "error: %s: %v\n", c, err)
		default:
			fmt.Fprintf(r.a.stdout, "%s: kept %s's value; written to %s\n", c, keep, keep.Other())
		}
	}
	return true
}

// choose prompts until it gets a, b, n or q; EOF counts as q.
func (r *resolver) choose(q string) string {
	for {
		fmt.Fprint(r.a.stdout, q)
		line, err := r.in.ReadString('\n')
		switch v := strings.ToLower(strings.TrimSpace(line)); v {
		case "a", "b", "n", "q":
			return v
		}
		if err != nil {
			return "q"
		}
	}
}

// ask prompts until it gets y (or empty), n or q; EOF counts as q.
func (r *resolver) ask(q string) string {
	for {
		fmt.Fprint(r.a.stdout, q)
		line, err := r.in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "", "y", "yes":
			if err != nil && line == "" {
				return "q"
			}
			return "y"
		case "n", "no":
			return "n"
		case "q", "quit":
			return "q"
		case "k":
			return "k"
		}
		if err != nil {
			return "q"
		}
	}
}

// one resolves one conflict: re-fetch, merge tool, upload.
func (r *resolver) one(c engine.Conflict) {
	name := fmt.Sprintf("%s/%s %s", c.Pair.Name(), c.Mapping.Alias, c.Action.Ident)
	tool := engine.MergeTool{Argv: c.Pair.Pair.Config.ResolverCmd, Run: func(cmd *exec.Cmd) error {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = r.a.stdin, r.a.stdout, r.a.stderr
		return cmd.Run()
	}}
	_, sides, err := r.eng.Resolve(r.a.ctx, c, tool)
	switch {
	case errors.Is(err, engine.ErrConflictGone), errors.Is(err, engine.ErrConflictSolved):
		fmt.Fprintf(r.a.stdout, "%s: %v\n", name, err)
	case errors.Is(err, engine.ErrUnresolved):
		r.left++
		fmt.Fprintf(r.a.stderr, "%s: %v\n", name, err)
	case err != nil:
		r.failed++
		fmt.Fprintf(r.a.stderr, "error: %s: %v\n", name, err)
	default:
		fmt.Fprintf(r.a.stdout, "%s: resolved; %s\n", name, describeSides(sides))
	}
}

// keepBoth keeps both versions of a conflict: b's as a new item with its own UID.
func (r *resolver) keepBoth(c engine.Conflict) {
	name := fmt.Sprintf("%s/%s %s", c.Pair.Name(), c.Mapping.Alias, c.Action.Ident)
	_, sides, err := r.eng.KeepBoth(r.a.ctx, c, nil)
	switch {
	case errors.Is(err, engine.ErrConflictGone), errors.Is(err, engine.ErrConflictSolved):
		fmt.Fprintf(r.a.stdout, "%s: %v\n", name, err)
	case err != nil:
		r.failed++
		fmt.Fprintf(r.a.stderr, "error: %s: %v\n", name, err)
	default:
		fmt.Fprintf(r.a.stdout, "%s: kept both: b's version is now a separate item (conflict copy); %s; the next sync copies it to a\n", name, describeSides(sides))
	}
}

func describeSides(sides []engine.Side) string {
	switch len(sides) {
	case 0:
		return "both sides already hold the result"
	case 1:
		return "uploaded to " + sides[0].String()
	}
	return "uploaded to a and b"
}
