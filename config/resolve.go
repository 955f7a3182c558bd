package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
)

// This file selects pairs and runs the commands they need (config.md §3, "timing").

// SelectPairs returns the pairs named, in the order given and without repeats, or
// every pair in file order when names is empty. Each unknown name is an error
// "pair X is not defined in <path>".
func (c *Config) SelectPairs(names []string) ([]*Pair, error) {
	if len(names) == 0 {
		names = c.PairOrder
	}
	var (
		pairs []*Pair
		errs  []error
	)
	for i, name := range names {
		p, ok := c.Pairs[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("pair %s is not defined in %s", name, c.Path))
		case !slices.Contains(names[:i], name):
			pairs = append(pairs, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pairs, nil
}

// ResolveFor runs, in file order, the status_path command and the commands of every
// storage used by the named pairs (all pairs when names is empty), then checks the
// URLs that came from commands. It stops at the first failure. Values already
// resolved are not run again. The warnings are about resolved URLs (see CheckURL).
func (c *Config) ResolveFor(ctx context.Context, pairs []string) ([]Warning, error) {
	selected, err := c.SelectPairs(pairs)
	if err != nil {
		return nil, err
	}
	var storages []string
	for _, p := range selected {
		storages = append(storages, p.StorageA, p.StorageB)
	}
	return c.resolve(ctx, true, storages)
}

// ResolveStorages is ResolveFor for the named storages only, without status_path (the
// `repair` command). Each unknown name is an error "storage X is not defined in
// <path>".
func (c *Config) ResolveStorages(ctx context.Context, names []string) ([]Warning, error) {
	var errs []error
	for _, name := range names {
		if c.Storages[name] == nil {
			errs = append(errs, fmt.Errorf("storage %s is not defined in %s", name, c.Path))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c.resolve(ctx, false, names)
}

// resolve runs the commands of status_path (if withStatus) and of the named storages
// in file order.
func (c *Config) resolve(ctx context.Context, withStatus bool, storages []string) ([]Warning, error) {
	type job struct {
		v *Value
		s *Storage // the storage whose URL v is, or nil
	}
	var jobs []job
	if withStatus {
		jobs = append(jobs, job{v: &c.StatusPath})
	}
	for _, name := range c.StorageOrder {
		if s := c.Storages[name]; slices.Contains(storages, name) {
			jobs = append(jobs, job{&s.Path, nil}, job{&s.URL, s}, job{&s.Username, nil}, job{&s.Password, nil})
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(a.v.Pos.Line, b.v.Pos.Line) })
	var warnings []Warning
	for _, j := range jobs {
		if !j.v.IsDynamic() {
			continue
		}
		if _, err := j.v.Resolve(ctx); err != nil {
			return warnings, err
		}
		if j.s != nil {
			w, err := j.s.CheckURL()
			if err != nil {
				return warnings, err
			}
			warnings = append(warnings, w...)
		}
	}
	return warnings, nil
}
