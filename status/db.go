package status

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var (
	// ErrUnusable matches every *UnusableError.
	ErrUnusable = errors.New("status database cannot be used")
	// ErrReadOnly is returned by writes on a database opened with [OpenRead].
	ErrReadOnly = errors.New("status database is opened read-only")
	// ErrInvalidHash is wrapped by errors about a hash that is not 64 upper-case hex
	// digits, whether found in the file or about to be written.
	ErrInvalidHash = errors.New("invalid item hash")
)

// VersionError reports a status file whose schema version this package does not know.
// It matches [ErrUnsupportedVersion] with errors.Is.
type VersionError struct {
	Path    string
	Version int64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("status database %s has unsupported schema version %d", e.Path, e.Version)
}

// Is makes errors.Is(err, ErrUnsupportedVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// UnusableError is a status file that exists but cannot be used: empty, another
// program's database, corrupt. Nothing is synced with it (a pair without its history
// would bring back deleted items and invent conflicts), and nothing is written to it.
type UnusableError struct {
	Path string
	Why  string // "is empty (0 bytes)", "is not a pimsync status database (…)", …
	// Lost: the file may once have held a status (so starting over can resurrect
	// deletions); false for a file that is simply not ours.
	Lost bool
	Err  error
}

func (e *UnusableError) Error() string {
	msg := fmt.Sprintf("status database %s %s", e.Path, e.Why)
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	if e.Lost {
		return msg + ". Without it, what this pair synced before is unknown: items deleted since the last sync" +
			" would come back and one-sided edits would become conflicts. Restore the file from a backup; or, to" +
			" sync this pair as if for the first time, remove it (rm " + e.Path + ") and run again"
	}
	return msg + ". It was left untouched. If status_path points at the wrong directory, fix it in the" +
		" configuration; if the file is not needed, move it away (mv " + e.Path + " " + e.Path + ".old) and run again"
}

// Is makes errors.Is(err, ErrUnusable) true.
func (e *UnusableError) Is(target error) bool { return target == ErrUnusable }

func (e *UnusableError) Unwrap() error { return e.Err }

// openError turns SQLite's "not a database" and "malformed" errors into an
// *UnusableError with advice; other errors are wrapped as they are.
func openError(path string, err error) error {
	var ue *UnusableError
	var ve *VersionError
	if errors.As(err, &ue) || errors.As(err, &ve) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "file is not a database") || strings.Contains(msg, "SQLITE_NOTADB"):
		return &UnusableError{Path: path, Why: "is not an SQLite database", Lost: true, Err: err}
	case strings.Contains(msg, "malformed") || strings.Contains(msg, "SQLITE_CORRUPT"):
		return &UnusableError{Path: path, Why: "is corrupt", Lost: true, Err: err}
	case strings.Contains(msg, "readonly database"):
		if fi, serr := os.Stat(path + "-journal"); serr == nil && fi.Size() > 0 {
			// A killed run's hot journal that recoverJournal could not roll back.
			return fmt.Errorf("opening status database %s: a run was killed while writing it, and rolling that write back needs write access to the file and its directory; run `pimsync sync` as the user who owns it: %w", path, err)
		}
	}
	if strings.HasPrefix(msg, "opening status database ") {
		return err // already says which file
	}
	return fmt.Errorf("opening status database %s: %w", path, err)
}

// checkForeign refuses a file that holds tables but none of pimsync's: another program's
// database.
func checkForeign(path string, tables tableSet) error {
	if len(tables) == 0 || tables[tableMeta] || tables[tableItems] || tables[tableCollections] {
		return nil
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		if !strings.HasPrefix(n, "sqlite_") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	return &UnusableError{Path: path, Why: "is not a pimsync status database (it holds the tables " + strings.Join(names, ", ") + ")"}
}

// StatusPath returns the status file of pair: <statusDir>/<pair>.status.
func StatusPath(statusDir, pair string) string {
	return filepath.Join(statusDir, pair+".status")
}

// LockPath returns the lock file of pair: <statusDir>/<pair>.lock.
func LockPath(statusDir, pair string) string {
	return filepath.Join(statusDir, pair+".lock")
}

// DB is an open status database. Its methods are safe for concurrent use; see the
// package documentation for the one rule about reading while a [Tx] is open.
type DB struct {
	sql      *sql.DB // nil for a read-only open of a missing file
	path     string
	readOnly bool
	version  int64    // schema version found when opening (0: not initialised)
	tables   tableSet // tables present; all of ours for a writable DB
}

// OpenWrite opens the status file at path for a real run, creating it with mode 0600 if
// it does not exist (its directory must exist). A new file is initialised to schema 3,
// a schema-2 file is migrated to 3; either happens in one transaction. A file of any
// other version is refused with an error matching [ErrUnsupportedVersion], and nothing
// is written to it. The extension table x_collection_tokens is created if missing.
//
// The caller is expected to hold the pair lock ([Lock]).
func OpenWrite(path string) (*DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("opening status database: %w", err)
	default:
		if err := checkFile(path, fi); err != nil {
			return nil, err
		}
	}
	return openWrite(path)
}

// create makes a new, initialised status file at path: it is built under a temporary
// name and linked into place, so a crash never leaves a half-created (empty) file there.
func create(path string) error {
	tmp := path + ".new"
	os.Remove(tmp) // a leftover of a crash; we hold the pair lock
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating status database: %w", err)
	}
	f.Close()
	defer os.Remove(tmp)
	db, err := openWrite(tmp)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("creating status database %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("creating status database %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating status database %s: %w", path, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// checkFile refuses a status file that exists but cannot hold a status: an empty one (a
// truncated file: the history is gone) or a directory. Foreign and corrupt SQLite files
// are recognised when they are opened.
func checkFile(path string, fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return &UnusableError{Path: path, Why: "is a directory"}
	case fi.Size() == 0:
		return &UnusableError{Path: path, Why: "is empty (0 bytes)", Lost: true}
	}
	return nil
}

func openWrite(path string) (*DB, error) {
	dsn, err := sqliteDSN(path, "_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening status database %s: %w", path, err)
	}
	// One connection: a single writer, and no read-to-write lock upgrades between
	// connections of our own.
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)

	ctx := context.Background()
	db := &DB{sql: sdb, path: path}
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		sdb.Close()
		return nil, openError(path, err)
	}
	if err := prepareForWrite(ctx, tx, path); err != nil {
		tx.Rollback()
		sdb.Close()
		return nil, openError(path, err)
	}
	if err := tx.Commit(); err != nil {
		sdb.Close()
		return nil, openError(path, err)
	}
	db.version = SchemaVersion
	db.tables = tableSet{
		tableMeta: true, tableCollections: true, tableItems: true,
		tableProperties: true, tableTokens: true, tablePending: true,
		tableAliases: true, tableRefused: true, tablePendingColl: true, tableBase: true,
	}
	return db, nil
}

// OpenRead opens the status file at path read-only (for sync -n, discover, previews).
// It never creates, migrates or otherwise modifies the file, with one exception: a run
// killed in the middle of a transaction leaves a hot journal, which SQLite must roll
// back before anyone can read the file, and which a read-only connection cannot (it
// fails with SQLITE_READONLY_ROLLBACK); OpenRead then first rolls it back, as the next
// writer would (recoverJournal). A missing file is not an
// error: the result is a usable DB on which every query returns nothing. A schema-2
// file is read as it is (its extra columns are ignored); tables missing from the file
// read as empty. A file of an unsupported version is refused as in [OpenWrite].
func OpenRead(path string) (*DB, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &DB{path: path, readOnly: true, tables: tableSet{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening status database: %w", err)
	}
	if err := checkFile(path, fi); err != nil {
		return nil, err
	}
	recoverJournal(path)

	// mode=ro makes SQLite fail rather than create a file that vanished since Stat.
	dsn, err := sqliteDSN(path, "mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening status database %s: %w", path, err)
	}
	db := &DB{sql: sdb, path: path, readOnly: true}
	if err := db.readSchema(); err != nil {
		sdb.Close()
		return nil, openError(path, err)
	}
	return db, nil
}

// recoverJournal rolls back the hot journal a killed run may have left next to the
// status file at path: when a journal is there, it opens the file read-write (never
// creating it) and reads, which makes SQLite roll a hot journal back under its own
// locks. A journal that is not hot (a sync is writing right now) is left alone by
// SQLite. Errors are ignored: the read-only open that follows reports them.
func recoverJournal(path string) {
	if fi, err := os.Stat(path + "-journal"); err != nil || fi.Size() == 0 {
		return
	}
	dsn, err := sqliteDSN(path, "mode=rw&_pragma=busy_timeout(5000)")
	if err != nil {
		return
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return
	}
	defer sdb.Close()
	var n int
	_ = sdb.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n)
}

// readSchema fills in db.tables and db.version of a read-only DB, in one read
// transaction so that both agree.
func (db *DB) readSchema() error {
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("opening status database %s: %w", db.path, err)
	}
	defer tx.Rollback()
	if db.tables, err = existingTables(ctx, tx); err != nil {
		return fmt.Errorf("opening status database %s: %w", db.path, err)
	}
	if err := checkForeign(db.path, db.tables); err != nil {
		return err
	}
	if db.version, err = schemaVersion(ctx, tx, db.tables); err != nil {
		return fmt.Errorf("opening status database %s: %w", db.path, err)
	}
	if !supportedVersion(db.version) {
		return &VersionError{Path: db.path, Version: db.version}
	}
	return nil
}

// sqliteDSN builds a "file:" URI for path (so that SQLite honours mode=ro) followed by
// params. The characters that have a meaning in a URI path are percent-encoded; SQLite
// decodes them.
func sqliteDSN(path, params string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("opening status database %s: %w", path, err)
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(abs); i++ {
		switch c := abs[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('?')
	b.WriteString(params)
	return b.String(), nil
}

// Close closes the database. It is safe to call on a DB opened on a missing file.
func (db *DB) Close() error {
	if db.sql == nil {
		return nil
	}
	return db.sql.Close()
}

// ReadOnly reports whether db was opened with [OpenRead].
func (db *DB) ReadOnly() bool { return db.readOnly }

// Path returns the file name db was opened with.
func (db *DB) Path() string { return db.path }

// Version returns the schema version of the file: 3 for a writable DB; for a read-only
// DB the version found (2 or 3), or 0 for a missing or uninitialised file.
func (db *DB) Version() int { return int(db.version) }

// reader returns what read queries run against, or nil when there is nothing to read.
func (db *DB) reader() queryer {
	if db.sql == nil {
		return nil
	}
	return db.sql
}

// Mappings returns all rows of the collections table, by uid.
func (db *DB) Mappings() ([]Mapping, error) { return readMappings(db.reader(), db.tables) }

// FindMapping returns the uid of the mapping (hrefA, hrefB), if there is one.
func (db *DB) FindMapping(hrefA, hrefB string) (uid int64, ok bool, err error) {
	return findMapping(db.reader(), db.tables, hrefA, hrefB)
}

// Rows returns all item rows of mapping uid, ordered by ident. NULL etags read as "".
// A row whose hash is not 64 upper-case hex digits is an error (matching
// [ErrInvalidHash]) that names the ident.
func (db *DB) Rows(uid int64) ([]Row, error) { return readRows(db.reader(), db.tables, uid) }

// Properties returns the recorded properties of mapping uid: property name → value.
func (db *DB) Properties(uid int64) (map[string]string, error) {
	return readProperties(db.reader(), db.tables, uid)
}

// Token returns the saved change token of one side of mapping uid, if any. Whether it
// may be used is the caller's decision (sync.md §3.7).
func (db *DB) Token(uid int64, side Side) (Token, bool, error) {
	return readToken(db.reader(), db.tables, uid, side)
}

// Begin starts a write transaction (BEGIN IMMEDIATE). It fails with [ErrReadOnly] on a
// read-only DB.
func (db *DB) Begin() (*Tx, error) {
	if db.readOnly || db.sql == nil {
		return nil, ErrReadOnly
	}
	tx, err := db.sql.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, fmt.Errorf("status: begin: %w", err)
	}
	return &Tx{db: db, tx: tx}, nil
}

// Update runs fn in a transaction: it commits if fn returns nil and rolls back if fn
// returns an error (which Update returns) or panics (the panic goes on).
func (db *DB) Update(fn func(*Tx) error) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return tx.Commit()
}

// The read queries, shared by DB and Tx. q is nil when there is no file.

func readMappings(q queryer, tables tableSet) ([]Mapping, error) {
	if q == nil || !tables[tableCollections] {
		return nil, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT uid, href_a, href_b FROM collections ORDER BY uid`)
	if err != nil {
		return nil, fmt.Errorf("status: reading mappings: %w", err)
	}
	defer rows.Close()
	var ms []Mapping
	for rows.Next() {
		var m Mapping
		if err := rows.Scan(&m.UID, &m.HrefA, &m.HrefB); err != nil {
			return nil, fmt.Errorf("status: reading mappings: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: reading mappings: %w", err)
	}
	return ms, nil
}

func findMapping(q queryer, tables tableSet, hrefA, hrefB string) (int64, bool, error) {
	if q == nil || !tables[tableCollections] {
		return 0, false, nil
	}
	var uid int64
	err := q.QueryRowContext(context.Background(),
		`SELECT uid FROM collections WHERE href_a = ? AND href_b = ?`, hrefA, hrefB).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("status: finding mapping %q ↔ %q: %w", hrefA, hrefB, err)
	}
	return uid, true, nil
}

func readRows(q queryer, tables tableSet, uid int64) ([]Row, error) {
	if q == nil || !tables[tableItems] {
		return nil, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT ident, hash, href_a, etag_a, href_b, etag_b FROM items WHERE mapping_uid = ? ORDER BY ident`, uid)
	if err != nil {
		return nil, fmt.Errorf("status: reading items of mapping %d: %w", uid, err)
	}
	defer rows.Close()
	var out []Row
	var etagA, etagB sql.NullString
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Ident, &r.Hash, &r.HrefA, &etagA, &r.HrefB, &etagB); err != nil {
			return nil, fmt.Errorf("status: reading items of mapping %d: %w", uid, err)
		}
		if !validHash(r.Hash) {
			return nil, fmt.Errorf("status: item %q of mapping %d: %w %q", r.Ident, uid, ErrInvalidHash, r.Hash)
		}
		r.ETagA, r.ETagB = etagA.String, etagB.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: reading items of mapping %d: %w", uid, err)
	}
	return out, nil
}

func readProperties(q queryer, tables tableSet, uid int64) (map[string]string, error) {
	props := map[string]string{}
	if q == nil || !tables[tableProperties] {
		return props, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT property, value FROM properties WHERE mapping_uid = ?`, uid)
	if err != nil {
		return nil, fmt.Errorf("status: reading properties of mapping %d: %w", uid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("status: reading properties of mapping %d: %w", uid, err)
		}
		props[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: reading properties of mapping %d: %w", uid, err)
	}
	return props, nil
}

func readToken(q queryer, tables tableSet, uid int64, side Side) (Token, bool, error) {
	if err := side.check(); err != nil {
		return Token{}, false, err
	}
	if q == nil || !tables[tableTokens] {
		return Token{}, false, nil
	}
	var t Token
	err := q.QueryRowContext(context.Background(),
		`SELECT href, kind, token, item_count FROM x_collection_tokens WHERE mapping_uid = ? AND side = ?`,
		uid, string(side)).Scan(&t.Href, &t.Kind, &t.Value, &t.ItemCount)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, false, nil
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("status: reading token of mapping %d side %s: %w", uid, side, err)
	}
	return t, true, nil
}

// Pending returns the writes in flight recorded for mapping uid that were never
// completed: ident → side written → the record.
func (db *DB) Pending(uid int64) (map[string]map[Side]Pending, error) {
	return readPending(db.reader(), db.tables, uid)
}

func readPending(q queryer, tables tableSet, uid int64) (map[string]map[Side]Pending, error) {
	out := map[string]map[Side]Pending{}
	if q == nil || !tables[tablePending] {
		return out, nil
	}
	cols, err := columns(context.Background(), q, tablePending)
	if err != nil {
		return nil, fmt.Errorf("status: reading pending writes of mapping %d: %w", uid, err)
	}
	query := `SELECT ident, side, hash, '', '', '', '', '', '' FROM x_pending_writes WHERE mapping_uid = ?`
	if cols["tgt_etag"] { // a file opened read-only before its columns were added
		query = `SELECT ident, side, hash, fingerprint, kind, src_href, src_etag, tgt_href, tgt_etag FROM x_pending_writes WHERE mapping_uid = ?`
	}
	rows, err := q.QueryContext(context.Background(), query, uid)
	if err != nil {
		return nil, fmt.Errorf("status: reading pending writes of mapping %d: %w", uid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Pending
		var side, kind string
		if err := rows.Scan(&p.Ident, &side, &p.Hash, &p.Fingerprint, &kind, &p.SrcHref, &p.SrcETag, &p.TgtHref, &p.TgtETag); err != nil {
			return nil, fmt.Errorf("status: reading pending writes of mapping %d: %w", uid, err)
		}
		p.Side, p.Create = Side(side), kind == "create"
		if out[p.Ident] == nil {
			out[p.Ident] = map[Side]Pending{}
		}
		out[p.Ident][p.Side] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: reading pending writes of mapping %d: %w", uid, err)
	}
	return out, nil
}

// validHash reports whether h is 64 upper-case hex digits.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// check returns an error unless s is SideA or SideB.
func (s Side) check() error {
	if s != SideA && s != SideB {
		return fmt.Errorf("status: invalid side %q", string(s))
	}
	return nil
}
