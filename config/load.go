package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultPath returns the configuration file used when none is given (config.md §1):
// $XDG_CONFIG_HOME/pimsync/pimsync.conf when XDG_CONFIG_HOME is set and not empty,
// else $HOME/.config/pimsync/pimsync.conf. There is no fallback between the two.
func DefaultPath() (string, error) {
	if xdg := os.Getenv("XDG_CONFIG_HOME"); xdg != "" {
		return filepath.Join(xdg, "pimsync", "pimsync.conf"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("cannot find the configuration file: neither XDG_CONFIG_HOME nor HOME is set")
	}
	return filepath.Join(home, ".config", "pimsync", "pimsync.conf"), nil
}

// Load reads and parses the configuration file at path. If the file cannot be read,
// the error names its full path and the OS reason (and matches fs.ErrNotExist and the
// like with errors.Is). Otherwise it is as for Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		full, absErr := filepath.Abs(path)
		if absErr != nil {
			full = path
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read configuration file %s: %w", full, err)
	}
	return Parse(path, data)
}

// Parse parses and validates a configuration file's contents; name is the file name
// used in messages and as Config.Path. It finds every error it can (config.md §8) and
// returns them all as an *Errors, in line order. Syntax errors stop it before the
// directives are checked. No command is run and no file other than the configuration
// is touched.
func Parse(name string, data []byte) (*Config, error) {
	cfg := &Config{Path: name, Storages: map[string]*Storage{}, Pairs: map[string]*Pair{}}
	c := &checker{cfg: cfg}
	tree, syntaxErrs := parseTree(data)
	for _, e := range syntaxErrs {
		c.errorf(e.line, "%s", e.msg)
	}
	if len(syntaxErrs) == 0 {
		c.file(tree)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	sortByLine(cfg.Warnings)
	return cfg, nil
}

// file checks the top-level directives (config.md §4).
func (c *checker) file(ds []*directive) {
	seen := c.walk(ds, map[string]rule{
		"status_path":    {form: valueForm, apply: func(d *directive) { c.cfg.StatusPath = c.pathValue(d) }},
		"storage":        {form: withBlock, min: 1, max: 1, repeat: true, apply: c.storage},
		"pair":           {form: withBlock, min: 1, max: 1, repeat: true, apply: c.pair},
		"max_item_size":  {min: 1, max: 1, apply: func(d *directive) { c.cfg.MaxItemSize = c.size(d) }},
		"trash_max_size": {min: 1, max: 1, apply: func(d *directive) { c.cfg.TrashMaxSize = c.size(d) }},
		"trash_max_age":  {min: 1, max: 1, apply: func(d *directive) { c.cfg.TrashMaxAgeDays = c.days(d) }},
	}, nil)
	if _, ok := seen["status_path"]; !ok {
		c.errorf(0, "missing `status_path`")
	}
	for _, check := range c.later {
		check()
	}
}
