package status

import (
	"context"
	"database/sql"
	"fmt"
)

// SchemaVersion is the pimsync status schema version this package writes.
const SchemaVersion = 3

// schemaV3 is pimsync's schema version 3, statement by statement, exactly as sync.md §3.2
// gives it (SQLite keeps the CREATE text in sqlite_master, so even the layout is kept).
//
// The second by_href statement is pimsync's: an index named by_href already exists (on
// href_a), so it does nothing and items.href_b is not unique. It is executed on purpose,
// like pimsync does; do not "fix" it.
var schemaV3 = []string{
	`CREATE TABLE IF NOT EXISTS meta (version INTEGER PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS collections (
  uid INTEGER PRIMARY KEY AUTOINCREMENT,
  href_a TEXT NOT NULL,
  href_b TEXT NOT NULL
)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS href_a ON collections(href_a)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS href_b ON collections(href_b)`,
	`CREATE TABLE IF NOT EXISTS items (
  ident TEXT NOT NULL,
  mapping_uid TEXT NOT NULL,
  hash TEXT NOT NULL,
  href_a TEXT NOT NULL,
  etag_a TEXT,
  href_b TEXT NOT NULL,
  etag_b TEXT,
  FOREIGN KEY(mapping_uid) REFERENCES collections(uid)
)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_ident ON items(ident, mapping_uid)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_href ON items(href_a)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_href ON items(href_b)`, // no-op, see above
	`CREATE TABLE IF NOT EXISTS properties (
  mapping_uid INTEGER NOT NULL,
  href_a TEXT NOT NULL,
  href_b TEXT NOT NULL,
  property TEXT NOT NULL,
  value TEXT NOT NULL,
  FOREIGN KEY(mapping_uid) REFERENCES collections(uid)
)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_uid ON properties(mapping_uid, property)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_href_a ON properties(href_a, property)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS by_href_b ON properties(href_b, property)`,
	`INSERT OR IGNORE INTO meta(version) VALUES (2)`,
	`INSERT OR IGNORE INTO meta(version) VALUES (3)`,
}

// tokensDDL is our extension table for collection change tokens (sync.md §3.7). pimsync
// ignores it; meta stays at 3.
const tokensDDL = `CREATE TABLE IF NOT EXISTS x_collection_tokens (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  href TEXT NOT NULL,          -- collection href the token belongs to
  kind TEXT NOT NULL,          -- 'sync-token' | 'ctag' | 'http-etag' | 'http-last-modified'
  token TEXT NOT NULL,
  item_count INTEGER NOT NULL, -- number of status rows of the mapping when saved
  PRIMARY KEY (mapping_uid, side)
)`

// pendingDDL is our extension table of writes in flight: before the engine uploads an
// item it records what it is about to write (the hash and fingerprint of the text, and
// where the source and the target stood), and it deletes the record in the transaction
// that stores the write's status row. A record left by a crash or a lost answer lets
// the next run recognise the target's copy (also after the server re-serialised it) as
// our own upload, whatever the user did afterwards. pimsync ignores the table.
const pendingDDL = `CREATE TABLE IF NOT EXISTS x_pending_writes (
  mapping_uid INTEGER NOT NULL,
  ident TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),  -- the side being written
  hash TEXT NOT NULL,                            -- hash of the text being written
  fingerprint TEXT NOT NULL DEFAULT '',          -- storage.Fingerprint of that text
  kind TEXT NOT NULL DEFAULT '',                 -- 'create' | 'update'
  src_href TEXT NOT NULL DEFAULT '',             -- the source item when the write began
  src_etag TEXT NOT NULL DEFAULT '',
  tgt_href TEXT NOT NULL DEFAULT '',             -- the target item before the write
  tgt_etag TEXT NOT NULL DEFAULT '',             -- ('' for a create)
  PRIMARY KEY (mapping_uid, ident, side)
)`

// pendingColumns are the columns added to x_pending_writes after its first version
// (which had mapping_uid, ident, side and hash); older files get them on open.
var pendingColumns = []string{"fingerprint", "kind", "src_href", "src_etag", "tgt_href", "tgt_etag"}

// aliasesDDL records property values a storage reports that stand for something else:
// a value it invented for a collection we created without one (meant empty), or its
// normalised form of a value we wrote. They are never copied to the other side.
const aliasesDDL = `CREATE TABLE IF NOT EXISTS x_property_aliases (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  property TEXT NOT NULL,
  reported TEXT NOT NULL,  -- the value the storage reports
  meant TEXT NOT NULL,     -- what it stands for ('' = absent)
  PRIMARY KEY (mapping_uid, side, property)
)`

// refusedDDL remembers a property value a storage refused to store (PROPPATCH 403, 409,
// 501), so that it is reported once and not attempted again until the value changes.
const refusedDDL = `CREATE TABLE IF NOT EXISTS x_property_refused (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  property TEXT NOT NULL,
  value TEXT NOT NULL,     -- the refused value ('' = a removal)
  reason TEXT NOT NULL,
  PRIMARY KEY (mapping_uid, side, property)
)`

// baseDDL keeps the last synced content of each item of pairs that merge conflicts
// (`conflict_resolution merge`): the common base of a three-way merge. hash is the
// status hash the text belongs to, so a row pimsync (or an older run) moved on from
// is never used.
const baseDDL = `CREATE TABLE IF NOT EXISTS x_item_base (
  mapping_uid INTEGER NOT NULL,
  ident TEXT NOT NULL,
  hash TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (mapping_uid, ident)
)`

// pendingCollectionsDDL records a collection creation in flight, with the properties
// sent along, so that a run interrupted right after the creation still knows which
// property values the storage invented.
const pendingCollectionsDDL = `CREATE TABLE IF NOT EXISTS x_pending_collections (
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  href TEXT NOT NULL,
  props TEXT NOT NULL,     -- JSON object of the properties sent with the creation
  PRIMARY KEY (side, href)
)`

// Table names used by the read path to tolerate files that lack some of them (a
// schema-2 file written by an old pimsync, a file opened read-only before any run of
// ours).
const (
	tableMeta        = "meta"
	tableCollections = "collections"
	tableItems       = "items"
	tableProperties  = "properties"
	tableTokens      = "x_collection_tokens"
	tablePending     = "x_pending_writes"
	tableAliases     = "x_property_aliases"
	tableRefused     = "x_property_refused"
	tablePendingColl = "x_pending_collections"
	tableBase        = "x_item_base"
)

// queryer is what both *sql.DB and *sql.Tx provide for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execQueryer is what the schema code needs inside the opening transaction.
type execQueryer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// tableSet records which of our tables exist in a file.
type tableSet map[string]bool

// existingTables returns the names of all tables of the main schema.
func existingTables(ctx context.Context, q queryer) (tableSet, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := tableSet{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		set[name] = true
	}
	return set, rows.Err()
}

// schemaVersion returns MAX(meta.version), or 0 when the file has no meta table or an
// empty one (not initialised yet).
func schemaVersion(ctx context.Context, q queryer, tables tableSet) (int64, error) {
	if !tables[tableMeta] {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM meta`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v.Int64, nil
}

// supportedVersion reports whether a file of version v can be used: 0 (not initialised),
// 2 (migrated on write, read as it is) or 3.
func supportedVersion(v int64) bool {
	return v == 0 || v == 2 || v == SchemaVersion
}

// prepareForWrite brings the file to schema 3 inside tx, which the caller commits. It
// does nothing that writes before the version check, so an unsupported version leaves
// the file untouched.
//
//   - version 0 (new file): create everything (§3.2).
//   - version 2: drop collections.id_a and collections.id_b, record version 3 (§3.3).
//   - version 3: use as it is.
//
// In every case the §3.2 statements run afterwards. They all use IF NOT EXISTS / OR
// IGNORE, so on a complete file they change nothing; on a file whose initialisation was
// interrupted (pimsync creates its tables outside a transaction) they complete it.
// Finally our extension tables are created or completed if missing.
func prepareForWrite(ctx context.Context, tx execQueryer, path string) error {
	tables, err := existingTables(ctx, tx)
	if err != nil {
		return err
	}
	if err := checkForeign(path, tables); err != nil {
		return err
	}
	v, err := schemaVersion(ctx, tx, tables)
	if err != nil {
		return err
	}
	if !supportedVersion(v) {
		return &VersionError{Path: path, Version: v}
	}
	if v == 2 && tables[tableCollections] {
		if err := migrateV2(ctx, tx); err != nil {
			return fmt.Errorf("migrating status database %s from schema 2 to 3: %w", path, err)
		}
	}
	for _, stmt := range schemaV3 {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("initialising status database %s: %w", path, err)
		}
	}
	for _, stmt := range []string{pendingDDL, tokensDDL, aliasesDDL, refusedDDL, pendingCollectionsDDL, baseDDL} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("initialising status database %s: %w", path, err)
		}
	}
	cols, err := columns(ctx, tx, tablePending)
	if err != nil {
		return fmt.Errorf("initialising status database %s: %w", path, err)
	}
	for _, c := range pendingColumns {
		if cols[c] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE x_pending_writes ADD COLUMN `+c+` TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("initialising status database %s: %w", path, err)
		}
	}
	return nil
}

// migrateV2 drops the schema-2 columns id_a and id_b of collections. A column that is
// already gone is skipped, so a half-migrated file (which cannot exist when migrations
// run in one transaction, but costs nothing to tolerate) still migrates. The version row
// 3 is inserted by the §3.2 statements that follow.
func migrateV2(ctx context.Context, tx execQueryer) error {
	cols, err := columns(ctx, tx, tableCollections)
	if err != nil {
		return err
	}
	for _, c := range []string{"id_a", "id_b"} {
		if !cols[c] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE collections DROP COLUMN `+c); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the column names of table.
func columns(ctx context.Context, q queryer, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		cols[name] = true
	}
	return cols, rows.Err()
}
