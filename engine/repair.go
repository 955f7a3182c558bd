package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/storage"
)

// RepairOutcome is what Repair did (or would do) to one item.
type RepairOutcome int

const (
	Repaired     RepairOutcome = iota + 1 // a UID was added (or would be, in a dry run)
	Unrepairable                          // the item is broken in a way repair cannot fix
	RepairFailed                          // writing the repaired item failed
)

// RepairResult reports one item that needed attention. Valid items are never reported
// and never touched.
type RepairResult struct {
	Collection string
	Href       string
	Outcome    RepairOutcome
	UID        string // the UID added
	Err        error  // why it is unrepairable or failed
}

// Repair adds a UID to every item of every collection of st that has none. The new UID
// is the item's normalised hash, which is also the ident it had before (sync.md §2.3),
// so the status database keeps matching it and the next sync simply propagates the
// repaired version. The write is conditional on the etag the item was read with.
// Items that cannot be read or are not valid components are reported as unrepairable.
func Repair(ctx context.Context, st storage.Storage, dryRun bool, report func(RepairResult)) (err error) {
	defer func() {
		if ferr := flush(ctx, st); err == nil {
			err = ferr
		}
	}()
	cols, err := st.Discover(ctx)
	if err != nil {
		return err
	}
	for _, c := range cols {
		refs, err := st.List(ctx, c.Href)
		if err != nil {
			return fmt.Errorf("listing %s: %w", c.Href, err)
		}
		hrefs := make([]string, len(refs))
		for i, r := range refs {
			hrefs[i] = r.Href
		}
		fetched, err := st.Get(ctx, c.Href, hrefs)
		if err != nil {
			return fmt.Errorf("reading %s: %w", c.Href, err)
		}
		for _, f := range fetched {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res := RepairResult{Collection: c.Href, Href: f.Href}
			if f.Err != nil {
				res.Outcome, res.Err = Unrepairable, f.Err
				report(res)
				continue
			}
			if _, ok := f.Item.UID(); ok {
				continue
			}
			uid := f.Item.Hash()
			text, err := AddUID(f.Item.Text(), st.Kind(), uid)
			if err != nil {
				res.Outcome, res.Err = Unrepairable, err
				report(res)
				continue
			}
			res.Outcome, res.UID = Repaired, uid
			if !dryRun {
				item, err := storage.ParseItem([]byte(text), st.Kind())
				if err == nil {
					_, err = st.Update(ctx, f.Href, f.ETag, item)
				}
				if err != nil {
					res.Outcome, res.Err = RepairFailed, err
				}
			}
			report(res)
		}
	}
	return nil
}

// uidComponents are the components that carry a UID.
var uidComponents = map[string]bool{"VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true, "VAVAILABILITY": true}

// AddUID inserts "UID:<uid>" into an item that has none: into every top-level
// VEVENT/VTODO/VJOURNAL/... of a calendar (right after its BEGIN line), or into a vCard
// after BEGIN:VCARD (and after VERSION when it directly follows, as RFC 6350 wants).
// Every other byte is kept.
func AddUID(text string, kind storage.Kind, uid string) (string, error) {
	if _, ok := storage.ExtractUID(text); ok {
		return "", errors.New("item already has a UID")
	}
	lines := strings.SplitAfter(text, "\r\n")
	var b strings.Builder
	depth, added := 0, 0
	for i, l := range lines {
		b.WriteString(l)
		trimmed := strings.TrimRight(l, "\r\n")
		cl := storage.SplitLine(trimmed)
		name, value := strings.ToUpper(cl.Name), strings.ToUpper(strings.TrimSpace(cl.Value))
		switch name {
		case "BEGIN":
			depth++
			if kind == storage.Contacts && depth == 1 && value == "VCARD" {
				if i+1 < len(lines) && strings.HasPrefix(strings.ToUpper(lines[i+1]), "VERSION:") {
					continue // inserted after the VERSION line
				}
				b.WriteString("UID:" + uid + "\r\n")
				added++
			}
			if kind == storage.Calendars && depth == 2 && uidComponents[value] {
				b.WriteString("UID:" + uid + "\r\n")
				added++
			}
		case "VERSION":
			if kind == storage.Contacts && depth == 1 && added == 0 {
				b.WriteString("UID:" + uid + "\r\n")
				added++
			}
		case "END":
			depth--
		}
	}
	if added == 0 {
		return "", fmt.Errorf("no %s component to add a UID to", map[storage.Kind]string{storage.Calendars: "VEVENT, VTODO or VJOURNAL", storage.Contacts: "VCARD"}[kind])
	}
	return b.String(), nil
}
