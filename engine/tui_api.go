package engine

import (
	"context"
	"sync"
)

// CollectionProperties reads the collection properties (display name, colour, …) of
// both sides of a discovered mapping, for display in front ends. A side whose
// collection does not exist yet is left nil. Nothing is written.
func (e *Engine) CollectionProperties(ctx context.Context, p *Pair, m DiscoveredMapping) (props [2]map[string]string, errs [2]error) {
	st := p.storages()
	var wg sync.WaitGroup
	for s := range 2 {
		if !m.Exists[s] || m.Href[s] == "" {
			continue
		}
		wg.Go(func() { props[s], errs[s] = st[s].Properties(ctx, m.Href[s]) })
	}
	wg.Wait()
	return props, errs
}
