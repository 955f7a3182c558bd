package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/trash"
)

// cmdUndo reverts the last run with writes of each pair.
func (a *app) cmdUndo(args []string) error {
	fs := a.flags("undo")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	ws, err := a.openWritable(fs.Args())
	if err != nil {
		return err
	}
	eng := ws.engine(nil)
	failed := false
	for _, p := range ws.enginePairs() {
		res, err := eng.Undo(a.ctx, p)
		switch {
		case errors.Is(err, engine.ErrNothingToUndo):
			fmt.Fprintf(a.stdout, "pair %s: nothing to undo\n", p.Name)
			continue
		case err != nil:
			failed = true
			fmt.Fprintf(a.stderr, "error: pair %s: %v\n", p.Name, err)
			if res == nil {
				continue
			}
		}
		fmt.Fprintf(a.stdout, "pair %s: undid run %s: %d %s reverted", p.Name, res.Run, len(res.Reverted), plural(len(res.Reverted), "write", "writes"))
		if n := len(res.Refused); n > 0 {
			fmt.Fprintf(a.stdout, ", %d left as they are", n)
		}
		fmt.Fprintln(a.stdout)
		for _, e := range res.Reverted {
			fmt.Fprintf(a.stdout, "  reverted %s of %s on %s (storage %s)\n", e.Op, describeEntry(e), e.Side, e.Storage)
		}
		for _, r := range res.Refused {
			failed = true
			fmt.Fprintf(a.stderr, "error: pair %s: not reverted: %s of %s on %s: %s\n", p.Name, r.Entry.Op, describeEntry(r.Entry), r.Entry.Side, r.Reason)
		}
		if len(res.Reverted) > 0 {
			fmt.Fprintf(a.stdout, "  the next sync takes these items as unsynced: one side's copy is copied, two versions are a conflict\n")
		}
	}
	if failed {
		return exitCodeError{code: exitError}
	}
	return nil
}

func describeEntry(e trash.Entry) string {
	href := e.HrefAfter
	if href == "" {
		href = e.Href
	}
	s := fmt.Sprintf("%s (UID %q", href, e.Ident)
	if e.Summary != "" {
		s += fmt.Sprintf(", %q", e.Summary)
	}
	return s + ")"
}

// cmdTrash lists, shows and restores what pimsync overwrote or deleted.
func (a *app) cmdTrash(args []string) error {
	fs := a.flags("trash")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("trash needs list, show or restore")
	}
	switch rest[0] {
	case "list":
		ws, err := a.open(rest[1:])
		if err != nil {
			return err
		}
		return a.trashList(ws)
	case "show", "restore":
		if len(rest) != 3 {
			return usagef("trash %s needs a pair and an entry id", rest[0])
		}
		name := rest[1]
		if strings.HasPrefix(name, "repair.") {
			// What repair replaced: shown, restored by hand (repair only adds lines).
			if rest[0] == "restore" {
				return fmt.Errorf("entries of %s are not restored by pimsync; `pimsync trash show %s %s` prints the earlier version", name, name, rest[2])
			}
			ws, err := a.open(nil)
			if err != nil {
				return err
			}
			return a.trashShow(ws.statusDir, name, rest[2])
		}
		open := a.open
		if rest[0] == "restore" {
			open = a.openWritable
		}
		ws, err := open(rest[1:2])
		if err != nil {
			return err
		}
		p := ws.enginePairs()[0]
		if rest[0] == "show" {
			return a.trashShow(ws.statusDir, p.Name, rest[2])
		}
		res, err := ws.engine(nil).Restore(a.ctx, p, rest[2])
		if err != nil {
			return err
		}
		for _, r := range res.Refused {
			return fmt.Errorf("not restored: %s", r.Reason)
		}
		fmt.Fprintf(a.stdout, "restored %s on %s (storage %s); the next sync takes it as unsynced\n", describeEntry(res.Reverted[0]), res.Reverted[0].Side, res.Reverted[0].Storage)
		return nil
	}
	return usagef("unknown trash command %q (want list, show or restore)", rest[0])
}

// trashShow prints the content an entry kept.
func (a *app) trashShow(statusDir, name, id string) error {
	rec, ent, err := trash.Find(statusDir, name, id)
	if err != nil {
		return err
	}
	if ent.Op == trash.OpCreate {
		return fmt.Errorf("entry %s created %s: it replaced nothing", ent.ID, ent.HrefAfter)
	}
	b, err := rec.Before(ent)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(b)
	return err
}

func (a *app) trashList(ws *workspace) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	var names []string
	for _, p := range ws.enginePairs() {
		names = append(names, p.Name)
	}
	// The trashes of repairs: repair.<storage>.trash.
	if ents, err := os.ReadDir(ws.statusDir); err == nil {
		for _, e := range ents {
			if n := e.Name(); e.IsDir() && strings.HasPrefix(n, "repair.") && strings.HasSuffix(n, ".trash") {
				names = append(names, strings.TrimSuffix(n, ".trash"))
			}
		}
	}
	for _, name := range names {
		runs, err := trash.Runs(ws.statusDir, name)
		if err != nil {
			return err
		}
		for _, r := range runs {
			for _, e := range r.Entries {
				state := ""
				if r.Undone {
					state = " (undone)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s on %s\t%s\t%s%s\n", name, e.ID, e.Time.Local().Format("2006-01-02 15:04:05"),
					e.Op, e.Side, e.Why, describeEntry(e), state)
			}
		}
	}
	return tw.Flush()
}
