package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand. The table below is the only list of them: dispatch,
// `pimsync --help`, `pimsync COMMAND --help`, the flag sets and the completion scripts
// are all made from it (help_test.go checks pimsync(1) against it).
type command struct {
	name string
	// synopsis is what follows the name in the usage line ("[-n] [PAIR...]").
	synopsis string
	// summary is the one-line description of `pimsync --help`.
	summary string
	// about is the description of `pimsync COMMAND --help` (paragraphs separated by
	// blank lines; wrapped when printed).
	about string
	flags []cliFlag
	// args is the kind of arguments, for the completion scripts.
	args string
	run  func(*app, []string) error
}

// cliFlag is one option of a subcommand.
type cliFlag struct {
	name string // without the dash
	arg  string // the value's name ("" for a boolean flag)
	help string
}

// Argument kinds of a subcommand.
const (
	argNone     = ""
	argPairs    = "pairs"
	argStorages = "storages"
	argShell    = "shell"
	argFile     = "file"
)

// commands in the order `pimsync --help` lists them. It is filled in by init, because
// the help of `pimsync help` refers back to the table.
var commands []command

func init() {
	commands = []command{
		{name: "sync", synopsis: "[-n] [PAIR...]", args: argPairs, run: (*app).cmdSync,
			summary: "synchronise pairs once (-n: print the plan only)",
			about: "Synchronise the named pairs (every pair when none is named) once and exit. Prints one " +
				"line per collection that changed; errors go to stderr.\n\n" +
				"Exit status: 0 in sync, 1 an error, 3 conflicts are left (resolve them with " +
				"`pimsync resolve-conflicts`, in the TUI, or with conflict_resolution in the configuration).",
			flags: []cliFlag{{"n", "", "dry run: print the whole plan on stdout and write nothing, not even a status file; the exit status is the one the real sync would have"}}},
		{name: "daemon", synopsis: "[-r FD] [PAIR...]", args: argPairs, run: (*app).cmdDaemon,
			summary: "keep pairs in sync continuously",
			about: "Keep the named pairs (every pair when none is named) in sync: sync each once, then " +
				"again whenever a local directory changes (inotify) or a storage's interval has passed. " +
				"Failures are retried with a growing delay. Stops on SIGTERM or SIGINT after the writes in flight.\n\n" +
				"While it runs, the daemon answers on a control socket ($XDG_RUNTIME_DIR/pimsync/) that " +
				"`pimsync` and `pimsync tui` attach to: they show what it does and send it their syncs and " +
				"conflict resolutions, so that it stays the only writer. See pimsync(1), CONTROL SOCKET, and " +
				"contrib/ for systemd, s6 and dinit services.",
			flags: []cliFlag{{"r", "FD", "once the configuration is read and every credential command has run, write READY=1 and a newline to file descriptor FD (3 or higher) and close it: the readiness notification of s6 and dinit"}}},
		{name: "resolve-conflicts", synopsis: "[-n] [PAIR...]", args: argPairs, run: (*app).cmdResolve,
			summary: "resolve conflicts with the configured merge tool",
			about: "Resolve the conflicts of the named pairs (every pair when none is named) one by one " +
				"with the pair's conflict_resolution program; on a terminal, asks before each one. The " +
				"result is uploaded only if neither side changed meanwhile.",
			flags: []cliFlag{{"n", "", "list the conflicts and what differs in them, change nothing"}}},
		{name: "repair", synopsis: "[-n] STORAGE...", args: argStorages, run: (*app).cmdRepair,
			summary: "add missing UIDs to items",
			about: "Give every item of the named storages that has no UID one (pimsync finds items by " +
				"UID). Repair one side, then sync the pair.",
			flags: []cliFlag{{"n", "", "report what would be repaired, write nothing"}}},
		{name: "undo", synopsis: "[PAIR...]", args: argPairs, run: (*app).cmdUndo,
			summary: "revert the writes of the last run",
			about: "Revert the writes of the last run that wrote anything, for each named pair (every " +
				"pair when none is named), from the trash under status_path. Items changed since are left " +
				"as they are and named."},
		{name: "trash", synopsis: "list|show|restore ...", args: argNone, run: (*app).cmdTrash,
			summary: "what pimsync overwrote or deleted",
			about: "trash list [PAIR...]: what pimsync overwrote or deleted, newest first.\n\n" +
				"trash show PAIR ID: print an entry's previous content.\n\n" +
				"trash restore PAIR ID: put an entry's previous content back (only if the item did not " +
				"change since)."},
		{name: "check", synopsis: "[PAIR...]", args: argPairs, run: (*app).cmdCheck,
			summary: "validate the configuration and storages",
			about: "Read the configuration, run the credential commands, and check every storage of the " +
				"named pairs (every pair when none is named): a local directory must exist, a server must " +
				"answer, accept the credentials and offer CalDAV or CardDAV. Writes nothing."},
		{name: "discover", synopsis: "[PAIR...]", args: argPairs, run: (*app).cmdDiscover,
			summary: "print the collections of each pair",
			about: "Print the collections of both sides of the named pairs (every pair when none is " +
				"named) and how the pair maps them. Writes nothing."},
		{name: "tui", synopsis: "[PAIR...]", args: argPairs, run: (*app).cmdTUIRun,
			summary: "open the interactive terminal UI",
			about: "Open the interactive terminal UI on the named pairs (every pair when none is " +
				"named); a bare `pimsync` on a terminal does the same. It attaches to a running " +
				"`pimsync daemon` for the same configuration, and runs its own syncs otherwise. Press ? " +
				"in it for the keys; they are also in pimsync(1)."},
		{name: "demo", synopsis: "[--workspace DIR] [--keep] [--no-tui]", args: argNone, run: (*app).cmdDemo,
			summary: "run the TUI on a throwaway demo workspace",
			about: "Build a demo workspace (a configuration, local calendars and contacts, and a " +
				"CalDAV/CardDAV server inside pimsync on 127.0.0.1), sync it once, make a few changes on " +
				"both sides and a conflict, and open the TUI on it. Nothing is written outside the " +
				"workspace; it is removed when the demo ends unless --keep or --workspace is given.",
			flags: []cliFlag{
				{"workspace", "DIR", "build the workspace in DIR (new or empty) and keep it"},
				{"keep", "", "keep the temporary workspace when the demo ends (its path is printed)"},
				{"no-tui", "", "set up the workspace, print the plan the TUI would show, and exit"},
			}},
		{name: "completion", synopsis: "bash|zsh|fish", args: argShell, run: (*app).cmdCompletion,
			summary: "print a shell completion script",
			about: "Print the completion script for bash, zsh or fish on stdout. It completes commands, " +
				"options, and the pair and storage names of the configuration."},
		{name: "migrate-vdirsyncer", synopsis: "[FILE]", args: argFile, run: (*app).cmdMigrate,
			summary: "convert a vdirsyncer config to pimsync.conf",
			about: "Print a pimsync.conf equivalent to a vdirsyncer configuration (FILE, else " +
				"vdirsyncer's own default), with a \"# vdirsyncer:\" comment wherever an option has no " +
				"exact equivalent. Save it as ~/.config/pimsync/pimsync.conf and run `pimsync sync -n`."},
		{name: "version", synopsis: "", args: argNone, run: (*app).cmdVersion,
			summary: "print the version",
			about:   "Print `pimsync VERSION` and exit."},
	}
}

// lookupCommand returns the command with that name.
func lookupCommand(name string) (*command, bool) {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], true
		}
	}
	return nil, false
}

// usageLine is "pimsync NAME SYNOPSIS".
func (c *command) usageLine() string {
	return strings.TrimSpace("pimsync " + c.name + " " + c.synopsis)
}

// usageText is `pimsync --help`.
func usageText() string {
	var b strings.Builder
	b.WriteString(`usage: pimsync [-c FILE] [-v LEVEL] [COMMAND [ARGS...]]

Synchronise calendars and contacts between CalDAV/CardDAV servers, webcal feeds
and local vdir directories. Without a command, on a terminal, pimsync opens the
interactive terminal UI (press ? in it for the keys).

Commands:
`)
	for _, c := range commands {
		left := strings.TrimSpace(c.name + " " + c.synopsis)
		fmt.Fprintf(&b, "  %-34s  %s\n", left, c.summary)
	}
	b.WriteString(`
Options:
  -c FILE    configuration file (default $XDG_CONFIG_HOME/pimsync/pimsync.conf
             or ~/.config/pimsync/pimsync.conf)
  -v LEVEL   log level: trace, debug, info, warn (default) or error; logs go to stderr
  -h, --help print this help

Exit status: 0 success, 1 error, 3 conflicts left unresolved, 100 usage error.
Run "pimsync COMMAND --help" for a command's options; see pimsync(1) and pimsync.conf(5).
`)
	return b.String()
}

// help is `pimsync COMMAND --help`: the usage line, what the command does and every
// option.
func (c *command) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\n", c.usageLine())
	for _, para := range strings.Split(c.about, "\n\n") {
		b.WriteString(wrap(para, 80, "") + "\n\n")
	}
	if len(c.flags) > 0 {
		b.WriteString("Options:\n")
		for _, f := range c.flags {
			name := "-" + f.name
			if len(f.name) > 1 {
				name = "--" + f.name
			}
			if f.arg != "" {
				name += " " + f.arg
			}
			fmt.Fprintf(&b, "  %s\n%s\n", name, wrap(f.help, 80, "        "))
		}
		b.WriteString("\n")
	}
	b.WriteString("Global options (before the command): -c FILE, -v LEVEL; see `pimsync --help`.\n")
	return b.String()
}

// wrap wraps text at width columns, each line starting with indent.
func wrap(text string, width int, indent string) string {
	var lines []string
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// flags returns the flag set of a command, with every flag of its table entry.
func (a *app) flags(name string) *flag.FlagSet {
	c, ok := lookupCommand(name)
	if !ok {
		panic("no command " + name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, f := range c.flags {
		if f.arg == "" {
			fs.Bool(f.name, false, f.help)
		} else {
			fs.String(f.name, "", f.help)
		}
	}
	return fs
}

// parseFlags parses a command's arguments; -h/--help prints its help.
func (a *app) parseFlags(fs *flag.FlagSet, args []string) error {
	c, _ := lookupCommand(fs.Name())
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, c.help())
			return flag.ErrHelp
		}
		return usagef("%s", flagErrorMessage(err))
	}
	return nil
}

// flagErrorMessage words the flag package's errors the way pimsync's messages read.
func flagErrorMessage(err error) string {
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown option " + f
	}
	if f, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "option " + f + " needs an argument"
	}
	return msg
}

// boolFlag and stringFlag read a parsed flag of the table.
func boolFlag(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}

func stringFlag(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }
