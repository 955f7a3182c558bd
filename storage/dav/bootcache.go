package dav

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
)

// The bootstrap cache keeps the result of bootstrap (context URL, principal, home sets)
// between runs in Options.BootstrapCache, so that a run whose collections did not
// change costs one request per storage instead of four. It is keyed by everything
// that can change the result (URL, socket, username, kind); a cached home set that
// fails discovery is dropped and bootstrap runs again.

type bootCacheFile struct {
	Key       string   `json:"key"`
	Context   string   `json:"context"`
	Principal string   `json:"principal"`
	HomeSets  []string `json:"home_sets"`
}

// bootCacheKey identifies the configuration a cached result belongs to. It never holds
// a password: the URL is taken without its user info (whose user name is the
// configured username when no username directive is given).
func (s *Storage) bootCacheKey() string {
	return s.kind.String() + " " + redact(s.ep.base) + " " + s.opts.Socket + " " + s.opts.Username
}

// loadBootCache returns the cached bootstrap result, or nil.
func (s *Storage) loadBootCache() *bootResult {
	if s.opts.BootstrapCache == "" {
		return nil
	}
	b, err := os.ReadFile(s.opts.BootstrapCache)
	if err != nil {
		return nil
	}
	var f bootCacheFile
	if json.Unmarshal(b, &f) != nil || f.Key != s.bootCacheKey() || len(f.HomeSets) == 0 {
		return nil
	}
	parse := func(raw string) *url.URL {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() {
			return nil
		}
		return u
	}
	r := &bootResult{context: parse(f.Context), principal: parse(f.Principal), cached: true}
	if r.context == nil || r.principal == nil {
		return nil
	}
	for _, h := range f.HomeSets {
		u := parse(h)
		if u == nil {
			return nil
		}
		r.homeSets = append(r.homeSets, u)
	}
	return r
}

// saveBootCache writes the bootstrap result atomically (mode 0600: URLs may hold a
// user name). Failures only cost the next run a bootstrap.
func (s *Storage) saveBootCache(b *bootResult) {
	if s.opts.BootstrapCache == "" {
		return
	}
	f := bootCacheFile{Key: s.bootCacheKey(), Context: b.context.String(), Principal: b.principal.String()}
	for _, h := range b.homeSets {
		f.HomeSets = append(f.HomeSets, h.String())
	}
	data, err := json.Marshal(f)
	if err == nil {
		tmp := s.opts.BootstrapCache + ".tmp"
		if err = os.MkdirAll(filepath.Dir(tmp), 0o700); err == nil {
			if err = os.WriteFile(tmp, data, 0o600); err == nil {
				err = os.Rename(tmp, s.opts.BootstrapCache)
			}
		}
	}
	if err != nil {
		s.log.Debug("cannot save the bootstrap cache", "err", err)
	}
}

// dropBootCache forgets a cached bootstrap result that turned out to be stale.
func (s *Storage) dropBootCache() {
	s.mu.Lock()
	s.boot = nil
	s.mu.Unlock()
	if s.opts.BootstrapCache != "" {
		if err := os.Remove(s.opts.BootstrapCache); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Debug("cannot remove the bootstrap cache", "err", err)
		}
	}
}
