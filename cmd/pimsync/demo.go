package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/davserver"
	"github.com/pimsync-go/pimsync/tui"
)

// cmdDemo builds a throwaway workspace (a config, a local vdir of calendars and
// contacts, and an embedded CalDAV/CardDAV server on 127.0.0.1), syncs it once
// silently, then makes a remote edit, a new remote event, a new local contact and one
// conflict, and opens the TUI on it. Nothing is written outside the workspace. A
// temporary workspace is removed at the end unless --keep is given; a --workspace
// directory is kept, and its path printed.
func (a *app) cmdDemo(args []string) (err error) {
	fs := a.flags("demo")
	if err := a.parseFlags(fs, args); err != nil {
		return err
	}
	noTUI, keep, dir := boolFlag(fs, "no-tui"), boolFlag(fs, "keep"), stringFlag(fs, "workspace")
	if fs.NArg() > 0 {
		return usagef("demo takes no arguments")
	}
	if a.configPath != "" {
		return usagef("demo uses a configuration of its own; -c cannot be used with it")
	}
	if !noTUI && (!a.isTerminal(a.stdin) || !a.isTerminal(a.stdout)) {
		return exitCodeError{code: exitUsage, err: errors.New("the demo opens the TUI and needs a terminal; use `pimsync demo --no-tui` to only set it up")}
	}
	root, err := demoWorkspace(dir)
	if err != nil {
		return err
	}
	keep = keep || dir != ""
	defer func() {
		if !keep {
			if rerr := os.RemoveAll(root); rerr != nil {
				fmt.Fprintf(a.stderr, "pimsync: removing the demo workspace: %v\n", rerr)
				return
			}
			fmt.Fprintf(a.stdout, "\nThe demo workspace was removed (pimsync demo --keep keeps it).\n")
			return
		}
		fmt.Fprintf(a.stdout, "\nThe demo workspace is %s\n  configuration: %s\n  local data:    %s\n"+
			"The embedded server stopped with the demo. Delete the directory when you are done.\n",
			root, filepath.Join(root, "pimsync.conf"), filepath.Join(root, "local"))
	}()

	// Everything the demo (and a merge tool's temporary files) writes stays inside.
	tmp := filepath.Join(root, "tmp")
	if err = os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	os.Setenv("TMPDIR", tmp)

	level, _ := parseLevel(a.logLevel)
	var sink *tui.LogSink
	if !noTUI {
		sink = tui.NewLogSink(level)
		restore := a.logToPane(sink)
		defer func() {
			restore()
			if err != nil {
				sink.Flush(a.stderr) // what was logged before the TUI could show it
			}
		}()
	}
	d, err := newDemo(root)
	if err != nil {
		return err
	}
	defer d.srv.Close()
	a.configPath = d.config
	ws, err := a.open(nil)
	if err != nil {
		return err
	}
	if err = d.initialSync(a.ctx, ws.engine(nil), ws.enginePairs()); err != nil {
		return err
	}
	if err = d.changeThings(); err != nil {
		return err
	}
	if noTUI {
		plans := ws.engine(nil).Plan(a.ctx, ws.enginePairs())
		return present.WritePlan(a.stdout, plans)
	}
	err = a.runTUI(ws, sink, "pimsync demo", nil)
	if errors.Is(err, tui.ErrInterrupted) {
		return exitCodeError{code: exitError, err: err}
	}
	return err
}

// demoWorkspace creates the workspace directory: dir (which must be new or empty) or a
// new temporary directory.
func demoWorkspace(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "pimsync-demo-")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, os.MkdirAll(abs, 0o700)
	case err != nil:
		return "", err
	case len(entries) > 0:
		return "", fmt.Errorf("the demo workspace %s is not empty; name a new or empty directory", abs)
	}
	return abs, nil
}

// demo is a workspace being built.
type demo struct {
	root   string
	config string
	srv    *davserver.Server
	now    time.Time
}

const (
	demoUser     = "demo"
	demoPassword = "demo"
	demoDomain   = "@pimsync.demo"
)

func newDemo(root string) (*demo, error) {
	srv, err := davserver.Start(davserver.Options{Username: demoUser, Password: demoPassword})
	if err != nil {
		return nil, fmt.Errorf("starting the demo server: %w", err)
	}
	d := &demo{root: root, srv: srv, config: filepath.Join(root, "pimsync.conf"), now: time.Now()}
	if err := d.seed(); err != nil {
		srv.Close()
		return nil, err
	}
	if err := d.writeConfig(); err != nil {
		srv.Close()
		return nil, err
	}
	return d, nil
}

func (d *demo) path(rel ...string) string {
	return filepath.Join(append([]string{d.root}, rel...)...)
}

// writeConfig writes the demo's pimsync.conf.
func (d *demo) writeConfig() error {
	resolver := ""
	for _, tool := range [][]string{{"nvim", "-d"}, {"vimdiff"}} {
		if _, err := exec.LookPath(tool[0]); err == nil {
			resolver = "    conflict_resolution cmd " + strings.Join(tool, " ") + "\n"
			break
		}
	}
	url := d.srv.URL + davserver.ContextPath
	cfg := fmt.Sprintf(`# The pimsync demo workspace, made by `+"`pimsync demo`"+`. Safe to delete.
# The CalDAV/CardDAV server below ran inside the demo and is gone when it ends.
status_path %q

storage local_calendars {
    type vdir/icalendar
    path %q
}

storage server_calendars {
    type caldav
    url %s
    username %s
    password %s
}

storage local_contacts {
    type vdir/vcard
    path %q
}

storage server_contacts {
    type carddav
    url %s
    username %s
    password %s
}

pair calendars {
    storage_a local_calendars
    storage_b server_calendars
    collections all
%s}

pair contacts {
    storage_a local_contacts
    storage_b server_contacts
    collections all
}
`, d.path("status"), d.path("local", "calendars"), url, demoUser, demoPassword,
		d.path("local", "contacts"), url, demoUser, demoPassword, resolver)
	return os.WriteFile(d.config, []byte(cfg), 0o600)
}

// day returns the date n days from today at hh:mm (floating local time).
func (d *demo) day(n, hh, mm int) string {
	t := time.Date(d.now.Year(), d.now.Month(), d.now.Day(), hh, mm, 0, 0, time.Local).AddDate(0, 0, n)
	return t.Format("20060102T150405")
}

func demoCRLF(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func (d *demo) event(uid, summary, start, end string, extra ...string) []byte {
	dt := ":"
	if len(start) == 8 { // a date: an all-day event
		dt = ";VALUE=DATE:"
	}
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pimsync//demo//EN", "BEGIN:VEVENT",
		"UID:" + uid + demoDomain, "DTSTAMP:20250101T000000Z", "DTSTART" + dt + start, "DTEND" + dt + end, "SUMMARY:" + summary}
	lines = append(lines, extra...)
	lines = append(lines, "END:VEVENT", "END:VCALENDAR")
	return demoCRLF(lines...)
}

func demoTodo(uid, summary, due string) []byte {
	return demoCRLF("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pimsync//demo//EN", "BEGIN:VTODO",
		"UID:"+uid+demoDomain, "DTSTAMP:20250101T000000Z", "DUE;VALUE=DATE:"+due, "SUMMARY:"+summary,
		"STATUS:NEEDS-ACTION", "END:VTODO", "END:VCALENDAR")
}

func demoCard(uid, fn, n, email string, extra ...string) []byte {
	lines := []string{"BEGIN:VCARD", "VERSION:3.0", "UID:" + uid + demoDomain, "FN:" + fn, "N:" + n, "EMAIL;TYPE=work:" + email}
	lines = append(lines, extra...)
	lines = append(lines, "END:VCARD")
	return demoCRLF(lines...)
}

// Items of the demo that the changes after the first sync refer to.
func (d *demo) standup(edited bool) []byte {
	if edited {
		return d.event("standup", "Team standup (moved to 9:30)", d.day(1, 9, 30), d.day(1, 9, 45),
			"LOCATION:Room 2", "DESCRIPTION:Moved by a colleague on the server.")
	}
	return d.event("standup", "Team standup", d.day(1, 9, 0), d.day(1, 9, 15), "LOCATION:Room 2")
}

func (d *demo) dentist(version string) []byte {
	switch version {
	case "local":
		return d.event("dentist", "Dentist", d.day(3, 16, 0), d.day(3, 17, 0), "LOCATION:Dr. Weber, Main Street 5",
			"DESCRIPTION:Moved to the afternoon (edited on this computer).")
	case "remote":
		return d.event("dentist", "Dentist (bring X-rays)", d.day(3, 10, 0), d.day(3, 11, 0), "LOCATION:Dr. Weber, Market Square 1",
			"DESCRIPTION:The practice moved (edited on the server).")
	}
	return d.event("dentist", "Dentist", d.day(3, 10, 0), d.day(3, 11, 0), "LOCATION:Dr. Weber, Main Street 5")
}

func (d *demo) anna(edited bool) []byte {
	if edited {
		return demoCard("anna", "Anna Schmidt", "Schmidt;Anna;;;", "anna@example.org", "TEL;TYPE=cell:+49 170 555 0101", "ORG:Example GmbH")
	}
	return demoCard("anna", "Anna Schmidt", "Schmidt;Anna;;;", "anna@example.org", "ORG:Example GmbH")
}

// seed fills the local vdir and the server before the first sync.
func (d *demo) seed() error {
	s := d.srv
	s.AddCollection(davserver.CalendarHome+"work/", storage.Calendars, map[string]string{
		storage.PropDisplayName: "Work", storage.PropColor: "#3465A4"})
	s.AddCollection(davserver.CalendarHome+"personal/", storage.Calendars, map[string]string{
		storage.PropDisplayName: "Personal", storage.PropColor: "#73D216"})
	s.AddCollection(davserver.AddressBookHome+"contacts/", storage.Contacts, map[string]string{
		storage.PropDisplayName: "Contacts"})
	s.PutItem(davserver.CalendarHome+"work/standup.ics", d.standup(false))
	s.PutItem(davserver.CalendarHome+"work/dentist.ics", d.dentist(""))
	s.PutItem(davserver.CalendarHome+"personal/birthday-mum.ics", d.event("birthday-mum", "Mum's birthday",
		d.day(12, 0, 0)[:8], d.day(13, 0, 0)[:8], "RRULE:FREQ=YEARLY"))
	s.PutItem(davserver.AddressBookHome+"contacts/anna.vcf", d.anna(false))

	files := map[string][]byte{
		"calendars/work/review.ics": d.event("review", "Quarterly review", d.day(2, 14, 0), d.day(2, 15, 30),
			"LOCATION:Board room", "ATTENDEE;CN=Anna Schmidt:mailto:anna@example.org"),
		"calendars/work/lunch-anna.ics": d.event("lunch-anna", "Lunch with Anna", d.day(4, 12, 30), d.day(4, 13, 30)),
		"calendars/personal/gym.ics": d.event("gym", "Gym", d.day(0, 18, 0), d.day(0, 19, 0),
			"RRULE:FREQ=WEEKLY;BYDAY=MO,TH"),
		"calendars/personal/passport.ics": demoTodo("passport", "Renew passport", d.day(20, 0, 0)[:8]),
		"contacts/contacts/bob.vcf": demoCard("bob", "Bob Martin", "Martin;Bob;;;", "bob@example.org",
			"TEL;TYPE=home:+1 555 0100"),
	}
	for rel, data := range files {
		if err := demoWriteFile(d.path("local", rel), data); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes a file through a temporary name, as another program would.
func demoWriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// initialSync syncs everything once, silently, so that the TUI opens on a workspace
// with a history: a status database and a last run.
func (d *demo) initialSync(ctx context.Context, eng *engine.Engine, pairs []*engine.Pair) error {
	eng.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	results := eng.Sync(ctx, pairs)
	for _, r := range results {
		if errs := r.Errors(); len(errs) > 0 {
			return fmt.Errorf("the first sync of the demo failed: %w", errors.Join(errs...))
		}
	}
	return nil
}

// changeThings makes the changes the TUI then shows: a remote edit, a new remote event,
// a remote contact edit, a new local contact, and one conflict (the same event edited
// differently on both sides).
func (d *demo) changeThings() error {
	s := d.srv
	s.PutItem(davserver.CalendarHome+"work/standup.ics", d.standup(true))
	s.PutItem(davserver.CalendarHome+"work/offsite.ics", d.event("offsite", "Team offsite", d.day(7, 9, 0), d.day(7, 17, 0),
		"LOCATION:Lakeside Lodge", "DESCRIPTION:New on the server since the last sync."))
	s.PutItem(davserver.AddressBookHome+"contacts/anna.vcf", d.anna(true))
	s.PutItem(davserver.CalendarHome+"work/dentist.ics", d.dentist("remote"))
	local, err := demoFindItem(d.path("local", "calendars", "work"), "dentist"+demoDomain)
	if err != nil {
		return err
	}
	if err := demoWriteFile(local, d.dentist("local")); err != nil {
		return err
	}
	return demoWriteFile(d.path("local", "contacts", "contacts", "carol.vcf"),
		demoCard("carol", "Carol Nguyen", "Nguyen;Carol;;;", "carol@example.org", "NOTE:Added on this computer."))
}

// findItemFile returns the file of a vdir collection that holds the item with uid.
func demoFindItem(dir, uid string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		if got, ok := storage.ExtractUID(string(b)); ok && got == uid {
			return filepath.Join(dir, e.Name()), nil
		}
	}
	return "", fmt.Errorf("demo: no item with UID %s in %s", uid, dir)
}
