package main

import (
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/trash"
)

// cmdRepair adds missing UIDs to the items of the named storages (engine.Repair: an item
// holding several independent components is split into one item per component).
// Storages must be named explicitly: repairing both sides of a pair is discouraged
// (pimsync(1)). A read-only storage is an error, also with -n.
func (a *app) cmdRepair(args []string) error {
	fs := a.flags("repair")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	dry := boolFlag(fs, "n")
	if fs.NArg() == 0 {
		return usagef("repair needs the names of the storages to repair")
	}
	ws, err := a.openStorages(fs.Args())
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range fs.Args() {
		st := ws.storages[name]
		repaired := 0
		var tr *trash.Run
		if !dry && ws.statusDir != "" {
			tr = trash.Begin(ws.statusDir, repairTrash(name))
		}
		err := engine.Repair(a.ctx, st, tr, dry, func(r engine.RepairResult) {
			switch r.Outcome {
			case engine.Repaired:
				repaired++
				verb := "added"
				if dry {
					verb = "would add"
				}
				fmt.Fprintf(a.stdout, "%s: %s: %s UID %s\n", name, r.Href, verb, r.UID)
			case engine.Split:
				repaired++
				verb := "split into"
				if dry {
					verb = "would split into"
				}
				fmt.Fprintf(a.stdout, "%s: %s: %s %d items, one per component, with UIDs %s\n", name, r.Href, verb, len(r.UIDs), listUIDs(r.UIDs))
			case engine.Unrepairable:
				failed++
				fmt.Fprintf(a.stderr, "error: %s: %s: cannot be repaired: %v\n", name, r.Href, r.Err)
			case engine.RepairFailed:
				failed++
				fmt.Fprintf(a.stderr, "error: %s: %s: writing the repaired item failed: %v\n", name, r.Href, r.Err)
			}
		})
		tr.Close()
		if err != nil {
			failed++
			fmt.Fprintf(a.stderr, "error: storage %s: %v\n", name, err)
			continue
		}
		if repaired > 0 && !dry && tr != nil {
			fmt.Fprintf(a.stdout, "%s: the earlier versions are in the trash: pimsync trash list (as %s)\n", name, repairTrash(name))
		}
		if repaired == 0 {
			fmt.Fprintf(a.stdout, "%s: nothing to repair\n", name)
		}
	}
	if failed > 0 {
		return exitCodeError{code: exitError}
	}
	return nil
}

// repairTrash is the trash name of repairs of a storage: "repair.<storage>".
func repairTrash(storage string) string { return "repair." + storage }

// listUIDs shows up to five UIDs and how many more there are.
func listUIDs(uids []string) string {
	const show = 5
	if len(uids) <= show {
		return strings.Join(uids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(uids[:show], ", "), len(uids)-show)
}
