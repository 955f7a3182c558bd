package config

import (
	"strings"
)

// This file checks `pair NAME { ... }` blocks (config.md §6) and collection ids (§7).

// pair applies a top-level `pair NAME { ... }` directive.
func (c *checker) pair(d *directive) {
	p := &Pair{Name: d.params[0], Pos: c.pos(d.line)}
	if prev, dup := c.cfg.Pairs[p.Name]; dup {
		c.errorf(d.line, "pair `%s` is already defined on line %d", p.Name, prev.Pos.Line)
	} else if !validPairName(p.Name) {
		c.errorf(d.line, "invalid pair name `%s`: it names a file, so it must not be empty, `.` or `..`, nor contain `/` or NUL", p.Name)
	} else {
		c.cfg.Pairs[p.Name] = p
		c.cfg.PairOrder = append(c.cfg.PairOrder, p.Name)
	}
	seen := c.walk(d.children, c.pairRules(p), nil)
	for _, name := range []string{"storage_a", "storage_b"} {
		if _, ok := seen[name]; !ok {
			c.errorf(d.line, "pair %s: missing `%s`", p.Name, name)
		}
	}
	_, collections := seen["collections"]
	_, collection := seen["collection"]
	if !collections && !collection {
		c.warnf(d.line, "pair %s has no `collections` or `collection` lines, so it syncs nothing", p.Name)
	}
	if line, ok := seen["conflict_resolution"]; ok && p.OneWay {
		c.warnf(line, "pair %s: `conflict_resolution` has no effect with `one_way`", p.Name)
	}
	c.later = append(c.later, func() { c.crossCheck(p, seen) })
}

func validPairName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

func (c *checker) pairRules(p *Pair) map[string]rule {
	return map[string]rule{
		"storage_a": single(c.nonEmpty(&p.StorageA)),
		"storage_b": single(c.nonEmpty(&p.StorageB)),
		"collections": {min: 1, max: 2, repeat: true, apply: func(d *directive) {
			if v, ok := c.enum(d, CollectionsAll, CollectionsFromA, CollectionsFromB); ok {
				p.Collections = append(p.Collections, v)
			}
		}},
		"collection": {form: idOrBlock, repeat: true, apply: func(d *directive) {
			p.Explicit = append(p.Explicit, c.mapping(d))
		}},
		"on_empty": single(func(d *directive) {
			if v, ok := c.enum(d, "skip", "sync"); ok && v == "sync" {
				p.OnEmpty = OnEmptySync
			}
		}),
		"on_delete": single(func(d *directive) {
			if v, ok := c.enum(d, "sync", "skip"); ok && v == "skip" {
				p.OnDelete = OnDeleteSkip
			}
		}),
		"conflict_resolution": {min: 1, max: -1, apply: func(d *directive) { c.conflictResolution(p, d) }},
		"one_way":             flag(&p.OneWay),
	}
}

func (c *checker) conflictResolution(p *Pair, d *directive) {
	switch v := strings.Join(d.params, " "); {
	case v == "keep a":
		p.ConflictResolution = ResolveKeepA
	case v == "keep b":
		p.ConflictResolution = ResolveKeepB
	case v == "merge":
		p.ConflictResolution = ResolveMerge
	case v == "keep both":
		p.ConflictResolution = ResolveKeepBoth
	case d.params[0] == "cmd" && len(d.params) > 1 && d.params[1] != "":
		p.ConflictResolution, p.ResolverCmd = ResolveCmd, d.params[1:]
	default:
		c.errorf(d.line, "invalid value for conflict_resolution: `%s` (expected `keep a`, `keep b`, `keep both`, `merge` or `cmd PROGRAM [ARG...]`)", v)
	}
}

// mapping builds the Mapping of a `collection ID` or `collection { ... }` directive.
// Invalid ids are reported and left out.
func (c *checker) mapping(d *directive) Mapping {
	m := Mapping{Pos: c.pos(d.line)}
	if !d.hasBlock {
		if id := d.params[0]; c.idOK(d.line, id) {
			m.Alias, m.IDA, m.IDB = id, id, id
		}
		return m
	}
	id := func(dst *string) rule {
		return single(func(d *directive) {
			if c.idOK(d.line, d.params[0]) {
				*dst = d.params[0]
			}
		})
	}
	seen := c.walk(d.children, map[string]rule{
		"alias":  single(c.nonEmpty(&m.Alias)),
		"id_a":   id(&m.IDA),
		"href_a": single(c.nonEmpty(&m.HrefA)),
		"id_b":   id(&m.IDB),
		"href_b": single(c.nonEmpty(&m.HrefB)),
	}, nil)
	if _, ok := seen["alias"]; !ok {
		c.errorf(d.line, "collection block must define alias")
	}
	for _, side := range []string{"a", "b"} {
		_, id := seen["id_"+side]
		_, href := seen["href_"+side]
		switch {
		case id && href:
			c.errorf(d.line, "collection block cannot define both id_%s and href_%s", side, side)
		case !id && !href:
			c.errorf(d.line, "collection block must define id_%s or href_%s", side, side)
		}
	}
	return m
}

// idOK checks the rules every collection id follows (config.md §7), reporting a
// violation.
func (c *checker) idOK(line int, id string) bool {
	var problem string
	switch {
	case id == "":
		problem = "it must not be empty"
	case strings.Contains(id, "/"):
		problem = "it must not contain `/`"
	case id == "." || id == "..":
		problem = "it must not be `.` or `..`"
	default:
		return true
	}
	c.errorf(line, "invalid collection id `%s`: %s", id, problem)
	return false
}

// crossCheck checks what a pair needs from its storages, once the whole file is read.
func (c *checker) crossCheck(p *Pair, seen map[string]int) {
	a := c.pairStorage(p.StorageA, seen["storage_a"])
	b := c.pairStorage(p.StorageB, seen["storage_b"])
	switch {
	case a == nil || b == nil:
		return
	case a == b:
		c.errorf(seen["storage_b"], "pair %s uses storage %s on both sides", p.Name, a.Name)
		return
	case a.Type == "" || b.Type == "":
		return
	case a.Type.IsCalendar() != b.Type.IsCalendar():
		cal, contacts := a, b
		if !cal.Type.IsCalendar() {
			cal, contacts = b, a
		}
		c.errorf(p.Pos.Line, "pair %s mixes calendar storage %s with contacts storage %s", p.Name, cal.Name, contacts.Name)
	case a.ReadOnly && b.ReadOnly:
		c.errorf(p.Pos.Line, "pair %s: both storages are read-only", p.Name)
	case p.OneWay && b.ReadOnly:
		c.errorf(seen["one_way"], "pair %s: one_way needs a writable storage b", p.Name)
	}
	c.checkSides(p, a, b)
}

// pairStorage looks up a storage named by storage_a or storage_b on line.
func (c *checker) pairStorage(name string, line int) *Storage {
	if name == "" {
		return nil // missing or invalid, reported already
	}
	s := c.cfg.Storages[name]
	if s == nil {
		c.errorf(line, "storage %s is not defined", name)
	}
	return s
}

// checkSides checks the explicit mappings of a pair against the types of its
// storages: a vdir collection is a directory, so its href must be a valid id, and no
// id may start with `.`, which vdir discovery ignores. A DAV href is an absolute path.
func (c *checker) checkSides(p *Pair, a, b *Storage) {
	vdir := a
	if !vdir.Type.IsVdir() {
		vdir = b
	}
	dotOK := func(line int, id string) {
		if vdir.Type.IsVdir() && strings.HasPrefix(id, ".") {
			c.errorf(line, "invalid collection id `%s`: vdir storage %s ignores directories starting with `.`", id, vdir.Name)
		}
	}
	for _, m := range p.Explicit {
		dotOK(m.Pos.Line, m.IDA)
		if m.IDB != m.IDA {
			dotOK(m.Pos.Line, m.IDB)
		}
		for _, side := range []struct {
			name, href string
			s          *Storage
		}{{"href_a", m.HrefA, a}, {"href_b", m.HrefB, b}} {
			switch {
			case side.href == "":
			case side.s.Type.IsVdir():
				if c.idOK(m.Pos.Line, side.href) {
					dotOK(m.Pos.Line, side.href)
				}
			case side.s.Type.set() == davTypes && !strings.HasPrefix(side.href, "/"):
				c.errorf(m.Pos.Line, "`%s` of a %s storage must be an absolute path starting with `/`", side.name, side.s.Type)
			}
		}
	}
	for _, s := range []*Storage{a, b} {
		if s.Type == TypeWebcal {
			dotOK(p.Pos.Line, s.CollectionID)
		}
	}
}
