// Command pimsync synchronises calendars and contacts between CalDAV and CardDAV
// servers, webcal feeds and local vdir directories. See pimsync(1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/pimsync-go/pimsync/config"
)

// Exit statuses (DECISIONS.md §6).
const (
	exitOK       = 0
	exitError    = 1
	exitConflict = 3
	exitUsage    = 100
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise it comes
// from the module build info.
var version = ""

func pimsyncVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.1.0-dev"
}

// usageError is an error in the command line: exit 100 with usage text.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries a specific exit status with an optional message.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// app is the state shared by all subcommands.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string // -c
	logLevel       string // -v
	ctx            context.Context
	isTerminal     func(f any) bool
	// logEmit, when set, receives every log line instead of stderr (the TUI's pane).
	logEmit func(slog.Level, string)
}

const usageText = `usage: pimsync [-c FILE] [-v LEVEL] [COMMAND [ARGS...]]

Synchronise calendars and contacts between CalDAV/CardDAV servers, webcal feeds
and local vdir directories.

Commands:
  sync [-n] [PAIR...]                 synchronise pairs once (-n: print the plan only)
  daemon [-r FD] [PAIR...]            keep pairs in sync continuously
  resolve-conflicts [-n] [PAIR...]    resolve conflicts with the configured merge tool
  repair [-n] STORAGE...              add missing UIDs to items
  undo [PAIR...]                      revert the writes of the last run
  trash list|show|restore ...         what pimsync overwrote or deleted
  check [PAIR...]                     validate the configuration and storages
  discover [PAIR...]                  print the collections of each pair
  tui [PAIR...]                       open the interactive terminal UI
  demo [--workspace DIR] [--no-tui]   run the TUI on a throwaway demo workspace
  completion bash|zsh|fish            print a shell completion script
  migrate-vdirsyncer [FILE]           convert a vdirsyncer config to pimsync.conf
  version                             print the version

Options:
  -c FILE    configuration file (default $XDG_CONFIG_HOME/pimsync/pimsync.conf
             or ~/.config/pimsync/pimsync.conf)
  -v LEVEL   log level: trace, debug, info, warn (default) or error; logs go to stderr
  -h, --help print this help

Exit status: 0 success, 1 error, 3 conflicts left unresolved, 100 usage error.
Run "pimsync COMMAND -h" for a command's options; see pimsync(1) and pimsync.conf(5).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, ctx: ctx, isTerminal: isTerminal}
	code := a.run(os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func (a *app) run(args []string) int {
	err := a.dispatch(args)
	return a.exit(err)
}

// exit prints err (if any) and maps it to an exit status.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			fmt.Fprintf(a.stderr, "pimsync: %s\n", ue.msg)
		}
		fmt.Fprint(a.stderr, usageText)
		return exitUsage
	}
	var ce exitCodeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(a.stderr, "pimsync: %v\n", ce.err)
		}
		return ce.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var cerrs *config.Errors
	if errors.As(err, &cerrs) && len(cerrs.List) > 0 {
		// One "file:line: message" per line, then a summary.
		for _, e := range cerrs.List {
			fmt.Fprintln(a.stderr, e.Error())
		}
		fmt.Fprintf(a.stderr, "pimsync: %d configuration %s in %s\n", len(cerrs.List), plural(len(cerrs.List), "error", "errors"), cerrs.List[0].Pos.File)
		return exitError
	}
	fmt.Fprintf(a.stderr, "pimsync: %v\n", err)
	return exitError
}

func (a *app) dispatch(args []string) error {
	fs := flag.NewFlagSet("pimsync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.configPath, "c", "", "configuration file")
	fs.StringVar(&a.logLevel, "v", "warn", "log level")
	help := fs.Bool("h", false, "help")
	fs.BoolVar(help, "help", false, "help")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if *help {
		fmt.Fprint(a.stdout, usageText)
		return nil
	}
	if _, err := parseLevel(a.logLevel); err != nil {
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if a.isTerminal(a.stdin) && a.isTerminal(a.stdout) {
			return a.cmdTUI(nil)
		}
		return usagef("")
	}
	cmd, cargs := rest[0], rest[1:]
	switch cmd {
	case "version":
		return a.cmdVersion(cargs)
	case "check":
		return a.cmdCheck(cargs)
	case "discover":
		return a.cmdDiscover(cargs)
	case "sync":
		return a.cmdSync(cargs)
	case "help":
		fmt.Fprint(a.stdout, usageText)
		return nil
	}
	if c, ok := extraCommands[cmd]; ok {
		return c(a, cargs)
	}
	return usagef("unknown command %q", cmd)
}

// extraCommands holds commands registered by other files (daemon, tui, ...).
var extraCommands = map[string]func(*app, []string) error{}

// newFlags returns a flag set for a subcommand whose -h prints usage.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses a subcommand's flags; -h/--help prints the usage line.
func (a *app) parseFlags(fs *flag.FlagSet, usage string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(a.stdout, "usage: %s\n", usage)
			return flag.ErrHelp
		}
		return usageError{fmt.Sprintf("%v\nusage: %s", err, usage)}
	}
	return nil
}

func (a *app) cmdVersion(args []string) error {
	fs := a.newFlags("version")
	if err := a.parseFlags(fs, "pimsync version", args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(a.stdout, "pimsync %s\n", pimsyncVersion())
	return nil
}

func (a *app) cmdTUI(args []string) error {
	if c, ok := extraCommands["tui"]; ok {
		return c(a, args)
	}
	return usagef("")
}
