package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pimsync-go/pimsync/config/vdirsyncer"
)

// This file implements `pimsync migrate-vdirsyncer [FILE]`: it reads a vdirsyncer
// configuration and prints the pimsync.conf that config/vdirsyncer makes of it.

func (a *app) cmdMigrate(args []string) error {
	fs := a.flags("migrate-vdirsyncer")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("migrate-vdirsyncer takes at most one file")
	}
	file := fs.Arg(0)
	if file == "" {
		var err error
		if file, err = vdirsyncer.DefaultPath(); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("cannot read the vdirsyncer configuration: %w", err)
	}
	res, err := vdirsyncer.Convert(file, data)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(a.stdout, res.Config); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "pimsync: converted %s: %d %s, %d %s; %d %s marked \"# vdirsyncer:\" need a look\n",
		file, res.Storages, plural(res.Storages, "storage", "storages"), res.Pairs, plural(res.Pairs, "pair", "pairs"),
		res.Notes, plural(res.Notes, "note", "notes"))
	return nil
}
