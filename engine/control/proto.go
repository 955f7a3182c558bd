// Package control is the control socket of `pimsync daemon`: a Unix socket (mode 0600,
// in a directory of mode 0700 under $XDG_RUNTIME_DIR) on which a front end, the TUI,
// asks the daemon for its state, follows its events, has it sync now, and has it
// resolve conflicts, so that the daemon stays the only writer of its pairs.
//
// # Protocol (version 1)
//
// One request per connection. The client writes one JSON object and a newline; the
// server answers with JSON objects, one a line. Every answer has "ok" (false with
// "error" when the request failed). Requests ("op"):
//
//   - "hello": {"protocol":1,"version":…,"pid":…,"config":…,"pairs":[…]}, what the
//     daemon is: its version, process, configuration file and the pairs it syncs.
//   - "status": {"pairs":[PairStatus…]}.
//   - "subscribe": {"pairs":[PairStatus…]}, then one {"event":Event} line per event
//     until the client closes the connection: engine progress (pair-started, waiting,
//     planned, action-started, action-finished, mapping-finished, pair-finished), state
//     changes of a pair ("state") and the daemon's log lines ("log"). A client that
//     does not keep up is disconnected; it reconnects and reads "status" again.
//   - "sync" {"pairs":[…],"collections":[…]}: sync now (all the daemon's pairs when
//     none is named; only those collections when some are) and answer
//     {"results":[PairResult…]} once done. Closing the connection before the answer
//     cancels the sync (the writes in flight finish and are recorded).
//   - "resolve" {"resolve":ResolveRequest}: settle one item conflict in the pair's
//     task; {"resolved":ResolveAnswer}.
//   - "resolve-property" {"property":PropertyRequest}: settle a collection property
//     conflict; {"resolved":ResolveAnswer}.
//
// Only the user the daemon runs as may connect (the socket's mode, and the peer's
// credentials where the system gives them).
package control

import (
	"errors"
	"strings"
	"time"

	"github.com/pimsync-go/pimsync/engine"
)

// Protocol is the version of the protocol.
const Protocol = 1

// Request is what a client sends.
type Request struct {
	Op          string           `json:"op"`
	Pairs       []string         `json:"pairs,omitempty"`
	Collections []string         `json:"collections,omitempty"`
	Resolve     *ResolveRequest  `json:"resolve,omitempty"`
	Property    *PropertyRequest `json:"property,omitempty"`
}

// Answer is one line the server sends.
type Answer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// hello
	Hello *Hello `json:"hello,omitempty"`
	// status and subscribe
	Status []PairStatus `json:"status,omitempty"`
	// subscribe, after the first line
	Event *Event `json:"event,omitempty"`
	// sync
	Results []PairResult `json:"results,omitempty"`
	// resolve and resolve-property
	Resolved *ResolveAnswer `json:"resolved,omitempty"`
}

// Hello says what the daemon is.
type Hello struct {
	Protocol int      `json:"protocol"`
	Version  string   `json:"version"`
	PID      int      `json:"pid"`
	Config   string   `json:"config"`
	Pairs    []string `json:"pairs"`
}

// PairStatus is engine.PairStatus on the wire.
type PairStatus struct {
	Pair       string      `json:"pair"`
	State      string      `json:"state"` // starting, syncing, idle, retrying, busy, stopped
	Since      time.Time   `json:"since"`
	LastSync   time.Time   `json:"last_sync,omitzero"`
	LastResult *PairResult `json:"last_result,omitempty"`
	NextRetry  time.Time   `json:"next_retry,omitzero"`
	Err        string      `json:"error,omitempty"`
}

// Counts are writes on one side.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// MappingResult is engine.MappingResult on the wire.
type MappingResult struct {
	Alias        string      `json:"alias"`
	Counts       [2]Counts   `json:"counts"`
	Conflicts    int         `json:"conflicts"`
	Skipped      int         `json:"skipped"`
	Merged       int         `json:"merged"`
	Errors       []string    `json:"errors,omitempty"`
	PropsWritten [2][]string `json:"props_written"`
	Changed      bool        `json:"changed"`
}

// PairResult is engine.PairResult on the wire.
type PairResult struct {
	Pair     string          `json:"pair"`
	Err      string          `json:"error,omitempty"`
	Mappings []MappingResult `json:"mappings"`
}

// MappingSummary describes one collection of a planned sync.
type MappingSummary struct {
	Alias     string `json:"alias"`
	Label     string `json:"label"` // the collection action ("none", "create on b", …)
	Total     int    `json:"total"` // item actions that write
	Conflicts int    `json:"conflicts"`
	Skipped   int    `json:"skipped"`
	IsError   bool   `json:"is_error"`
}

// Event kinds.
const (
	KindPairStarted     = "pair-started"
	KindWaiting         = "waiting"
	KindPlanned         = "planned"
	KindActionStarted   = "action-started"
	KindActionFinished  = "action-finished"
	KindMappingFinished = "mapping-finished"
	KindPairFinished    = "pair-finished"
	KindState           = "state"
	KindLog             = "log"
)

// Event is one event of the stream.
type Event struct {
	Kind    string `json:"kind"`
	Pair    string `json:"pair,omitempty"`
	Mapping string `json:"mapping,omitempty"`
	Err     string `json:"error,omitempty"`
	// planned
	Mappings []MappingSummary `json:"mappings,omitempty"`
	// action-started: `create on b dentist-1 "Dentist"`
	What string `json:"what,omitempty"`
	// action-finished
	Verb   string `json:"verb,omitempty"`
	Target string `json:"target,omitempty"`
	Done   int    `json:"done,omitempty"`
	Total  int    `json:"total,omitempty"`
	// mapping-finished
	Result *MappingResult `json:"result,omitempty"`
	// pair-finished
	PairResult *PairResult `json:"pair_result,omitempty"`
	// state
	State *PairStatus `json:"state,omitempty"`
	// log: the level as -v names it, and the line
	Level string `json:"level,omitempty"`
	Text  string `json:"text,omitempty"`
}

// ResolveRequest asks for one item conflict to be settled. The hashes are those of
// the versions the person looked at: if either changed since, nothing is written.
type ResolveRequest struct {
	Pair  string `json:"pair"`
	Alias string `json:"alias"`
	// CollA and CollB are the collection hrefs of the mapping, HrefA and HrefB the
	// item's.
	CollA string `json:"coll_a"`
	CollB string `json:"coll_b"`
	HrefA string `json:"href_a"`
	HrefB string `json:"href_b"`
	Ident string `json:"ident"`
	// Keep is "a", "b", "both" (keep b's version as a copy, then a's) or "item" (Item,
	// the text a merge tool produced).
	Keep  string `json:"keep"`
	HashA string `json:"hash_a"`
	HashB string `json:"hash_b"`
	Item  string `json:"item,omitempty"`
}

// PropertyRequest asks for a collection property conflict to be settled by keeping
// one side's value; A and B are the values shown (Has: present at all).
type PropertyRequest struct {
	Pair  string `json:"pair"`
	Alias string `json:"alias"`
	Name  string `json:"name"`
	Keep  string `json:"keep"`
	A     string `json:"a"`
	B     string `json:"b"`
	HasA  bool   `json:"has_a"`
	HasB  bool   `json:"has_b"`
}

// ResolveAnswer is the outcome of a resolution.
type ResolveAnswer struct {
	// Sides are the sides written ("a", "b").
	Sides []string `json:"sides,omitempty"`
	// Code says why nothing (more) was written: "changed" (a version changed since it
	// was shown), "gone" (a side no longer has the item), "solved" (both are now
	// equal); "" otherwise.
	Code string `json:"code,omitempty"`
	Err  string `json:"error,omitempty"`
}

// Outcome errors of a resolution, matching the engine's.
func (a *ResolveAnswer) Error() error {
	var base error
	switch a.Code {
	case "changed":
		base = engine.ErrConflictChanged
	case "gone":
		base = engine.ErrConflictGone
	case "solved":
		base = engine.ErrConflictSolved
	case "unresolved":
		base = engine.ErrUnresolved
	}
	switch {
	case base != nil && a.Err != "" && a.Err != base.Error():
		return &remoteError{msg: a.Err, base: base}
	case base != nil:
		return base
	case a.Err != "":
		return errors.New(a.Err)
	}
	return nil
}

type remoteError struct {
	msg  string
	base error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.base }

// codeOf is the Code of an engine error.
func codeOf(err error) string {
	switch {
	case errors.Is(err, engine.ErrConflictChanged):
		return "changed"
	case errors.Is(err, engine.ErrConflictGone):
		return "gone"
	case errors.Is(err, engine.ErrConflictSolved):
		return "solved"
	case errors.Is(err, engine.ErrUnresolved):
		return "unresolved"
	}
	return ""
}

// --- conversions ---------------------------------------------------------------------

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func counts(c engine.Counts) Counts { return Counts{c.Created, c.Updated, c.Deleted} }

// FromMappingResult converts a mapping result for the wire.
func FromMappingResult(r *engine.MappingResult) MappingResult {
	out := MappingResult{Alias: r.Alias, Counts: [2]Counts{counts(r.Counts[0]), counts(r.Counts[1])},
		Conflicts: r.Conflicts, Skipped: r.Skipped, Merged: r.Merged, PropsWritten: r.PropsWritten, Changed: r.Changed}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, e.Error())
	}
	return out
}

// FromPairResult converts a pair result for the wire.
func FromPairResult(r *engine.PairResult) PairResult {
	out := PairResult{Pair: r.Pair, Err: errText(r.Err), Mappings: []MappingResult{}}
	for _, m := range r.Mappings {
		out.Mappings = append(out.Mappings, FromMappingResult(m))
	}
	return out
}

// FromStatus converts a pair's state for the wire.
func FromStatus(s engine.PairStatus) PairStatus {
	out := PairStatus{Pair: s.Pair, State: s.State.String(), Since: s.Since, LastSync: s.LastSync,
		NextRetry: s.NextRetry, Err: s.Err}
	if s.LastResult != nil {
		r := FromPairResult(s.LastResult)
		out.LastResult = &r
	}
	return out
}

// Engine rebuilds an engine.MappingResult (its errors as plain messages).
func (r MappingResult) Engine() *engine.MappingResult {
	c := func(c Counts) engine.Counts {
		return engine.Counts{Created: c.Created, Updated: c.Updated, Deleted: c.Deleted}
	}
	out := &engine.MappingResult{Alias: r.Alias, Counts: [2]engine.Counts{c(r.Counts[0]), c(r.Counts[1])},
		Conflicts: r.Conflicts, Skipped: r.Skipped, Merged: r.Merged, PropsWritten: r.PropsWritten, Changed: r.Changed}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, errors.New(e))
	}
	return out
}

// Engine rebuilds an engine.PairResult (its errors as plain messages).
func (r PairResult) Engine() *engine.PairResult {
	out := &engine.PairResult{Pair: r.Pair}
	if r.Err != "" {
		out.Err = errors.New(r.Err)
	}
	for _, m := range r.Mappings {
		out.Mappings = append(out.Mappings, m.Engine())
	}
	return out
}

// sideName is "a" or "b".
func sideName(s engine.Side) string { return s.String() }

// parseSide reads "a" or "b".
func parseSide(s string) (engine.Side, bool) {
	switch strings.ToLower(s) {
	case "a":
		return engine.A, true
	case "b":
		return engine.B, true
	}
	return 0, false
}
