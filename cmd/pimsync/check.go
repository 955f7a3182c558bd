package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
)

// checkDetailer is implemented by storages that can say what Check verified (for
// example the DAV context URL, principal and home sets).
type checkDetailer interface {
	CheckDetails() []string
}

func (a *app) cmdCheck(args []string) error {
	fs := a.flags("check")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	ws, err := a.open(fs.Args())
	if err != nil {
		return err
	}
	ns, np := len(ws.cfg.Storages), len(ws.cfg.Pairs)
	fmt.Fprintf(a.stdout, "config %s: ok (%d %s, %d %s)\n", ws.cfg.Path, ns, plural(ns, "storage", "storages"), np, plural(np, "pair", "pairs"))
	failed := 0
	names := make([]string, 0, len(ws.storages))
	for n := range ws.storages {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return ws.cfg.Storages[names[i]].Pos.Line < ws.cfg.Storages[names[j]].Pos.Line
	})
	for _, name := range names {
		s := ws.storages[name]
		sc := ws.cfg.Storages[name]
		line, err := checkStorage(a, s)
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "storage %s (%s): FAILED: %v\n", name, sc.Type, err)
			continue
		}
		fmt.Fprintf(a.stdout, "storage %s (%s): ok: %s\n", name, sc.Type, line)
	}
	for _, p := range ws.pairs {
		fmt.Fprintf(a.stdout, "pair %s: %s <-> %s\n", p.Name, p.StorageA, p.StorageB)
	}
	if failed > 0 {
		return exitCodeError{code: exitError, err: fmt.Errorf("%d of %d storages failed the check", failed, len(names))}
	}
	return nil
}

// checkStorage runs Check and Discover and describes what was verified.
func checkStorage(a *app, s storage.Storage) (string, error) {
	if err := s.Check(a.ctx); err != nil {
		return "", err
	}
	cols, err := s.Discover(a.ctx)
	if err != nil {
		return "", err
	}
	var parts []string
	for inner := s; inner != nil; {
		if d, ok := inner.(checkDetailer); ok {
			parts = append(parts, d.CheckDetails()...)
			break
		}
		u, ok := inner.(interface{ Unwrap() storage.Storage })
		if !ok {
			break
		}
		inner = u.Unwrap() // the read-only wrapper
	}
	if storage.IsReadOnly(s) {
		parts = append(parts, "read-only")
	}
	parts = append(parts, fmt.Sprintf("%d %s", len(cols), plural(len(cols), "collection", "collections")))
	return strings.Join(parts, "; "), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (a *app) cmdDiscover(args []string) error {
	fs := a.flags("discover")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	ws, err := a.open(fs.Args())
	if err != nil {
		return err
	}
	eng := ws.engine(nil)
	failed := false
	for _, p := range ws.enginePairs() {
		d := eng.Discover(a.ctx, p)
		fmt.Fprintf(a.stdout, "pair %s\n", p.Name)
		for s, st := range []storage.Storage{p.A, p.B} {
			side := engine.Side(s)
			name := []string{p.NameA, p.NameB}[s]
			if err := d.Errs[s]; err != nil {
				failed = true
				fmt.Fprintf(a.stdout, "  %s: storage %s: error: %v\n", side, name, err)
				continue
			}
			cols := d.Collections[s]
			fmt.Fprintf(a.stdout, "  %s: storage %s: %d %s\n", side, name, len(cols), plural(len(cols), "collection", "collections"))
			for _, c := range cols {
				line := fmt.Sprintf("    %s", c.ID)
				if c.Href != c.ID {
					line += fmt.Sprintf("  (%s)", c.Href)
				}
				if storage.HasProperties(st) {
					if props, err := st.Properties(a.ctx, c.Href); err == nil && props[storage.PropDisplayName] != "" {
						line += fmt.Sprintf("  %q", props[storage.PropDisplayName])
					}
				}
				fmt.Fprintln(a.stdout, line)
			}
		}
		if d.Err != nil {
			failed = true
			fmt.Fprintf(a.stdout, "  error: %v\n", d.Err)
			continue
		}
		if d.Errs[0] != nil || d.Errs[1] != nil {
			continue
		}
		fmt.Fprintf(a.stdout, "  mappings:\n")
		if len(d.Mappings) == 0 {
			fmt.Fprintf(a.stdout, "    none\n")
		}
		for _, m := range d.Mappings {
			fmt.Fprintf(a.stdout, "    %s: a %s <-> b %s%s\n", m.Alias, orDash(m.Href[0]), orDash(m.Href[1]), mappingNote(m))
		}
	}
	if failed {
		return exitCodeError{code: exitError}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mappingNote(m engine.DiscoveredMapping) string {
	var notes []string
	for s := range 2 {
		side := engine.Side(s)
		switch {
		case m.Exists[s]:
		case m.Unknown[s]:
			notes = append(notes, fmt.Sprintf("not discovered on %s; checked at sync", side))
		case m.CreateErr[s] != nil:
			notes = append(notes, fmt.Sprintf("missing on %s and cannot be created: %v", side, m.CreateErr[s]))
		default:
			notes = append(notes, fmt.Sprintf("missing on %s; created by the next sync", side))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}
