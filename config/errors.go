package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// String formats the position as "file:line", or just "file" when there is no line.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Error is one problem in the configuration, at a position in the file.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return prefixPos(e.Pos, e.Msg) }

// Errors holds every error found in a configuration file, in line order. Its Error
// method prints one per line, each as "file:line: message".
type Errors struct {
	List []*Error
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is look at the individual errors.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}

// Warning is a problem that does not stop the configuration from being used.
type Warning struct {
	Pos Pos
	Msg string
}

func (w Warning) String() string { return prefixPos(w.Pos, w.Msg) }

func prefixPos(p Pos, msg string) string {
	if s := p.String(); s != "" {
		return s + ": " + msg
	}
	return msg
}

func (e *Error) position() Pos { return e.Pos }

func (w Warning) position() Pos { return w.Pos }

// sortByLine sorts errors or warnings by line, keeping the order within a line.
func sortByLine[T interface{ position() Pos }](list []T) {
	slices.SortStableFunc(list, func(a, b T) int { return cmp.Compare(a.position().Line, b.position().Line) })
}
