package main

// Issue 9's proof: writes whose answers go wrong between pimsync and a real server,
// followed by what a user does next, end in one clean run with the state a careful user
// expects, and a further run writes nothing. The faults come from davtest.FaultProxy
// in front of the real servers.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pimsync-go/pimsync/bench"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

// fault is how the write's answer goes wrong.
type fault struct {
	name    string
	action  func() davtest.Action
	kill    bool // kill -9 pimsync while the (applied) answer is held
	applied bool // the server performed the write
}

var faults = []fault{
	{name: "answer lost", action: davtest.DropAnswer, applied: true},
	{name: "reset mid-answer", action: davtest.ResetMidBody, applied: true},
	{name: "503", action: func() davtest.Action { return davtest.Status(503) }},
	{name: "kill -9", action: davtest.Hold, kill: true, applied: true},
}

// then is what the user does after the faulty run.
type then int

const (
	untouched then = iota
	editedLocally
	deletedLocally
	editedOnServer
)

func (t then) String() string {
	return [...]string{"untouched", "edited locally", "deleted locally", "edited on the server"}[t]
}

// outcome is the expected state after the clean run: the item's summary on both sides
// ("" = gone on both), or a conflict that keeps both versions.
type outcome struct {
	summary  string
	conflict bool
}

func TestFaultTable(t *testing.T) {
	for _, server := range []string{"radicale", "xandikos"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, server)
			proxy := davtest.NewFaultProxy(t, srv.URL)
			for _, op := range []string{"create", "update", "delete"} {
				for _, f := range faults {
					for _, then := range []then{untouched, editedLocally, deletedLocally, editedOnServer} {
						if then == editedOnServer && serverHolds(op, f) == "" {
							continue // nothing on the server to edit
						}
						name := fmt.Sprintf("%s/%s/%s", op, f.name, then)
						t.Run(name, func(t *testing.T) { faultCell(t, srv, proxy, op, f, then) })
					}
				}
			}
		})
	}
}

// serverHolds is the version the server holds after the faulty run ("" = none).
func serverHolds(op string, f fault) string {
	if f.applied {
		return map[string]string{"create": "v1", "update": "v2", "delete": ""}[op]
	}
	return map[string]string{"create": "", "update": "v1", "delete": "v1"}[op]
}

// faultCell runs one cell: set up item x, run the faulty sync of op, apply then, run a
// clean sync and check the outcome and a following no-op.
func faultCell(t *testing.T, srv *davtest.RealServer, proxy *davtest.FaultProxy, op string, f fault, then then) {
	e := newDavEnv(t, srv, "calendar")
	e.viaURL = proxy.URL
	e.writeDavConfig(srv.Password, "collection "+e.id)
	local := fmt.Sprintf("a/%s/x.ics", e.id)

	// The state before the faulty run. Item k stays, so emptying x's side never
	// trips the on_empty guard.
	e.write(fmt.Sprintf("a/%s/k.ics", e.id), event("k", "kept"))
	e.write(local, event("x", "v1"))
	if op != "create" {
		e.mustRun(0, "sync")
		switch op {
		case "update":
			e.write(local, event("x", "v2"))
		case "delete":
			e.remove(local)
		}
	}
	method := "PUT"
	if op == "delete" {
		method = "DELETE"
	}
	rule := proxy.Add(davtest.Rule{Method: method, Path: e.coll, Nth: 1, Action: f.action()})
	if f.kill {
		cmd := e.start("sync")
		rule.WaitFor(t, 1) // the server has handled the write; its answer is held
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		rule.Release()
	} else {
		e.run("sync") // fails or not; what matters is what comes next
	}
	proxy.Remove(rule)

	// What the user does next, and what a careful user expects of the clean run.
	written := map[string]string{"create": "v1", "update": "v2", "delete": ""}[op]
	var want outcome
	switch then {
	case untouched:
		want = outcome{summary: written}
	case editedLocally: // for a delete: the user makes x again
		e.write(local, event("x", "v3"))
		want = outcome{summary: "v3"}
	case deletedLocally:
		e.remove(local)
		want = outcome{}
	case editedOnServer:
		href := e.serverHref("x")
		e.put(href, event("x", "v4"), nil)
		want = outcome{summary: "v4"}
		switch {
		case op == "update" && !f.applied:
			want = outcome{conflict: true} // both sides changed v1: a real conflict
		case op == "update" && f.kill:
			// The server changed after our update, or instead of it: we cannot tell,
			// so both versions are kept (DECISIONS.md, "Writes whose answer is lost").
			want = outcome{conflict: true}
		}
	}

	code := 0
	if want.conflict {
		code = 3
	}
	r := e.mustRun(code, "sync")
	if !want.conflict && strings.Contains(r.stderr, "error") {
		t.Errorf("clean run reported errors:\n%s", r.stderr)
	}
	localText, localOK := "", e.exists(local)
	if localOK {
		localText = e.read(local)
	}
	var serverText string
	n := 0
	for _, text := range e.serverItems() {
		if strings.Contains(text, "UID:x\r\n") {
			serverText = text
			n++
		}
	}
	if n > 1 {
		t.Fatalf("server has %d copies of x", n)
	}
	switch {
	case want.conflict:
		if !localOK || serverText == "" || strings.Contains(serverText, "SUMMARY:"+summaryOf(localText)+"\r\n") {
			t.Errorf("want both versions kept: local %q, server %q", summaryOf(localText), summaryOf(serverText))
		}
	case want.summary == "":
		if localOK || serverText != "" {
			t.Errorf("want x gone on both sides: local %v, server %q\n%s", localOK, serverText, r)
		}
	default:
		if summaryOf(localText) != want.summary || summaryOf(serverText) != want.summary {
			t.Errorf("want %s on both sides: local %q, server %q\n%s", want.summary, summaryOf(localText), summaryOf(serverText), r)
		}
	}
	// A further run writes nothing.
	before := e.snapshot()
	r = e.mustRun(code, "-v", "debug", "sync")
	e.assertUnchanged(before)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"] != 0 {
		t.Errorf("the run after the clean run wrote to the server: %v", c)
	}
}

// summaryOf returns the SUMMARY of an event, or the FN of a card ("" for none).
func summaryOf(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if v, ok := strings.CutPrefix(line, "SUMMARY:"); ok {
			return v
		}
		if v, ok := strings.CutPrefix(line, "FN:"); ok {
			return v
		}
	}
	return ""
}

// serverHref returns the name of the server item whose UID is uid.
func (e *davEnv) serverHref(uid string) string {
	e.t.Helper()
	for name, text := range e.serverItems() {
		if strings.Contains(text, "UID:"+uid+"\r\n") {
			return name
		}
	}
	e.t.Fatalf("no server item with UID %s", uid)
	return ""
}

// start runs pimsync in the background (for a kill -9).
func (e *env) start(args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(binPath, append([]string{"-c", e.cfg}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME=", "NO_COLOR=1", raceNoSleep)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd
}

// TestKillDuringFirstSync kills a first sync of 1,000 items to Radicale, which creates
// the collection with its display name, at 21 points: while the MKCALENDAR answer is on
// its way, then each time after the server stored some item whose answer never
// arrived (the run after each kill goes on from there). After every kill the plan has
// neither conflicts nor errors; the last run finishes with exit 0, the server holds
// each item once and the display name pimsync sent, the local side is unchanged, and a
// further run writes nothing.
func TestKillDuringFirstSync(t *testing.T) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	proxy := davtest.NewFaultProxy(t, srv.URL)
	e := &davEnv{env: newEnv(t), srv: srv, kind: "calendar", ext: "ics", viaURL: proxy.URL}
	e.id = "work"
	e.coll = srv.CalendarHome + "work/"
	e.writeDavConfig(srv.Password, "collections from a")
	if err := bench.WriteEvents(e.path("a/work"), 1000); err != nil {
		t.Fatal(err)
	}
	e.write("a/work/displayname", "Work")
	before := e.snapshot()

	kill := func(rule davtest.Rule) {
		t.Helper()
		r := proxy.Add(rule)
		cmd := e.start("sync")
		r.WaitFor(t, rule.Nth)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		r.Release()
		proxy.Remove(r)
		p := e.run("sync", "-n")
		if p.code != 0 || strings.Contains(p.stdout, "conflict") {
			t.Fatalf("the plan after a kill at %s #%d: exit %d\n%s%s", rule.Method, rule.Nth, p.code, p.stdout, p.stderr)
		}
	}
	kill(davtest.Rule{Method: "MKCALENDAR", Nth: 1, Action: davtest.Hold()})
	for i := range 20 {
		kill(davtest.Rule{Method: "PUT", Path: e.coll, Nth: 1 + (i*17)%45, Action: davtest.Hold()})
	}
	stored := len(e.serverItems())
	if stored < 20 || stored >= 1000 {
		t.Fatalf("server has %d items after the kills; the test proves nothing", stored)
	}
	e.mustRun(0, "sync")
	uids := map[string]bool{}
	for _, text := range e.serverItems() {
		uid, _ := storage.ExtractUID(storage.NormalizeNewlines(text))
		if uids[uid] {
			t.Fatalf("duplicate UID %s on the server", uid)
		}
		uids[uid] = true
	}
	if len(uids) != 1000 {
		t.Fatalf("server has %d items, want 1000", len(uids))
	}
	code, _, body := srv.Do(t, "PROPFIND", e.coll, map[string]string{"Depth": "0", "Content-Type": "application/xml"},
		[]byte(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>`))
	if code != 207 || !strings.Contains(string(body), ">Work</") {
		t.Errorf("server display name: HTTP %d %s", code, body)
	}
	e.assertUnchanged(before)
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(before)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"]+c["PROPPATCH"] != 0 {
		t.Errorf("the run after the clean run wrote: %v", c)
	}
}

// TestSoak runs 30 rounds of random edits on both sides and syncs with random faults
// (lost answers, resets, 5xx on writes and reads, kill -9 with the server's answer
// held) against real Radicale, then one clean run: nothing lost, duplicated or
// resurrected, no conflict, and a further run writes nothing. Items are owned by one
// side (edited, created and deleted only there), so no conflict is a real one. Fixed
// seeds; PIMSYNC_SOAK_SEEDS="4 5 6" runs others.
func TestSoak(t *testing.T) {
	runSoak(t, davtest.StartRadicale(t, davtest.RadicaleOptions{}), soak, 1, 2)
}

// runSoak runs one soak per seed (PIMSYNC_SOAK_SEEDS, or the defaults) against srv
// behind a fault proxy.
func runSoak(t *testing.T, srv *davtest.RealServer, soak func(*testing.T, *davtest.RealServer, *davtest.FaultProxy, uint64), defaults ...uint64) {
	seeds := defaults
	if s := os.Getenv("PIMSYNC_SOAK_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Fields(s) {
			var n uint64
			fmt.Sscan(f, &n)
			seeds = append(seeds, n)
		}
	}
	proxy := davtest.NewFaultProxy(t, srv.URL)
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { soak(t, srv, proxy, seed) })
	}
}

func soak(t *testing.T, srv *davtest.RealServer, proxy *davtest.FaultProxy, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	e := newDavEnv(t, srv, "calendar")
	e.viaURL = proxy.URL
	e.writeDavConfig(srv.Password, "collection "+e.id)
	// model: UID → version (0 = deleted); owner by UID prefix: "a-" local, "b-" server.
	model := map[string]int{}
	serverHref := map[string]string{}
	text := func(uid string, v int) string { return event(uid, fmt.Sprintf("%s v%d", uid, v)) }
	setLocal := func(uid string, v int) {
		if v == 0 {
			e.remove(fmt.Sprintf("a/%s/%s.ics", e.id, uid))
		} else {
			e.write(fmt.Sprintf("a/%s/%s.ics", e.id, uid), text(uid, v))
		}
		model[uid] = v
	}
	setServer := func(uid string, v int) {
		if serverHref[uid] == "" {
			serverHref[uid] = uid + ".ics"
		}
		if v == 0 {
			if code, _, body := srv.Do(t, "DELETE", e.coll+serverHref[uid], nil, nil); code >= 300 && code != 404 {
				t.Fatalf("DELETE %s: %d %s", uid, code, body)
			}
		} else {
			e.put(serverHref[uid], text(uid, v), nil)
		}
		model[uid] = v
	}
	// Items that always stay, so that no side ever looks emptied.
	setLocal("a-keep", 1)
	setServer("b-keep", 1)
	next := 0
	edit := func(owner string) {
		var live []string
		for uid, v := range model {
			if v > 0 && strings.HasPrefix(uid, owner) && !strings.HasSuffix(uid, "keep") {
				live = append(live, uid)
			}
		}
		slices.Sort(live)
		set := setLocal
		if owner == "b-" {
			set = setServer
		}
		switch n := rng.IntN(3); {
		case n == 0 || len(live) == 0:
			next++
			set(fmt.Sprintf("%s%d", owner, next), 1)
		case n == 1:
			uid := live[rng.IntN(len(live))]
			set(uid, model[uid]+1)
		default:
			set(live[rng.IntN(len(live))], 0)
		}
	}
	for round := range 30 {
		for range 1 + rng.IntN(3) {
			edit("a-")
		}
		for range rng.IntN(3) {
			edit("b-")
		}
		faultyRun(t, e, proxy, rng, round)
	}
	e.mustRun(0, "sync")
	check := func(where string, items map[string]string) {
		t.Helper()
		seen := map[string]int{}
		for _, txt := range items {
			uid, _ := storage.ExtractUID(storage.NormalizeNewlines(txt))
			seen[uid]++
			if want := fmt.Sprintf("%s v%d", uid, model[uid]); summaryOf(storage.NormalizeNewlines(txt)) != want {
				t.Errorf("%s: %s is %q, want %q", where, uid, summaryOf(storage.NormalizeNewlines(txt)), want)
			}
		}
		for uid, v := range model {
			switch {
			case v > 0 && seen[uid] == 0:
				t.Errorf("%s: %s is lost", where, uid)
			case v == 0 && seen[uid] > 0:
				t.Errorf("%s: %s was deleted and came back", where, uid)
			case seen[uid] > 1:
				t.Errorf("%s: %s is there %d times", where, uid, seen[uid])
			}
		}
	}
	local := map[string]string{}
	for _, f := range e.files("a/" + e.id) {
		if strings.HasSuffix(f, ".ics") {
			local[f] = e.read("a/" + e.id + "/" + f)
		}
	}
	check("local", local)
	check("server", e.serverItems())
	before := e.snapshot()
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(before)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"] != 0 {
		t.Errorf("the run after the clean run wrote: %v", c)
	}
}

// TestSoakShared is TestSoak, on every real server (events or cards), with items that
// both sides edit, create and delete (half of the time one the other side changed in
// the same round), and `conflict_resolution keep a`. After a clean run every ten rounds
// and at the end, both sides hold the same items, each at the last version one of the
// sides wrote (never an older one), at a's when a's edit came after b's last change;
// an item is gone only if one side's last word on it was a deletion; no item is there
// twice; and at the end a further run writes nothing. With `keep b` instead, the checks
// fail on both of Radicale's seeds. PIMSYNC_SOAK_SEEDS runs other seeds.
func TestSoakShared(t *testing.T) {
	for _, tc := range []struct {
		server, kind string
		seeds        []uint64
	}{
		{"radicale", "calendar", []uint64{1, 3}}, // both settle conflicts whose wrong resolution the checks see
		{"xandikos", "calendar", []uint64{1}},
		{"cyrus", "contacts", []uint64{1}},
		{"davical", "calendar", []uint64{1}},
		{"davical", "contacts", []uint64{1}}, // DAViCal adds REV to every card it stores
	} {
		t.Run(tc.server+"/"+tc.kind, func(t *testing.T) {
			t.Parallel()
			runSoak(t, startServer(t, tc.server), func(t *testing.T, srv *davtest.RealServer, proxy *davtest.FaultProxy, seed uint64) {
				soakShared(t, srv, proxy, seed, tc.kind)
			}, tc.seeds...)
		})
	}
}

func soakShared(t *testing.T, srv *davtest.RealServer, proxy *davtest.FaultProxy, seed uint64, kind string) {
	rng := rand.New(rand.NewPCG(seed, seed+100))
	e := newDavEnv(t, srv, kind)
	e.viaURL = proxy.URL
	e.writeDavConfig(srv.Password, "collection "+e.id, "conflict_resolution keep a")
	// last[side][uid]: the summary of the side's last write of uid, "" for a deletion;
	// when[side][uid]: the number of that write, counting both sides'.
	last := map[string]map[string]string{"a": {}, "b": {}}
	when := map[string]map[string]int{"a": {}, "b": {}}
	writes := 0
	localFile := func(uid string) string { return fmt.Sprintf("a/%s/%s.%s", e.id, uid, e.ext) }
	liveOn := func(side string) []string {
		var uids []string
		if side == "a" {
			for _, f := range e.files("a/" + e.id) {
				if u, ok := strings.CutSuffix(f, "."+e.ext); ok {
					uids = append(uids, u)
				}
			}
		} else {
			for href := range e.serverItems() {
				uids = append(uids, strings.TrimSuffix(href, "."+e.ext))
			}
		}
		slices.Sort(uids)
		return uids
	}
	set := func(side, uid string, del bool) {
		writes++
		when[side][uid] = writes
		summary := ""
		if !del {
			summary = fmt.Sprintf("%s %s%d", uid, side, writes)
		}
		switch {
		case side == "a" && del:
			e.remove(localFile(uid))
		case side == "a":
			e.write(localFile(uid), e.item(uid, summary))
		case del:
			if code, _, body := srv.Do(t, "DELETE", e.coll+uid+"."+e.ext, nil, nil); code >= 300 && code != 404 {
				t.Fatalf("DELETE %s: %d %s", uid, code, body)
			}
		default:
			e.put(uid+"."+e.ext, e.item(uid, summary), nil)
		}
		last[side][uid] = summary
	}
	// Items that always stay, so that no side ever looks emptied.
	set("a", "keep-a-"+e.id, false)
	set("b", "keep-b-"+e.id, false)
	// verify runs a clean sync and checks the state it reaches against last and when.
	verify := func(stage string) {
		t.Helper()
		if r := e.run("sync"); r.code != 0 {
			t.Fatalf("%s: the clean run exited %d:\n%s", stage, r.code, r)
		}
		local := map[string]string{}
		for _, u := range liveOn("a") {
			local[u] = e.read(localFile(u))
		}
		server := map[string]string{}
		for _, txt := range e.serverItems() {
			uid, _ := storage.ExtractUID(storage.NormalizeNewlines(txt))
			if _, dup := server[uid]; dup {
				t.Errorf("%s: server: %s is there twice", stage, uid)
			}
			server[uid] = txt
		}
		for uid, txt := range local {
			if u, _ := storage.ExtractUID(storage.NormalizeNewlines(txt)); u != uid {
				t.Errorf("%s: local %s holds UID %s", stage, uid, u)
			}
			if _, ok := server[uid]; !ok {
				t.Errorf("%s: %s is local but not on the server", stage, uid)
			}
		}
		uids := map[string]bool{}
		for _, side := range []string{"a", "b"} {
			for uid := range last[side] {
				uids[uid] = true
			}
		}
		for uid := range server {
			if !uids[uid] {
				t.Errorf("%s: %s appeared from nowhere", stage, uid)
			}
		}
		for uid := range uids {
			la, lb := last["a"][uid], last["b"][uid]
			txt, onServer := server[uid]
			lt, onLocal := local[uid]
			switch {
			case onServer != onLocal:
				t.Errorf("%s: %s: on the server %v, local %v", stage, uid, onServer, onLocal)
			case !onServer:
				_, wroteA := last["a"][uid]
				_, wroteB := last["b"][uid]
				if !(wroteA && la == "") && !(wroteB && lb == "") {
					t.Errorf("%s: %s is lost: no side deleted it last (a: %q, b: %q)", stage, uid, la, lb)
				}
			default:
				got := summaryOf(storage.NormalizeNewlines(txt))
				if got != summaryOf(storage.NormalizeNewlines(lt)) {
					t.Errorf("%s: %s: server %q, local %q", stage, uid, got, summaryOf(storage.NormalizeNewlines(lt)))
				}
				if got != la && got != lb {
					t.Errorf("%s: %s is %q, which is neither side's last version (a: %q, b: %q)", stage, uid, got, la, lb)
				}
				// a's edit after b's last word wins: either b did not change the item
				// since the last run that synced it, or both did and a is kept.
				if la != "" && when["a"][uid] > when["b"][uid] && got != la {
					t.Errorf("%s: %s is %q, but a's edit %q came after b's last change %q", stage, uid, got, la, lb)
				}
			}
		}
	}
	next, both := 0, 0 // both: items changed on both sides between two runs
	for round := range 30 {
		touched := map[string]string{}
		sides := []string{"a", "b"}
		if rng.IntN(2) == 0 {
			sides[0], sides[1] = "b", "a"
		}
		for _, side := range sides {
			for range rng.IntN(4) {
				// Half of the time, an item the other side changed this round, if this
				// side has it: the conflicts that keep a settles.
				var live, contested []string
				for _, u := range liveOn(side) {
					if !strings.HasPrefix(u, "keep") {
						live = append(live, u)
						if touched[u] != "" && touched[u] != side {
							contested = append(contested, u)
						}
					}
				}
				if len(contested) > 0 && rng.IntN(2) == 0 {
					live = contested
				}
				uid, del := "", false
				switch n := rng.IntN(4); {
				case n == 0 || len(live) == 0:
					next++
					uid = fmt.Sprintf("s-%s-%d", e.id, next) // unique per user: Cyrus wants that
				case n == 3:
					uid, del = live[rng.IntN(len(live))], true
				default:
					uid = live[rng.IntN(len(live))]
				}
				set(side, uid, del)
				if touched[uid] != "" && touched[uid] != side {
					both++
				}
				touched[uid] = side
			}
		}
		faultyRun(t, e, proxy, rng, round)
		if round%10 == 9 && round != 29 {
			verify(fmt.Sprintf("after round %d", round))
		}
	}
	if both == 0 {
		t.Errorf("seed %d changed no item on both sides between two runs: it tests no conflict", seed)
	}
	t.Logf("%d writes, %d of them to an item the other side changed since the last run", writes, both)
	verify("the end")
	before := e.snapshot()
	r := e.mustRun(0, "-v", "debug", "sync")
	e.assertUnchanged(before)
	if c := httpCounts(r.stderr); c["PUT"]+c["DELETE"] != 0 {
		t.Errorf("the run after the clean run wrote: %v", c)
	}
}

// faultyRun runs one sync of e through proxy with a fault that rng picks: a lost
// answer, a reset or a 503 on the first or second PUT or DELETE, a 502 on the
// listing, kill -9 while a PUT's answer is held, or none. A conflict (exit 3) fails
// the test: the soaks resolve or avoid every conflict.
func faultyRun(t *testing.T, e *davEnv, proxy *davtest.FaultProxy, rng *rand.Rand, round int) {
	t.Helper()
	var rule *davtest.ProxyRule
	kill := false
	switch k := rng.IntN(7); k {
	case 0, 1, 2:
		acts := []func() davtest.Action{davtest.DropAnswer, davtest.ResetMidBody, func() davtest.Action { return davtest.Status(503) }}
		rule = proxy.Add(davtest.Rule{Method: []string{"PUT", "DELETE"}[rng.IntN(2)], Path: e.coll, Nth: 1 + rng.IntN(2), Action: acts[k]()})
	case 3:
		rule = proxy.Add(davtest.Rule{Method: "REPORT", Path: e.coll, Nth: 1, Action: davtest.Status(502)})
	case 4:
		rule = proxy.Add(davtest.Rule{Method: "PUT", Path: e.coll, Nth: 1, Action: davtest.Hold()})
		kill = true
	}
	if kill {
		cmd := e.start("sync")
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-rule.Done(1):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		case <-done: // nothing to upload this round
		}
		rule.Release()
	} else {
		r := e.run("sync")
		if r.code == 3 {
			t.Fatalf("round %d: a conflict was left (exit 3):\n%s", round, r)
		}
	}
	if rule != nil {
		proxy.Remove(rule)
	}
}
