package main

import (
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/config"
)

// This file implements `pimsync completion bash|zsh|fish` and the hidden helper
// `pimsync [-c FILE] __complete pairs|storages` that the scripts call to list the names
// defined in the configuration at completion time.

const completionUsage = "pimsync completion bash|zsh|fish"

func init() {
	extraCommands["completion"] = (*app).cmdCompletion
	extraCommands[completeHelper] = (*app).cmdComplete
}

// completeHelper is the hidden command the completion scripts run.
const completeHelper = "__complete"

// cliFlag is one option of a subcommand, for the completion scripts.
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

// cliCommand describes a subcommand for the completion scripts. It mirrors usageText
// (main.go); help_test.go keeps the two and pimsync(1) in step.
type cliCommand struct {
	name  string
	flags []cliFlag
	args  string
	help  string
}

var cliCommands = []cliCommand{
	{"sync", []cliFlag{{"n", "", "dry run: print the plan, write nothing"}}, argPairs, "synchronise pairs once"},
	{"daemon", []cliFlag{{"r", "FD", "file descriptor for the readiness notification"}}, argPairs, "keep pairs in sync continuously"},
	{"resolve-conflicts", []cliFlag{{"n", "", "list the conflicts, change nothing"}}, argPairs, "resolve conflicts with the configured merge tool"},
	{"repair", []cliFlag{{"n", "", "report what would be repaired, write nothing"}}, argStorages, "add missing UIDs to items"},
	{"undo", nil, argPairs, "revert the writes of the last run"},
	{"trash", nil, argNone, "what pimsync overwrote or deleted"},
	{"check", nil, argPairs, "validate the configuration and storages"},
	{"discover", nil, argPairs, "print the collections of each pair"},
	{"tui", nil, argPairs, "open the interactive terminal UI"},
	{"demo", []cliFlag{{"workspace", "DIR", "create the workspace in this directory"}, {"no-tui", "", "set up the workspace, print the plan, exit"}}, argNone, "run the TUI on a throwaway demo workspace"},
	{"completion", nil, argShell, "print a shell completion script"},
	{"migrate-vdirsyncer", nil, argFile, "convert a vdirsyncer config to pimsync.conf"},
	{"version", nil, argNone, "print the version"},
}

// logLevels are the values of -v, for the completion scripts.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

func (a *app) cmdCompletion(args []string) error {
	fs := a.newFlags("completion")
	if err := a.parseFlags(fs, completionUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("completion needs exactly one shell name\nusage: %s", completionUsage)
	}
	var script string
	switch fs.Arg(0) {
	case "bash":
		script = bashCompletion()
	case "zsh":
		script = zshCompletion()
	case "fish":
		script = fishCompletion()
	default:
		return usagef("completion: unknown shell %q (want bash, zsh or fish)\nusage: %s", fs.Arg(0), completionUsage)
	}
	_, err := fmt.Fprint(a.stdout, script)
	return err
}

// cmdComplete prints the pair or storage names of the configuration, one a line, in
// file order. It runs no credential command and prints nothing at all when the
// configuration cannot be read or has errors: it runs while the user presses Tab.
func (a *app) cmdComplete(args []string) error {
	if len(args) != 1 {
		return nil
	}
	path := a.configPath
	if path == "" {
		p, err := config.DefaultPath()
		if err != nil {
			return nil
		}
		path = p
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil
	}
	var names []string
	switch args[0] {
	case argPairs:
		names = cfg.PairOrder
	case argStorages:
		names = cfg.StorageOrder
	}
	for _, n := range names {
		if !strings.ContainsAny(n, "\n\r") {
			fmt.Fprintln(a.stdout, n)
		}
	}
	return nil
}

// commandNames returns the names of the commands that take the given kind of
// argument (all commands for kind "*").
func commandNames(kind string) []string {
	var out []string
	for _, c := range cliCommands {
		if kind == "*" || c.args == kind {
			out = append(out, c.name)
		}
	}
	return out
}

// flagGroups groups the commands by flag (name, argument and help text alike), so
// that commands sharing a flag share one fish completion rule.
func flagGroups() []struct {
	flag     cliFlag
	commands []string
} {
	var groups []struct {
		flag     cliFlag
		commands []string
	}
	for _, c := range cliCommands {
		for _, f := range c.flags {
			found := false
			for i := range groups {
				if groups[i].flag == f {
					groups[i].commands = append(groups[i].commands, c.name)
					found = true
				}
			}
			if !found {
				groups = append(groups, struct {
					flag     cliFlag
					commands []string
				}{f, []string{c.name}})
			}
		}
	}
	return groups
}

// bashCompletion returns the bash script. It needs no bash-completion helpers.
func bashCompletion() string {
	var b strings.Builder
	b.WriteString(`# bash completion for pimsync(1)                         -*- shell-script -*-
# Generated by "pimsync completion bash". Install it as
# /usr/share/bash-completion/completions/pimsync, or source it from ~/.bashrc.

# _pimsync_names KIND CUR [-c FILE]: add the pair or storage names of the configuration
# that start with CUR and are not on the command line yet.
_pimsync_names() {
    local kind=$1 cur=$2 name w seen
    shift 2
    while IFS= read -r name; do
        [[ $name == "$cur"* ]] || continue
        seen=
        for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
            [[ $w == "$name" ]] && seen=1 && break
        done
        [[ -n $seen ]] || COMPREPLY+=("$(printf '%q' "$name")")
    done < <(command pimsync "$@" __complete "$kind" 2>/dev/null)
}

_pimsync() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=
    local cmd= cfgfile= i=1 w
    local -a cfg=()
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    # Global options come before the command (Go flag syntax: -c FILE or -c=FILE; the
    # "=" may be a word of its own, as it is in COMP_WORDBREAKS).
    while (( i < COMP_CWORD )); do
        w=${COMP_WORDS[i]}
        case $w in
            -c|--c|-v|--v)
                (( i++ ))
                [[ ${COMP_WORDS[i]} == = ]] && (( i++ ))
                [[ $w == *c ]] && (( i < COMP_CWORD )) && cfgfile=${COMP_WORDS[i]}
                ;;
            -c=*|--c=*) cfgfile=${w#*=} ;;
            -*) ;;
            *) cmd=$w; break ;;
        esac
        (( i++ ))
    done
    if [[ -n $cfgfile ]]; then
        cfgfile=${cfgfile#[\"\']}
        cfgfile=${cfgfile%[\"\']}
        [[ $cfgfile == "~/"* ]] && cfgfile=$HOME/${cfgfile#"~/"}
        cfg=(-c "$cfgfile")
    fi
    [[ $cur == = ]] && cur=
    [[ $prev == = ]] && (( COMP_CWORD > 1 )) && prev=${COMP_WORDS[COMP_CWORD-2]}

    if [[ -z $cmd ]]; then
        case $prev in
            -c|--c)
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
            -v|--v)
                COMPREPLY=($(compgen -W '`)
	b.WriteString(strings.Join(logLevels, " "))
	b.WriteString(`' -- "$cur"))
                return
                ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '-c -v -h --help' -- "$cur"))
        else
            COMPREPLY=($(compgen -W '`)
	b.WriteString(strings.Join(commandNames("*"), " "))
	b.WriteString(`' -- "$cur"))
        fi
        return
    fi

    # The command's own flags come before its arguments (Go's flag package stops at
    # the first argument that is not a flag).
    local flags= valflags= kind= nargs=0
    case $cmd in
`)
	for _, c := range cliCommands {
		var flags, valflags []string
		for _, f := range c.flags {
			flags = append(flags, "-"+f.name)
			if f.arg != "" {
				valflags = append(valflags, "-"+f.name)
			}
		}
		fmt.Fprintf(&b, "        %s) flags='%s' valflags='%s' kind=%s ;;\n", c.name, strings.Join(flags, " "), strings.Join(valflags, " "), c.args)
	}
	b.WriteString(`        *) return ;;
    esac
    local afterflags=
    for (( i++; i < COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        if [[ -z $afterflags && $w == -* ]]; then
            [[ " $valflags " == *" $w "* ]] && (( i++ ))
            continue
        fi
        afterflags=1
        (( nargs++ ))
    done
    if [[ -n $prev && " $valflags " == *" $prev "* && -z $afterflags ]]; then
        return # a flag value such as the file descriptor of -r
    fi
    if [[ -z $afterflags && $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    case $kind in
        pairs|storages) _pimsync_names "$kind" "$cur" "${cfg[@]}" ;;
        shell) (( nargs == 0 )) && COMPREPLY=($(compgen -W 'bash zsh fish' -- "$cur")) ;;
        file)
            if (( nargs == 0 )); then
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
    esac
}

complete -F _pimsync pimsync
`)
	return b.String()
}

// zshCompletion returns the zsh script, usable from $fpath (as _pimsync) or sourced.
func zshCompletion() string {
	var b strings.Builder
	b.WriteString(`#compdef pimsync
# zsh completion for pimsync(1)
# Generated by "pimsync completion zsh". Install it as _pimsync in a directory of
# $fpath (e.g. /usr/share/zsh/site-functions), or source it after compinit.

# _pimsync_names KIND: complete the pair or storage names of the configuration in use.
_pimsync_names() {
  local kind=$1 expl
  local -a names
  names=(${(f)"$(command pimsync "${_pimsync_cfg[@]}" __complete $kind 2>/dev/null)"})
  _wanted $kind expl ${kind%s} compadd -a names
}

_pimsync_pairs() { _pimsync_names pairs }
_pimsync_storages() { _pimsync_names storages }

_pimsync_commands() {
  local -a commands
  commands=(
`)
	for _, c := range cliCommands {
		fmt.Fprintf(&b, "    '%s:%s'\n", c.name, zshDesc(c.help))
	}
	b.WriteString(`  )
  _describe -t commands 'pimsync command' commands
}

_pimsync() {
  local curcontext=$curcontext state state_descr line cfgfile ret=1
  local -a _pimsync_cfg
  typeset -A opt_args

  _arguments -C -A '-*' \
    '-c[read this configuration file]:configuration file:_files' \
    '-v[log level]:log level:(`)
	b.WriteString(strings.Join(logLevels, " "))
	b.WriteString(`)' \
    '(- *)'{-h,--help}'[print usage]' \
    '1: :_pimsync_commands' \
    '*:: :->args' && ret=0

  if [[ $state == args ]]; then
    cfgfile=${(Q)opt_args[-c]}
    [[ $cfgfile == '~/'* ]] && cfgfile=$HOME/${cfgfile#\~/}
    [[ -n $cfgfile ]] && _pimsync_cfg=(-c "$cfgfile")
    curcontext=${curcontext%:*:*}:pimsync-$words[1]:
    case $words[1] in
`)
	for _, c := range cliCommands {
		specs := []string{}
		for _, f := range c.flags {
			spec := fmt.Sprintf("'-%s[%s]", f.name, zshDesc(f.help))
			if f.arg != "" {
				spec += ":" + strings.ToLower(f.arg) + ":"
			}
			specs = append(specs, spec+"'")
		}
		switch c.args {
		case argPairs:
			specs = append(specs, "'*:pair:_pimsync_pairs'")
		case argStorages:
			specs = append(specs, "'*:storage:_pimsync_storages'")
		case argShell:
			specs = append(specs, "'1:shell:(bash zsh fish)'")
		case argFile:
			specs = append(specs, "'1:vdirsyncer configuration file:_files'")
		}
		if len(specs) == 0 {
			fmt.Fprintf(&b, "      (%s) ret=0 ;;\n", c.name)
			continue
		}
		fmt.Fprintf(&b, "      (%s)\n        _arguments -A '-*' %s && ret=0 ;;\n", c.name, strings.Join(specs, " "))
	}
	b.WriteString(`    esac
  fi
  return ret
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _pimsync "$@"
else
  compdef _pimsync pimsync
fi
`)
	return b.String()
}

// fishCompletion returns the fish script.
func fishCompletion() string {
	var b strings.Builder
	b.WriteString(`# fish completion for pimsync(1)
# Generated by "pimsync completion fish". Install it as
# /usr/share/fish/vendor_completions.d/pimsync.fish or ~/.config/fish/completions/pimsync.fish.

# Print "-c FILE" when the command line already selects a configuration file.
function __pimsync_config
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -c --c
                if set -q words[2]
                    printf '%s\n' -c (string replace -r '^~/' "$HOME/" -- $words[2])
                end
                set -e words[1]
            case '-c=*' '--c=*'
                printf '%s\n' -c (string replace -r '^--?c=' '' -- $words[1] | string replace -r '^~/' "$HOME/")
            case -v --v
                set -e words[1]
            case '-*'
            case '*'
                return 0
        end
        set -e words[1]
    end
end

# Print the command (the first word that is not a global option), if there is one.
function __pimsync_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -c --c -v --v
                set -e words[1]
            case '-*'
            case '*'
                printf '%s\n' $words[1]
                return 0
        end
        set -e words[1]
    end
    return 1
end

function __pimsync_needs_command
    not __pimsync_command >/dev/null
end

# __pimsync_using CMD...: the command line uses one of the given commands.
function __pimsync_using
    set -l cmd (__pimsync_command)
    or return 1
    contains -- $cmd $argv
end

# __pimsync_names KIND: the pair or storage names of the configuration in use.
function __pimsync_names
    command pimsync (__pimsync_config) __complete $argv[1] 2>/dev/null
end

complete -c pimsync -f
complete -c pimsync -n __pimsync_needs_command -s c -r -F -d 'Configuration file'
complete -c pimsync -n __pimsync_needs_command -s v -x -a '`)
	b.WriteString(strings.Join(logLevels, " "))
	b.WriteString(`' -d 'Log level'
complete -c pimsync -n __pimsync_needs_command -s h -l help -d 'Print usage'
`)
	for _, c := range cliCommands {
		fmt.Fprintf(&b, "complete -c pimsync -n __pimsync_needs_command -a %s -d '%s'\n", c.name, fishDesc(c.help))
	}
	for _, g := range flagGroups() {
		line := fmt.Sprintf("complete -c pimsync -n '__pimsync_using %s' -s %s", strings.Join(g.commands, " "), g.flag.name)
		if g.flag.arg != "" {
			line += " -x"
		}
		fmt.Fprintf(&b, "%s -d '%s'\n", line, fishDesc(g.flag.help))
	}
	fmt.Fprintf(&b, "complete -c pimsync -n '__pimsync_using %s' -a '(__pimsync_names pairs)' -d Pair\n", strings.Join(commandNames(argPairs), " "))
	fmt.Fprintf(&b, "complete -c pimsync -n '__pimsync_using %s' -a '(__pimsync_names storages)' -d Storage\n", strings.Join(commandNames(argStorages), " "))
	fmt.Fprintf(&b, "complete -c pimsync -n '__pimsync_using %s' -a 'bash zsh fish'\n", strings.Join(commandNames(argShell), " "))
	fmt.Fprintf(&b, "complete -c pimsync -n '__pimsync_using %s' -F\n", strings.Join(commandNames(argFile), " "))
	return b.String()
}

// zshDesc makes a help text safe inside a zsh _arguments or _describe spec, where ":"
// separates fields.
func zshDesc(s string) string { return strings.ReplaceAll(s, ": ", ", ") }

// fishDesc capitalises a help text for fish, which shows descriptions capitalised.
func fishDesc(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
