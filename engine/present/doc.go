// Package present turns what the engine plans and reports into text for people: the
// plan lines of `sync -n` (sync.md §14.1), the labels of actions and collections, the
// summary line of a synced collection, the one-line log format, the alignment of two
// conflicting versions by property, and values rendered the way a person reads them
// (go-ical and go-vcard decode for display only: nothing they produce is ever written to
// a storage). The CLI and the TUI both use it, so they say the same thing the same way.
//
// The engine never imports this package: it produces values, front ends render them.
package present
