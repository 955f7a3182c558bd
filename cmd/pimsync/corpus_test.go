package main

// TestCorpus is the proof of issue 13: every file of testdata/corpus (written for this
// project) is synced vdir → vdir (bytes compared), vdir → Radicale → vdir (content
// compared modulo Radicale's re-serialisation) and served as a webcal feed, and a
// second sync of each writes nothing. The same files go through vdirsyncer 0.19: every
// file vdirsyncer copies byte-identical, pimsync copies byte-identical too (line breaks
// made CRLF, docs/DECISIONS.md), unless it is one of the damaged shapes pimsync refuses
// on purpose. testdata/corpus/MANIFEST says what is expected of each file.

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davtest"
)

const corpusDir = "../../testdata/corpus"

// corpusFile is one line of the MANIFEST and the file's bytes.
type corpusFile struct {
	path       string // calendars/01-crlf-event.ics
	dir, name  string // calendars, 01-crlf-event.ics
	kind       storage.Kind
	reader     string // "ok" or "refused: …"
	radicale   string // "ok", "refused" or "-"
	webcal     string // "N", "N+E" or "refused: …"
	vdirsyncer string // "copies" or "fails"
	shape      string
	raw        []byte
	item       storage.Item // when the reader accepts it
}

func (f corpusFile) id() string { return strings.TrimSuffix(f.name, path.Ext(f.name)) }

func (f corpusFile) refused() bool { return strings.HasPrefix(f.reader, "refused:") }

func (f corpusFile) want() string { return strings.TrimSpace(strings.TrimPrefix(f.reader, "refused:")) }

func loadCorpus(t *testing.T) []corpusFile {
	t.Helper()
	fh, err := os.Open(filepath.Join(corpusDir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []corpusFile
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 6 {
			t.Fatalf("MANIFEST: %q has %d columns", line, len(c))
		}
		f := corpusFile{path: c[0], reader: c[1], radicale: c[2], webcal: c[3], vdirsyncer: c[4], shape: c[5]}
		f.dir, f.name = path.Split(f.path)
		f.dir = strings.TrimSuffix(f.dir, "/")
		f.kind = storage.Calendars
		if f.dir == "contacts" {
			f.kind = storage.Contacts
		}
		if f.raw, err = os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(f.path))); err != nil {
			t.Fatal(err)
		}
		if !f.refused() {
			if f.item, err = storage.ParseItem(f.raw, f.kind); err != nil {
				t.Fatalf("%s: %v", f.path, err)
			}
		}
		out = append(out, f)
	}
	// Every file is in the MANIFEST.
	for _, dir := range []string{"calendars", "contacts"} {
		names, _ := os.ReadDir(filepath.Join(corpusDir, dir))
		for _, n := range names {
			if !slices.ContainsFunc(out, func(f corpusFile) bool { return f.path == dir+"/"+n.Name() }) {
				t.Fatalf("%s/%s is not in the MANIFEST", dir, n.Name())
			}
		}
	}
	return out
}

func corpusOf(files []corpusFile, dir string) []corpusFile {
	var out []corpusFile
	for _, f := range files {
		if f.dir == dir {
			out = append(out, f)
		}
	}
	return out
}

func TestCorpus(t *testing.T) {
	files := loadCorpus(t)
	cals, cards := corpusOf(files, "calendars"), corpusOf(files, "contacts")
	if len(cals)-countRefused(cals) < 40 || len(cards)-countRefused(cards) < 20 {
		t.Fatalf("the corpus has %d calendar and %d contact files that sync; issue 13 wants at least 40 and 20", len(cals)-countRefused(cals), len(cards)-countRefused(cards))
	}
	// Idents are distinct, so that one collection can hold all of them.
	idents := map[string]string{}
	for _, f := range files {
		if !f.refused() {
			if other, dup := idents[f.dir+" "+f.item.Ident()]; dup {
				t.Fatalf("%s and %s have the same ident %q", f.path, other, f.item.Ident())
			}
			idents[f.dir+" "+f.item.Ident()] = f.path
		}
	}
	vdirCopies := corpusVdir(t, files)
	t.Run("radicale", func(t *testing.T) { corpusRadicale(t, files) })
	t.Run("webcal", func(t *testing.T) { corpusWebcal(t, files) })
	t.Run("vdirsyncer", func(t *testing.T) { corpusVdirsyncer(t, files, vdirCopies) })
}

func countRefused(files []corpusFile) int {
	n := 0
	for _, f := range files {
		if f.refused() {
			n++
		}
	}
	return n
}

// writeCorpus copies the files into <root>/<collection>/ of the workspace.
func (e *env) writeCorpus(root string, files []corpusFile, collection func(corpusFile) string) {
	e.t.Helper()
	for _, f := range files {
		p := e.path(root + "/" + collection(f) + "/" + f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, f.raw, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.chown()
}

// byIdent reads every item file below dir: ident → file name → bytes.
func (e *env) byIdent(dir string, kind storage.Kind) map[string]map[string]string {
	e.t.Helper()
	out := map[string]map[string]string{}
	for _, name := range e.files(dir) {
		if path.Ext(name) != "."+kind.Ext() {
			continue // displayname and the other metadata files
		}
		text := e.read(dir + "/" + name)
		it, err := storage.ParseItem([]byte(text), kind)
		if err != nil {
			e.t.Fatalf("%s/%s written by pimsync does not read back: %v", dir, name, err)
		}
		if out[it.Ident()] == nil {
			out[it.Ident()] = map[string]string{}
		}
		out[it.Ident()][name] = text
	}
	return out
}

// corpusVdir: one collection per kind, vdir a → vdir b. Every accepted file arrives
// with its bytes (line breaks made CRLF); every refused one is named with its line and
// byte offset and nothing else is held back; a second sync writes nothing. It returns
// path → whether the copy is byte-identical to the file.
func corpusVdir(t *testing.T, files []corpusFile) map[string]bool {
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage cal_a {
    type vdir/icalendar
    path %q
}
storage cal_b {
    type vdir/icalendar
    path %q
}
storage card_a {
    type vdir/vcard
    path %q
}
storage card_b {
    type vdir/vcard
    path %q
}
pair cal {
    storage_a cal_a
    storage_b cal_b
    collections all
}
pair card {
    storage_a card_a
    storage_b card_b
    collections all
}
`, e.path("status"), e.path("a/cal"), e.path("b/cal"), e.path("a/card"), e.path("b/card")))
	e.writeCorpus("a/cal", corpusOf(files, "calendars"), func(corpusFile) string { return "corpus" })
	e.writeCorpus("a/card", corpusOf(files, "contacts"), func(corpusFile) string { return "corpus" })
	e.mkdir("b/cal")
	e.mkdir("b/card")
	r := e.mustRun(1, "sync")
	identical := map[string]bool{}
	for _, kind := range []struct {
		dir, side string
		k         storage.Kind
	}{{"calendars", "cal", storage.Calendars}, {"contacts", "card", storage.Contacts}} {
		got := e.byIdent("b/"+kind.side+"/corpus", kind.k)
		n := 0
		for _, f := range corpusOf(files, kind.dir) {
			if f.refused() {
				// pimsync names the file, the line and the byte.
				want := fmt.Sprintf("skipping corpus/%s on storage %s_a, which cannot be read (fix or remove it): get corpus/%s: %s: %s",
					f.name, kind.side, f.name, e.path("a/"+kind.side+"/corpus/"+f.name), f.want())
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s: stderr lacks %q", f.path, want)
				}
				continue
			}
			n++
			copies := got[f.item.Ident()]
			if len(copies) != 1 {
				t.Errorf("%s: %d copies of ident %q in b", f.path, len(copies), f.item.Ident())
				continue
			}
			for _, text := range copies {
				want := storage.NormalizeNewlines(string(f.raw))
				if text != want {
					t.Errorf("%s: the copy differs from the file beyond line breaks:\n%q\nwant\n%q", f.path, text, want)
				}
				identical[f.path] = text == string(f.raw)
				if (storage.NormalizeNewlines(string(f.raw)) == string(f.raw)) != identical[f.path] {
					t.Errorf("%s: a CRLF file must be copied byte-identical", f.path)
				}
			}
		}
		if len(got) != n {
			t.Errorf("b/%s holds %d items, want %d", kind.side, len(got), n)
		}
	}
	// The notice for items without UID suggests repairing the side they came from.
	if !strings.Contains(r.stderr, "has no UID; it is synced by its content hash. `pimsync repair cal_a` adds one") {
		t.Errorf("no repair notice:\n%s", r.stderr)
	}
	before := e.snapshot()
	r2 := e.mustRun(1, "sync")
	e.assertUnchanged(before)
	if changes.MatchString(r2.stdout) {
		t.Errorf("the second sync reported changes:\n%s", r2)
	}
	return identical
}

func (e *env) mkdir(rel string) {
	e.t.Helper()
	if err := os.MkdirAll(e.path(rel), 0o755); err != nil {
		e.t.Fatal(err)
	}
	e.chown()
}

// corpusRadicale: vdir a → Radicale → vdir b, one collection per file (Radicale keeps
// one item without VEVENT/VTODO/VJOURNAL per collection: VFREEBUSY and VAVAILABILITY
// items would collide). Files Radicale refuses are item errors; the others arrive with
// the same content (storage.Equivalent: Radicale re-folds, re-orders properties and
// re-cases names, plus radicaleForm), or with the content Radicale made of them
// ("changed" in the MANIFEST); a second run of both pairs makes no write on either side.
func corpusRadicale(t *testing.T, files []corpusFile) {
	srv := davtest.StartRadicale(t, davtest.RadicaleOptions{})
	e := newEnv(t)
	e.write("pimsync.conf", fmt.Sprintf(`status_path %q
storage cal_a {
    type vdir/icalendar
    path %q
}
storage cal_r {
    type caldav
    url %s
    username %s
    password x
}
storage cal_b {
    type vdir/icalendar
    path %q
}
storage card_a {
    type vdir/vcard
    path %q
}
storage card_r {
    type carddav
    url %s
    username %s
    password x
}
storage card_b {
    type vdir/vcard
    path %q
}
pair cal_up {
    storage_a cal_a
    storage_b cal_r
    collections from a
}
pair card_up {
    storage_a card_a
    storage_b card_r
    collections from a
}
pair cal_down {
    storage_a cal_r
    storage_b cal_b
    collections from a
}
pair card_down {
    storage_a card_r
    storage_b card_b
    collections from a
}
`, e.path("status"), e.path("a/cal"), srv.URL, srv.Username, e.path("b/cal"), e.path("a/card"), srv.URL, srv.Username, e.path("b/card")))
	e.writeCorpus("a/cal", corpusOf(files, "calendars"), corpusFile.id)
	e.writeCorpus("a/card", corpusOf(files, "contacts"), corpusFile.id)
	// With a display name of our own, Radicale's invented one ("alice/<id>") is not
	// synced back into a (issue 9 item 4, not this test's subject).
	for _, f := range files {
		e.write("a/"+map[string]string{"calendars": "cal", "contacts": "card"}[f.dir]+"/"+f.id()+"/displayname", f.id())
	}
	e.mkdir("b/cal")
	e.mkdir("b/card")
	up := e.mustRun(1, "sync", "cal_up", "card_up")
	down := e.mustRun(0, "sync", "cal_down", "card_down")
	for _, f := range files {
		side := map[string]string{"calendars": "cal", "contacts": "card"}[f.dir]
		got := e.byIdent("b/"+side+"/"+f.id(), f.kind)
		refusedByServer := !f.refused() && regexp.MustCompile(`(?m)^error: `+side+`_up/`+f.id()+`: create of `+f.id()+`/\S+ \((UID "`+regexp.QuoteMeta(f.item.Ident())+`"|no UID)\) on b \(storage \S+\): .*HTTP 400 Bad Request`).MatchString(up.stderr)
		observed := f.radicale // ok or changed: judged below
		switch {
		case f.refused():
			observed = "-"
		case refusedByServer:
			observed = "refused"
		case observed != "changed":
			observed = "ok"
		}
		if observed != f.radicale {
			t.Errorf("%s: Radicale: %s, MANIFEST says %s", f.path, observed, f.radicale)
		}
		if observed == "-" || observed == "refused" {
			if len(got) != 0 {
				t.Errorf("%s: b/%s/%s holds %d items", f.path, side, f.id(), len(got))
			}
			continue
		}
		text, ok := findCopy(f, got)
		switch {
		case !ok || len(got) != 1:
			t.Errorf("%s: %d items came back from Radicale, not one copy", f.path, len(got))
		case storage.Equivalent(radicaleForm(f.item.Text()), radicaleForm(text)) != (observed == "ok"):
			t.Errorf("%s: what came back from Radicale (MANIFEST: %s):\n%s\nsent\n%s", f.path, f.radicale, text, f.item.Text())
		}
	}
	if t.Failed() {
		t.Logf("up:\n%s\ndown:\n%s", up, down)
	}
	// A second run of all four pairs writes nothing anywhere.
	before := e.snapshot()
	for _, run := range []struct {
		pairs []string
		puts  int // the uploads Radicale refused are tried again, and only they
	}{{[]string{"cal_up", "card_up"}, countRadicale(files, "refused")}, {[]string{"cal_down", "card_down"}, 0}} {
		r := e.run(append([]string{"-v", "debug", "sync"}, run.pairs...)...)
		requests := regexp.MustCompile(`(?m)^debug: http storage=\S+ method=(\S+) `).FindAllStringSubmatch(r.stderr, -1)
		puts := 0
		for _, m := range requests {
			switch m[1] {
			case "PUT":
				puts++
			case "DELETE", "PROPPATCH", "MKCOL", "MKCALENDAR":
				t.Errorf("second sync of %v: %s", run.pairs, m[0])
			}
		}
		if puts != run.puts {
			t.Errorf("second sync of %v: %d PUTs, want %d", run.pairs, puts, run.puts)
		}
		if changes.MatchString(r.stdout) {
			t.Errorf("second sync of %v reported changes:\n%s", run.pairs, r.stdout)
		}
	}
	e.assertUnchanged(before)
}

// findCopy finds the copy of f among what came back from Radicale: by ident, or, when
// Radicale's re-serialisation changed the first UID line (a VALARM's UID moved after the
// event's, a lower-case uid: made upper case), by a UID of the file.
func findCopy(f corpusFile, got map[string]map[string]string) (string, bool) {
	one := func(m map[string]string) (string, bool) {
		for _, text := range m {
			return text, len(m) == 1
		}
		return "", false
	}
	if m, ok := got[f.item.Ident()]; ok {
		return one(m)
	}
	var found []string
	storage.Unfold(f.item.Text(), func(line string) {
		if cl := storage.SplitLine(line); strings.EqualFold(cl.Name, "UID") && got[cl.Value] != nil {
			found = append(found, cl.Value)
		}
	})
	if len(found) == 0 {
		return "", false
	}
	return one(got[found[0]])
}

// radicaleForm applies the rewrites of Radicale 3.1 (vobject 0.9) that keep the meaning
// but that storage.Equivalent does not know: "\N" written as "\n", and repeated
// parameters (TYPE=HOME;TYPE=pref) merged into one (TYPE=HOME,pref).
func radicaleForm(text string) string {
	var b strings.Builder
	storage.Unfold(text, func(line string) {
		cl := storage.SplitLine(line)
		if !cl.HasSep {
			b.WriteString(line + "\r\n")
			return
		}
		var order []string
		vals := map[string][]string{}
		for _, p := range strings.Split(cl.Params, ";") {
			if p == "" {
				continue
			}
			n, v, _ := strings.Cut(p, "=")
			n = strings.ToUpper(n)
			if _, seen := vals[n]; !seen {
				order = append(order, n)
			}
			vals[n] = append(vals[n], v)
		}
		b.WriteString(cl.Name)
		for _, n := range order {
			b.WriteString(";" + n + "=" + strings.Join(vals[n], ","))
		}
		b.WriteString(":" + strings.ReplaceAll(cl.Value, `\N`, `\n`) + "\r\n")
	})
	return b.String()
}

func countRadicale(files []corpusFile, outcome string) int {
	n := 0
	for _, f := range files {
		if f.radicale == outcome {
			n++
		}
	}
	return n
}

// changes matches a summary that counts a change ("a +0 ~1 -0").
var changes = regexp.MustCompile(`\b[ab] (\+[1-9]|\+\d+ ~[1-9]|\+\d+ ~\d+ -[1-9])`)

// corpusWebcal serves every file as a feed of its own and syncs them all into one
// vdir, one collection per feed. An accepted feed keeps every component's bytes and
// invents nothing; a second sync writes nothing.
func corpusWebcal(t *testing.T, files []corpusFile) {
	byName := map[string]corpusFile{}
	for _, f := range files {
		byName[f.id()] = f
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := byName[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/calendar")
		w.Write(f.raw)
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "status_path %q\nstorage local {\n    type vdir/icalendar\n    path %q\n}\n", e.path("status"), e.path("b"))
	for i, f := range files {
		fmt.Fprintf(&cfg, "storage feed%d {\n    type webcal\n    url %s/%s\n    collection_id %s\n}\n", i, srv.URL, f.id(), f.id())
		fmt.Fprintf(&cfg, "pair p%d {\n    storage_a feed%d\n    storage_b local\n    collection %s\n}\n", i, i, f.id())
	}
	e.write("pimsync.conf", cfg.String())
	e.mkdir("b")
	r := e.mustRun(1, "sync")
	for i, f := range files {
		items := map[string]string{}
		for _, name := range e.files("b/" + f.id()) {
			items[name] = e.read("b/" + f.id() + "/" + name)
		}
		pair := fmt.Sprintf("p%d/%s", i, f.id())
		var observed string
		feedErr := regexp.MustCompile(`(?m)^error: ` + regexp.QuoteMeta(pair) + `: .*not an iCalendar feed: (.*)$`).FindStringSubmatch(r.stderr)
		itemErrs := len(regexp.MustCompile(`(?m)^error: `+regexp.QuoteMeta(pair)+`: skipping `).FindAllString(r.stderr, -1))
		switch {
		case feedErr != nil:
			observed = "refused: " + feedErr[1]
		case itemErrs > 0:
			observed = fmt.Sprintf("%d+%d", len(items), itemErrs)
		default:
			observed = strconv.Itoa(len(items))
		}
		switch {
		case strings.HasPrefix(f.webcal, "refused:"):
			if !strings.HasPrefix(observed, "refused:") || !strings.Contains(observed, strings.TrimSpace(strings.TrimPrefix(f.webcal, "refused:"))) {
				t.Errorf("%s: webcal: %s; MANIFEST says %s", f.path, observed, f.webcal)
			}
		case observed != f.webcal:
			t.Errorf("%s: webcal: %s; MANIFEST says %s", f.path, observed, f.webcal)
		}
		if len(items) > 0 {
			checkFeedItems(t, f, items)
		}
	}
	before := e.snapshot()
	r2 := e.mustRun(1, "sync")
	e.assertUnchanged(before)
	if changes.MatchString(r2.stdout) {
		t.Errorf("the second sync reported changes:\n%s", r2.stdout)
	}
}

// checkFeedItems: every component of the feed that is not a VTIMEZONE is, byte for
// byte (line breaks made CRLF), in exactly one item; every line of every item is a
// line of the feed.
func checkFeedItems(t *testing.T, f corpusFile, items map[string]string) {
	t.Helper()
	src := storage.NormalizeNewlines(strings.TrimPrefix(string(f.raw), storage.BOM))
	srcLines := map[string]bool{}
	for _, l := range strings.Split(src, "\r\n") {
		srcLines[l] = true
	}
	all := ""
	for name, text := range items {
		for _, l := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
			if !srcLines[l] {
				t.Errorf("%s: item %s has a line the feed does not: %q", f.path, name, l)
			}
		}
		all += text
	}
	for _, comp := range topComponents(src) {
		if strings.HasPrefix(comp, "BEGIN:VTIMEZONE") {
			continue
		}
		if n := strings.Count(all, comp); n != 1 {
			t.Errorf("%s: a component is in %d items:\n%s", f.path, n, comp)
		}
	}
}

// topComponents returns the components of a VCALENDAR, or the top-level ones, as text
// (CRLF after each line).
func topComponents(text string) []string {
	var out []string
	depth, start := 0, -1
	inCal := false
	storage.ScanLines(text, func(l storage.Line) bool {
		cl := storage.SplitLine(l.Text)
		name, value := strings.ToUpper(cl.Name), strings.ToUpper(strings.TrimSpace(cl.Value))
		switch {
		case name == "BEGIN" && depth == 0 && value == "VCALENDAR" && !inCal:
			inCal = true
		case name == "END" && depth == 0 && inCal:
			inCal = false
		case name == "BEGIN":
			if depth == 0 {
				start = l.Start
			}
			depth++
		case name == "END":
			depth--
			if depth == 0 {
				out = append(out, text[start:l.Next])
			}
		}
		return true
	})
	return out
}

// corpusVdirsyncer syncs every file in a collection of its own with vdirsyncer
// (filesystem → filesystem) and checks the MANIFEST's vdirsyncer column; wherever
// vdirsyncer copies a file byte-identical, pimsync must have copied it too (line breaks
// aside), unless pimsync refuses it as damaged.
func corpusVdirsyncer(t *testing.T, files []corpusFile, pimsyncIdentical map[string]bool) {
	vdirsyncer := requireTool(t, "vdirsyncer", "vdirsyncer")
	e := newEnv(t)
	for _, dir := range []string{"calendars", "contacts"} {
		e.writeCorpus("vds-a/"+dir, corpusOf(files, dir), corpusFile.id)
		e.mkdir("vds-b/" + dir)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[general]\nstatus_path = %q\n", e.path("vds-status"))
	for _, p := range []struct{ dir, ext string }{{"calendars", ".ics"}, {"contacts", ".vcf"}} {
		fmt.Fprintf(&cfg, "\n[pair %s]\na = \"%s_a\"\nb = \"%s_b\"\ncollections = [\"from a\"]\n", p.dir, p.dir, p.dir)
		for _, side := range []string{"a", "b"} {
			fmt.Fprintf(&cfg, "\n[storage %s_%s]\ntype = \"filesystem\"\npath = %q\nfileext = %q\n", p.dir, side, e.path("vds-"+side+"/"+p.dir)+"/", p.ext)
		}
	}
	e.write("vdirsyncer.conf", cfg.String())
	env := append(os.Environ(), "VDIRSYNCER_CONFIG="+e.path("vdirsyncer.conf"), "HOME="+e.home, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	for _, args := range [][]string{{"discover"}, {"sync"}} {
		cmd := exec.Command(vdirsyncer, args...)
		cmd.Env, cmd.Dir = env, e.dir
		cmd.Stdin = strings.NewReader(strings.Repeat("y\n", 2*len(files)))
		out, _ := cmd.CombinedOutput() // fails when any collection fails; judged per file below
		if t.Failed() {
			t.Logf("vdirsyncer %v:\n%s", args, out)
		}
	}
	for _, f := range files {
		got := e.files("vds-b/" + f.dir + "/" + f.id())
		observed := "fails"
		if len(got) == 1 && e.read("vds-b/"+f.dir+"/"+f.id()+"/"+got[0]) == string(f.raw) {
			observed = "copies"
		}
		if observed != f.vdirsyncer {
			t.Errorf("%s: vdirsyncer %s, MANIFEST says %s", f.path, observed, f.vdirsyncer)
		}
		if observed != "copies" {
			continue
		}
		switch {
		case f.refused() && !damaged(f.want()):
			t.Errorf("%s: vdirsyncer copies it, pimsync refuses it: %s", f.path, f.want())
		case !f.refused() && !pimsyncIdentical[f.path] && storage.NormalizeNewlines(string(f.raw)) == string(f.raw):
			t.Errorf("%s: vdirsyncer copies it byte-identical, pimsync does not", f.path)
		}
	}
}

// damaged reports whether a refusal is one of the damaged shapes pimsync refuses on
// purpose although vdirsyncer copies them (docs/DECISIONS.md "What is refused").
func damaged(reason string) bool {
	for _, s := range []string{"the item is empty", "no component:", "is never closed", "does not close", "without a BEGIN", "does not belong in", "a NUL byte"} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// TestSameReaderEverywhere: every corpus file read from a vdir, from a DAV server by
// multiget and from a DAV server by GET (the byte-exact fake server keeps CR, BOM and
// all) becomes the same item with the same bytes; what one source refuses, every source
// refuses, and with the same line and byte where the bytes arrive as they are (a vdir
// file, a GET body). The webcal side of the same claim is TestCorpus's webcal part.
func TestSameReaderEverywhere(t *testing.T) {
	files := loadCorpus(t)
	servers := map[string]*davtest.Server{
		"multiget": davtest.NewServer(t, davtest.Options{}),
		"get":      davtest.NewServer(t, davtest.Options{NoMultiget: true}),
	}
	for name, srv := range servers {
		srv.AddCollection(davtest.CalendarHome+"corpus/", storage.Calendars, nil)
		srv.AddCollection(davtest.AddressBookHome+"corpus/", storage.Contacts, nil)
		for _, f := range files {
			if name == "multiget" && !xmlSafe(f.raw) {
				continue // an XML body cannot carry it (the fake server would answer invalid XML)
			}
			home := davtest.CalendarHome
			if f.kind == storage.Contacts {
				home = davtest.AddressBookHome
			}
			srv.PutItem(home+"corpus/"+f.name, f.raw)
		}
	}
	e := newEnv(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "status_path %q\n", e.path("status"))
	for _, k := range []struct{ side, local, remote string }{{"cal", "vdir/icalendar", "caldav"}, {"card", "vdir/vcard", "carddav"}} {
		fmt.Fprintf(&cfg, "storage vdir_%s {\n    type %s\n    path %q\n}\n", k.side, k.local, e.path("src/"+k.side))
		for _, src := range []string{"multiget", "get"} {
			fmt.Fprintf(&cfg, "storage %s_%s {\n    type %s\n    url %s\n}\n", src, k.side, k.remote, servers[src].URL+davtest.ContextPath)
		}
		for _, src := range []string{"vdir", "multiget", "get"} {
			fmt.Fprintf(&cfg, "storage out_%s_%s {\n    type %s\n    path %q\n}\n", src, k.side, k.local, e.path("out/"+src+"/"+k.side))
			fmt.Fprintf(&cfg, "pair %s_%s {\n    storage_a %s_%s\n    storage_b out_%s_%s\n    collection corpus\n}\n", src, k.side, src, k.side, src, k.side)
			e.mkdir("out/" + src + "/" + k.side)
		}
	}
	e.write("pimsync.conf", cfg.String())
	e.writeCorpus("src/cal", corpusOf(files, "calendars"), func(corpusFile) string { return "corpus" })
	e.writeCorpus("src/card", corpusOf(files, "contacts"), func(corpusFile) string { return "corpus" })
	r := e.mustRun(1, "sync")
	for _, side := range []string{"cal", "card"} {
		want := e.files("out/vdir/" + side)
		if len(want) < 20 {
			t.Fatalf("out/vdir/%s: %v", side, want)
		}
		for _, src := range []string{"multiget", "get"} {
			got := e.files("out/" + src + "/" + side)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %d items %v, the vdir gave %d", src, side, len(got), got, len(want))
				continue
			}
			for _, name := range want {
				if a, b := e.read("out/"+src+"/"+side+"/"+name), e.read("out/vdir/"+side+"/"+name); a != b {
					t.Logf("%q\n%q", a, b)
					t.Errorf("%s %s: %s differs from what the vdir gave", src, side, name)
				}
			}
		}
	}
	for _, f := range files {
		if !f.refused() {
			continue
		}
		side, home := "cal", davtest.CalendarHome
		if f.kind == storage.Contacts {
			side, home = "card", davtest.AddressBookHome
		}
		for src, where := range map[string]string{"vdir": "corpus/" + f.name, "multiget": home + "corpus/" + f.name, "get": home + "corpus/" + f.name} {
			if src == "multiget" && !xmlSafe(f.raw) {
				continue
			}
			line := regexp.MustCompile(`(?m)^error: ` + src + `_` + side + `/corpus: skipping ` + regexp.QuoteMeta(where) + ` on storage ` + src + `_` + side + `, which cannot be read.*$`).FindString(r.stderr)
			switch {
			case line == "":
				t.Errorf("%s: %s does not refuse it:\n%s", f.path, src, r.stderr)
			case src != "multiget" && !strings.Contains(line, f.want()):
				t.Errorf("%s: %s refuses it with %q, want %q", f.path, src, line, f.want())
			}
		}
	}
}

// xmlSafe reports whether raw can be the text of an XML element: UTF-8 without the
// control characters XML 1.0 forbids.
func xmlSafe(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for _, r := range string(raw) {
		if r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
