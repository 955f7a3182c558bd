package status_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/status"
)

// TestRowSets: one pass over the items table gives every mapping's rows, exactly as
// Rows reads them (NULL etags as ""), findable by href on each side and by ident.
func TestRowSets(t *testing.T) {
	path := statusFile(t)
	db := openWrite(t, path)
	var uids [3]int64
	want := map[int64][]status.Row{}
	update(t, db, func(tx *status.Tx) error {
		for m := range uids {
			uid, err := tx.AddMapping(fmt.Sprint("a", m), fmt.Sprint("b", m))
			if err != nil {
				return err
			}
			uids[m] = uid
			if m == 2 {
				continue // a mapping without rows
			}
			for i := range 300 {
				id := fmt.Sprintf("uid-%d-%d", m, i)
				etagB := fmt.Sprint("e", i)
				if i%7 == 0 {
					etagB = "" // must be fetched
				}
				r := row(id, fmt.Sprintf("a%d/%s.ics", m, id), fmt.Sprintf("%d;%d;%d", i, i, i), fmt.Sprintf("/dav/b%d/%s.ics", m, id), etagB)
				if err := tx.Insert(uid, r); err != nil {
					return err
				}
				want[uid] = append(want[uid], r)
			}
		}
		return nil
	})
	raw := rawOpen(t, path)
	mustExec(t, raw, `UPDATE items SET etag_a = NULL WHERE ident = 'uid-0-5'`)
	raw.Close()
	for i, r := range want[uids[0]] {
		if r.Ident == "uid-0-5" {
			want[uids[0]][i].ETagA = ""
		}
	}

	sets, err := db.RowSets()
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[uids[2]] != nil {
		t.Fatalf("RowSets gave %d mappings, want the 2 with rows", len(sets))
	}
	for _, uid := range uids[:2] {
		rs := sets[uid]
		if rs.Len() != len(want[uid]) {
			t.Fatalf("mapping %d: %d rows, want %d", uid, rs.Len(), len(want[uid]))
		}
		var got []status.Row
		for i := range rs.Len() {
			r := rs.Row(i)
			got = append(got, r)
			if j, ok := rs.FindHref(status.SideA, []byte(r.HrefA)); !ok || j != i {
				t.Errorf("FindHref(a, %q) = %d, %v; want %d", r.HrefA, j, ok, i)
			}
			if j, ok := rs.FindHref(status.SideB, []byte(r.HrefB)); !ok || j != i {
				t.Errorf("FindHref(b, %q) = %d, %v; want %d", r.HrefB, j, ok, i)
			}
			if j, ok := rs.FindIdent(r.Ident); !ok || j != i || rs.Ident(i) != r.Ident {
				t.Errorf("FindIdent(%q) = %d, %v; want %d", r.Ident, j, ok, i)
			}
			if !rs.ETagIs(i, status.SideA, []byte(r.ETagA)) || !rs.ETagIs(i, status.SideB, []byte(r.ETagB)) || rs.ETagIs(i, status.SideA, []byte("x")) {
				t.Errorf("ETagIs of row %q", r.Ident)
			}
			if !rs.HrefIs(i, status.SideB, r.HrefB) || rs.Href(i, status.SideA) != r.HrefA || rs.HrefIs(i, status.SideA, r.HrefB) {
				t.Errorf("Href of row %q", r.Ident)
			}
		}
		slices.SortFunc(got, func(x, y status.Row) int { return strings.Compare(x.Ident, y.Ident) })
		equalRows(t, got, mustRows(t, db, uid))
		if _, ok := rs.FindHref(status.SideA, []byte(want[uid][0].HrefB)); ok {
			t.Error("FindHref found side b's href on side a")
		}
		if _, ok := rs.FindIdent("nobody"); ok {
			t.Error("FindIdent found an ident that is not there")
		}
	}
	if n := sets[uids[0]].EmptyETags(status.SideA); n != 1 {
		t.Errorf("EmptyETags(a) = %d, want 1 (the NULL)", n)
	}
	if n := sets[uids[1]].EmptyETags(status.SideB); n != 43 {
		t.Errorf("EmptyETags(b) = %d, want 43", n)
	}
	var none *status.RowSet
	if none.Len() != 0 || none.EmptyETags(status.SideA) != 0 {
		t.Error("a nil RowSet is not empty")
	}
	if _, ok := none.FindHref(status.SideA, []byte("x")); ok {
		t.Error("a nil RowSet finds an href")
	}

	// A bad hash is refused, naming the item.
	raw = rawOpen(t, path)
	mustExec(t, raw, `UPDATE items SET hash = 'abc' WHERE ident = 'uid-1-3'`)
	raw.Close()
	if _, err := db.RowSets(); err == nil || !strings.Contains(err.Error(), "uid-1-3") {
		t.Fatalf("RowSets with a bad hash: %v", err)
	}
}

// TestRowSetsMissingFile: a read-only open of a missing file has no rows.
func TestRowSetsMissingFile(t *testing.T) {
	db, err := status.OpenRead(statusFile(t))
	if err != nil {
		t.Fatal(err)
	}
	sets, err := db.RowSets()
	if err != nil || len(sets) != 0 {
		t.Fatalf("RowSets = %v, %v", sets, err)
	}
}

// TestMany: the multi-row writes leave exactly what the one-row writes leave, across
// statement boundaries (64 rows), and refuse what those refuse.
func TestMany(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var uid int64
	var rows []status.Row
	var pend []status.Pending
	for i := range 150 {
		id := fmt.Sprintf("id-%03d", i)
		rows = append(rows, row(id, "a/"+id+".ics", fmt.Sprint("ea", i), "/b/"+id+".ics", ""))
		pend = append(pend, status.Pending{Ident: id, Side: status.SideB, Hash: hashOf(id), Fingerprint: "fp" + id,
			Create: i%2 == 0, SrcHref: "a/" + id + ".ics", SrcETag: "e", TgtHref: "t", TgtETag: "te"})
	}
	update(t, db, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		if err := tx.InsertMany(uid, rows); err != nil {
			return err
		}
		return tx.AddPendingMany(uid, pend)
	})
	equalRows(t, mustRows(t, db, uid), rows)
	got, err := db.Pending(uid)
	if err != nil || len(got) != 150 {
		t.Fatalf("Pending: %d records, %v", len(got), err)
	}
	for _, p := range pend {
		if got[p.Ident][status.SideB] != p {
			t.Fatalf("pending %s = %+v, want %+v", p.Ident, got[p.Ident][status.SideB], p)
		}
	}
	var drop []string
	for _, p := range pend[:100] {
		drop = append(drop, p.Ident)
	}
	update(t, db, func(tx *status.Tx) error {
		if err := tx.DeletePendingMany(uid, status.SideA, drop); err != nil { // the other side: nothing
			return err
		}
		return tx.DeletePendingMany(uid, status.SideB, drop)
	})
	if got, _ := db.Pending(uid); len(got) != 50 || got["id-099"] != nil || got["id-100"] == nil {
		t.Fatalf("after deleting 100 of 150: %d left", len(got))
	}
	err = db.Update(func(tx *status.Tx) error { return tx.InsertMany(uid, rows[140:141]) })
	if err == nil {
		t.Fatal("InsertMany of an ident already there succeeded")
	}
	bad := rows[0]
	bad.Ident, bad.HrefA, bad.Hash = "new", "a/new.ics", "abc"
	if err := db.Update(func(tx *status.Tx) error { return tx.InsertMany(uid, []status.Row{bad}) }); !errors.Is(err, status.ErrInvalidHash) {
		t.Fatalf("InsertMany of a bad hash: %v", err)
	}
	equalRows(t, mustRows(t, db, uid), rows)
}

// TestSnapshot: one read of the pair's status gives, for every mapping, what the
// per-mapping readers give.
func TestSnapshot(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var uids []int64
	update(t, db, func(tx *status.Tx) error {
		for m := range 3 {
			uid, err := tx.AddMapping(fmt.Sprint("a", m), fmt.Sprint("b", m))
			if err != nil {
				return err
			}
			uids = append(uids, uid)
			if m == 2 {
				continue // nothing but the mapping
			}
			for i := range 3 {
				id := fmt.Sprintf("u%d-%d", m, i)
				if err := tx.Insert(uid, row(id, fmt.Sprintf("a%d/%s", m, id), "e", "/b/"+id, "f")); err != nil {
					return err
				}
				if err := tx.AddPending(uid, status.Pending{Ident: id, Side: status.SideB, Hash: hashOf(id), Fingerprint: "x", Create: i == 0}); err != nil {
					return err
				}
			}
			if err := tx.SetProperty(uid, fmt.Sprint("a", m), fmt.Sprint("b", m), "displayname", fmt.Sprint("Name ", m)); err != nil {
				return err
			}
			if err := tx.SetPropertyAlias(uid, status.PropertyAlias{Side: status.SideB, Property: "color", Reported: "#fff", Meant: fmt.Sprint(m)}); err != nil {
				return err
			}
			if err := tx.SetPropertyRefused(uid, status.PropertyRefusal{Side: status.SideA, Property: "order", Value: "1", Reason: "no"}); err != nil {
				return err
			}
			if err := tx.SetToken(uid, status.SideB, status.Token{Href: "/b", Kind: "sync-token", Value: fmt.Sprint("t", m), ItemCount: 3}); err != nil {
				return err
			}
		}
		return tx.AddPendingCollection(status.SideB, "/new/", map[string]string{"displayname": "N"})
	})
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	ms, _ := db.Mappings()
	if !reflect.DeepEqual(snap.Mappings, ms) {
		t.Errorf("Mappings = %v, want %v", snap.Mappings, ms)
	}
	pc, _ := db.PendingCollections()
	if !reflect.DeepEqual(snap.PendingCollections, pc) {
		t.Errorf("PendingCollections = %v, want %v", snap.PendingCollections, pc)
	}
	for m, uid := range uids {
		if got, ok := snap.FindMapping(fmt.Sprint("a", m), fmt.Sprint("b", m)); !ok || got != uid {
			t.Errorf("FindMapping(a%d, b%d) = %d, %v", m, m, got, ok)
		}
		if got, want := snap.Rows(uid).Len(), len(mustRows(t, db, uid)); got != want {
			t.Errorf("mapping %d: %d rows, want %d", uid, got, want)
		}
		props, _ := db.Properties(uid)
		pend, _ := db.Pending(uid)
		al, _ := db.PropertyAliases(uid)
		ref, _ := db.PropertyRefusals(uid)
		if !reflect.DeepEqual(snap.Properties(uid), props) || !reflect.DeepEqual(snap.Pending(uid), pend) ||
			!reflect.DeepEqual(snap.PropertyAliases(uid), al) || !reflect.DeepEqual(snap.PropertyRefusals(uid), ref) {
			t.Errorf("mapping %d: snapshot %v %v %v %v, want %v %v %v %v", uid, snap.Properties(uid), snap.Pending(uid),
				snap.PropertyAliases(uid), snap.PropertyRefusals(uid), props, pend, al, ref)
		}
		for _, side := range []status.Side{status.SideA, status.SideB} {
			tok, ok, _ := db.Token(uid, side)
			if got, gok := snap.Token(uid, side); got != tok || gok != ok {
				t.Errorf("Token(%d, %s) = %v, %v; want %v, %v", uid, side, got, gok, tok, ok)
			}
		}
	}
	if _, ok := snap.FindMapping("a0", "b1"); ok {
		t.Error("FindMapping found a mapping that does not exist")
	}
}
