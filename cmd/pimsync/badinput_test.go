package main

// Bad input: each case gets a clear message naming the item or line, the rest of the
// collection still syncs, and nothing outside the storages is touched.

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

// outside lists every path in the workspace that is not below a/, b/, status/ or
// home/, plus the config: the files a sync may never create.
func (e *env) outside() []string {
	var out []string
	filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(e.dir, p)
		switch {
		case rel == ".":
			return nil
		case rel == "a" || rel == "b" || rel == "status" || rel == "home":
			return filepath.SkipDir
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

func TestBadItems(t *testing.T) {
	cases := []struct {
		name, file, content string
		want                []string // in stderr
	}{
		{"no END line", "noend.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:noend\r\nSUMMARY:x\r\n", []string{"c/noend.ics", "line 2, byte 17: BEGIN:VEVENT is never closed", "(truncated?)"}},
		{"binary garbage", "garbage.ics", "\x00\xff\xfe\x9c\x01binary\x80", []string{"c/garbage.ics", "line 1, byte 1: not valid UTF-8"}},
		{"UTF-8 garbage", "text.ics", "just some text\r\nwith lines\r\n", []string{"c/text.ics", "line 1, byte 0: no component", `starts with "just some text"`}},
		{"empty file", "empty.ics", "", []string{"c/empty.ics", "empty"}},
		{"wrong component", "card.ics", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card\r\nFN:x\r\nEND:VCARD\r\n", []string{"c/card.ics", "line 1, byte 0: BEGIN:VCARD: a vCard does not belong in a calendar"}},
		{"broken nesting", "nest.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:nest\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", []string{"c/nest.ics", "line 4, byte 41: END:VTODO does not close BEGIN:VEVENT of line 2"}},
		{"Latin-1", "latin1.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:l1\nSUMMARY;CHARSET=ISO-8859-1:Caf\xe9\nEND:VEVENT\nEND:VCALENDAR\n",
			[]string{"c/latin1.ics", "a/c/latin1.ics: line 4, byte 66: not valid UTF-8 (bytes E9 0A 45 4E); the item declares CHARSET=ISO-8859-1", "iconv -f ISO-8859-1 -t UTF-8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.write("a/c/good.ics", event("good", "G"))
			e.write("a/c/"+c.file, c.content)
			outside := e.outside()
			r := e.mustRun(1, "sync")
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if !e.exists("b/c/good.ics") {
				t.Error("the good item did not sync")
			}
			if len(e.files("b")) != 1 {
				t.Errorf("b has %v", e.files("b"))
			}
			if got := e.outside(); strings.Join(got, ",") != strings.Join(outside, ",") {
				t.Errorf("files outside the storages changed: %v → %v", outside, got)
			}
			if e.read("a/c/"+c.file) != c.content {
				t.Error("the bad item was modified")
			}
		})
	}
}

func TestItemWithoutUIDIsSyncedWithANotice(t *testing.T) {
	e := newEnv(t)
	p := event("", "no uid")
	e.write("a/c/p.ics", p)
	r := e.mustRun(0, "sync")
	if e.read("b/c/"+storage.Hash(p)+".ics") != p {
		t.Fatalf("b = %v", e.files("b"))
	}
	if !strings.Contains(r.stderr, "c/p.ics has no UID") || !strings.Contains(r.stderr, "pimsync repair a") {
		t.Errorf("no notice: %s", r.stderr)
	}
}

func TestHostileUIDs(t *testing.T) {
	e := newEnv(t)
	dots := event("../../x", "dots")
	slashes := event("a/b/../../c", "slashes")
	long := event(strings.Repeat("x", 2000), "long")
	abs := event("/etc/passwd", "absolute")
	e.write("a/c/1.ics", dots)
	e.write("a/c/2.ics", slashes)
	e.write("a/c/3.ics", long)
	e.write("a/c/4.ics", abs)
	outside := e.outside()
	e.mustRun(0, "sync")
	want := map[string]string{
		"c/x.ics":                          dots,
		"c/abc.ics":                        slashes,
		"c/" + storage.Hash(long) + ".ics": long,
		"c/etcpasswd.ics":                  abs,
	}
	got := e.files("b")
	if len(got) != len(want) {
		t.Fatalf("b = %v", got)
	}
	for f, content := range want {
		if e.read("b/"+f) != content {
			t.Errorf("b/%s differs or is missing", f)
		}
	}
	if got := e.outside(); strings.Join(got, ",") != strings.Join(outside, ",") {
		t.Errorf("files outside the storages changed: %v → %v", outside, got)
	}
	before := e.snapshot()
	e.mustRun(0, "sync")
	e.assertUnchanged(before)
}

func TestVdirPathIsAFile(t *testing.T) {
	e := newEnv(t)
	e.remove("b")
	e.write("b", "not a directory")
	e.write("a/c/x.ics", event("x", "X"))
	r := e.mustRun(1, "sync")
	if !strings.Contains(r.stderr, e.path("b")) || !strings.Contains(r.stderr, "not a directory") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if e.read("b") != "not a directory" {
		t.Error("the file was modified")
	}
	r = e.mustRun(1, "check")
	if !strings.Contains(r.stdout, "storage b (vdir/icalendar): FAILED") {
		t.Errorf("check: %s", r)
	}
}

func TestUnreadableItem(t *testing.T) {
	e := newEnv(t)
	e.unprivileged()
	e.write("a/c/good.ics", event("good", "G"))
	e.write("a/c/locked.ics", event("locked", "L"))
	if err := os.Chmod(e.path("a/c/locked.ics"), 0); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun(1, "sync")
	if !strings.Contains(r.stderr, "c/locked.ics") || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if !e.exists("b/c/good.ics") || e.exists("b/c/locked.ics") {
		t.Errorf("b = %v", e.files("b"))
	}
}

func TestSymlinkLoop(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/good.ics", event("good", "G"))
	if err := os.Symlink("loop2.ics", e.path("a/c/loop1.ics")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1.ics", e.path("a/c/loop2.ics")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", e.path("a/c/self")); err != nil { // a directory loop
		t.Fatal(err)
	}
	r := e.mustRun(1, "sync")
	if !strings.Contains(r.stderr, "c/loop1.ics") || !strings.Contains(r.stderr, "c/loop2.ics") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if got := e.files("b"); strings.Join(got, ",") != "c/good.ics" {
		t.Errorf("b = %v", got)
	}
}

// TestBrokenItemDoesNotDeleteItsCopy: an item that was synced and then became
// unreadable must not be treated as deleted (sync.md §6.2).
func TestBrokenItemDoesNotDeleteItsCopy(t *testing.T) {
	e := newEnv(t)
	e.write("a/c/x.ics", event("x", "X"))
	e.write("a/c/y.ics", event("y", "Y"))
	e.mustRun(0, "sync")
	e.write("a/c/x.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n") // truncated
	r := e.mustRun(1, "sync")
	if !e.exists("b/c/x.ics") {
		t.Fatal("b's copy was deleted")
	}
	if !strings.Contains(r.stderr, "c/x.ics") {
		t.Errorf("stderr: %s", r.stderr)
	}
}
