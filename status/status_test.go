package status_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pimsync-go/pimsync/status"
)

func TestOpenWriteFreshFile(t *testing.T) {
	path := statusFile(t)
	db := openWrite(t, path)
	if db.ReadOnly() {
		t.Error("ReadOnly() = true for OpenWrite")
	}
	if db.Version() != 3 {
		t.Errorf("Version() = %d", db.Version())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checkSchema(t, path, true)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}

	// Opening again changes nothing.
	before := readFile(t, path)
	db2 := openWrite(t, path)
	db2.Close()
	sameBytes(t, path, before)
}

func TestOpenWriteNeedsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := status.OpenWrite(filepath.Join(dir, "p.status")); err == nil {
		t.Fatal("OpenWrite in a missing directory succeeded")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory was created (stat: %v)", err)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	db := openWrite(t, statusFile(t))
	err := db.Update(func(tx *status.Tx) error { return tx.Insert(42, row("x", "a/x", "1", "b/x", "2")) })
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("insert into a missing mapping: err = %v, want a FOREIGN KEY error", err)
	}
}

// A file created and filled by pimsync (its exact DDL, run here directly) is continued
// as it is, and stays a valid pimsync file.
func TestPimsyncCompatibility(t *testing.T) {
	path := statusFile(t)
	raw := createPimsyncFile(t, path)
	mustExec(t, raw, `INSERT INTO collections(href_a, href_b) VALUES ('/dav/cal/work/', 'work')`)
	mustExec(t, raw, `INSERT INTO collections(href_a, href_b) VALUES ('/dav/cal/home/', 'home')`)
	r1 := row("uid-1", "/dav/cal/work/1.ics", `"e1"`, "work/1.ics", "m1")
	r2 := row("uid-2", "/dav/cal/work/2.ics", `W/"e2"`, "work/2.ics", "m2")
	r3 := row("uid-3", "/dav/cal/home/3.ics", `"e3"`, "home/3.ics", "m3")
	for _, x := range []struct {
		uid int64
		r   status.Row
	}{{1, r1}, {1, r2}, {2, r3}} {
		mustExec(t, raw, `INSERT INTO items(ident, mapping_uid, hash, href_a, etag_a, href_b, etag_b) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			x.r.Ident, x.uid, x.r.Hash, x.r.HrefA, x.r.ETagA, x.r.HrefB, x.r.ETagB)
	}
	mustExec(t, raw, `INSERT INTO properties VALUES (1, '/dav/cal/work/', 'work', 'displayname', 'Work')`)
	raw.Close()
	checkSchema(t, path, false)

	db := openWrite(t, path)
	ms, err := db.Mappings()
	if err != nil {
		t.Fatal(err)
	}
	want := []status.Mapping{{1, "/dav/cal/work/", "work"}, {2, "/dav/cal/home/", "home"}}
	if !slices.Equal(ms, want) {
		t.Errorf("Mappings = %v, want %v", ms, want)
	}
	uid, ok, err := db.FindMapping("/dav/cal/work/", "work")
	if err != nil || !ok || uid != 1 {
		t.Fatalf("FindMapping = %d, %v, %v", uid, ok, err)
	}
	equalRows(t, mustRows(t, db, 1), []status.Row{r1, r2})
	equalRows(t, mustRows(t, db, 2), []status.Row{r3})
	props, err := db.Properties(1)
	if err != nil || props["displayname"] != "Work" || len(props) != 1 {
		t.Errorf("Properties = %v, %v", props, err)
	}
	if _, ok, err := db.Token(1, status.SideA); ok || err != nil {
		t.Errorf("Token on a pimsync file = %v, %v", ok, err)
	}

	r1n := r1
	r1n.ETagA, r1n.Hash = `"e1-2"`, hashOf("changed")
	r4 := row("uid-4", "/dav/cal/work/4.ics", `"e4"`, "work/4.ics", "m4")
	update(t, db, func(tx *status.Tx) error {
		if err := tx.Update(1, r1, r1n); err != nil {
			return err
		}
		if err := tx.Delete(1, r2.Ident); err != nil {
			return err
		}
		if err := tx.Insert(1, r4); err != nil {
			return err
		}
		if err := tx.SetProperty(1, "/dav/cal/work/", "work", "color", "#ff0000"); err != nil {
			return err
		}
		return tx.SetToken(1, status.SideA, status.Token{Href: "/dav/cal/work/", Kind: "sync-token", Value: "t1", ItemCount: 2})
	})
	equalRows(t, mustRows(t, db, 1), []status.Row{r1n, r4})
	db.Close()

	// Still a valid pimsync file (plus our extension table), and pimsync opening it again
	// (running its DDL) changes nothing.
	checkSchema(t, path, true)
	before := readFile(t, path)
	raw = createPimsyncFile(t, path)
	raw.Close()
	sameBytes(t, path, before)

	// The rows are stored the way pimsync reads them: mapping_uid as in pimsync's own
	// rows, etags as text.
	raw = rawOpen(t, path)
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM items WHERE mapping_uid = 1 AND typeof(etag_a) = 'text' AND typeof(etag_b) = 'text'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("items of mapping 1 readable as pimsync does: %d, want 2", n)
	}
}

func TestOpenReadMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pair.status")
	db, err := status.OpenRead(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	if ms, err := db.Mappings(); err != nil || len(ms) != 0 {
		t.Errorf("Mappings = %v, %v", ms, err)
	}
	if _, ok, err := db.FindMapping("a", "b"); ok || err != nil {
		t.Errorf("FindMapping = %v, %v", ok, err)
	}
	if rs, err := db.Rows(1); err != nil || len(rs) != 0 {
		t.Errorf("Rows = %v, %v", rs, err)
	}
	if ps, err := db.Properties(1); err != nil || len(ps) != 0 {
		t.Errorf("Properties = %v, %v", ps, err)
	}
	if _, ok, err := db.Token(1, status.SideB); ok || err != nil {
		t.Errorf("Token = %v, %v", ok, err)
	}
	if _, err := db.Begin(); !errors.Is(err, status.ErrReadOnly) {
		t.Errorf("Begin = %v, want ErrReadOnly", err)
	}
	if err := db.Update(func(*status.Tx) error { return nil }); !errors.Is(err, status.ErrReadOnly) {
		t.Errorf("Update = %v, want ErrReadOnly", err)
	}
	if err := db.Close(); err != nil {
		t.Error(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("OpenRead created files: %v", ents)
	}
	// Neither does it create a missing directory.
	if db, err := status.OpenRead(filepath.Join(dir, "sub", "p.status")); err != nil {
		t.Errorf("OpenRead in a missing directory: %v", err)
	} else {
		db.Close()
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("OpenRead created files: %v", ents)
	}
}

func TestOpenReadExistingFile(t *testing.T) {
	path := statusFile(t)
	w := openWrite(t, path)
	r := row("u", "a/u", "1", "b/u", "2")
	var uid int64
	update(t, w, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		if err := tx.SetToken(uid, status.SideB, status.Token{Href: "b", Kind: "ctag", Value: "c", ItemCount: 1}); err != nil {
			return err
		}
		return tx.Insert(uid, r)
	})
	w.Close()
	before := readFile(t, path)

	db, err := status.OpenRead(path)
	if err != nil {
		t.Fatal(err)
	}
	if !db.ReadOnly() || db.Version() != 3 {
		t.Errorf("ReadOnly, Version = %v, %d", db.ReadOnly(), db.Version())
	}
	equalRows(t, mustRows(t, db, uid), []status.Row{r})
	tok, ok, err := db.Token(uid, status.SideB)
	if err != nil || !ok || tok != (status.Token{Href: "b", Kind: "ctag", Value: "c", ItemCount: 1}) {
		t.Errorf("Token = %+v, %v, %v", tok, ok, err)
	}
	if _, err := db.Begin(); !errors.Is(err, status.ErrReadOnly) {
		t.Errorf("Begin = %v, want ErrReadOnly", err)
	}
	db.Close()
	sameBytes(t, path, before)
}

// Paths are passed to SQLite as file: URIs; characters with a meaning in URIs must not
// change which file is opened.
func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%20d e")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p?x=1.status")
	db := openWrite(t, path)
	update(t, db, func(tx *status.Tx) error { _, err := tx.AddMapping("a", "b"); return err })
	db.Close()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "p?x=1.status" {
		t.Fatalf("directory holds %v", ents)
	}
	r, err := status.OpenRead(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ms, err := r.Mappings(); err != nil || len(ms) != 1 {
		t.Errorf("Mappings = %v, %v", ms, err)
	}
}

// buildV2File creates a schema-2 file: collections with id_a/id_b, meta version 2 only.
func buildV2File(t *testing.T, path string, withProperties bool) {
	t.Helper()
	raw := rawOpen(t, path)
	mustExec(t, raw, `CREATE TABLE IF NOT EXISTS meta (version INTEGER PRIMARY KEY)`)
	mustExec(t, raw, `INSERT OR IGNORE INTO meta (version) VALUES (2)`)
	mustExec(t, raw, `CREATE TABLE IF NOT EXISTS collections ( uid INTEGER PRIMARY KEY AUTOINCREMENT, id_a TEXT, href_a TEXT NOT NULL, id_b TEXT, href_b TEXT NOT NULL)`)
	mustExec(t, raw, `CREATE UNIQUE INDEX IF NOT EXISTS href_a ON collections(href_a)`)
	mustExec(t, raw, `CREATE UNIQUE INDEX IF NOT EXISTS href_b ON collections(href_b)`)
	for _, stmt := range pimsyncDDL[4:8] { // items and its indexes
		mustExec(t, raw, stmt)
	}
	if withProperties {
		for _, stmt := range pimsyncDDL[8:12] {
			mustExec(t, raw, stmt)
		}
	}
	mustExec(t, raw, `INSERT INTO collections(id_a, href_a, id_b, href_b) VALUES ('work', '/cal/work/', 'work', 'work')`)
	mustExec(t, raw, `INSERT INTO collections(id_a, href_a, id_b, href_b) VALUES (NULL, '/cal/gone/', NULL, 'gone')`)
	mustExec(t, raw, `DELETE FROM collections WHERE uid = 2`)
	r := row("u1", "/cal/work/u1.ics", `"1"`, "work/u1.ics", "x")
	mustExec(t, raw, `INSERT INTO items VALUES (?, 1, ?, ?, ?, ?, ?)`, r.Ident, r.Hash, r.HrefA, r.ETagA, r.HrefB, r.ETagB)
	if withProperties {
		mustExec(t, raw, `INSERT INTO properties VALUES (1, '/cal/work/', 'work', 'color', '#00ff00')`)
	}
	raw.Close()
}

func TestMigrationV2(t *testing.T) {
	for _, withProps := range []bool{true, false} {
		name := "with-properties"
		if !withProps {
			name = "without-properties"
		}
		t.Run(name, func(t *testing.T) {
			path := statusFile(t)
			buildV2File(t, path, withProps)
			wantRows := []status.Row{row("u1", "/cal/work/u1.ics", `"1"`, "work/u1.ics", "x")}
			wantProps := map[string]string{}
			if withProps {
				wantProps["color"] = "#00ff00"
			}
			before := readFile(t, path)

			// Read-only: read as it is, never migrated.
			r, err := status.OpenRead(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Version() != 2 {
				t.Errorf("Version() = %d, want 2", r.Version())
			}
			ms, err := r.Mappings()
			if err != nil || !slices.Equal(ms, []status.Mapping{{1, "/cal/work/", "work"}}) {
				t.Errorf("Mappings = %v, %v", ms, err)
			}
			equalRows(t, mustRows(t, r, 1), wantRows)
			if ps, err := r.Properties(1); err != nil || !mapsEqual(ps, wantProps) {
				t.Errorf("Properties = %v, %v", ps, err)
			}
			if _, ok, err := r.Token(1, status.SideA); ok || err != nil {
				t.Errorf("Token = %v, %v", ok, err)
			}
			r.Close()
			sameBytes(t, path, before)

			// Writable: migrated in place.
			w := openWrite(t, path)
			equalRows(t, mustRows(t, w, 1), wantRows)
			if ps, err := w.Properties(1); err != nil || !mapsEqual(ps, wantProps) {
				t.Errorf("Properties = %v, %v", ps, err)
			}
			var uid int64
			update(t, w, func(tx *status.Tx) (err error) { uid, err = tx.AddMapping("/cal/new/", "new"); return err })
			if uid != 3 { // uid 2 was used before: never reused
				t.Errorf("new mapping uid = %d, want 3", uid)
			}
			w.Close()

			raw := rawOpen(t, path)
			if v := metaVersions(t, raw); !slices.Equal(v, []int64{2, 3}) {
				t.Errorf("meta = %v", v)
			}
			rows, err := raw.Query(`SELECT name FROM pragma_table_info('collections')`)
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for rows.Next() {
				var c string
				rows.Scan(&c)
				cols = append(cols, c)
			}
			rows.Close()
			if !slices.Equal(cols, []string{"uid", "href_a", "href_b"}) {
				t.Errorf("collections columns = %v", cols)
			}
			raw.Close()
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestUnsupportedVersion(t *testing.T) {
	path := statusFile(t)
	raw := createPimsyncFile(t, path)
	mustExec(t, raw, `INSERT INTO meta(version) VALUES (4)`)
	raw.Close()
	before := readFile(t, path)

	for name, open := range map[string]func(string) (*status.DB, error){
		"OpenWrite": status.OpenWrite, "OpenRead": status.OpenRead,
	} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s succeeded on schema version 4", name)
		}
		if !errors.Is(err, status.ErrUnsupportedVersion) {
			t.Errorf("%s: error %v does not match ErrUnsupportedVersion", name, err)
		}
		if want := "status database " + path + " has unsupported schema version 4"; err.Error() != want {
			t.Errorf("%s: error %q, want %q", name, err, want)
		}
		sameBytes(t, path, before)
	}
}

func TestCompareAndSwapUpdate(t *testing.T) {
	db := openWrite(t, statusFile(t))
	r := row("u", "a/u", `"1"`, "b/u", "m1")
	var uid, other int64
	update(t, db, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		if other, err = tx.AddMapping("a2", "b2"); err != nil {
			return err
		}
		return tx.Insert(uid, r)
	})

	next := row("u", "a/u", `"2"`, "b/u", "m2")
	stale := []struct {
		name string
		uid  int64
		old  status.Row
	}{
		{"etag a", uid, row("u", "a/u", `"0"`, "b/u", "m1")},
		{"etag b", uid, row("u", "a/u", `"1"`, "b/u", "m0")},
		{"href a", uid, row("u", "a/v", `"1"`, "b/u", "m1")},
		{"href b", uid, row("u", "a/u", `"1"`, "b/v", "m1")},
		{"empty etag", uid, row("u", "a/u", "", "b/u", "m1")},
		{"other ident", uid, row("v", "a/u", `"1"`, "b/u", "m1")},
		{"other mapping", other, r},
	}
	for _, s := range stale {
		n := next
		n.Ident = s.old.Ident
		err := db.Update(func(tx *status.Tx) error { return tx.Update(s.uid, s.old, n) })
		if !errors.Is(err, status.ErrNoUpdate) {
			t.Errorf("%s: err = %v, want ErrNoUpdate", s.name, err)
		}
	}
	equalRows(t, mustRows(t, db, uid), []status.Row{r})

	// The hash is not part of the comparison.
	old := r
	old.Hash = hashOf("whatever")
	update(t, db, func(tx *status.Tx) error { return tx.Update(uid, old, next) })
	equalRows(t, mustRows(t, db, uid), []status.Row{next})

	// Moving to a new href and an unknown etag.
	moved := row("u", "a/u2", "", "b/u2", "")
	update(t, db, func(tx *status.Tx) error { return tx.Update(uid, next, moved) })
	equalRows(t, mustRows(t, db, uid), []status.Row{moved})

	// The ident cannot change.
	err := db.Update(func(tx *status.Tx) error { return tx.Update(uid, moved, row("w", "a/u2", "", "b/u2", "")) })
	if err == nil || errors.Is(err, status.ErrNoUpdate) {
		t.Errorf("changing the ident: err = %v", err)
	}
}

// NULL etags (older files) read as "" and match an old etag of "" in a compare-and-swap;
// what we write is always the empty string (text), never NULL.
func TestNullEtags(t *testing.T) {
	path := statusFile(t)
	db := openWrite(t, path)
	var uid int64
	update(t, db, func(tx *status.Tx) (err error) {
		uid, err = tx.AddMapping("a", "b")
		if err != nil {
			return err
		}
		return tx.Insert(uid, row("empty", "a/e", "", "b/e", ""))
	})
	db.Close()

	raw := rawOpen(t, path)
	h := hashOf("n")
	mustExec(t, raw, `INSERT INTO items VALUES ('null', ?, ?, 'a/n', NULL, 'b/n', NULL)`, uid, h)
	raw.Close()

	db = openWrite(t, path)
	nullRow := status.Row{Ident: "null", Hash: h, HrefA: "a/n", HrefB: "b/n"}
	equalRows(t, mustRows(t, db, uid), []status.Row{row("empty", "a/e", "", "b/e", ""), nullRow})
	next := nullRow
	next.ETagA = `"x"`
	update(t, db, func(tx *status.Tx) error { return tx.Update(uid, nullRow, next) })
	db.Close()

	raw = rawOpen(t, path)
	var nulls, texts int
	if err := raw.QueryRow(`SELECT count(*) FROM items WHERE etag_a IS NULL OR etag_b IS NULL`).Scan(&nulls); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM items WHERE ident = 'empty' AND etag_a = '' AND etag_b = ''`).Scan(&texts); err != nil {
		t.Fatal(err)
	}
	if nulls != 0 || texts != 1 {
		t.Errorf("rows with NULL etags: %d (want 0); '' etags written as text: %d (want 1)", nulls, texts)
	}
}

func TestInvalidHash(t *testing.T) {
	path := statusFile(t)
	db := openWrite(t, path)
	var uid int64
	update(t, db, func(tx *status.Tx) (err error) { uid, err = tx.AddMapping("a", "b"); return err })
	for _, h := range []string{"", "abc", strings.ToLower(hashOf("x")), hashOf("x") + "0", strings.Repeat("G", 64)} {
		r := row("bad-write", "a/1", "", "b/1", "")
		r.Hash = h
		err := db.Update(func(tx *status.Tx) error { return tx.Insert(uid, r) })
		if !errors.Is(err, status.ErrInvalidHash) {
			t.Errorf("Insert with hash %q: err = %v, want ErrInvalidHash", h, err)
		}
	}
	db.Close()

	raw := rawOpen(t, path)
	mustExec(t, raw, `INSERT INTO items VALUES ('bad-ident', ?, 'deadbeef', 'a/x', '', 'b/x', '')`, uid)
	raw.Close()
	for _, open := range []func(string) (*status.DB, error){status.OpenWrite, status.OpenRead} {
		db, err := open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Rows(uid)
		if !errors.Is(err, status.ErrInvalidHash) || !strings.Contains(err.Error(), "bad-ident") {
			t.Errorf("Rows with a bad hash: err = %v, want ErrInvalidHash naming the ident", err)
		}
		db.Close()
	}
}

func TestForgetMapping(t *testing.T) {
	path := statusFile(t)
	db := openWrite(t, path)
	var keep, gone int64
	fill := func(tx *status.Tx, hrefA, hrefB string) (int64, error) {
		uid, err := tx.AddMapping(hrefA, hrefB)
		if err != nil {
			return 0, err
		}
		for _, id := range []string{"1", "2"} {
			if err := tx.Insert(uid, row(hrefA+id, hrefA+"/"+id, "e", hrefB+"/"+id, "e")); err != nil {
				return 0, err
			}
		}
		if err := tx.SetProperty(uid, hrefA, hrefB, "displayname", hrefA); err != nil {
			return 0, err
		}
		for _, s := range []status.Side{status.SideA, status.SideB} {
			if err := tx.SetToken(uid, s, status.Token{Href: hrefA, Kind: "ctag", Value: "v", ItemCount: 2}); err != nil {
				return 0, err
			}
		}
		return uid, nil
	}
	update(t, db, func(tx *status.Tx) (err error) {
		if keep, err = fill(tx, "keep", "keepB"); err != nil {
			return err
		}
		gone, err = fill(tx, "gone", "goneB")
		return err
	})

	counts := func() [4]int {
		t.Helper()
		var c [4]int
		rs := mustRows(t, db, gone)
		ps, err := db.Properties(gone)
		if err != nil {
			t.Fatal(err)
		}
		_, okA, errA := db.Token(gone, status.SideA)
		_, okB, errB := db.Token(gone, status.SideB)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		_, okM, err := db.FindMapping("gone", "goneB")
		if err != nil {
			t.Fatal(err)
		}
		c[0], c[1] = len(rs), len(ps)
		if okA {
			c[2]++
		}
		if okB {
			c[2]++
		}
		if okM {
			c[3] = 1
		}
		return c
	}

	// Rolled back: nothing happened.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.ForgetMapping(gone); err != nil {
		t.Fatal(err)
	}
	if rs := mustRows(t, tx, gone); len(rs) != 0 {
		t.Errorf("inside the Tx, rows remain: %v", rs)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c != [4]int{2, 1, 2, 1} {
		t.Errorf("after rollback: items, properties, tokens, mapping = %v", c)
	}

	// Committed: all of it is gone, the other mapping untouched.
	update(t, db, func(tx *status.Tx) error { return tx.ForgetMapping(gone) })
	if c := counts(); c != [4]int{} {
		t.Errorf("after commit: items, properties, tokens, mapping = %v", c)
	}
	if rs := mustRows(t, db, keep); len(rs) != 2 {
		t.Errorf("other mapping has %d rows", len(rs))
	}
	if ms, _ := db.Mappings(); len(ms) != 1 || ms[0].UID != keep {
		t.Errorf("Mappings = %v", ms)
	}
	// Its hrefs are free again, and its uid is not reused.
	var uid int64
	update(t, db, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("gone", "goneB"); err != nil {
			return err
		}
		return tx.Insert(uid, row("gone1", "gone/1", "e", "goneB/1", "e"))
	})
	if uid <= gone {
		t.Errorf("uid %d reused (forgotten %d)", uid, gone)
	}
}

// items.href_a is unique across all mappings of the pair (pimsync's by_href index), while
// href_b is not. Deleting before inserting within one Tx lets an href move.
func TestUniqueHrefA(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var m1, m2 int64
	update(t, db, func(tx *status.Tx) (err error) {
		if m1, err = tx.AddMapping("c1", "d1"); err != nil {
			return err
		}
		if m2, err = tx.AddMapping("c2", "d2"); err != nil {
			return err
		}
		return tx.Insert(m1, row("old", "shared", "1", "x", "1"))
	})

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Same href_a in another mapping, and in the same mapping under another ident: refused.
	if err := tx.Insert(m2, row("new", "shared", "2", "y", "2")); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("insert of a used href_a: err = %v, want a UNIQUE error", err)
	}
	if err := tx.Insert(m1, row("new", "shared", "2", "y", "2")); err == nil {
		t.Fatal("insert of a used href_a in the same mapping succeeded")
	}
	// The failed statements left the transaction usable: delete first, then insert.
	if err := tx.Delete(m1, "old"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Insert(m2, row("new", "shared", "2", "y", "2")); err != nil {
		t.Fatalf("insert after delete: %v", err)
	}
	// href_b is not unique (the second by_href statement is a no-op).
	if err := tx.Insert(m1, row("dup-b", "other", "3", "y", "3")); err != nil {
		t.Fatalf("duplicate href_b: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	equalRows(t, mustRows(t, db, m1), []status.Row{row("dup-b", "other", "3", "y", "3")})
	equalRows(t, mustRows(t, db, m2), []status.Row{row("new", "shared", "2", "y", "2")})
}

func TestMappings(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var u1, u2 int64
	update(t, db, func(tx *status.Tx) (err error) {
		if u1, err = tx.AddMapping("a1", "b1"); err != nil {
			return err
		}
		u2, err = tx.AddMapping("a2", "b2")
		return err
	})
	if u1 >= u2 {
		t.Errorf("uids %d, %d not increasing", u1, u2)
	}
	for _, c := range []struct {
		a, b string
		uid  int64
		ok   bool
	}{{"a1", "b1", u1, true}, {"a2", "b2", u2, true}, {"a1", "b2", 0, false}, {"x", "y", 0, false}} {
		uid, ok, err := db.FindMapping(c.a, c.b)
		if err != nil || ok != c.ok || uid != c.uid {
			t.Errorf("FindMapping(%q, %q) = %d, %v, %v", c.a, c.b, uid, ok, err)
		}
	}
	// Collection hrefs are unique on each side.
	for _, ab := range [][2]string{{"a1", "new"}, {"new", "b2"}} {
		if err := db.Update(func(tx *status.Tx) error { _, err := tx.AddMapping(ab[0], ab[1]); return err }); err == nil {
			t.Errorf("AddMapping%v with a used href succeeded", ab)
		}
	}
}

func TestProperties(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var uid int64
	update(t, db, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		if err := tx.SetProperty(uid, "a", "b", "displayname", "One"); err != nil {
			return err
		}
		if err := tx.SetProperty(uid, "a", "b", "color", "#000000"); err != nil {
			return err
		}
		return tx.SetProperty(uid, "a", "b", "displayname", "Two") // replaces
	})
	ps, err := db.Properties(uid)
	if err != nil || !mapsEqual(ps, map[string]string{"displayname": "Two", "color": "#000000"}) {
		t.Errorf("Properties = %v, %v", ps, err)
	}
	update(t, db, func(tx *status.Tx) error { return tx.DeleteProperty(uid, "a", "b", "color") })
	ps, err = db.Properties(uid)
	if err != nil || !mapsEqual(ps, map[string]string{"displayname": "Two"}) {
		t.Errorf("Properties = %v, %v", ps, err)
	}
}

func TestTokens(t *testing.T) {
	db := openWrite(t, statusFile(t))
	var uid int64
	ta := status.Token{Href: "/cal/", Kind: "sync-token", Value: "http://x/sync/1", ItemCount: 3}
	tb := status.Token{Href: "cal", Kind: "http-etag", Value: `"abc"`, ItemCount: 3}
	update(t, db, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("/cal/", "cal"); err != nil {
			return err
		}
		if err := tx.SetToken(uid, status.SideA, status.Token{Href: "/cal/", Kind: "ctag", Value: "old"}); err != nil {
			return err
		}
		if err := tx.SetToken(uid, status.SideA, ta); err != nil {
			return err
		}
		return tx.SetToken(uid, status.SideB, tb)
	})
	for side, want := range map[status.Side]status.Token{status.SideA: ta, status.SideB: tb} {
		got, ok, err := db.Token(uid, side)
		if err != nil || !ok || got != want {
			t.Errorf("Token(%s) = %+v, %v, %v", side, got, ok, err)
		}
	}
	update(t, db, func(tx *status.Tx) error { return tx.DeleteToken(uid, status.SideA) })
	if _, ok, err := db.Token(uid, status.SideA); ok || err != nil {
		t.Errorf("deleted token: %v, %v", ok, err)
	}
	if _, ok, _ := db.Token(uid, status.SideB); !ok {
		t.Error("token of side b deleted too")
	}
	if _, _, err := db.Token(uid, "c"); err == nil {
		t.Error("Token with an invalid side succeeded")
	}
	if err := db.Update(func(tx *status.Tx) error { return tx.SetToken(uid, "c", ta) }); err == nil {
		t.Error("SetToken with an invalid side succeeded")
	}
}

func TestTxReadsAndConcurrentWrites(t *testing.T) {
	db := openWrite(t, statusFile(t))
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	uid, err := tx.AddMapping("a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if uid2, ok, err := tx.FindMapping("a", "b"); err != nil || !ok || uid2 != uid {
		t.Fatalf("FindMapping inside the Tx = %d, %v, %v", uid2, ok, err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i)
			errs <- tx.Insert(uid, row(id, "a/"+id, "e", "b/"+id, "e"))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, err := tx.Rows(uid)
	if err != nil || len(rs) != n {
		t.Fatalf("Rows inside the Tx: %d rows, %v", len(rs), err)
	}
	if ms, err := tx.Mappings(); err != nil || len(ms) != 1 {
		t.Errorf("Mappings inside the Tx = %v, %v", ms, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("second Commit = %v", err)
	}
	if err := tx.Insert(uid, row("late", "a/late", "", "b/late", "")); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("Insert after Commit = %v", err)
	}
	if rs := mustRows(t, db, uid); len(rs) != n {
		t.Errorf("%d rows after commit, want %d", len(rs), n)
	}
	// Rows are ordered by ident.
	if !slices.IsSortedFunc(rs, func(a, b status.Row) int { return strings.Compare(a.Ident, b.Ident) }) {
		t.Error("Rows not ordered by ident")
	}
}

func TestUpdateHelper(t *testing.T) {
	db := openWrite(t, statusFile(t))
	boom := errors.New("boom")
	if err := db.Update(func(tx *status.Tx) error {
		if _, err := tx.AddMapping("a", "b"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("Update = %v, want boom", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		db.Update(func(tx *status.Tx) error {
			tx.AddMapping("a", "b")
			panic("oops")
		})
	}()
	if ms, err := db.Mappings(); err != nil || len(ms) != 0 {
		t.Errorf("after rolled-back Updates: Mappings = %v, %v", ms, err)
	}
	// The connection is free again after the panic.
	update(t, db, func(tx *status.Tx) error { _, err := tx.AddMapping("a", "b"); return err })
	if ms, _ := db.Mappings(); len(ms) != 1 {
		t.Errorf("Mappings = %v", ms)
	}
}

// An empty file is refused by every open, untouched, with a message that says what the
// user can do: the history of the pair may have been lost (a truncated file), so
// syncing as if for the first time could bring deleted items back.
func TestEmptyFileRefused(t *testing.T) {
	path := statusFile(t)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*status.DB, error){
		"OpenWrite": status.OpenWrite, "OpenRead": status.OpenRead,
	} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s of an empty file succeeded", name)
		}
		if !errors.Is(err, status.ErrUnusable) {
			t.Errorf("%s: error %v does not match ErrUnusable", name, err)
		}
		for _, want := range []string{path, "empty (0 bytes)", "would come back", "rm " + path} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not say %q", name, err, want)
			}
		}
		sameBytes(t, path, nil)
	}
}

// A new file is created under a temporary name and linked into place: the path never
// holds a half-initialised file, and no temporary file is left behind.
func TestCreateIsAtomic(t *testing.T) {
	path := statusFile(t)
	openWrite(t, path).Close()
	checkSchema(t, path, true)
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(path) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// A leftover temporary file of a crashed creation is replaced.
	other := filepath.Join(t.TempDir(), "q.status")
	if err := os.WriteFile(other+".new", []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	openWrite(t, other).Close()
	checkSchema(t, other, true)
}

// Another program's SQLite database is refused, untouched, naming its tables.
func TestForeignDatabaseRefused(t *testing.T) {
	path := statusFile(t)
	raw := rawOpen(t, path)
	mustExec(t, raw, `CREATE TABLE moz_bookmarks (id INTEGER PRIMARY KEY, title TEXT)`)
	raw.Close()
	before := readFile(t, path)
	for name, open := range map[string]func(string) (*status.DB, error){
		"OpenWrite": status.OpenWrite, "OpenRead": status.OpenRead,
	} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s of a foreign database succeeded", name)
		}
		if !errors.Is(err, status.ErrUnusable) || !strings.Contains(err.Error(), "moz_bookmarks") ||
			!strings.Contains(err.Error(), "not a pimsync status database") {
			t.Errorf("%s: error = %v", name, err)
		}
		sameBytes(t, path, before)
	}
}

func TestNotADatabase(t *testing.T) {
	path := statusFile(t)
	junk := []byte("this is not an SQLite database, but it is long enough to have a header......\n")
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*status.DB, error){
		"OpenWrite": status.OpenWrite, "OpenRead": status.OpenRead,
	} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s of a non-database succeeded", name)
		}
		if !errors.Is(err, status.ErrUnusable) || !strings.Contains(err.Error(), "rm "+path) {
			t.Errorf("%s: error %v is not an ErrUnusable that says what to do", name, err)
		}
		sameBytes(t, path, junk)
	}
}

func TestPendingWrites(t *testing.T) {
	db, err := status.OpenWrite(filepath.Join(t.TempDir(), "p.status"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var uid int64
	hash := strings.Repeat("A", 64)
	err = db.Update(func(tx *status.Tx) error {
		if uid, err = tx.AddMapping("c", "/c/"); err != nil {
			return err
		}
		if err := tx.AddPending(uid, status.Pending{Ident: "x", Side: status.SideB, Hash: hash, Fingerprint: "f",
			Create: true, SrcHref: "c/x.ics", SrcETag: "1"}); err != nil {
			return err
		}
		if err := tx.AddPending(uid, status.Pending{Ident: "y", Side: status.SideA, Hash: hash}); err != nil {
			return err
		}
		return tx.DeletePending(uid, status.SideA, "y")
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.Pending(uid)
	want := status.Pending{Ident: "x", Side: status.SideB, Hash: hash, Fingerprint: "f", Create: true, SrcHref: "c/x.ics", SrcETag: "1"}
	if err != nil || len(p) != 1 || p["x"][status.SideB] != want {
		t.Fatalf("pending = %v, %v", p, err)
	}
	if err := db.Update(func(tx *status.Tx) error { return tx.ClearPending(uid) }); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.Pending(uid); len(p) != 0 {
		t.Fatalf("pending after clear = %v", p)
	}
}

// A file whose x_pending_writes has the first version's four columns gets the new
// columns on a writable open; its records read back with empty new fields.
func TestPendingWritesOldColumns(t *testing.T) {
	path := statusFile(t)
	openWrite(t, path).Close()
	raw := rawOpen(t, path)
	mustExec(t, raw, `DROP TABLE x_pending_writes`)
	mustExec(t, raw, `CREATE TABLE x_pending_writes (mapping_uid INTEGER NOT NULL, ident TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('a','b')), hash TEXT NOT NULL, PRIMARY KEY (mapping_uid, ident, side))`)
	mustExec(t, raw, `INSERT INTO collections(href_a, href_b) VALUES ('c', '/c/')`)
	mustExec(t, raw, `INSERT INTO x_pending_writes VALUES (1, 'x', 'b', ?)`, strings.Repeat("B", 64))
	raw.Close()

	r, err := status.OpenRead(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Pending(1)
	r.Close()
	if err != nil || p["x"][status.SideB].Hash != strings.Repeat("B", 64) {
		t.Fatalf("read-only Pending of an old table = %v, %v", p, err)
	}
	db := openWrite(t, path)
	defer db.Close()
	p, err = db.Pending(1)
	want := status.Pending{Ident: "x", Side: status.SideB, Hash: strings.Repeat("B", 64)}
	if err != nil || p["x"][status.SideB] != want {
		t.Fatalf("Pending after migration = %v, %v", p, err)
	}
	update(t, db, func(tx *status.Tx) error {
		return tx.AddPending(1, status.Pending{Ident: "y", Side: status.SideA, Hash: strings.Repeat("C", 64), Fingerprint: "f", Create: true})
	})
	if p, _ := db.Pending(1); p["y"][status.SideA].Fingerprint != "f" || !p["y"][status.SideA].Create {
		t.Fatalf("new record after migration = %v", p)
	}
}

// Property aliases, refusals and pending collections round-trip and are forgotten with
// their mapping.
func TestPropertyExtensions(t *testing.T) {
	db := openWrite(t, statusFile(t))
	defer db.Close()
	var uid int64
	update(t, db, func(tx *status.Tx) error {
		var err error
		if uid, err = tx.AddMapping("c", "/c/"); err != nil {
			return err
		}
		if err := tx.SetPropertyAlias(uid, status.PropertyAlias{Side: status.SideB, Property: "displayname", Reported: "alice/c"}); err != nil {
			return err
		}
		if err := tx.SetPropertyRefused(uid, status.PropertyRefusal{Side: status.SideB, Property: "description", Value: "d", Reason: "409"}); err != nil {
			return err
		}
		return tx.AddPendingCollection(status.SideB, "/c/", map[string]string{"displayname": "C"})
	})
	al, err := db.PropertyAliases(uid)
	if err != nil || len(al) != 1 || al[0] != (status.PropertyAlias{Side: status.SideB, Property: "displayname", Reported: "alice/c"}) {
		t.Fatalf("aliases = %v, %v", al, err)
	}
	rf, err := db.PropertyRefusals(uid)
	if err != nil || len(rf) != 1 || rf[0].Value != "d" || rf[0].Reason != "409" {
		t.Fatalf("refusals = %v, %v", rf, err)
	}
	pc, err := db.PendingCollections()
	if err != nil || pc[status.SideB]["/c/"]["displayname"] != "C" {
		t.Fatalf("pending collections = %v, %v", pc, err)
	}
	update(t, db, func(tx *status.Tx) error {
		if err := tx.DeletePendingCollection(status.SideB, "/c/"); err != nil {
			return err
		}
		return tx.ForgetMapping(uid)
	})
	al, _ = db.PropertyAliases(uid)
	rf, _ = db.PropertyRefusals(uid)
	pc, _ = db.PendingCollections()
	if len(al)+len(rf)+len(pc) != 0 {
		t.Fatalf("left after forgetting: %v %v %v", al, rf, pc)
	}
}

// TestOpenReadAfterAKilledWrite: a run killed in the middle of a transaction leaves a
// hot journal next to the file. OpenRead (sync -n, previews) rolls it back, as the next
// writer would, and reads the state as it was committed; without that, a read-only
// connection cannot read the file at all (SQLITE_READONLY_ROLLBACK).
func TestOpenReadAfterAKilledWrite(t *testing.T) {
	path := statusFile(t)
	w := openWrite(t, path)
	r := row("u", "a/u", "1", "b/u", "2")
	var uid int64
	update(t, w, func(tx *status.Tx) (err error) {
		if uid, err = tx.AddMapping("a", "b"); err != nil {
			return err
		}
		return tx.Insert(uid, r)
	})
	w.Close()

	// A transaction larger than a one-page cache spills pages into the file before it
	// commits, so the journal is synced with a valid header: copied now, file and
	// journal are what a kill leaves.
	raw := rawOpen(t, path)
	mustExec(t, raw, "PRAGMA cache_size = 1")
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		id := strconv.Itoa(i)
		if _, err := tx.Exec(`INSERT INTO items (mapping_uid, ident, hash, href_a, etag_a, href_b, etag_b) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			uid, "x"+id, strings.Repeat("h", 64), "a/x"+id+strings.Repeat("-", 200), "e", "b/x"+id, "e"); err != nil {
			t.Fatal(err)
		}
	}
	killed := filepath.Join(t.TempDir(), "p.status")
	for _, suffix := range []string{"", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatalf("the transaction left no %q to copy: %v", suffix, err)
		}
		if err := os.WriteFile(killed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	db, err := status.OpenRead(killed)
	if err != nil {
		t.Fatalf("OpenRead after a killed write: %v", err)
	}
	defer db.Close()
	equalRows(t, mustRows(t, db, uid), []status.Row{r})
}
