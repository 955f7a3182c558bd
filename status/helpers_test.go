package status_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/status"
)

// pimsyncDDL is pimsync's schema-3 DDL, statement by statement, copied from sync.md §3.2
// independently of the package's own copy, including the no-op second by_href index
// that pimsync also runs.
var pimsyncDDL = []string{
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
	`CREATE UNIQUE INDEX IF NOT EXISTS by_href ON items(href_b)`,
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

// tokensSQL is the stored text of our extension table (sync.md §3.7).
const tokensSQL = `CREATE TABLE x_collection_tokens (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  href TEXT NOT NULL,          -- collection href the token belongs to
  kind TEXT NOT NULL,          -- 'sync-token' | 'ctag' | 'http-etag' | 'http-last-modified'
  token TEXT NOT NULL,
  item_count INTEGER NOT NULL, -- number of status rows of the mapping when saved
  PRIMARY KEY (mapping_uid, side)
)`

// pendingSQL and the others are the stored texts of our extension tables.
const pendingSQL = `CREATE TABLE x_pending_writes (
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

const aliasesSQL = `CREATE TABLE x_property_aliases (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  property TEXT NOT NULL,
  reported TEXT NOT NULL,  -- the value the storage reports
  meant TEXT NOT NULL,     -- what it stands for ('' = absent)
  PRIMARY KEY (mapping_uid, side, property)
)`

const refusedSQL = `CREATE TABLE x_property_refused (
  mapping_uid INTEGER NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  property TEXT NOT NULL,
  value TEXT NOT NULL,     -- the refused value ('' = a removal)
  reason TEXT NOT NULL,
  PRIMARY KEY (mapping_uid, side, property)
)`

const pendingCollectionsSQL = `CREATE TABLE x_pending_collections (
  side TEXT NOT NULL CHECK (side IN ('a','b')),
  href TEXT NOT NULL,
  props TEXT NOT NULL,     -- JSON object of the properties sent with the creation
  PRIMARY KEY (side, href)
)`

const baseSQL = `CREATE TABLE x_item_base (
  mapping_uid INTEGER NOT NULL,
  ident TEXT NOT NULL,
  hash TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (mapping_uid, ident)
)`

// masterEntry is one row of sqlite_master.
type masterEntry struct {
	Type, Table string
	SQL         sql.NullString
}

// expectedMaster is what sqlite_master must hold for a schema-3 file. SQLite stores the
// CREATE text as executed, minus "IF NOT EXISTS"; the second by_href statement leaves no
// trace. withTokens adds our extension table.
func expectedMaster(withTokens bool) map[string]masterEntry {
	want := map[string]masterEntry{
		"sqlite_sequence": {"table", "sqlite_sequence", sql.NullString{String: "CREATE TABLE sqlite_sequence(name,seq)", Valid: true}},
	}
	for _, stmt := range pimsyncDDL {
		if !strings.HasPrefix(stmt, "CREATE") {
			continue
		}
		stored := strings.Replace(stmt, "IF NOT EXISTS ", "", 1)
		f := strings.Fields(stored)
		typ, name, table := "table", f[2], f[2]
		if f[1] == "UNIQUE" {
			typ, name = "index", f[3]
			table = f[5][:strings.IndexByte(f[5], '(')]
		}
		if _, dup := want[name]; dup {
			continue // the no-op by_href statement
		}
		want[name] = masterEntry{typ, table, sql.NullString{String: stored, Valid: true}}
	}
	if withTokens {
		want["x_collection_tokens"] = masterEntry{"table", "x_collection_tokens", sql.NullString{String: tokensSQL, Valid: true}}
		want["sqlite_autoindex_x_collection_tokens_1"] = masterEntry{"index", "x_collection_tokens", sql.NullString{}}
		want["x_pending_writes"] = masterEntry{"table", "x_pending_writes", sql.NullString{String: pendingSQL, Valid: true}}
		want["sqlite_autoindex_x_pending_writes_1"] = masterEntry{"index", "x_pending_writes", sql.NullString{}}
		for name, text := range map[string]string{"x_property_aliases": aliasesSQL, "x_property_refused": refusedSQL,
			"x_pending_collections": pendingCollectionsSQL, "x_item_base": baseSQL} {
			want[name] = masterEntry{"table", name, sql.NullString{String: text, Valid: true}}
			want["sqlite_autoindex_"+name+"_1"] = masterEntry{"index", name, sql.NullString{}}
		}
	}
	return want
}

// rawOpen opens path with database/sql directly, as another tool (pimsync) would.
func rawOpen(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// createPimsyncFile creates a schema-3 file at path the way pimsync does.
func createPimsyncFile(t testing.TB, path string) *sql.DB {
	t.Helper()
	db := rawOpen(t, path)
	for _, stmt := range pimsyncDDL {
		mustExec(t, db, stmt)
	}
	return db
}

// checkSchema asserts that the file at path has exactly the schema-3 objects (plus our
// extension table if withTokens), meta rows 2 and 3, and the by_href quirk.
func checkSchema(t testing.TB, path string, withTokens bool) {
	t.Helper()
	db := rawOpen(t, path)
	defer db.Close()
	rows, err := db.Query(`SELECT type, name, tbl_name, sql FROM sqlite_master`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]masterEntry{}
	for rows.Next() {
		var name string
		var e masterEntry
		if err := rows.Scan(&e.Type, &name, &e.Table, &e.SQL); err != nil {
			t.Fatal(err)
		}
		got[name] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := expectedMaster(withTokens)
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("schema: %s missing", name)
			continue
		}
		if g != w {
			t.Errorf("schema: %s:\n got %q %q %q\nwant %q %q %q", name, g.Type, g.Table, g.SQL.String, w.Type, w.Table, w.SQL.String)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("schema: unexpected object %s", name)
		}
	}
	if v := metaVersions(t, db); !slices.Equal(v, []int64{2, 3}) {
		t.Errorf("meta versions = %v, want [2 3]", v)
	}
	// The one real by_href index covers href_a only.
	var cols []string
	r2, err := db.Query(`SELECT name FROM pragma_index_info('by_href')`)
	if err != nil {
		t.Fatal(err)
	}
	for r2.Next() {
		var c string
		r2.Scan(&c)
		cols = append(cols, c)
	}
	r2.Close()
	if !slices.Equal(cols, []string{"href_a"}) {
		t.Errorf("by_href columns = %v, want [href_a]", cols)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "delete" {
		t.Errorf("journal_mode = %q, want delete", mode)
	}
}

func metaVersions(t testing.TB, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM meta ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

// hashOf returns a valid status hash (64 upper-case hex digits) derived from s.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func row(ident, hrefA, etagA, hrefB, etagB string) status.Row {
	return status.Row{Ident: ident, Hash: hashOf(ident + etagA + etagB), HrefA: hrefA, ETagA: etagA, HrefB: hrefB, ETagB: etagB}
}

func openWrite(t testing.TB, path string) *status.DB {
	t.Helper()
	db, err := status.OpenWrite(path)
	if err != nil {
		t.Fatalf("OpenWrite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func update(t testing.TB, db *status.DB, fn func(*status.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// rowReader is a *status.DB or a *status.Tx.
type rowReader interface {
	Rows(uid int64) ([]status.Row, error)
}

func mustRows(t testing.TB, db rowReader, uid int64) []status.Row {
	t.Helper()
	rs, err := db.Rows(uid)
	if err != nil {
		t.Fatalf("Rows(%d): %v", uid, err)
	}
	return rs
}

func equalRows(t testing.TB, got, want []status.Row) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameBytes(t testing.TB, path string, before []byte) {
	t.Helper()
	if after := readFile(t, path); !bytes.Equal(before, after) {
		t.Errorf("%s changed (%d bytes before, %d after)", path, len(before), len(after))
	}
	if _, err := os.Stat(path + "-journal"); err == nil {
		t.Errorf("%s-journal left behind", path)
	}
}

func statusFile(t testing.TB) string {
	return filepath.Join(t.TempDir(), "pair.status")
}
