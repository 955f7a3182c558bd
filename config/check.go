package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// This file holds the machinery shared by every block: the checker that collects
// errors and warnings, and the table-driven walk over a block's directives.

// checker validates a directive tree into a Config, collecting every error.
type checker struct {
	cfg   *Config
	errs  []*Error
	later []func() // checks that need the whole file, run after the walk
}

func (c *checker) pos(line int) Pos { return Pos{File: c.cfg.Path, Line: line} }

func (c *checker) errorf(line int, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: c.pos(line), Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(line int, format string, args ...any) {
	c.cfg.Warnings = append(c.cfg.Warnings, Warning{Pos: c.pos(line), Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors sorted by line, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sortByLine(c.errs)
	return &Errors{List: c.errs}
}

// form is the shape of a directive besides its parameter count.
type form int

const (
	plain     form = iota // parameters, no block
	withBlock             // parameters and a required block
	valueForm             // one parameter, or a block holding one `cmd` or `shell` (§3)
	idOrBlock             // one parameter, or a block and no parameter (`collection`)
)

// rule says how one directive of a block is checked and applied.
type rule struct {
	form     form
	min, max int     // parameter count for plain and withBlock; max < 0 means no limit
	repeat   bool    // may be given more than once
	key      string  // duplicate-detection name when it differs from the directive's
	types    typeSet // storage types the directive is valid for (storage blocks only)
	apply    func(d *directive)
}

// walk checks each directive of a block against rules and applies the valid ones.
// allow, when not nil, may reject a known directive after reporting why. walk returns
// the line of the first occurrence of each directive key it accepted by name, so that
// callers can report missing ones.
func (c *checker) walk(ds []*directive, rules map[string]rule, allow func(*directive, rule) bool) map[string]int {
	seen := map[string]int{}
	for _, d := range ds {
		r, ok := rules[d.name]
		if !ok {
			c.errorf(d.line, "unknown directive `%s`", d.name)
			continue
		}
		if allow != nil && !allow(d, r) {
			continue
		}
		key := cmp.Or(r.key, d.name)
		if first, dup := seen[key]; dup {
			if !r.repeat {
				c.errorf(d.line, "`%s` is specified more than once (first on line %d)", d.name, first)
				continue
			}
		} else {
			seen[key] = d.line
		}
		if c.shapeOK(d, r) && r.apply != nil {
			r.apply(d)
		}
	}
	return seen
}

// shapeOK reports whether d has the parameters and block that r asks for, reporting
// the problem when not.
func (c *checker) shapeOK(d *directive, r rule) bool {
	switch r.form {
	case valueForm:
		return c.paramOrBlockOK(d) && (!d.hasBlock || c.commandBlockOK(d))
	case idOrBlock:
		return c.paramOrBlockOK(d)
	case withBlock:
		if !d.hasBlock {
			c.errorf(d.line, "`%s` needs a block", d.name)
			return false
		}
	default:
		if d.hasBlock {
			c.errorf(d.line, "`%s` does not take a block", d.name)
			return false
		}
	}
	return c.countOK(d, r.min, r.max)
}

func (c *checker) paramOrBlockOK(d *directive) bool {
	switch {
	case d.hasBlock && len(d.params) > 0:
		c.errorf(d.line, "`%s` takes either a parameter or a block, not both", d.name)
		return false
	case d.hasBlock:
		return true
	case len(d.params) == 0:
		c.errorf(d.line, "`%s` needs a parameter or a block", d.name)
		return false
	}
	return c.countOK(d, 1, 1)
}

// commandBlockOK checks the block of a dynamic value (config.md §3).
func (c *checker) commandBlockOK(d *directive) bool {
	if len(d.children) != 1 || (d.children[0].name != "cmd" && d.children[0].name != "shell") {
		c.errorf(d.line, "%s: block must contain exactly one `cmd` or `shell` directive", d.name)
		return false
	}
	ch := d.children[0]
	switch {
	case ch.hasBlock:
		c.errorf(ch.line, "%s: `%s` does not take a block", d.name, ch.name)
	case ch.name == "cmd" && (len(ch.params) == 0 || ch.params[0] == ""):
		c.errorf(ch.line, "%s: `cmd` is missing its parameter, the program to run", d.name)
	case ch.name == "shell" && strings.TrimSpace(strings.Join(ch.params, " ")) == "":
		c.errorf(ch.line, "%s: `shell` is missing its parameter, the command text", d.name)
	default:
		return true
	}
	return false
}

func (c *checker) countOK(d *directive, min, max int) bool {
	n := len(d.params)
	if n >= min && (max < 0 || n <= max) {
		return true
	}
	c.errorf(d.line, "`%s` %s, got %d", d.name, arity(min, max), n)
	return false
}

func arity(min, max int) string {
	switch {
	case max == 0:
		return "takes no parameters"
	case min == max:
		return "takes exactly " + parameters(min)
	case max < 0:
		return "takes at least " + parameters(min)
	}
	return fmt.Sprintf("takes %d to %s", min, parameters(max))
}

func parameters(n int) string {
	if n == 1 {
		return "1 parameter"
	}
	return fmt.Sprintf("%d parameters", n)
}

// value builds the Value of a valueForm directive whose shape was checked.
func (c *checker) value(d *directive) Value {
	v := Value{Set: true, Pos: c.pos(d.line), Name: d.name}
	switch {
	case !d.hasBlock:
		v.Literal = d.params[0]
	case d.children[0].name == "cmd":
		v.Cmd = d.children[0].params
	default:
		v.Shell = strings.Join(d.children[0].params, " ")
	}
	return v
}

// pathValue is value for a path-like directive: a literal must not be empty and has
// its `~/` expanded now; a dynamic one is expanded when it is resolved.
func (c *checker) pathValue(d *directive) Value {
	v := c.value(d)
	if !v.IsDynamic() {
		v.result = c.path(d, v.Literal)
		v.resolved = true
	}
	return v
}

// path checks and expands a literal path parameter.
func (c *checker) path(d *directive, p string) string {
	if p == "" {
		c.errorf(d.line, "`%s` must not be empty", d.name)
		return ""
	}
	expanded, err := expandHome(p)
	if err != nil {
		c.errorf(d.line, "%s: %v", d.name, err)
	}
	return expanded
}

// nonEmpty returns an apply function storing the single parameter in *dst, which
// must not be empty.
func (c *checker) nonEmpty(dst *string) func(*directive) {
	return func(d *directive) {
		if *dst = d.params[0]; *dst == "" {
			c.errorf(d.line, "`%s` must not be empty", d.name)
		}
	}
}

// enum checks that the parameters of d, joined by a space, are one of values.
func (c *checker) enum(d *directive, values ...string) (string, bool) {
	v := strings.Join(d.params, " ")
	if slices.Contains(values, v) {
		return v, true
	}
	c.errorf(d.line, "invalid value for %s: `%s` (expected %s)", d.name, v, orList(values))
	return "", false
}

// orList formats two or more values as "`a`, `b` or `c`".
func orList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "`" + v + "`"
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// flag returns a rule for a directive without parameters that sets *dst.
func flag(dst *bool) rule {
	return rule{apply: func(*directive) { *dst = true }}
}

// single returns a rule for a once-only directive with one parameter.
func single(apply func(d *directive)) rule {
	return rule{min: 1, max: 1, apply: apply}
}
