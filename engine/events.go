package engine

import (
	"fmt"
)

// Reporter receives progress events. Event may be called from several goroutines at
// once; implementations must be safe for that and must not block for long.
type Reporter interface {
	Event(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Event implements Reporter.
func (f ReporterFunc) Event(e Event) { f(e) }

// Event is one of the event types below.
type Event interface{ event() }

// PairStarted: a pair's sync begins.
type PairStarted struct{ Pair string }

// Waiting: another process holds the pair lock.
type Waiting struct{ Pair string }

// Planned: the plan of a pair is ready (execution follows unless it has an error).
type Planned struct{ Plan *PairPlan }

// ActionStarted: a storage write is about to start.
type ActionStarted struct {
	Pair, Mapping string
	Action        *ItemAction
}

// ActionFinished: one item action finished (Err nil on success).
type ActionFinished struct {
	Pair, Mapping string
	Action        *ItemAction
	Err           error
	// Done and Total count the item actions of the mapping that write to a storage
	// or the status.
	Done, Total int
}

// MappingFinished: all actions of one collection mapping are done.
type MappingFinished struct {
	Pair   string
	Result *MappingResult
}

// PairFinished: a pair is done (Result.Err set if it failed as a whole).
type PairFinished struct{ Result *PairResult }

func (PairStarted) event()     {}
func (Waiting) event()         {}
func (Planned) event()         {}
func (ActionStarted) event()   {}
func (ActionFinished) event()  {}
func (MappingFinished) event() {}
func (PairFinished) event()    {}

// Counts are the writes done on one side.
type Counts struct{ Created, Updated, Deleted int }

func (c Counts) add(o Counts) Counts {
	return Counts{c.Created + o.Created, c.Updated + o.Updated, c.Deleted + o.Deleted}
}

// Total is the number of writes.
func (c Counts) Total() int { return c.Created + c.Updated + c.Deleted }

// MappingResult is what happened to one collection mapping.
type MappingResult struct {
	Alias     string
	HrefA     string
	HrefB     string
	Counts    [2]Counts // by Side
	Conflicts int       // item and property conflicts left
	// ConflictItems and ConflictProps are the item and property conflicts left.
	ConflictItems []*ItemAction
	ConflictProps []*PropAction
	// PropsWritten names the collection properties written or removed per side.
	PropsWritten [2][]string
	Skipped      int // read-only skips
	Merged       int // conflicts merged (conflict_resolution merge)
	Errors       []error
	// Changed reports whether anything was written to a storage (or a collection
	// created or deleted).
	Changed bool
}

// PairResult is what happened to one pair.
type PairResult struct {
	Pair     string
	Err      error // the pair failed as a whole
	Mappings []*MappingResult
}

// Errors returns every error of the pair (pair-level first).
func (r *PairResult) Errors() []error {
	var out []error
	if r.Err != nil {
		out = append(out, r.Err)
	}
	for _, m := range r.Mappings {
		out = append(out, m.Errors...)
	}
	return out
}

// Conflicts returns the number of conflicts left.
func (r *PairResult) Conflicts() int {
	n := 0
	for _, m := range r.Mappings {
		n += m.Conflicts
	}
	return n
}

// Exit statuses of every pimsync command and of the TUI (DECISIONS.md §6). The CLI
// maps results to them with ExitStatus and PlanExitStatus; nothing else decides them.
const (
	ExitOK        = 0   // everything in sync
	ExitError     = 1   // an error: a pair or an item failed, a bad configuration, an interrupted sync
	ExitConflicts = 3   // the sync finished but conflicts are left
	ExitUsage     = 100 // a usage error (pimsync's code)
)

// ExitStatus implements DECISIONS.md §6 over several pairs: ExitError for any error,
// else ExitConflicts for any conflict left, else ExitOK.
func ExitStatus(results []*PairResult) int {
	code := ExitOK
	for _, r := range results {
		if len(r.Errors()) > 0 {
			return ExitError
		}
		if r.Conflicts() > 0 {
			code = ExitConflicts
		}
	}
	return code
}

// PlanExitStatus is the exit status the sync of these plans would have (`sync -n`).
func PlanExitStatus(plans []*PairPlan) int {
	code := ExitOK
	for _, p := range plans {
		if p.Err != nil {
			return ExitError
		}
		for _, m := range p.Mappings {
			if m.HasErrors() {
				return ExitError
			}
			for _, it := range m.Items {
				if it.Verb == VerbConflict {
					code = ExitConflicts
				}
			}
			for _, pr := range m.Props {
				if pr.Verb == VerbConflict {
					code = ExitConflicts
				}
			}
		}
	}
	return code
}

// StatusError is a failure of the status database (cannot open, migrate or write it,
// or a compare-and-swap found the status changed underneath). It stops the pair's run,
// and the daemon stops that pair's task (sync.md §15.4).
type StatusError struct{ Err error }

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// ItemError describes a failed item action: "pair/alias: <verb> <ident> on <side>:
// <reason>" (sync.md §13.1).
type ItemError struct {
	Pair, Alias string
	Action      *ItemAction
	// Storage is the name of the storage written (the action's target).
	Storage string
	Err     error
	// Hint, when set, says what to do about the cause (appended to the message).
	Hint string
}

// Error names the item the way a person finds it: the file or href it was copied from
// (or, for a delete, the one deleted), its UID, the storage written and the cause.
func (e *ItemError) Error() string {
	a := e.Action
	switch a.Verb {
	case VerbRecord, VerbForget:
		return fmt.Sprintf("%s/%s: %s %s: %v", e.Pair, e.Alias, a.Verb, itemName(a.Ident, a.A, a.B), e.Err)
	}
	where := fmt.Sprintf("on %s", a.Target)
	if e.Storage != "" {
		where = fmt.Sprintf("on %s (storage %s)", a.Target, e.Storage)
	}
	var what string
	switch a.Verb {
	case VerbCreate, VerbUpdate:
		what = fmt.Sprintf("of %s", itemName(a.Ident, a.Source(), nil))
	case VerbDelete:
		what = fmt.Sprintf("of %s", itemName(a.Ident, a.TargetItem(), nil))
	default:
		what = itemName(a.Ident, a.A, a.B)
	}
	msg := fmt.Sprintf("%s/%s: %s %s %s: %v", e.Pair, e.Alias, a.Verb, what, where, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// itemName is "<href> (UID "<uid>")", the href being the first known of the states, or
// "(no UID)" for an item identified by its hash.
func itemName(ident string, states ...*ItemState) string {
	href := ""
	var item *ItemState
	for _, s := range states {
		if s != nil && s.Href != "" {
			href, item = s.Href, s
			break
		}
	}
	uid := fmt.Sprintf("UID %q", ident)
	if item != nil && item.Item != nil {
		if _, ok := item.Item.UID(); !ok {
			uid = "no UID"
		}
	}
	if href == "" {
		return fmt.Sprintf("item with %s", uid)
	}
	return fmt.Sprintf("%s (%s)", href, uid)
}

func (e *ItemError) Unwrap() error { return e.Err }

// HasErrors reports whether running the mapping's plan would report an error (and
// exit 1): a refused or protected collection, an unreadable or duplicated item.
func (m *MappingPlan) HasErrors() bool {
	return m.ReasonIsError || len(m.Unfetchable) > 0 || len(m.Duplicates) > 0
}
