package status

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
)

// TestRowSetArena: a large RowSet keeps its rows outside the Go heap, finds them there,
// and Close gives the memory back (twice is harmless); one dropped without Close is
// given back by the garbage collector.
func TestRowSetArena(t *testing.T) {
	db, err := OpenWrite(filepath.Join(t.TempDir(), "p.status"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 5000
	var uid int64
	err = db.Update(func(tx *Tx) error {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		for i := range n {
			id := fmt.Sprintf("uid-%05d-%s", i, "0123456789012345678901234567890123456789")
			r := Row{Ident: id, Hash: fmt.Sprintf("%064X", i), HrefA: "a/" + id + ".ics", ETagA: fmt.Sprint(i), HrefB: "/b/" + id + ".ics", ETagB: fmt.Sprint(-i)}
			if err := tx.Insert(uid, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		sets, err := db.RowSets()
		if err != nil {
			t.Fatal(err)
		}
		rs := sets[uid]
		if len(rs.mapped) == 0 {
			t.Fatalf("%d rows, and nothing outside the Go heap", rs.Len())
		}
		for i := range rs.Len() {
			r := rs.Row(i)
			if j, ok := rs.FindHref(SideB, []byte(r.HrefB)); !ok || j != i {
				t.Fatalf("row %d not found by href b", i)
			}
		}
		if round == 0 {
			rs.Close()
			rs.Close()
			if rs.Len() != 0 {
				t.Fatal("a closed RowSet still has rows")
			}
			continue
		}
		sets, rs = nil, nil // dropped: the cleanup gives the arena back
		runtime.GC()
		runtime.GC()
	}
}
