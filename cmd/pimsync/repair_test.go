package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
)

func TestRepairVdir(t *testing.T) {
	e := newEnv(t)
	noUID := event("", "needs a uid")
	e.write("a/c/nouid.ics", noUID)
	e.write("a/c/good.ics", event("good", "fine"))
	e.write("a/c/broken.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nEND:VCARD\r\n"
	goodInfo, _ := os.Stat(e.path("a/c/good.ics"))

	// Both sides hold the UID-less item and are in sync before the repair.
	e.write("b/c/nouid.ics", noUID)
	e.remove("a/c/broken.ics")
	e.mustRun(0, "sync")
	e.write("a/c/broken.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")

	before := e.snapshot()
	r := e.mustRun(1, "repair", "-n", "a")
	e.assertUnchanged(before)
	uid := storage.Hash(noUID)
	if !strings.Contains(r.stdout, "a: c/nouid.ics: would add UID "+uid) {
		t.Errorf("-n: %s", r)
	}
	if !strings.Contains(r.stderr, "c/broken.ics: cannot be repaired") {
		t.Errorf("-n stderr: %s", r.stderr)
	}

	r = e.mustRun(1, "repair", "a")
	got := e.read("a/c/nouid.ics")
	want := strings.Replace(noUID, "BEGIN:VEVENT\r\n", "BEGIN:VEVENT\r\nUID:"+uid+"\r\n", 1)
	if got != want {
		t.Fatalf("repaired item:\n%q\nwant\n%q", got, want)
	}
	if info, _ := os.Stat(e.path("a/c/good.ics")); !info.ModTime().Equal(goodInfo.ModTime()) {
		t.Error("a valid item was touched")
	}
	if e.read("a/c/broken.ics") != "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" {
		t.Error("the broken item was touched")
	}
	// The ident is unchanged (UID = old hash), so the next sync propagates the
	// repaired version instead of creating a second copy.
	e.remove("a/c/broken.ics")
	e.mustRun(0, "sync")
	if e.read("b/c/nouid.ics") != want || len(e.files("b")) != 2 {
		t.Fatalf("b after sync: %v %q", e.files("b"), e.read("b/c/nouid.ics"))
	}
	r = e.mustRun(0, "repair", "a")
	if !strings.Contains(r.stdout, "a: nothing to repair") {
		t.Errorf("second repair: %s", r)
	}

	// vCards get the UID after VERSION.
	e2 := newEnv(t)
	e2.write("pimsync.conf", fmt.Sprintf("status_path %q\nstorage cards {\n  type vdir/vcard\n  path %q\n}\n", e2.path("status"), e2.path("a")))
	e2.write("a/book/x.vcf", card)
	e2.mustRun(0, "repair", "cards")
	if got := e2.read("a/book/x.vcf"); got != strings.Replace(card, "VERSION:3.0\r\n", "VERSION:3.0\r\nUID:"+storage.Hash(card)+"\r\n", 1) {
		t.Fatalf("vcard: %q", got)
	}
	if r := e2.run("repair"); r.code != 100 {
		t.Errorf("repair without storages: %s", r)
	}
}

// TestRepairRealServers: Radicale refuses items without UID, so a repair there finds
// nothing and touches nothing; Xandikos stores them, and repair fixes them in place.
func TestRepairRealServers(t *testing.T) {
	rad := startServer(t, "radicale")
	e := newDavEnv(t, rad, "calendar")
	e.put("good.ics", event("good", "fine"), nil)
	_, h, _ := rad.Do(t, "GET", e.coll+"good.ics", nil, nil)
	r := e.mustRun(0, "repair", "remote")
	if !strings.Contains(r.stdout, "remote: nothing to repair") {
		t.Errorf("radicale: %s", r)
	}
	if _, h2, _ := rad.Do(t, "GET", e.coll+"good.ics", nil, nil); h2.Get("ETag") != h.Get("ETag") {
		t.Error("radicale: a valid item was rewritten")
	}

	xan := startServer(t, "xandikos")
	x := newDavEnv(t, xan, "calendar")
	noUID := event("", "needs a uid")
	x.put("nouid.ics", noUID, nil)
	x.put("good.ics", event("good", "fine"), nil)
	_, gh, _ := xan.Do(t, "GET", x.coll+"good.ics", nil, nil)
	// Xandikos re-serialises what it stores: the UID is the hash of its copy.
	_, _, stored := xan.Do(t, "GET", x.coll+"nouid.ics", nil, nil)
	uid := storage.Hash(string(stored))
	r = x.mustRun(0, "repair", "-n", "remote")
	if !strings.Contains(r.stdout, "would add UID "+uid) || x.serverHas("UID:"+uid) {
		t.Fatalf("-n: %s", r)
	}
	r = x.mustRun(0, "repair", "remote")
	if !x.serverHas("UID:"+uid, "needs a uid") {
		t.Fatalf("xandikos: not repaired: %s\n%q", r, x.serverItems())
	}
	if _, gh2, _ := xan.Do(t, "GET", x.coll+"good.ics", nil, nil); gh2.Get("ETag") != gh.Get("ETag") {
		t.Error("xandikos: a valid item was rewritten")
	}
}
