package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

func composeVersions() (a, b string) {
	a = strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:x", "SUMMARY:Lunch (a)",
		"LOCATION:Cafe", "ATTENDEE:mailto:ann@example.org", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	b = strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:x", "SUMMARY:Lunch (b)",
		"LOCATION:Canteen", "ATTENDEE:mailto:bob@example.org", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	return a, b
}

// Compose resolves a conflict with per-property choices: the composed item is
// uploaded to both sides (each differs from it), kept in the trash and undoable.
func TestResolveCompose(t *testing.T) {
	a, b := composeVersions()
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	f.b.AddCollection("c")
	f.a.Put("c/x.ics", a)
	f.b.Put("c/x.ics", b)
	cs := f.eng.Plan(context.Background(), []*Pair{f.pair})[0].Conflicts()
	if len(cs) != 1 {
		t.Fatalf("conflicts %v", cs)
	}
	shown, err := f.eng.Refetch(context.Background(), cs[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := merge.Align(a, b)
	if err != nil {
		t.Fatal(err)
	}
	choices := merge.Choices{}
	for _, r := range rows {
		switch r.Name {
		case "SUMMARY":
			choices[r.Part] = merge.PickA
		case "LOCATION":
			choices[r.Part] = merge.PickB
		case "ATTENDEE":
			choices[r.Part] = merge.PickBoth
		}
	}
	// A version changed since it was shown: nothing is written.
	f.b.Put("c/x.ics", strings.Replace(b, "Canteen", "Canteen, 2nd floor", 1))
	if _, _, err := f.eng.Resolve(context.Background(), cs[0], Compose{Choices: choices, Shown: shown}); !errors.Is(err, ErrConflictChanged) {
		t.Fatalf("changed since shown: %v", err)
	}
	f.b.Put("c/x.ics", b)
	want := strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:x", "SUMMARY:Lunch (a)",
		"LOCATION:Canteen", "ATTENDEE:mailto:ann@example.org", "ATTENDEE:mailto:bob@example.org", "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
	_, sides, err := f.eng.Resolve(context.Background(), cs[0], Compose{Choices: choices, Shown: shown})
	if err != nil || len(sides) != 2 {
		t.Fatalf("Resolve = %v, %v", sides, err)
	}
	for name, s := range map[string]*memstore.Store{"a": f.a, "b": f.b} {
		if got := s.Snapshot()["c"].Items["c/x.ics"]; got != want {
			t.Errorf("%s holds\n%s\nwant\n%s", name, got, want)
		}
	}
	runs, err := trash.Runs(f.eng.StatusDir, "p")
	if err != nil || len(runs) == 0 {
		t.Fatalf("trash: %v %v", runs, err)
	}
	last := runs[len(runs)-1]
	if len(last.Entries) != 2 || last.Entries[0].Why != "choice per property" {
		t.Fatalf("trash entries %+v", last.Entries)
	}
	// Undo puts both versions back; the next plan shows the conflict again.
	res, err := f.eng.Undo(context.Background(), f.pair)
	if err != nil || len(res.Reverted) != 2 || len(res.Refused) != 0 {
		t.Fatalf("undo: %+v %v", res, err)
	}
	if f.a.Snapshot()["c"].Items["c/x.ics"] != a || f.b.Snapshot()["c"].Items["c/x.ics"] != b {
		t.Fatal("undo did not restore both versions")
	}
	if n := len(f.eng.Plan(context.Background(), []*Pair{f.pair})[0].Conflicts()); n != 1 {
		t.Fatalf("%d conflicts after undo", n)
	}
	// A choice for a part these versions do not have: nothing is written.
	writes := f.a.Writes()
	_, _, err = f.eng.Resolve(context.Background(), cs[0], Compose{Choices: merge.Choices{"nope": merge.PickB}})
	if !errors.Is(err, ErrUnresolved) || f.a.Writes() != writes {
		t.Fatalf("bad choice: %v", err)
	}
}
