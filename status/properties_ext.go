package status

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// PropertyAlias says that side reports value Reported for a property but means Meant
// ("" = absent): a value the storage invented, or its normalised form of one we wrote.
type PropertyAlias struct {
	Side     Side
	Property string
	Reported string
	Meant    string
}

// PropertyRefusal is a property value a storage refused to store.
type PropertyRefusal struct {
	Side     Side
	Property string
	Value    string // "" for a removal
	Reason   string
}

// PropertyAliases returns the aliases of mapping uid.
func (db *DB) PropertyAliases(uid int64) ([]PropertyAlias, error) {
	q := db.reader()
	if q == nil || !db.tables[tableAliases] {
		return nil, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT side, property, reported, meant FROM x_property_aliases WHERE mapping_uid = ? ORDER BY side, property`, uid)
	if err != nil {
		return nil, fmt.Errorf("status: reading property aliases of mapping %d: %w", uid, err)
	}
	defer rows.Close()
	var out []PropertyAlias
	for rows.Next() {
		var a PropertyAlias
		var side string
		if err := rows.Scan(&side, &a.Property, &a.Reported, &a.Meant); err != nil {
			return nil, fmt.Errorf("status: reading property aliases of mapping %d: %w", uid, err)
		}
		a.Side = Side(side)
		out = append(out, a)
	}
	return out, rows.Err()
}

// PropertyRefusals returns the refused property values of mapping uid.
func (db *DB) PropertyRefusals(uid int64) ([]PropertyRefusal, error) {
	q := db.reader()
	if q == nil || !db.tables[tableRefused] {
		return nil, nil
	}
	rows, err := q.QueryContext(context.Background(),
		`SELECT side, property, value, reason FROM x_property_refused WHERE mapping_uid = ? ORDER BY side, property`, uid)
	if err != nil {
		return nil, fmt.Errorf("status: reading refused properties of mapping %d: %w", uid, err)
	}
	defer rows.Close()
	var out []PropertyRefusal
	for rows.Next() {
		var r PropertyRefusal
		var side string
		if err := rows.Scan(&side, &r.Property, &r.Value, &r.Reason); err != nil {
			return nil, fmt.Errorf("status: reading refused properties of mapping %d: %w", uid, err)
		}
		r.Side = Side(side)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PendingCollections returns the collection creations in flight: side → href → the
// properties sent with the creation.
func (db *DB) PendingCollections() (map[Side]map[string]map[string]string, error) {
	out := map[Side]map[string]map[string]string{}
	q := db.reader()
	if q == nil || !db.tables[tablePendingColl] {
		return out, nil
	}
	rows, err := q.QueryContext(context.Background(), `SELECT side, href, props FROM x_pending_collections`)
	if err != nil {
		return nil, fmt.Errorf("status: reading pending collections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var side, href, raw string
		if err := rows.Scan(&side, &href, &raw); err != nil {
			return nil, fmt.Errorf("status: reading pending collections: %w", err)
		}
		props := map[string]string{}
		if err := json.Unmarshal([]byte(raw), &props); err != nil {
			return nil, fmt.Errorf("status: reading pending collection %s: %w", href, err)
		}
		if out[Side(side)] == nil {
			out[Side(side)] = map[string]map[string]string{}
		}
		out[Side(side)][href] = props
	}
	return out, rows.Err()
}

// SetPropertyAlias records (or replaces) the alias of one property on one side.
func (tx *Tx) SetPropertyAlias(uid int64, a PropertyAlias) error {
	return tx.extExec(a.Side, "recording a property alias",
		`INSERT OR REPLACE INTO x_property_aliases(mapping_uid, side, property, reported, meant) VALUES (?, ?, ?, ?, ?)`,
		uid, string(a.Side), a.Property, a.Reported, a.Meant)
}

// DeletePropertyAlias forgets the alias of one property on one side.
func (tx *Tx) DeletePropertyAlias(uid int64, side Side, property string) error {
	return tx.extExec(side, "forgetting a property alias",
		`DELETE FROM x_property_aliases WHERE mapping_uid = ? AND side = ? AND property = ?`, uid, string(side), property)
}

// SetPropertyRefused records that side refused to store a property value.
func (tx *Tx) SetPropertyRefused(uid int64, r PropertyRefusal) error {
	return tx.extExec(r.Side, "recording a refused property",
		`INSERT OR REPLACE INTO x_property_refused(mapping_uid, side, property, value, reason) VALUES (?, ?, ?, ?, ?)`,
		uid, string(r.Side), r.Property, r.Value, r.Reason)
}

// DeletePropertyRefused forgets a refusal (the value changed, or was stored after all).
func (tx *Tx) DeletePropertyRefused(uid int64, side Side, property string) error {
	return tx.extExec(side, "forgetting a refused property",
		`DELETE FROM x_property_refused WHERE mapping_uid = ? AND side = ? AND property = ?`, uid, string(side), property)
}

// AddPendingCollection records that a collection is about to be created at href on side
// with props.
func (tx *Tx) AddPendingCollection(side Side, href string, props map[string]string) error {
	if props == nil {
		props = map[string]string{}
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return err
	}
	return tx.extExec(side, "recording a collection creation",
		`INSERT OR REPLACE INTO x_pending_collections(side, href, props) VALUES (?, ?, ?)`, string(side), href, string(raw))
}

// DeletePendingCollection forgets a collection creation once its outcome is recorded.
func (tx *Tx) DeletePendingCollection(side Side, href string) error {
	return tx.extExec(side, "clearing a collection creation",
		`DELETE FROM x_pending_collections WHERE side = ? AND href = ?`, string(side), href)
}

func (tx *Tx) extExec(side Side, what, query string, args ...any) error {
	if err := side.check(); err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.tx == nil {
		return fmt.Errorf("status: %s: transaction is closed", what)
	}
	if _, err := tx.tx.ExecContext(context.Background(), query, args...); err != nil {
		return fmt.Errorf("status: %s: %w", what, err)
	}
	return nil
}

// Base returns the last synced text of ident in mapping uid, if it was kept and still
// belongs to the status hash given.
func (db *DB) Base(uid int64, ident, hash string) (string, bool, error) {
	q := db.reader()
	if q == nil || !db.tables[tableBase] {
		return "", false, nil
	}
	var text, h string
	err := q.QueryRowContext(context.Background(),
		`SELECT hash, text FROM x_item_base WHERE mapping_uid = ? AND ident = ?`, uid, ident).Scan(&h, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("status: reading the base of %s: %w", ident, err)
	}
	return text, h == hash, nil
}

// SetBase keeps text as the last synced content of ident (whose status hash is hash).
func (tx *Tx) SetBase(uid int64, ident, hash, text string) error {
	return tx.extExec(SideA, "keeping the base of "+ident,
		`INSERT OR REPLACE INTO x_item_base(mapping_uid, ident, hash, text) VALUES (?, ?, ?, ?)`, uid, ident, hash, text)
}

// DeleteBase forgets the base of ident.
func (tx *Tx) DeleteBase(uid int64, ident string) error {
	return tx.extExec(SideA, "forgetting the base of "+ident,
		`DELETE FROM x_item_base WHERE mapping_uid = ? AND ident = ?`, uid, ident)
}
