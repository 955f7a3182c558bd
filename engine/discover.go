package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/pimsync-go/pimsync/storage"
)

// Discovery is what `discover` shows for a pair: the collections of each side and the
// mappings the configuration makes of them. Nothing is written.
type Discovery struct {
	Pair        *Pair
	Collections [2][]storage.Collection
	// Errs holds per-side discovery errors; Err a mapping error.
	Errs     [2]error
	Err      error
	Mappings []DiscoveredMapping
}

// DiscoveredMapping is one collection mapping as resolved from discovery.
type DiscoveredMapping struct {
	Alias  string
	Href   [2]string
	Exists [2]bool
	// Unknown is set for explicit hrefs that discovery did not list: they may still
	// exist outside the home set (a sync probes them).
	Unknown [2]bool
	// CreateErr says why a missing collection could not be created on that side.
	CreateErr [2]error
}

// Discover discovers both sides of a pair concurrently and resolves its mappings.
func (e *Engine) Discover(ctx context.Context, p *Pair) *Discovery {
	d := &Discovery{Pair: p}
	st := p.storages()
	var wg sync.WaitGroup
	for s := range 2 {
		wg.Go(func() { d.Collections[s], d.Errs[s] = st[s].Discover(ctx) })
	}
	wg.Wait()
	if d.Errs[A] != nil || d.Errs[B] != nil {
		return d
	}
	specs, err := resolveMappings(p.Config, d.Collections, [2]bool{true, true}, st, p.names())
	if err != nil {
		d.Err = fmt.Errorf("pair %s: %w", p.Name, err)
		return d
	}
	for _, s := range specs {
		d.Mappings = append(d.Mappings, DiscoveredMapping{
			Alias: s.alias, Href: s.href, Exists: s.exists, Unknown: s.probe, CreateErr: s.createErr,
		})
	}
	return d
}
