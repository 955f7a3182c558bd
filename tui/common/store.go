package common

import (
	"fmt"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/storage"
)

// Store is the state every page reads: what is known about each pair. Only the root
// model's Update changes it, from the results of commands.
type Store struct {
	Pairs []*PairState
}

// NewStore returns a store for the pairs, in the order given.
func NewStore(pairs []*engine.Pair) *Store {
	s := &Store{}
	for _, p := range pairs {
		s.Pairs = append(s.Pairs, &PairState{Pair: p})
	}
	return s
}

// PairState is what is known about one pair.
type PairState struct {
	Pair *engine.Pair
	// Gen numbers refreshes; results of older refreshes are dropped.
	Gen int

	Discovering bool
	Discovery   *engine.Discovery
	// Props holds the collection properties (display name, colour) per alias and side.
	Props map[string][2]map[string]string

	Planning bool
	Plan     *engine.PairPlan

	LastRunLoading bool
	LastRunLoaded  bool
	LastRun        *engine.LastRun // nil when the pair was never synced
	LastRunErr     error

	Syncing bool

	// Partial lists the collections of the side that works when the other side's
	// discovery failed.
	Partial []PartialColl
	// RetryAt is when a discovery that failed for a reason that may pass (the server
	// down, a timeout) is tried again; Backoff the delay that led there.
	RetryAt time.Time
	Backoff time.Duration

	// Daemon is the state of the pair in the attached daemon (nil: not attached).
	Daemon *control.PairStatus
	// Progress of a sync the daemon runs on its own: writes done and planned per
	// collection.
	Progress map[string][2]int
}

// RetryIn returns how long until the pair is tried again (by the daemon or by this
// TUI), and whether a retry is scheduled at all.
func (p *PairState) RetryIn(now time.Time) (time.Duration, bool) {
	at := p.RetryAt
	if d := p.Daemon; d != nil && d.State == "retrying" {
		at = d.NextRetry
	}
	if at.IsZero() {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// ProgressText is "3/10" for a sync the daemon runs on its own ("" when none).
func (p *PairState) ProgressText() string {
	if len(p.Progress) == 0 {
		return ""
	}
	done, total := 0, 0
	for _, d := range p.Progress {
		done += d[0]
		total += d[1]
	}
	return fmt.Sprintf("%d/%d", done, total)
}

// Busy reports whether something is being fetched for the pair.
func (p *PairState) Busy() bool { return p.Discovering || p.Planning || p.LastRunLoading }

// DiscoveryFailed reports whether discovery failed (per side or as a whole).
func (p *PairState) DiscoveryFailed() bool {
	d := p.Discovery
	return d != nil && (d.Errs[0] != nil || d.Errs[1] != nil || d.Err != nil)
}

// Busy reports whether anything is being fetched for any pair.
func (s *Store) Busy() bool {
	for _, p := range s.Pairs {
		if p.Busy() {
			return true
		}
	}
	return false
}

// Index returns the index of the pair with that name, or -1.
func (s *Store) Index(name string) int {
	for i, p := range s.Pairs {
		if p.Pair.Name == name {
			return i
		}
	}
	return -1
}

// Coll is one collection mapping of a pair as the overview shows it.
type Coll struct {
	Alias  string
	Href   [2]string
	Exists [2]bool
	// Name is the display name of each side ("" when unknown), Color the colour of side
	// a, else of side b.
	Name  [2]string
	Color string
	// Plan is the mapping's plan (nil until planned).
	Plan *engine.MappingPlan
	// Last is the mapping's part of the last sync (nil if none).
	Last *engine.LastRunMapping
	// Only is the side this collection is known from while the other side is down
	// (-1 otherwise), and Count its items then (-1: unknown).
	Only  int
	Count int
}

// Collections returns the pair's collection mappings in discovery order; while one
// side is down, the collections of the other (Coll.Only).
func (p *PairState) Collections() []Coll {
	if p.Discovery == nil {
		return nil
	}
	if p.DiscoveryFailed() {
		var out []Coll
		for _, pc := range p.Partial {
			c := Coll{Alias: pc.ID, Only: int(pc.Side), Count: pc.Items, Color: pc.Color}
			c.Href[pc.Side], c.Exists[pc.Side], c.Name[pc.Side] = pc.Href, true, pc.Name
			out = append(out, c)
		}
		return out
	}
	var out []Coll
	for _, m := range p.Discovery.Mappings {
		c := Coll{Alias: m.Alias, Href: m.Href, Exists: m.Exists, Only: -1, Count: -1}
		if pr, ok := p.Props[m.Alias]; ok {
			for s := range 2 {
				c.Name[s] = pr[s][storage.PropDisplayName]
			}
			c.Color = pr[0][storage.PropColor]
			if c.Color == "" {
				c.Color = pr[1][storage.PropColor]
			}
		}
		c.Plan = p.MappingPlan(m.Alias)
		if p.LastRun != nil {
			for i := range p.LastRun.Mappings {
				if lm := &p.LastRun.Mappings[i]; lm.Alias == m.Alias {
					c.Last = lm
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// MappingPlan returns the planned mapping with that alias, or nil.
func (p *PairState) MappingPlan(alias string) *engine.MappingPlan {
	if p.Plan == nil || p.Plan.Err != nil {
		return nil
	}
	for _, m := range p.Plan.Mappings {
		if m.Alias == alias {
			return m
		}
	}
	return nil
}

// Pending sums up what a plan would do.
type Pending struct {
	Counts      [2]engine.Counts // writes per side
	Conflicts   int              // item conflicts
	PropChanges int              // property writes and deletes
	PropConfl   int              // property conflicts
	Skipped     int              // read-only skips
	Status      int              // status-only actions (record, forget)
	Errors      int              // collection errors and unreadable items
}

// Changes is the number of storage writes.
func (p Pending) Changes() int {
	return p.Counts[0].Total() + p.Counts[1].Total() + p.PropChanges
}

// Add sums two Pendings.
func (p Pending) Add(o Pending) Pending {
	for s := range 2 {
		p.Counts[s] = engine.Counts{
			Created: p.Counts[s].Created + o.Counts[s].Created,
			Updated: p.Counts[s].Updated + o.Counts[s].Updated,
			Deleted: p.Counts[s].Deleted + o.Counts[s].Deleted,
		}
	}
	p.Conflicts += o.Conflicts
	p.PropChanges += o.PropChanges
	p.PropConfl += o.PropConfl
	p.Skipped += o.Skipped
	p.Status += o.Status
	p.Errors += o.Errors
	return p
}

// PendingOf sums up one mapping's plan.
func PendingOf(m *engine.MappingPlan) Pending {
	var p Pending
	if m == nil {
		return p
	}
	for s := range 2 {
		p.Counts[s].Created += m.NewItemsTo(engine.Side(s)) // counted, not materialised
	}
	for _, a := range m.Items {
		switch {
		case a.Skip != "":
			p.Skipped++
		case a.Verb == engine.VerbConflict:
			p.Conflicts++
		case a.Verb == engine.VerbMerge:
			for s, st := range [2]*engine.ItemState{a.A, a.B} {
				if st != nil && st.Hash != a.Merged.Hash() {
					p.Counts[s].Updated++
				}
			}
		case a.Verb == engine.VerbCreate:
			p.Counts[a.Target].Created++
		case a.Verb == engine.VerbUpdate:
			p.Counts[a.Target].Updated++
		case a.Verb == engine.VerbDelete:
			p.Counts[a.Target].Deleted++
		default:
			p.Status++
		}
	}
	for _, pr := range m.Props {
		switch {
		case pr.Skip != "":
			p.Skipped++
		case pr.Verb == engine.VerbConflict:
			p.PropConfl++
		case pr.Verb == engine.VerbUpdate || pr.Verb == engine.VerbDelete:
			p.PropChanges++
		}
	}
	if m.ReasonIsError {
		p.Errors++
	}
	p.Errors += len(m.Unfetchable)
	return p
}

// PendingOfPair sums up a pair's plan.
func PendingOfPair(pp *engine.PairPlan) Pending {
	var p Pending
	if pp == nil || pp.Err != nil {
		return p
	}
	for _, m := range pp.Mappings {
		p = p.Add(PendingOf(m))
	}
	return p
}

// CountsText renders per-side counts as "a +1 ~2 -0, b +0 ~0 -1".
func CountsText(c [2]engine.Counts) string {
	return fmt.Sprintf("a +%d ~%d -%d, b +%d ~%d -%d",
		c[0].Created, c[0].Updated, c[0].Deleted, c[1].Created, c[1].Updated, c[1].Deleted)
}

// Plural picks the singular or plural form for n.
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Scope is what a plan preview or a sync covers: one collection of a pair, one pair,
// or (Pair < 0) every pair.
type Scope struct {
	Pair  int
	Alias string
}

// All is the scope of every pair.
var All = Scope{Pair: -1}

// IsAll reports whether the scope is every pair.
func (s Scope) IsAll() bool { return s.Pair < 0 }

// Label names the scope: "everything", "calendars" or "calendars/work".
func (s Scope) Label(st *Store) string {
	if s.Pair < 0 || s.Pair >= len(st.Pairs) {
		return "everything"
	}
	name := st.Pairs[s.Pair].Pair.Name
	if s.Alias != "" {
		return name + "/" + s.Alias
	}
	return name
}
