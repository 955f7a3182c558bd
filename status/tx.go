package status

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Tx is a write transaction on a status database. Its methods are safe for concurrent
// use by several goroutines (they are serialised). Each write statement is prepared once
// per Tx and reused, so many writes in one Tx are cheap.
//
// A Tx must end with [Tx.Commit] or [Tx.Rollback]; until then it holds the database's
// only connection (see the package documentation).
type Tx struct {
	db *DB

	mu    sync.Mutex
	tx    *sql.Tx
	stmts [numStmts]*sql.Stmt
	multi map[multiKey]*sql.Stmt // multi-row statements by kind and number of rows
}

// multiKey names a multi-row statement: its kind and how many rows it takes.
type multiKey struct {
	kind int
	rows int
}

// Indexes of the prepared write statements of a Tx.
const (
	stmtInsert = iota
	stmtUpdate
	stmtDelete
	stmtSetProperty
	stmtDeleteProperty
	stmtSetToken
	stmtDeleteToken
	stmtAddPending
	stmtDeletePending
	stmtClearPending
	numStmts
)

// stmtSQL is the text of each prepared statement (sync.md §3.5, §3.7).
var stmtSQL = [numStmts]string{
	stmtInsert: `INSERT INTO items(ident, mapping_uid, hash, href_a, etag_a, href_b, etag_b) VALUES (?, ?, ?, ?, ?, ?, ?)`,
	// Compare-and-swap: the row must still hold the old hrefs and etags. An old etag of
	// "" also matches a NULL etag (older files), because NULL reads back as "".
	stmtUpdate: `UPDATE items SET hash = ?, href_a = ?, etag_a = ?, href_b = ?, etag_b = ?` +
		` WHERE mapping_uid = ? AND ident = ?` +
		` AND href_a IS ? AND href_b IS ? AND COALESCE(etag_a, '') IS ? AND COALESCE(etag_b, '') IS ?`,
	stmtDelete:         `DELETE FROM items WHERE mapping_uid = ? AND ident = ?`,
	stmtSetProperty:    `INSERT OR REPLACE INTO properties(mapping_uid, href_a, href_b, property, value) VALUES (?, ?, ?, ?, ?)`,
	stmtDeleteProperty: `DELETE FROM properties WHERE mapping_uid = ? AND href_a = ? AND href_b = ? AND property = ?`,
	stmtSetToken:       `INSERT OR REPLACE INTO x_collection_tokens(mapping_uid, side, href, kind, token, item_count) VALUES (?, ?, ?, ?, ?, ?)`,
	stmtDeleteToken:    `DELETE FROM x_collection_tokens WHERE mapping_uid = ? AND side = ?`,
	stmtAddPending: `INSERT OR REPLACE INTO x_pending_writes(mapping_uid, ident, side, hash, fingerprint, kind, src_href, src_etag, tgt_href, tgt_etag)` +
		` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stmtDeletePending: `DELETE FROM x_pending_writes WHERE mapping_uid = ? AND ident = ? AND side = ?`,
	stmtClearPending:  `DELETE FROM x_pending_writes WHERE mapping_uid = ?`,
}

// exec runs prepared statement i with args; the caller holds tx.mu.
func (tx *Tx) exec(i int, args ...any) (sql.Result, error) {
	if tx.tx == nil {
		return nil, sql.ErrTxDone
	}
	st := tx.stmts[i]
	if st == nil {
		var err error
		if st, err = tx.tx.PrepareContext(context.Background(), stmtSQL[i]); err != nil {
			return nil, err
		}
		tx.stmts[i] = st
	}
	return st.ExecContext(context.Background(), args...)
}

// Commit commits the transaction.
func (tx *Tx) Commit() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.tx == nil {
		return sql.ErrTxDone
	}
	err := tx.tx.Commit() // also closes the prepared statements
	tx.end()
	if err != nil {
		return fmt.Errorf("status: commit: %w", err)
	}
	return nil
}

// Rollback aborts the transaction. After Commit or Rollback it returns sql.ErrTxDone,
// so "defer tx.Rollback()" is fine.
func (tx *Tx) Rollback() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.tx == nil {
		return sql.ErrTxDone
	}
	err := tx.tx.Rollback()
	tx.end()
	return err
}

func (tx *Tx) end() {
	tx.tx = nil
	tx.stmts = [numStmts]*sql.Stmt{}
	tx.multi = nil
}

// Multi-row statements: kinds, and how many rows one statement takes at most.
const (
	multiInsert = iota
	multiAddPending
	multiDeletePending
	multiRows = 64
)

// execMulti runs the multi-row statement of kind for n rows with args; the caller
// holds tx.mu.
func (tx *Tx) execMulti(kind, n int, args []any) error {
	if tx.tx == nil {
		return sql.ErrTxDone
	}
	k := multiKey{kind, n}
	st := tx.multi[k]
	if st == nil {
		var q strings.Builder
		switch kind {
		case multiInsert:
			q.WriteString(`INSERT INTO items(ident, mapping_uid, hash, href_a, etag_a, href_b, etag_b) VALUES `)
			repeat(&q, "(?, ?, ?, ?, ?, ?, ?)", ", ", n)
		case multiAddPending:
			q.WriteString(`INSERT OR REPLACE INTO x_pending_writes(mapping_uid, ident, side, hash, fingerprint, kind, src_href, src_etag, tgt_href, tgt_etag) VALUES `)
			repeat(&q, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", n)
		case multiDeletePending:
			q.WriteString(`DELETE FROM x_pending_writes WHERE mapping_uid = ? AND side = ? AND ident IN (`)
			repeat(&q, "?", ", ", n)
			q.WriteString(")")
		}
		var err error
		if st, err = tx.tx.PrepareContext(context.Background(), q.String()); err != nil {
			return err
		}
		if tx.multi == nil {
			tx.multi = map[multiKey]*sql.Stmt{}
		}
		tx.multi[k] = st
	}
	_, err := st.ExecContext(context.Background(), args...)
	return err
}

func repeat(b *strings.Builder, s, sep string, n int) {
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
}

// InsertMany is Insert of every row, in statements of up to 64 rows: the rows a
// large first sync records cost a fraction of a statement each. An error names no
// row; the transaction should be given up.
func (tx *Tx) InsertMany(uid int64, rows []Row) error {
	for _, r := range rows {
		if !validHash(r.Hash) {
			return fmt.Errorf("status: inserting %q: %w %q", r.Ident, ErrInvalidHash, r.Hash)
		}
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for chunk := range slices.Chunk(rows, multiRows) {
		args := make([]any, 0, 7*len(chunk))
		for _, r := range chunk {
			args = append(args, r.Ident, uid, r.Hash, r.HrefA, r.ETagA, r.HrefB, r.ETagB)
		}
		if err := tx.execMulti(multiInsert, len(chunk), args); err != nil {
			return fmt.Errorf("status: inserting %d rows (%q…) in mapping %d: %w", len(chunk), chunk[0].Ident, uid, err)
		}
	}
	return nil
}

// AddPendingMany is AddPending of every record, in statements of up to 64 records.
func (tx *Tx) AddPendingMany(uid int64, ps []Pending) error {
	for _, p := range ps {
		if err := p.Side.check(); err != nil {
			return err
		}
		if !validHash(p.Hash) {
			return fmt.Errorf("status: recording a pending write of %q: %w %q", p.Ident, ErrInvalidHash, p.Hash)
		}
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for chunk := range slices.Chunk(ps, multiRows) {
		args := make([]any, 0, 10*len(chunk))
		for _, p := range chunk {
			kind := "update"
			if p.Create {
				kind = "create"
			}
			args = append(args, uid, p.Ident, string(p.Side), p.Hash, p.Fingerprint, kind, p.SrcHref, p.SrcETag, p.TgtHref, p.TgtETag)
		}
		if err := tx.execMulti(multiAddPending, len(chunk), args); err != nil {
			return fmt.Errorf("status: recording %d pending writes (%s…) in mapping %d: %w", len(chunk), chunk[0].Ident, uid, err)
		}
	}
	return nil
}

// DeletePendingMany is DeletePending of every ident on side, in statements of up to
// 64 idents.
func (tx *Tx) DeletePendingMany(uid int64, side Side, idents []string) error {
	if err := side.check(); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for chunk := range slices.Chunk(idents, multiRows) {
		args := make([]any, 0, 2+len(chunk))
		args = append(args, uid, string(side))
		for _, id := range chunk {
			args = append(args, id)
		}
		if err := tx.execMulti(multiDeletePending, len(chunk), args); err != nil {
			return fmt.Errorf("status: clearing %d pending writes (%s…) in mapping %d: %w", len(chunk), chunk[0], uid, err)
		}
	}
	return nil
}

// AddMapping records a new mapping (hrefA, hrefB) and returns its uid. uids are never
// reused. Adding a mapping whose hrefA or hrefB is already used by another mapping fails
// (unique indexes); remove stale mappings first (sync.md §3.6).
func (tx *Tx) AddMapping(hrefA, hrefB string) (int64, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.tx == nil {
		return 0, sql.ErrTxDone
	}
	var uid int64
	err := tx.tx.QueryRowContext(context.Background(),
		`INSERT INTO collections(href_a, href_b) VALUES (?, ?) RETURNING uid`, hrefA, hrefB).Scan(&uid)
	if err != nil {
		return 0, fmt.Errorf("status: adding mapping %q ↔ %q: %w", hrefA, hrefB, err)
	}
	return uid, nil
}

// ForgetMapping removes mapping uid and everything recorded for it: its items, its
// properties, its change tokens, then its collections row. It is atomic with the rest
// of the transaction.
func (tx *Tx) ForgetMapping(uid int64) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.tx == nil {
		return sql.ErrTxDone
	}
	for _, q := range []string{
		`DELETE FROM items WHERE mapping_uid = ?`,
		`DELETE FROM properties WHERE mapping_uid = ?`,
		`DELETE FROM x_collection_tokens WHERE mapping_uid = ?`,
		`DELETE FROM x_pending_writes WHERE mapping_uid = ?`,
		`DELETE FROM x_property_aliases WHERE mapping_uid = ?`,
		`DELETE FROM x_property_refused WHERE mapping_uid = ?`,
		`DELETE FROM x_item_base WHERE mapping_uid = ?`,
		`DELETE FROM collections WHERE uid = ?`,
	} {
		if _, err := tx.tx.ExecContext(context.Background(), q, uid); err != nil {
			return fmt.Errorf("status: forgetting mapping %d: %w", uid, err)
		}
	}
	return nil
}

// Insert adds the item row r to mapping uid. Empty etags are stored as the empty string, never as NULL.
// It fails if the mapping does not exist, if the ident already has a row in the mapping,
// or if r.HrefA is already used by any row of the pair (the unique by_href index; apply
// deletes before inserts). r.Hash must be 64 upper-case hex digits.
func (tx *Tx) Insert(uid int64, r Row) error {
	if !validHash(r.Hash) {
		return fmt.Errorf("status: inserting %q: %w %q", r.Ident, ErrInvalidHash, r.Hash)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtInsert, r.Ident, uid, r.Hash, r.HrefA, r.ETagA, r.HrefB, r.ETagB); err != nil {
		return fmt.Errorf("status: inserting %q in mapping %d: %w", r.Ident, uid, err)
	}
	return nil
}

// Update replaces the row of old.Ident in mapping uid with next, but only if the row still
// holds old's hrefs and etags (compare-and-swap, sync.md §3.5); the hash is not compared.
// If no row matches, the error matches [ErrNoUpdate].
//
// Comparison uses IS, so it is NULL-safe. A NULL etag in the file (written by an older
// tool) matches an old etag of "", since [DB.Rows] reads NULL as "". The new etags are
// written as given ("" as the empty string, never as NULL). next.Ident must equal
// old.Ident: an item's ident never changes. next.Hash must be 64 upper-case hex digits.
func (tx *Tx) Update(uid int64, old, next Row) error {
	if next.Ident != old.Ident {
		return fmt.Errorf("status: updating %q: ident cannot change to %q", old.Ident, next.Ident)
	}
	if !validHash(next.Hash) {
		return fmt.Errorf("status: updating %q: %w %q", old.Ident, ErrInvalidHash, next.Hash)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	res, err := tx.exec(stmtUpdate,
		next.Hash, next.HrefA, next.ETagA, next.HrefB, next.ETagB,
		uid, old.Ident, old.HrefA, old.HrefB, old.ETagA, old.ETagB)
	if err != nil {
		return fmt.Errorf("status: updating %q in mapping %d: %w", old.Ident, uid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("status: updating %q in mapping %d: %w", old.Ident, uid, err)
	}
	if n == 0 {
		return fmt.Errorf("status: updating %q in mapping %d: %w", old.Ident, uid, ErrNoUpdate)
	}
	return nil
}

// Delete removes the row of ident in mapping uid. Deleting a row that does not exist is
// not an error.
func (tx *Tx) Delete(uid int64, ident string) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtDelete, uid, ident); err != nil {
		return fmt.Errorf("status: deleting %q from mapping %d: %w", ident, uid, err)
	}
	return nil
}

// SetProperty records value as the last synced value of property name of mapping uid,
// whose collections are hrefA and hrefB (INSERT OR REPLACE).
func (tx *Tx) SetProperty(uid int64, hrefA, hrefB, name, value string) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtSetProperty, uid, hrefA, hrefB, name, value); err != nil {
		return fmt.Errorf("status: setting property %q of mapping %d: %w", name, uid, err)
	}
	return nil
}

// DeleteProperty forgets property name of mapping uid.
func (tx *Tx) DeleteProperty(uid int64, hrefA, hrefB, name string) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtDeleteProperty, uid, hrefA, hrefB, name); err != nil {
		return fmt.Errorf("status: deleting property %q of mapping %d: %w", name, uid, err)
	}
	return nil
}

// SetToken saves (or replaces) the change token of one side of mapping uid
// (x_collection_tokens, sync.md §3.7, §13.4).
func (tx *Tx) SetToken(uid int64, side Side, t Token) error {
	if err := side.check(); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtSetToken, uid, string(side), t.Href, t.Kind, t.Value, t.ItemCount); err != nil {
		return fmt.Errorf("status: saving token of mapping %d side %s: %w", uid, side, err)
	}
	return nil
}

// DeleteToken removes the change token of one side of mapping uid, if there is one.
func (tx *Tx) DeleteToken(uid int64, side Side) error {
	if err := side.check(); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtDeleteToken, uid, string(side)); err != nil {
		return fmt.Errorf("status: deleting token of mapping %d side %s: %w", uid, side, err)
	}
	return nil
}

// AddPending records a write about to start (x_pending_writes), replacing an older
// record of the same ident and side.
func (tx *Tx) AddPending(uid int64, p Pending) error {
	if err := p.Side.check(); err != nil {
		return err
	}
	if !validHash(p.Hash) {
		return fmt.Errorf("status: recording a pending write of %q: %w %q", p.Ident, ErrInvalidHash, p.Hash)
	}
	kind := "update"
	if p.Create {
		kind = "create"
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtAddPending, uid, p.Ident, string(p.Side), p.Hash, p.Fingerprint, kind,
		p.SrcHref, p.SrcETag, p.TgtHref, p.TgtETag); err != nil {
		return fmt.Errorf("status: recording a pending write for %s in mapping %d: %w", p.Ident, uid, err)
	}
	return nil
}

// DeletePending removes the record of a pending write once its outcome is known.
func (tx *Tx) DeletePending(uid int64, side Side, ident string) error {
	if err := side.check(); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtDeletePending, uid, ident, string(side)); err != nil {
		return fmt.Errorf("status: clearing a pending write for %s in mapping %d: %w", ident, uid, err)
	}
	return nil
}

// ClearPending removes every pending-write record of mapping uid.
func (tx *Tx) ClearPending(uid int64) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, err := tx.exec(stmtClearPending, uid); err != nil {
		return fmt.Errorf("status: clearing pending writes of mapping %d: %w", uid, err)
	}
	return nil
}

// Reads inside the transaction. They see the transaction's own writes. Use these rather
// than the DB methods while a Tx is open.

// reader returns the transaction for reading; the caller holds tx.mu.
func (tx *Tx) reader() (queryer, error) {
	if tx.tx == nil {
		return nil, sql.ErrTxDone
	}
	return tx.tx, nil
}

// Mappings is [DB.Mappings] inside the transaction.
func (tx *Tx) Mappings() ([]Mapping, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	q, err := tx.reader()
	if err != nil {
		return nil, err
	}
	return readMappings(q, tx.db.tables)
}

// FindMapping is [DB.FindMapping] inside the transaction.
func (tx *Tx) FindMapping(hrefA, hrefB string) (uid int64, ok bool, err error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	q, err := tx.reader()
	if err != nil {
		return 0, false, err
	}
	return findMapping(q, tx.db.tables, hrefA, hrefB)
}

// Rows is [DB.Rows] inside the transaction.
func (tx *Tx) Rows(uid int64) ([]Row, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	q, err := tx.reader()
	if err != nil {
		return nil, err
	}
	return readRows(q, tx.db.tables, uid)
}

// Properties is [DB.Properties] inside the transaction.
func (tx *Tx) Properties(uid int64) (map[string]string, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	q, err := tx.reader()
	if err != nil {
		return nil, err
	}
	return readProperties(q, tx.db.tables, uid)
}

// Token is [DB.Token] inside the transaction.
func (tx *Tx) Token(uid int64, side Side) (Token, bool, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	q, err := tx.reader()
	if err != nil {
		return Token{}, false, err
	}
	return readToken(q, tx.db.tables, uid, side)
}
