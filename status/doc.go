// Package status is the per-pair status database: one SQLite file per pair
// (<status_path>/<pair>.status) that records, for every mapping of a pair and every item
// in it, what the last run saw on both sides (sync.md §3).
//
// The file uses pimsync's schema version 3 exactly (tables meta, collections, items and
// properties), so a file written by pimsync is continued without a resync and a file
// written by this package stays usable by pimsync. The only addition is the extension
// table x_collection_tokens (sync.md §3.7), which pimsync ignores; meta stays at 3.
//
// # Opening
//
// [OpenWrite] is for real runs. It creates the file (mode 0600) if needed and brings it
// to schema 3 in one transaction: a new file is initialised, a schema-2 file is migrated.
// The caller takes the pair lock ([Lock]) first, so there is a single writer per pair.
// [OpenRead] is for dry runs, discovery and previews: it opens the file read-only
// (mode=ro), never creates, migrates or modifies it, and treats a missing file as an
// empty status.
//
// Schema versions: MAX(meta.version) of 2 or 3 is accepted (2 is migrated by OpenWrite
// and read as it is by OpenRead). Any other version, including a newer one that a future
// pimsync might write, is refused with an error matching [ErrUnsupportedVersion] and
// nothing is written: we cannot know what a newer schema means, so continuing it could
// corrupt the other tool's data. A file without a meta table (or with an empty one) is
// treated as not yet initialised.
//
// # Writing
//
// All writes go through a [Tx] ([DB.Begin] or [DB.Update]) so that the engine can group
// many status writes per commit. Statements are prepared once per transaction and
// reused. Etags are always written as the empty string, never as NULL (pimsync cannot
// read a NULL etag); NULL etags found in older files read back as "". Hashes are
// validated (64 upper-case hex digits) on read and on write.
//
// The writing handle uses a single SQLite connection (no WAL, rollback journal as
// SQLite's default, busy_timeout 5000 ms, foreign_keys on, BEGIN IMMEDIATE). While a
// [Tx] is open, that connection belongs to it: reading through the [DB] methods from the
// goroutine that holds the Tx would wait for the Tx forever. Use the read methods of
// [Tx] instead (they see the Tx's own uncommitted writes).
//
// No SQL leaves this package; callers use the domain methods only.
package status
