package engine

import (
	"fmt"

	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// Side is one side of a pair.
type Side int32

const (
	A Side = iota
	B
)

func (s Side) String() string {
	if s == A {
		return "a"
	}
	return "b"
}

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

func (s Side) status() status.Side {
	if s == A {
		return status.SideA
	}
	return status.SideB
}

// ItemState is one item as seen on one side during planning.
type ItemState struct {
	Href  string
	ETag  string
	Ident string
	Hash  string
	// Item is the fetched item, or nil when the item is known only from the status
	// (its href and etag matched, so it was not read) or its text was not kept (a
	// large collection: see maxPlanBodies). The executor fetches bodies it needs but
	// does not have.
	Item *storage.Item
	// sum is the summary of an item that was read but whose text was not kept, or was
	// let go after it was written; dropped says that planning let it go, loaded that
	// the executor read it for a write (and lets go of it once the write ran).
	sum     string
	dropped bool
	loaded  bool
}

// Summary returns the item's SUMMARY/FN, or "" if unknown.
func (s *ItemState) Summary() string {
	if s == nil {
		return ""
	}
	if s.Item == nil {
		return s.sum
	}
	return storage.Summary(s.Item.Text())
}

// Verb is what an item action does.
type Verb int32

const (
	VerbRecord   Verb = iota + 1 // status only: insert or CAS-update the row
	VerbForget                   // status only: delete the row
	VerbCreate                   // create on Target from the other side
	VerbUpdate                   // update on Target from the other side (If-Match)
	VerbDelete                   // delete on Target (If-Match)
	VerbConflict                 // nothing is written; reported
	VerbMerge                    // a conflict merged (conflict_resolution merge): Merged goes to the sides that differ
)

func (v Verb) String() string {
	switch v {
	case VerbRecord:
		return "record"
	case VerbForget:
		return "forget"
	case VerbCreate:
		return "create"
	case VerbUpdate:
		return "update"
	case VerbDelete:
		return "delete"
	case VerbConflict:
		return "conflict"
	case VerbMerge:
		return "merge"
	}
	return "?"
}

// writes reports whether the verb writes to a storage.
func (v Verb) writes() bool { return v == VerbCreate || v == VerbUpdate || v == VerbDelete }

// ItemAction is one planned action for one ident.
type ItemAction struct {
	// The fields are ordered for size: a first sync of 100,000 items holds 100,000
	// actions (see docs/BENCHMARKS.md).
	Verb   Verb
	Target Side // for create, update, delete
	// CopyB: before b's version is replaced, it is created on b as a new item with
	// CopyUID (keep both); the next sync copies it to a.
	CopyB    bool
	copied   bool    // the copy was created
	mergedTo [2]bool // the sides a merge was written to
	Ident    string
	A, B     *ItemState  // current items; nil when absent on that side
	Status   *status.Row // the status row; nil when none
	// Keep is set ("a", "b" or "both") when a conflict was turned into an update by
	// `conflict_resolution keep a|b|both`.
	Keep    string
	CopyUID string
	// Skip is set when the target is read-only: the action is reported but not done
	// and the status stays unchanged.
	Skip string
	// Warning is a message to log when the action runs (e.g. change beats delete).
	Warning string
	// RecordHash, when set, is the hash a record stores instead of A's (an
	// interrupted upload recovered: the hash of what was written).
	RecordHash string
	// Merged is the result of a merge (VerbMerge); MergedFrom names what each side's
	// change contributed to it (nil unless merged).
	Merged     *storage.Item
	MergedFrom *[2][]string
	// Recover, when set, is the status row an earlier run's write left without
	// recording it (its answer was lost): it is written first, and the action then
	// runs against it as its status.
	Recover *status.Row
}

// Source returns the item that a create or update copies.
func (a *ItemAction) Source() *ItemState {
	if a.Target == A {
		return a.B
	}
	return a.A
}

// TargetItem returns the current item on the target side (nil for create).
func (a *ItemAction) TargetItem() *ItemState {
	if a.Target == A {
		return a.A
	}
	return a.B
}

// Summary returns a human label for the action's item.
func (a *ItemAction) Summary() string {
	if s := a.A.Summary(); s != "" {
		return s
	}
	return a.B.Summary()
}

// Pending reports whether the action is left over after a run: a conflict or a
// read-only skip (used for token saving, sync.md §13.4).
func (a *ItemAction) Pending() bool { return a.Verb == VerbConflict || a.Skip != "" }

// CollAction is the collection-level action of a mapping.
type CollAction int

const (
	CollNone      CollAction = iota // exists on both sides and in status
	CollRecord                      // exists on both, not in status yet
	CollCreateA                     // create on A
	CollCreateB                     // create on B
	CollCreateAB                    // create on both (explicit mappings only)
	CollDeleteA                     // B's collection was deleted: delete A's (after items, if empty)
	CollDeleteB                     // the mirror image
	CollSkipped                     // left alone this run (Reason says why; may be an error)
	CollProtected                   // on_empty guard fired (an error)
)

// PropAction is one planned collection property action.
type PropAction struct {
	Name   string
	Verb   Verb // VerbRecord, VerbForget, VerbUpdate (write), VerbDelete, VerbConflict
	Target Side // for write and delete
	A, B   string
	HasA   bool
	HasB   bool
	Status string
	HasS   bool
	Keep   string
	Skip   string
	// Refused is the storage's reason when Skip says it refused this value before.
	Refused string
}

// Value returns the value a write puts on the target side.
func (p *PropAction) Value() string {
	if p.Target == A {
		return p.B
	}
	return p.A
}

// Pending reports whether the action is left over after a run. A value the target
// refused to store is not: it was reported once, and nothing is left to do.
func (p *PropAction) Pending() bool { return p.Verb == VerbConflict || p.Skip != "" && p.Refused == "" }

// Unfetchable is an href that was listed but could not be read (sync.md §6.2).
type Unfetchable struct {
	Side  Side
	Href  string
	Ident string // from the status, when known
	Err   error
}

// MappingPlan is the plan for one collection mapping.
type MappingPlan struct {
	Alias        string
	HrefA, HrefB string
	ExistsA      bool
	ExistsB      bool
	MappingUID   int64 // 0 when the mapping is not in the status yet
	Action       CollAction
	Reason       string // for Skipped/Protected/Refused and collection errors
	// ReasonIsError: Skipped/Protected/Refused (or a failed delete precondition) counts
	// as an error for the exit status.
	ReasonIsError bool
	// Items are the item actions, except the creates of new items, which the plan
	// keeps packed: Actions and NumActions give all of them.
	Items       []*ItemAction
	Props       []*PropAction
	Unfetchable []Unfetchable
	// Duplicates describes idents carried by several items on one side; those idents
	// get no action (an error per ident).
	Duplicates []string
	// StatusRows is the number of status rows the mapping had when planned.
	StatusRows int
	// Listed is the number of items listed on each side (unreadable ones included).
	Listed [2]int

	// Tokens obtained while listing, saved after a clean run (sync.md §13.4).
	tokens [2]storage.Token
	// saved holds the token rows found in the status (hasSaved says which exist).
	saved    [2]status.Token
	hasSaved [2]bool
	rowStats rowStats // the mapping's status rows when planned
	pending  map[string]map[status.Side]status.Pending
	// in and pol are what decide used; the executor decides the properties again
	// for a collection it created (with what the new collection really holds).
	in  *mappingInput
	pol policy
	// pendingColl: a collection creation recorded on that side is finished by this
	// run; newAliases are the property aliases learnt from it.
	pendingColl [2]bool
	newAliases  []status.PropertyAlias
	// creates are the new items of each side, created on the other, packed: they are
	// not in Items (see Actions).
	creates [2]packedCreates
}

// PairPlan is the plan for one pair.
type PairPlan struct {
	Pair     *Pair
	Err      error // pair-level failure during planning (discovery, mappings, status)
	Stale    []status.Mapping
	Mappings []*MappingPlan
}

// Name returns the pair name.
func (p *PairPlan) Name() string { return p.Pair.Name }

// only keeps the mappings with the given aliases and drops stale mappings.
func (p *PairPlan) only(aliases []string) {
	keep := map[string]bool{}
	for _, a := range aliases {
		keep[a] = true
	}
	var ms []*MappingPlan
	for _, m := range p.Mappings {
		if keep[m.Alias] {
			ms = append(ms, m)
		}
	}
	p.Mappings, p.Stale = ms, nil
}

// HasChanges reports whether executing the plan would change anything at all
// (storage or status).
func (p *PairPlan) HasChanges() bool {
	if len(p.Stale) > 0 {
		return true
	}
	for _, m := range p.Mappings {
		if m.Action != CollNone || m.NumActions() > 0 || len(m.Props) > 0 {
			return true
		}
	}
	return false
}

// Conflicts returns the item conflicts of the plan in order.
func (p *PairPlan) Conflicts() []Conflict {
	var out []Conflict
	for _, m := range p.Mappings {
		for _, a := range m.Items {
			if a.Verb == VerbConflict {
				out = append(out, Conflict{Pair: p, Mapping: m, Action: a})
			}
		}
	}
	return out
}

// Conflict identifies one item conflict of a plan.
type Conflict struct {
	Pair    *PairPlan
	Mapping *MappingPlan
	Action  *ItemAction
}

// String is "pair/alias uid".
func (c Conflict) String() string {
	return fmt.Sprintf("%s/%s %s", c.Pair.Name(), c.Mapping.Alias, c.Action.Ident)
}
