// Package present turns what the engine plans and reports into text for people: the
// plan lines of `sync -n` (sync.md §14.1), the labels of actions and collections, the
// summary line of a synced collection, and the one-line log format. The CLI and the TUI
// both use it, so they say the same thing the same way.
//
// The engine never imports this package: it produces values, front ends render them.
package present
