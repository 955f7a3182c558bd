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
	"github.com/pimsync-go/pimsync/engine"
)

// Exit statuses (DECISIONS.md §6): the engine's, shared with the TUI.
const (
	exitOK       = engine.ExitOK
	exitError    = engine.ExitError
	exitConflict = engine.ExitConflicts
	exitUsage    = engine.ExitUsage
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

// usageError is an error in the command line: exit 100 with one line that says what is
// wrong and where the help is (msg "": the whole usage text, for a bare pimsync without
// a terminal).
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
	// command is the subcommand being run ("" before dispatch), for usage hints.
	command string
}

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
		if ue.msg == "" {
			fmt.Fprint(a.stderr, usageText())
			return exitUsage
		}
		name, help := "pimsync", "pimsync --help"
		if a.command != "" {
			name, help = "pimsync "+a.command, "pimsync "+a.command+" --help"
		}
		fmt.Fprintf(a.stderr, "%s: %s (see %s)\n", name, ue.msg, help)
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
		return usagef("%s", flagErrorMessage(err))
	}
	if *help {
		fmt.Fprint(a.stdout, usageText())
		return nil
	}
	if _, err := parseLevel(a.logLevel); err != nil {
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if a.isTerminal(a.stdin) && a.isTerminal(a.stdout) {
			return a.cmdTUIRun(nil)
		}
		return usagef("")
	}
	name, cargs := rest[0], rest[1:]
	switch name {
	case "help":
		if len(cargs) == 1 {
			if c, ok := lookupCommand(cargs[0]); ok {
				fmt.Fprint(a.stdout, c.help())
				return nil
			}
		}
		fmt.Fprint(a.stdout, usageText())
		return nil
	case completeHelper:
		return a.cmdComplete(cargs)
	}
	c, ok := lookupCommand(name)
	if !ok {
		return usagef("unknown command %q%s", name, suggest(name))
	}
	a.command = name
	return c.run(a, cargs)
}

// suggest names the command closest to a mistyped one: "; did you mean sync?".
func suggest(name string) string {
	best, bestD := "", 3
	for _, c := range commands {
		if d := editDistance(name, c.name); d < bestD || strings.HasPrefix(c.name, name) && len(name) >= 3 && best == "" {
			best, bestD = c.name, min(d, bestD)
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (a *app) cmdVersion(args []string) error {
	fs := a.flags("version")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(a.stdout, "pimsync %s\n", pimsyncVersion())
	return nil
}
