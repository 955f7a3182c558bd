package main

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/pimsync-go/pimsync/config"
	"os/exec"
	"strings"

	"github.com/pimsync-go/pimsync/engine"
)

const resolveUsage = "pimsync resolve-conflicts [-n] [PAIR...]"

func init() { extraCommands["resolve-conflicts"] = (*app).cmdResolve }

func (a *app) cmdResolve(args []string) error {
	fs := a.newFlags("resolve-conflicts")
	dry := fs.Bool("n", false, "list the conflicts, change nothing")
	if err := a.parseFlags(fs, resolveUsage, args); err != nil {
		return err
	}
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
		switch p.Config.ConflictResolution {
		case config.ResolveKeepA, config.ResolveKeepB:
			fmt.Fprintf(a.stdout, "conflicts in pair %s are resolved automatically by sync (conflict_resolution %s)\n", p.Name, p.Config.ConflictResolution)
			continue
		case config.ResolveNone:
			if !*dry {
				r.failed++
				fmt.Fprintf(a.stderr, "error: pair %s has no conflict_resolution; add `conflict_resolution cmd PROGRAM` (for example `cmd nvim -d`) or `keep a`/`keep b` to it\n", p.Name)
				continue
			}
		}
		plan := eng.Plan(a.ctx, []*engine.Pair{p})[0]
		if plan.Err != nil {
			r.failed++
			fmt.Fprintf(a.stderr, "error: %v\n", plan.Err)
			continue
		}
		if *dry {
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
	cs := plan.Conflicts()
	if len(cs) == 0 {
		fmt.Fprintf(r.a.stdout, "pair %s: no conflicts\n", plan.Name())
		return
	}
	fmt.Fprintf(r.a.stdout, "pair %s: %d %s\n", plan.Name(), len(cs), plural(len(cs), "conflict", "conflicts"))
	for _, c := range cs {
		r.left++
		act := c.Action
		fmt.Fprintf(r.a.stdout, "  %s/%s uid %s%s\n", plan.Name(), c.Mapping.Alias, act.Ident, quoted(act.Summary()))
		fmt.Fprintf(r.a.stdout, "    a: %s\n    b: %s\n", act.A.Href, act.B.Href)
		if act.A.Item != nil && act.B.Item != nil {
			fmt.Fprintf(r.a.stdout, "    %s\n", engine.DiffSummary(act.A.Item.Text(), act.B.Item.Text()))
		}
	}
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", s)
}

// pair resolves the conflicts of one pair in plan order (sync.md §9.3).
func (r *resolver) pair(plan *engine.PairPlan) {
	cs := plan.Conflicts()
	if len(cs) == 0 {
		fmt.Fprintf(r.a.stdout, "pair %s: no conflicts\n", plan.Name())
		return
	}
	for i, c := range cs {
		if r.a.ctx.Err() != nil {
			r.left += len(cs) - i
			return
		}
		if r.prompt {
			switch r.ask(fmt.Sprintf("Conflict %d/%d in %s/%s, uid %s%s: resolve now? [Y/n/q] ",
				i+1, len(cs), plan.Name(), c.Mapping.Alias, c.Action.Ident, quoted(c.Action.Summary()))) {
			case "n":
				r.left++
				continue
			case "q":
				r.left += len(cs) - i
				return
			}
		}
		r.one(c)
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

func describeSides(sides []engine.Side) string {
	switch len(sides) {
	case 0:
		return "both sides already hold the result"
	case 1:
		return "uploaded to " + sides[0].String()
	}
	return "uploaded to a and b"
}
