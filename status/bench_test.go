package status_test

import (
	"strconv"
	"testing"

	"github.com/pimsync-go/pimsync/status"
)

const benchRows = 10000

// benchRowsFor returns benchRows rows whose hrefs are unique to prefix.
func benchRowsFor(prefix string) []status.Row {
	rs := make([]status.Row, benchRows)
	for i := range rs {
		id := prefix + "-" + strconv.Itoa(i) + "@example.com"
		rs[i] = status.Row{
			Ident: id,
			Hash:  hashOf(id),
			HrefA: "/dav/calendars/alice/" + prefix + "/" + id + ".ics",
			ETagA: `"` + strconv.Itoa(i) + `-etag"`,
			HrefB: prefix + "/" + id + ".ics",
			ETagB: "1700000000." + strconv.Itoa(i),
		}
	}
	return rs
}

// BenchmarkInsert10k measures one transaction with 10,000 inserts, commit included.
func BenchmarkInsert10k(b *testing.B) {
	db := openWrite(b, statusFile(b))
	n := 0
	for b.Loop() {
		b.StopTimer()
		prefix := "c" + strconv.Itoa(n)
		n++
		rows := benchRowsFor(prefix)
		b.StartTimer()
		err := db.Update(func(tx *status.Tx) error {
			uid, err := tx.AddMapping(prefix, prefix)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := tx.Insert(uid, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRows10k measures reading all 10,000 rows of a mapping.
func BenchmarkRows10k(b *testing.B) {
	db, uid := rows10k(b)
	for b.Loop() {
		rs, err := db.Rows(uid)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != benchRows {
			b.Fatalf("%d rows", len(rs))
		}
	}
}

// BenchmarkRowSets10k measures reading the same rows (and the other mapping's) into
// RowSets.
func BenchmarkRowSets10k(b *testing.B) {
	db, uid := rows10k(b)
	for b.Loop() {
		sets, err := db.RowSets()
		if err != nil {
			b.Fatal(err)
		}
		if sets[uid].Len() != benchRows {
			b.Fatalf("%d rows", sets[uid].Len())
		}
	}
}

// rows10k makes a status with a mapping of 10,000 rows and another of 1,000.
func rows10k(b *testing.B) (*status.DB, int64) {
	db := openWrite(b, statusFile(b))
	var uid int64
	update(b, db, func(tx *status.Tx) (err error) {
		// A second mapping, so that Rows has to select.
		other, err := tx.AddMapping("other", "other")
		if err != nil {
			return err
		}
		for _, r := range benchRowsFor("other")[:1000] {
			if err := tx.Insert(other, r); err != nil {
				return err
			}
		}
		if uid, err = tx.AddMapping("c", "c"); err != nil {
			return err
		}
		for _, r := range benchRowsFor("c") {
			if err := tx.Insert(uid, r); err != nil {
				return err
			}
		}
		return nil
	})
	return db, uid
}
