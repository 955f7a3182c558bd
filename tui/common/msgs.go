package common

import (
	"os/exec"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
)

// --- results of background commands ------------------------------------------------

// DiscoveredMsg: discovery of a pair finished.
type DiscoveredMsg struct {
	Pair, Gen int
	Discovery *engine.Discovery
	Props     map[string][2]map[string]string
	// Partial lists the collections of the side that could be discovered when the
	// other could not.
	Partial []PartialColl
}

// PartialColl is a collection of the side that works, while the other is down.
type PartialColl struct {
	Side        engine.Side
	ID, Href    string
	Name, Color string
	Items       int // -1: could not be listed
}

// PlannedMsg: the (read-only) plan of a pair is ready.
type PlannedMsg struct {
	Pair, Gen int
	Plan      *engine.PairPlan
}

// LastRunMsg: the record of the pair's last sync was read.
type LastRunMsg struct {
	Pair, Gen int
	Run       *engine.LastRun // nil: never synced
	Err       error
}

// PreviewMsg: the plan asked for by the plan preview is ready.
type PreviewMsg struct {
	ID   int
	Plan *engine.PairPlan
}

// ConflictLoadedMsg: both current versions of a conflict were fetched (Err may be
// engine.ErrConflictGone or engine.ErrConflictSolved).
type ConflictLoadedMsg struct {
	ID       int
	Versions *engine.Versions
	Err      error
}

// ConflictResultMsg: a resolution (or the undo of one) was attempted.
type ConflictResultMsg struct {
	ID     int
	Action string // "keep a", "keep b", "keep both", "merge tool", "choice per property", "undo"
	// Changed: the versions changed since they were shown; nothing was written and
	// Versions holds the new ones.
	Changed  bool
	Versions *engine.Versions
	Sides    []engine.Side // the sides written
	// Runs are the trash runs the resolution wrote (what undoing it reverts).
	Runs []string
	// Undo is what an undo reverted and refused.
	Undo *engine.UndoResult
	Err  error
}

// --- engine events, converted on the engine's goroutine into values the UI owns -----

// SyncPairStarted: a pair's sync began.
type SyncPairStarted struct{ Pair int }

// SyncPairWaiting: another process holds the pair's lock.
type SyncPairWaiting struct{ Pair int }

// SyncMapping describes one collection of a pair's sync plan.
type SyncMapping struct {
	Alias     string
	Label     string // the collection action ("none", "create on b", ...)
	Total     int    // item actions that will be performed
	Conflicts int
	Skipped   int
	IsError   bool
}

// SyncPairPlanned: the pair's sync has planned (Err: it failed as a whole).
type SyncPairPlanned struct {
	Pair     int
	Err      error
	Mappings []SyncMapping
}

// SyncItemStarted: a storage write begins.
type SyncItemStarted struct {
	Pair    int
	Mapping string
	What    string // e.g. `create on b dentist-1 "Dentist"`
}

// SyncItemFinished: an item action finished.
type SyncItemFinished struct {
	Pair        int
	Mapping     string
	Verb        engine.Verb
	Target      engine.Side
	Err         error
	Done, Total int
}

// SyncMappingFinished: a collection is done.
type SyncMappingFinished struct {
	Pair   int
	Result *engine.MappingResult
}

// SyncPairFinished: a pair is done.
type SyncPairFinished struct {
	Pair   int
	Result *engine.PairResult
}

// SyncDone: the whole sync returned.
type SyncDone struct {
	Scope     Scope
	Results   []*engine.PairResult
	Cancelled bool
}

// ExecRequest asks the loop to hand the terminal to a program (the merge tool) and to
// report its result on Done.
type ExecRequest struct {
	Cmd  *exec.Cmd
	Done chan<- error
}

// --- the attached daemon, the storages, the configuration ---------------------------

// DaemonStateMsg: the state of a pair's task in the attached daemon.
type DaemonStateMsg struct {
	Pair   int
	Status control.PairStatus
}

// DaemonGoneMsg: the attached daemon stopped answering; the TUI syncs by itself from
// now on.
type DaemonGoneMsg struct{ Err error }

// StorageChangedMsg: a local storage of the pair changed (and then stayed quiet for a
// moment).
type StorageChangedMsg struct{ Pair int }

// --- navigation between pages -------------------------------------------------------

// OpenPlanMsg opens the plan preview for a scope.
type OpenPlanMsg struct{ Scope Scope }

// StartSyncMsg starts a sync of a scope and shows its progress.
type StartSyncMsg struct{ Scope Scope }

// OpenConflictsMsg shows the pending conflicts (Scope selects the first one shown).
type OpenConflictsMsg struct{ Scope Scope }

// BackMsg returns to the overview.
type BackMsg struct{}

// RefreshMsg re-discovers and re-plans pairs (Pair < 0: all).
type RefreshMsg struct{ Pair int }

// ReloadMsg reads the configuration again (credentials included) and rediscovers
// every pair.
type ReloadMsg struct{}

// StartDemoMsg quits the TUI to run `pimsync demo` (from the first-run page).
type StartDemoMsg struct{}

// Send returns a command that delivers msg.
func Send(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }
