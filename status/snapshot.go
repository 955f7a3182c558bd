package status

import (
	"context"
	"fmt"
)

// Snapshot is everything the status holds about a pair's mappings, read once: one query
// per table rather than a handful per mapping, so that planning a pair of many
// collections costs a few queries, not a few per collection (and none scans a table
// once per mapping).
type Snapshot struct {
	Mappings           []Mapping
	PendingCollections map[Side]map[string]map[string]string

	uids     map[[2]string]int64
	rows     map[int64]*RowSet
	props    map[int64]map[string]string
	pending  map[int64]map[string]map[Side]Pending
	aliases  map[int64][]PropertyAlias
	refusals map[int64][]PropertyRefusal
	tokens   map[int64]map[Side]Token
}

// Snapshot reads the whole status of the pair. Its RowSets are given back by Close.
func (db *DB) Snapshot() (*Snapshot, error) {
	s := &Snapshot{}
	var err error
	if s.Mappings, err = db.Mappings(); err != nil {
		return nil, err
	}
	s.uids = make(map[[2]string]int64, len(s.Mappings))
	for _, m := range s.Mappings {
		s.uids[[2]string{m.HrefA, m.HrefB}] = m.UID
	}
	if s.PendingCollections, err = db.PendingCollections(); err != nil {
		return nil, err
	}
	if s.rows, err = db.RowSets(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Snapshot, error) {
		s.Close()
		return nil, err
	}
	q := db.reader()
	if q == nil {
		return s, nil
	}
	ctx := context.Background()
	s.props = map[int64]map[string]string{}
	if db.tables[tableProperties] {
		err := scanAll(ctx, q, "properties", `SELECT mapping_uid, property, value FROM properties`, func(sc scanner) error {
			var uid int64
			var name, value string
			if err := sc.Scan(&uid, &name, &value); err != nil {
				return err
			}
			if s.props[uid] == nil {
				s.props[uid] = map[string]string{}
			}
			s.props[uid][name] = value
			return nil
		})
		if err != nil {
			return fail(err)
		}
	}
	s.pending = map[int64]map[string]map[Side]Pending{}
	if db.tables[tablePending] {
		cols, err := columns(ctx, q, tablePending)
		if err != nil {
			return fail(fmt.Errorf("status: reading pending writes: %w", err))
		}
		query := `SELECT mapping_uid, ident, side, hash, '', '', '', '', '', '' FROM x_pending_writes`
		if cols["tgt_etag"] { // a file opened read-only before its columns were added
			query = `SELECT mapping_uid, ident, side, hash, fingerprint, kind, src_href, src_etag, tgt_href, tgt_etag FROM x_pending_writes`
		}
		err = scanAll(ctx, q, "pending writes", query, func(sc scanner) error {
			var uid int64
			var p Pending
			var side, kind string
			if err := sc.Scan(&uid, &p.Ident, &side, &p.Hash, &p.Fingerprint, &kind, &p.SrcHref, &p.SrcETag, &p.TgtHref, &p.TgtETag); err != nil {
				return err
			}
			p.Side, p.Create = Side(side), kind == "create"
			if s.pending[uid] == nil {
				s.pending[uid] = map[string]map[Side]Pending{}
			}
			if s.pending[uid][p.Ident] == nil {
				s.pending[uid][p.Ident] = map[Side]Pending{}
			}
			s.pending[uid][p.Ident][p.Side] = p
			return nil
		})
		if err != nil {
			return fail(err)
		}
	}
	s.aliases = map[int64][]PropertyAlias{}
	if db.tables[tableAliases] {
		err := scanAll(ctx, q, "property aliases",
			`SELECT mapping_uid, side, property, reported, meant FROM x_property_aliases ORDER BY mapping_uid, side, property`, func(sc scanner) error {
				var uid int64
				var a PropertyAlias
				var side string
				if err := sc.Scan(&uid, &side, &a.Property, &a.Reported, &a.Meant); err != nil {
					return err
				}
				a.Side = Side(side)
				s.aliases[uid] = append(s.aliases[uid], a)
				return nil
			})
		if err != nil {
			return fail(err)
		}
	}
	s.refusals = map[int64][]PropertyRefusal{}
	if db.tables[tableRefused] {
		err := scanAll(ctx, q, "refused properties",
			`SELECT mapping_uid, side, property, value, reason FROM x_property_refused ORDER BY mapping_uid, side, property`, func(sc scanner) error {
				var uid int64
				var r PropertyRefusal
				var side string
				if err := sc.Scan(&uid, &side, &r.Property, &r.Value, &r.Reason); err != nil {
					return err
				}
				r.Side = Side(side)
				s.refusals[uid] = append(s.refusals[uid], r)
				return nil
			})
		if err != nil {
			return fail(err)
		}
	}
	s.tokens = map[int64]map[Side]Token{}
	if db.tables[tableTokens] {
		err := scanAll(ctx, q, "tokens", `SELECT mapping_uid, side, href, kind, token, item_count FROM x_collection_tokens`, func(sc scanner) error {
			var uid int64
			var t Token
			var side string
			if err := sc.Scan(&uid, &side, &t.Href, &t.Kind, &t.Value, &t.ItemCount); err != nil {
				return err
			}
			if s.tokens[uid] == nil {
				s.tokens[uid] = map[Side]Token{}
			}
			s.tokens[uid][Side(side)] = t
			return nil
		})
		if err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// scanner is what scanAll's callback reads a row with.
type scanner interface{ Scan(dest ...any) error }

// scanAll runs query and calls fn for each row.
func scanAll(ctx context.Context, q queryer, what, query string, fn func(scanner) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("status: reading %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("status: reading %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("status: reading %s: %w", what, err)
	}
	return nil
}

// Close gives back the memory of the snapshot's RowSets.
func (s *Snapshot) Close() {
	if s == nil {
		return
	}
	for _, rs := range s.rows {
		rs.Close()
	}
}

// FindMapping is [DB.FindMapping] in the snapshot.
func (s *Snapshot) FindMapping(hrefA, hrefB string) (int64, bool) {
	uid, ok := s.uids[[2]string{hrefA, hrefB}]
	return uid, ok
}

// Rows returns the item rows of mapping uid (nil when it has none).
func (s *Snapshot) Rows(uid int64) *RowSet { return s.rows[uid] }

// Properties is [DB.Properties] in the snapshot.
func (s *Snapshot) Properties(uid int64) map[string]string {
	if p := s.props[uid]; p != nil {
		return p
	}
	return map[string]string{}
}

// Pending is [DB.Pending] in the snapshot.
func (s *Snapshot) Pending(uid int64) map[string]map[Side]Pending {
	if p := s.pending[uid]; p != nil {
		return p
	}
	return map[string]map[Side]Pending{}
}

// PropertyAliases is [DB.PropertyAliases] in the snapshot.
func (s *Snapshot) PropertyAliases(uid int64) []PropertyAlias { return s.aliases[uid] }

// PropertyRefusals is [DB.PropertyRefusals] in the snapshot.
func (s *Snapshot) PropertyRefusals(uid int64) []PropertyRefusal { return s.refusals[uid] }

// Token is [DB.Token] in the snapshot.
func (s *Snapshot) Token(uid int64, side Side) (Token, bool) {
	t, ok := s.tokens[uid][side]
	return t, ok
}
