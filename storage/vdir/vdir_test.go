//go:build unix

package vdir_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/storagetest"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// setup returns a storage whose root lies inside a parent directory that also holds
// decoy files, and which has one collection "c".
func setup(t *testing.T) (s *vdir.Storage, root, parent string) {
	t.Helper()
	parent = t.TempDir()
	root = filepath.Join(parent, "root")
	for _, d := range []string{root, filepath.Join(root, "c")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"x.ics", "decoy.ics", "displayname"} {
		writeFile(t, filepath.Join(parent, f), "decoy")
	}
	return vdir.New(root, storage.Calendars, "ics"), root, parent
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tree returns every path below dir with its content ("<dir>" for directories, "->
// target" for symlinks), to prove that nothing changed.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			m[rel] = "-> " + target
		case d.IsDir():
			m[rel] = "<dir>"
		case d.Type().IsRegular():
			m[rel] = readFile(t, p)
		default:
			m[rel] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s", what, k)
		}
	}
}

func item(uid, summary string) storage.Item {
	return storage.MustItem(storagetest.ItemText(storage.Calendars, uid, summary))
}

// listed returns what List gives for coll, after checking that it is sorted and that
// ListEach gives exactly the same entries.
func listed(t *testing.T, s *vdir.Storage, coll string) map[string]string {
	t.Helper()
	refs, err := s.List(t.Context(), coll)
	if err != nil {
		t.Fatalf("List(%q): %v", coll, err)
	}
	m := map[string]string{}
	for i, r := range refs {
		m[r.Href] = r.ETag
		if i > 0 && refs[i-1].Href >= r.Href {
			t.Errorf("List(%q) is not sorted: %q before %q", coll, refs[i-1].Href, r.Href)
		}
	}
	each := map[string]string{}
	err = s.ListEach(t.Context(), coll, func(href, etag []byte) error {
		if _, dup := each[string(href)]; dup {
			t.Errorf("ListEach(%q) gave %s twice", coll, href)
		}
		each[string(href)] = string(etag)
		return nil
	})
	if err != nil {
		t.Fatalf("ListEach(%q): %v", coll, err)
	}
	if !maps.Equal(m, each) {
		t.Errorf("ListEach(%q) = %v, List = %v", coll, each, m)
	}
	return m
}

// TestListEachMany: ListEach reads a directory in chunks; every file comes once, and
// an error from the callback stops it and is returned.
func TestListEachMany(t *testing.T) {
	root := t.TempDir()
	const n = 2500
	os.Mkdir(filepath.Join(root, "c"), 0o700)
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, "c", fmt.Sprintf("%04d.ics", i)), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := vdir.New(root, storage.Calendars, "ics")
	if got := listed(t, s, "c"); len(got) != n {
		t.Fatalf("listed %d of %d files", len(got), n)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ListEach(t.Context(), "c", func(href, etag []byte) error {
		calls++
		if calls == 1500 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 1500 {
		t.Fatalf("ListEach after the callback failed: %v, %d calls", err, calls)
	}
	if err := s.ListEach(t.Context(), "missing", func(href, etag []byte) error { return nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ListEach of a missing collection: %v", err)
	}
}

func getOne(t *testing.T, s *vdir.Storage, href string) storage.Fetched {
	t.Helper()
	coll, _, _ := strings.Cut(href, "/")
	res, err := s.Get(t.Context(), coll, []string{href})
	if err != nil || len(res) != 1 {
		t.Fatalf("Get(%q) = %v, %v", href, res, err)
	}
	return res[0]
}

func TestHrefValidation(t *testing.T) {
	s, _, parent := setup(t)
	ctx := t.Context()
	href, etag, err := s.Create(ctx, "c", item("legit", "Legit"))
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, parent)

	badItems := []string{
		"../x.ics", "a/../../x.ics", "/etc/passwd", "c/x.ics/..", "c/x\x00.ics", "a/b/c.ics",
		"c/../../x.ics", "../root/c/legit.ics", "c/./legit.ics", "./c/legit.ics", "c//legit.ics",
		"c/legit.ics/", "/c/legit.ics", "c/.legit.ics", "c/.ics", "c/legit.txt", "c/legit.ICS",
		"c/..", "c/.", "..", ".", "", "c", "c/", "/", "c/\xff.ics", "..\\x.ics",
	}
	for _, h := range badItems {
		if _, err := s.Update(ctx, h, etag, item("evil", "Evil")); !errors.Is(err, storage.ErrInvalidData) {
			t.Errorf("Update(%q): %v, want ErrInvalidData", h, err)
		}
		if err := s.Delete(ctx, h, etag); !errors.Is(err, storage.ErrInvalidData) {
			t.Errorf("Delete(%q): %v, want ErrInvalidData", h, err)
		}
	}
	// In Get, bad hrefs are per-href errors; the good one is still fetched.
	res, err := s.Get(ctx, "c", append([]string{href}, badItems...))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	for _, f := range res {
		if f.Href == href {
			if f.Err != nil {
				t.Errorf("Get(%q): %v", href, f.Err)
			}
		} else if !errors.Is(f.Err, storage.ErrInvalidData) {
			t.Errorf("Get(%q): %v, want ErrInvalidData", f.Href, f.Err)
		}
	}

	badColls := []string{"..", ".", "", "/", "a/b", "/etc", "../c", "c/..", "x\x00", ".hidden", "..//", "\xff"}
	for _, c := range badColls {
		checks := map[string]error{
			"CreateCollection": s.CreateCollection(ctx, c),
			"DeleteCollection": s.DeleteCollection(ctx, c),
			"SetProperty":      s.SetProperty(ctx, c, storage.PropDisplayName, "evil"),
			"DeleteProperty":   s.DeleteProperty(ctx, c, storage.PropDisplayName),
		}
		_, checks["List"] = s.List(ctx, c)
		_, checks["Get"] = s.Get(ctx, c, []string{href})
		_, _, checks["Create"] = s.Create(ctx, c, item("evil", "Evil"))
		_, checks["Properties"] = s.Properties(ctx, c)
		_, checks["CollectionHref"] = s.CollectionHref(c)
		for op, err := range checks {
			if !errors.Is(err, storage.ErrInvalidData) {
				t.Errorf("%s(%q): %v, want ErrInvalidData", op, c, err)
			}
		}
	}
	sameTree(t, "after hostile hrefs", tree(t, parent), before)
	if got := listed(t, s, "c"); len(got) != 1 || got[href] == "" {
		t.Errorf("List = %v", got)
	}
}

func TestHostileUIDsStayInCollection(t *testing.T) {
	s, root, parent := setup(t)
	outside := tree(t, parent)
	delete(outside, "root/c")
	cases := map[string]string{
		"../../x":        "x.ics",
		"a/b/c":          "abc.ics",
		"/etc/passwd":    "etcpasswd.ics",
		"..":             "", // hash name
		"../../../../..": "",
		"c/../../x\\y":   "cxy.ics",
	}
	for uid, want := range cases {
		it := storage.MustItem(storagetest.ItemText(storage.Calendars, uid, "hostile"))
		href, _, err := s.Create(t.Context(), "c", it)
		if err != nil {
			t.Fatalf("Create(UID %q): %v", uid, err)
		}
		if want == "" {
			want = it.Hash() + ".ics"
		}
		if href != "c/"+want {
			t.Errorf("UID %q: href %q, want %q", uid, href, "c/"+want)
		}
		if _, err := os.Stat(filepath.Join(root, "c", want)); err != nil {
			t.Errorf("UID %q: %v", uid, err)
		}
	}
	after := tree(t, parent)
	for k, v := range outside {
		if after[k] != v {
			t.Errorf("%s changed", k)
		}
	}
	for k := range after {
		if _, ok := outside[k]; !ok && !strings.HasPrefix(k, "root/c/") && k != "root/c" {
			t.Errorf("unexpected %s outside the collection", k)
		}
	}
}

func TestBadFileExtCannotEscape(t *testing.T) {
	_, root, parent := setup(t)
	s := vdir.New(root, storage.Calendars, "x/../../../escape")
	if err := s.Check(t.Context()); !errors.Is(err, storage.ErrInvalidData) {
		t.Errorf("Check with a bad fileext: %v, want ErrInvalidData", err)
	}
	before := tree(t, parent)
	if _, _, err := s.Create(t.Context(), "c", item("u", "x")); !errors.Is(err, storage.ErrInvalidData) {
		t.Errorf("Create with a bad fileext: %v, want ErrInvalidData", err)
	}
	sameTree(t, "after Create with a bad fileext", tree(t, parent), before)
}

func TestFileNames(t *testing.T) {
	long := strings.Repeat("x", 300)
	max := strings.Repeat("y", 200)
	cases := []struct{ uid, want string }{
		{"11bb6bed-c29b-4999-a627-12dee35f8395", "11bb6bed-c29b-4999-a627-12dee35f8395.ics"},
		{"these/slashes/are/not/okay", "theseslashesarenotokay.ics"},
		{"user@example.com", "userexamplecom.ics"},
		{"a+b_c-D9", "a+b_c-D9.ics"},
		{"äää", ""},
		{"", ""},
		{"...", ""},
		{long, ""},
		{max, max + ".ics"},
		{max + "z", ""},
		{"ab" + strings.Repeat("ä", 150), "ab.ics"}, // dropped bytes do not count
	}
	for _, c := range cases {
		it := item(c.uid, "x")
		names := vdir.FileNames(it, "ics")
		hash := it.Hash() + ".ics"
		want := []string{c.want, hash}
		if c.want == "" {
			want = []string{hash}
		}
		if !slices.Equal(names, want) {
			t.Errorf("FileNames(UID %.20q) = %q, want %q", c.uid, names, want)
		}
	}
	// No UID: the ident is the hash, so there is only one name.
	noUID := storage.MustItem("BEGIN:VCALENDAR\r\nX-A:b\r\nEND:VCALENDAR\r\n")
	if got := vdir.FileNames(noUID, "ics"); !slices.Equal(got, []string{noUID.Hash() + ".ics"}) {
		t.Errorf("FileNames without UID = %q", got)
	}
}

func TestCreateNameCollision(t *testing.T) {
	s, root, _ := setup(t)
	ctx := t.Context()
	h1, _, err := s.Create(ctx, "c", item("a/b", "first"))
	if err != nil || h1 != "c/ab.ics" {
		t.Fatalf("Create = %q, %v", h1, err)
	}
	second := item("ab", "second")
	h2, _, err := s.Create(ctx, "c", second)
	if err != nil || h2 != "c/"+second.Hash()+".ics" {
		t.Fatalf("Create of a colliding name = %q, %v; want the hash name", h2, err)
	}
	// The same item again: both names taken.
	_, _, err = s.Create(ctx, "c", second)
	if !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("third Create: %v, want ErrPrecondition", err)
	}
	if got := readFile(t, filepath.Join(root, "c", "ab.ics")); !strings.Contains(got, "SUMMARY:first") {
		t.Fatalf("ab.ics was overwritten: %q", got)
	}
	// A dangling symlink occupies a name too: never written through.
	if err := os.Symlink(filepath.Join(root, "elsewhere.ics"), filepath.Join(root, "c", "dangle.ics")); err != nil {
		t.Fatal(err)
	}
	h, _, err := s.Create(ctx, "c", item("dangle", "x"))
	if err != nil || h == "c/dangle.ics" {
		t.Fatalf("Create over a dangling symlink = %q, %v", h, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "elsewhere.ics")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create wrote through a dangling symlink")
	}
}

func TestWritesAreAtomicAndPrivate(t *testing.T) {
	s, root, _ := setup(t)
	ctx := t.Context()
	if err := s.CreateCollection(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "new")); fi.Mode().Perm() != 0o700 {
		t.Errorf("new collection mode %v, want 0700", fi.Mode().Perm())
	}
	text := storagetest.ItemText(storage.Calendars, "u1", "one")
	href, etag, err := s.Create(ctx, "new", storage.MustItem(text))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, href)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new item mode %v, want 0600", fi.Mode().Perm())
	}
	if got := readFile(t, path); got != text {
		t.Errorf("file content %q, want exactly %q", got, text)
	}
	if etag != listed(t, s, "new")[href] {
		t.Errorf("Create etag %q, List etag %q", etag, listed(t, s, "new")[href])
	}
	// Update keeps the permission bits the user chose.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	etag = listed(t, s, "new")[href]
	etag, err = s.Update(ctx, href, etag, item("u1", "two"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("updated item mode %v, want 0644 kept", fi.Mode().Perm())
	}
	if etag != listed(t, s, "new")[href] {
		t.Errorf("Update etag %q differs from List", etag)
	}
	if err := s.SetProperty(ctx, "new", storage.PropColor, "#ff0000"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "new", "color")); got != "#ff0000" {
		t.Errorf("color file %q, want the exact value without newline", got)
	}
	if err := s.Delete(ctx, href, etag); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(root, "new"), filepath.Join(root, "c")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary file left behind: %s", filepath.Join(dir, e.Name()))
			}
		}
	}
}

func TestStaleTmpFilesRemoved(t *testing.T) {
	s, root, _ := setup(t)
	dir := filepath.Join(root, "c")
	old := time.Now().Add(-25 * time.Hour)
	for _, n := range []string{".pimsync-old.tmp", ".pimsync-new.tmp", ".other-old.tmp", ".pimsync-old.ics"} {
		writeFile(t, filepath.Join(dir, n), "x")
		if strings.Contains(n, "old") {
			if err := os.Chtimes(filepath.Join(dir, n), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := listed(t, s, "c"); len(got) != 0 {
		t.Fatalf("List = %v, want nothing", got)
	}
	for n, want := range map[string]bool{".pimsync-old.tmp": false, ".pimsync-new.tmp": true, ".other-old.tmp": true, ".pimsync-old.ics": true} {
		if _, err := os.Lstat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", n, err == nil, want)
		}
	}
}

func TestETagNanoseconds(t *testing.T) {
	s, root, _ := setup(t)
	path := filepath.Join(root, "c", "e.ics")
	text := storagetest.ItemText(storage.Calendars, "e", "AAAA")
	writeFile(t, path, text)
	base := time.Date(2024, 5, 1, 12, 0, 0, 100, time.UTC)
	if err := os.Chtimes(path, base, base); err != nil {
		t.Fatal(err)
	}
	etag1 := listed(t, s, "c")["c/e.ics"]
	fi, _ := os.Stat(path)
	ino := fi.Sys().(*syscall.Stat_t).Ino
	if want := fmt.Sprintf("%d;%d;%d", base.UnixNano(), len(text), ino); etag1 != want {
		t.Fatalf("etag %q, want %q", etag1, want)
	}
	// Same size, same inode, same second: only the nanoseconds differ.
	if err := os.WriteFile(path, []byte(strings.Replace(text, "AAAA", "BBBB", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	later := base.Add(100 * time.Nanosecond)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	etag2 := listed(t, s, "c")["c/e.ics"]
	if etag2 == etag1 {
		t.Fatalf("etag unchanged after a rewrite within the same second: %q", etag1)
	}
	if f := getOne(t, s, "c/e.ics"); f.ETag != etag2 || !strings.Contains(f.Item.Text(), "BBBB") {
		t.Fatalf("Get = %q, %v", f.ETag, f.Err)
	}
	if _, err := s.Update(t.Context(), "c/e.ics", etag1, item("e", "CCCC")); !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("Update with the etag of the previous version: %v, want ErrPrecondition", err)
	}
}

func TestSymlinkedCollection(t *testing.T) {
	s, root, parent := setup(t)
	target := filepath.Join(parent, "elsewhere")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	colls, err := s.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(colls) != 2 || colls[0].Href != "c" || colls[1].Href != "linked" || colls[1].ID != "linked" {
		t.Fatalf("Discover = %v", colls)
	}
	href, etag, err := s.Create(t.Context(), "linked", item("l", "linked"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "l.ics")); err != nil {
		t.Fatalf("item not written into the link target: %v", err)
	}
	if got := listed(t, s, "linked"); got[href] != etag {
		t.Fatalf("List = %v", got)
	}
	if err := s.Delete(t.Context(), href, etag); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProperty(t.Context(), "linked", storage.PropDisplayName, "L"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCollection(t.Context(), "linked"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "linked")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the collection link is still there: %v", err)
	}
	if entries, err := os.ReadDir(target); err != nil || len(entries) != 0 {
		t.Fatalf("link target = %v, %v; want it kept and empty", entries, err)
	}
}

func TestSymlinkedItem(t *testing.T) {
	s, root, parent := setup(t)
	ctx := t.Context()
	targetText := storagetest.ItemText(storage.Calendars, "sym", "Target")
	target := filepath.Join(parent, "target.ics")
	writeFile(t, target, targetText)
	link := filepath.Join(root, "c", "sym.ics")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(target)
	etag := listed(t, s, "c")["c/sym.ics"]
	if want := fmt.Sprintf("%d;%d;%d", fi.ModTime().UnixNano(), fi.Size(), fi.Sys().(*syscall.Stat_t).Ino); etag != want {
		t.Fatalf("etag of a symlinked item %q, want the target's %q", etag, want)
	}
	if f := getOne(t, s, "c/sym.ics"); f.Err != nil || f.Item.Text() != targetText || f.ETag != etag {
		t.Fatalf("Get through the link = %q, %q, %v", f.Item.Text(), f.ETag, f.Err)
	}
	// Update replaces the link with a regular file; the target is untouched.
	newTag, err := s.Update(ctx, "c/sym.ics", etag, item("sym", "Updated"))
	if err != nil {
		t.Fatal(err)
	}
	if lfi, _ := os.Lstat(link); !lfi.Mode().IsRegular() {
		t.Fatalf("after Update the item is %v, want a regular file", lfi.Mode())
	}
	if got := readFile(t, target); got != targetText {
		t.Fatalf("Update wrote through the symlink: target is now %q", got)
	}
	if listed(t, s, "c")["c/sym.ics"] != newTag {
		t.Fatalf("etag after Update")
	}
	// Delete removes a link, never its target.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "c/sym.ics", listed(t, s, "c")["c/sym.ics"]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("link still there after Delete")
	}
	if got := readFile(t, target); got != targetText {
		t.Fatalf("Delete changed the target: %q", got)
	}
}

func TestDanglingSymlink(t *testing.T) {
	s, root, _ := setup(t)
	link := filepath.Join(root, "c", "dangling.ics")
	if err := os.Symlink(filepath.Join(root, "nowhere.ics"), link); err != nil {
		t.Fatal(err)
	}
	got := listed(t, s, "c")
	etag, ok := got["c/dangling.ics"]
	if !ok || etag != "" {
		t.Fatalf("List = %v; want the dangling link listed with an empty etag", got)
	}
	if f := getOne(t, s, "c/dangling.ics"); f.Err == nil {
		t.Fatalf("Get of a dangling symlink succeeded")
	}
	if err := s.Delete(t.Context(), "c/dangling.ics", "1;2;3"); !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("Delete with another etag: %v, want ErrPrecondition", err)
	}
	if err := s.Delete(t.Context(), "c/dangling.ics", ""); err != nil {
		t.Fatalf("Delete of the dangling link with its etag: %v", err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dangling link not removed")
	}
}

func TestSymlinkLoops(t *testing.T) {
	s, root, _ := setup(t)
	dir := filepath.Join(root, "c")
	for _, l := range [][2]string{{"self.ics", "self.ics"}, {"a.ics", "b.ics"}, {"b.ics", "a.ics"}} {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("loopdir", filepath.Join(root, "loopdir")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got := listed(t, s, "c")
		if len(got) != 3 || got["c/self.ics"] != "" || got["c/a.ics"] != "" {
			t.Errorf("List = %v; want the three loops listed with empty etags", got)
		}
		res, err := s.Get(t.Context(), "c", []string{"c/self.ics", "c/a.ics"})
		if err != nil {
			t.Errorf("Get: %v", err)
		}
		for _, f := range res {
			if f.Err == nil {
				t.Errorf("Get(%q) of a symlink loop succeeded", f.Href)
			}
		}
		colls, err := s.Discover(t.Context())
		if err != nil || len(colls) != 1 {
			t.Errorf("Discover = %v, %v; want only c", colls, err)
		}
		if _, err := s.Update(t.Context(), "c/self.ics", "x", item("x", "x")); err == nil {
			t.Errorf("Update of a loop succeeded")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("symlink loops hang the storage")
	}
}

// TestNotFetchable covers entries that are listed but cannot be read, and entries that
// are not items at all but are asked for by href (a stale status row).
func TestNotFetchable(t *testing.T) {
	t.Run("chmod000", func(t *testing.T) {
		s, root, _ := setup(t)
		path := filepath.Join(root, "c", "locked.ics")
		if os.Geteuid() == 0 {
			// Permission bits do not stop root, so let the open fail the way it
			// does for everyone else.
			t.Cleanup(vdir.SetOpenItem(func(name string, flag int, perm os.FileMode) (*os.File, error) {
				if name == path {
					return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
				}
				return os.OpenFile(name, flag, perm)
			}))
		}
		writeFile(t, path, storagetest.ItemText(storage.Calendars, "locked", "x"))
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		if _, ok := listed(t, s, "c")["c/locked.ics"]; !ok {
			t.Fatalf("unreadable file not listed")
		}
		if f := getOne(t, s, "c/locked.ics"); !errors.Is(f.Err, storage.ErrAccessDenied) {
			t.Fatalf("Get of an unreadable file: %v, want ErrAccessDenied", f.Err)
		}
	})
	t.Run("unsearchable", func(t *testing.T) {
		// A file whose stat fails (a symlink into a directory we may not search, or as
		// root a symlink loop) is listed with an empty etag and fails alone in Get.
		s, root, parent := setup(t)
		locked := filepath.Join(parent, "locked")
		if err := os.Mkdir(locked, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(locked, "x.ics"), storagetest.ItemText(storage.Calendars, "x", "x"))
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o700) })
		target := filepath.Join(locked, "x.ics")
		if os.Geteuid() == 0 {
			target = "x.ics" // a loop: fails for root too
		}
		if err := os.Symlink(target, filepath.Join(root, "c", "x.ics")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "c", "ok.ics"), storagetest.ItemText(storage.Calendars, "ok", "ok"))
		got := listed(t, s, "c")
		if etag, ok := got["c/x.ics"]; !ok || etag != "" || len(got) != 2 {
			t.Fatalf("List = %v", got)
		}
		res, err := s.Get(t.Context(), "c", []string{"c/x.ics", "c/ok.ics"})
		if err != nil || len(res) != 2 {
			t.Fatalf("Get = %v, %v", res, err)
		}
		for _, f := range res {
			if (f.Err == nil) != (f.Href == "c/ok.ics") {
				t.Errorf("Get(%q): %v", f.Href, f.Err)
			}
		}
	})
	t.Run("fifo and directory and device", func(t *testing.T) {
		s, root, _ := setup(t)
		dir := filepath.Join(root, "c")
		// Listed as a regular file first, then replaced by a FIFO before Get.
		writeFile(t, filepath.Join(dir, "fifo.ics"), storagetest.ItemText(storage.Calendars, "f", "f"))
		if _, ok := listed(t, s, "c")["c/fifo.ics"]; !ok {
			t.Fatal("regular file not listed")
		}
		os.Remove(filepath.Join(dir, "fifo.ics"))
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo.ics"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "dir.ics"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.ics")); err != nil {
			t.Fatal(err)
		}
		if got := listed(t, s, "c"); len(got) != 0 {
			t.Fatalf("List = %v; FIFOs, directories and devices are not items", got)
		}
		hrefs := []string{"c/fifo.ics", "c/dir.ics", "c/zero.ics"}
		done := make(chan []storage.Fetched)
		go func() {
			res, err := s.Get(t.Context(), "c", hrefs)
			if err != nil {
				t.Errorf("Get: %v", err)
			}
			done <- res
		}()
		select {
		case res := <-done:
			if len(res) != 3 {
				t.Fatalf("Get = %v", res)
			}
			for _, f := range res {
				if f.Err == nil {
					t.Errorf("Get(%q) succeeded", f.Href)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Get blocks on a FIFO or device")
		}
		if err := s.Delete(t.Context(), "c/dir.ics", ""); err == nil {
			t.Errorf("Delete removed a directory")
		}
		if fi, err := os.Stat(filepath.Join(dir, "dir.ics")); err != nil || !fi.IsDir() {
			t.Errorf("directory dir.ics is gone")
		}
	})
	t.Run("invalid content", func(t *testing.T) {
		s, root, _ := setup(t)
		dir := filepath.Join(root, "c")
		writeFile(t, filepath.Join(dir, "binary.ics"), "\x00\x01\x02\xff\xfe")
		writeFile(t, filepath.Join(dir, "empty.ics"), "")
		writeFile(t, filepath.Join(dir, "vcard.ics"), storagetest.ItemText(storage.Contacts, "v", "v"))
		got := listed(t, s, "c")
		if len(got) != 3 {
			t.Fatalf("List = %v", got)
		}
		res, err := s.Get(t.Context(), "c", []string{"c/binary.ics", "c/empty.ics", "c/vcard.ics"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res {
			if !errors.Is(f.Err, storage.ErrInvalidData) {
				t.Errorf("Get(%q): %v, want ErrInvalidData", f.Href, f.Err)
			}
		}
	})
}

func TestRootErrors(t *testing.T) {
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "missing")
	s := vdir.New(missing, storage.Calendars, "ics")
	for op, err := range map[string]error{
		"Check":            s.Check(ctx),
		"Discover":         second(s.Discover(ctx)),
		"List":             second(s.List(ctx, "c")),
		"Get":              second(s.Get(ctx, "c", []string{"c/x.ics"})),
		"Properties":       second(s.Properties(ctx, "c")),
		"CreateCollection": s.CreateCollection(ctx, "c"),
	} {
		if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s with a missing root: %v; want an error naming %s", op, err, missing)
		}
		if errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s with a missing root is ErrNotFound, which reads as 'collection deleted': %v", op, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the root was created")
	}
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "x")
	s = vdir.New(file, storage.Calendars, "ics")
	if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Check with a file as root: %v", err)
	}
	if _, err := s.Discover(ctx); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Discover with a file as root: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestListIgnores(t *testing.T) {
	var logBuf bytes.Buffer
	s, root, _ := setup(t)
	s.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	ctx := t.Context()
	dir := filepath.Join(root, "c")
	text := storagetest.ItemText(storage.Calendars, "i", "i")
	for _, n := range []string{"item.ics", ".hidden.ics", "upper.ICS", "item.ics.bak", "notes.txt", "ics", "\xff\xfe.ics", "displayname", "color", "description", "order"} {
		writeFile(t, filepath.Join(dir, n), text)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.ics"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.ics"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := listed(t, s, "c")
	if len(got) != 1 || got["c/item.ics"] == "" {
		t.Fatalf("List = %v; want only c/item.ics", got)
	}
	listed(t, s, "c")
	if n := strings.Count(logBuf.String(), "not valid UTF-8"); n != 1 {
		t.Errorf("warned %d times about the non-UTF-8 name, want once: %s", n, logBuf.String())
	}
	if s.ItemReads() != 0 {
		t.Errorf("List opened %d item files", s.ItemReads())
	}
	// Metadata files are properties, not items.
	props, err := s.Properties(ctx, "c")
	if err != nil || len(props) != 4 {
		t.Errorf("Properties = %v, %v", props, err)
	}
	// Discovery ignores hidden and non-UTF-8 directories and plain files.
	for _, d := range []string{".git", "\xff", "b"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "file.ics"), text)
	colls, err := s.Discover(ctx)
	if err != nil || len(colls) != 2 || colls[0].ID != "b" || colls[1].ID != "c" {
		t.Fatalf("Discover = %v, %v; want b and c", colls, err)
	}
}

func TestItemReadsCounted(t *testing.T) {
	s, _, _ := setup(t)
	ctx := t.Context()
	var hrefs []string
	for i := range 3 {
		h, _, err := s.Create(ctx, "c", item(fmt.Sprint("r", i), "x"))
		if err != nil {
			t.Fatal(err)
		}
		hrefs = append(hrefs, h)
	}
	listed(t, s, "c")
	if n := s.ItemReads(); n != 0 {
		t.Fatalf("Create and List opened %d item files", n)
	}
	if _, err := s.Get(ctx, "c", append(hrefs, hrefs[0])); err != nil {
		t.Fatal(err)
	}
	if n := s.ItemReads(); n != 3 {
		t.Fatalf("Get of 3 distinct items opened %d files", n)
	}
}

func TestDeleteCollectionKeepsForeignFiles(t *testing.T) {
	s, root, _ := setup(t)
	ctx := t.Context()
	dir := filepath.Join(root, "c")
	if err := s.SetProperty(ctx, "c", storage.PropDisplayName, "Work"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
	err := s.DeleteCollection(ctx, "c")
	if !errors.Is(err, storage.ErrCollectionNotEmpty) || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("DeleteCollection with a foreign file: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "displayname")); got != "Work" {
		t.Fatalf("refused DeleteCollection removed metadata: %q", got)
	}
	os.Remove(filepath.Join(dir, "notes.txt"))
	writeFile(t, filepath.Join(dir, ".pimsync-crash.tmp"), "leftover")
	if err := s.DeleteCollection(ctx, "c"); err != nil {
		t.Fatalf("DeleteCollection with metadata and a leftover tmp file: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("collection directory still there")
	}
	// A file where a collection would be is not a collection.
	writeFile(t, filepath.Join(root, "plain"), "x")
	if err := s.CreateCollection(ctx, "plain"); !errors.Is(err, storage.ErrPrecondition) {
		t.Fatalf("CreateCollection over a file: %v", err)
	}
	if _, err := s.List(ctx, "plain"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("List of a file: %v, want ErrNotFound", err)
	}
}

func TestPropertiesFiles(t *testing.T) {
	s, root, _ := setup(t)
	ctx := t.Context()
	dir := filepath.Join(root, "c")
	writeFile(t, filepath.Join(dir, "displayname"), "Work\n")
	writeFile(t, filepath.Join(dir, "color"), "  \n")
	props, err := s.Properties(ctx, "c")
	if err != nil || len(props) != 1 || props["displayname"] != "Work" {
		t.Fatalf("Properties = %v, %v", props, err)
	}
	// DeleteProperty removes the file inside the collection, not one in the working
	// directory (pimsync's bug).
	cwd := t.TempDir()
	writeFile(t, filepath.Join(cwd, "displayname"), "not mine")
	t.Chdir(cwd)
	if err := s.DeleteProperty(ctx, "c", storage.PropDisplayName); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "displayname")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("displayname still in the collection")
	}
	if got := readFile(t, filepath.Join(cwd, "displayname")); got != "not mine" {
		t.Fatalf("file in the working directory touched")
	}
	writeFile(t, filepath.Join(dir, "description"), "\xff\xfe")
	if _, err := s.Properties(ctx, "c"); !errors.Is(err, storage.ErrInvalidData) {
		t.Fatalf("Properties with a non-UTF-8 file: %v", err)
	}
	// Contacts have no color or order.
	c := vdir.New(root, storage.Contacts, "vcf")
	if err := c.SetProperty(ctx, "c", storage.PropColor, "#fff"); !errors.Is(err, storage.ErrUnsupported) {
		t.Fatalf("SetProperty(color) on contacts: %v", err)
	}
	if err := s.SetProperty(ctx, "missing", storage.PropColor, "#fff"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SetProperty on a missing collection: %v", err)
	}
}

func TestContextCancelledGet(t *testing.T) {
	s, _, _ := setup(t)
	h, _, err := s.Create(t.Context(), "c", item("x", "x"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, "c", []string{h}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
}
