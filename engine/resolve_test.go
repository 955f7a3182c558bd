package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
)

// conflictFixture returns a pair whose item x is in conflict, and that conflict.
func conflictFixture(t *testing.T) (*fixture, Conflict) {
	t.Helper()
	f := newFixture(t, memstore.New(storage.Calendars), memstore.New(storage.Calendars), nil)
	f.a.AddCollection("c")
	f.b.AddCollection("c")
	f.a.Put("c/x.ics", ev("x", "on a"))
	f.b.Put("c/x.ics", ev("x", "on b"))
	plan := f.eng.Plan(context.Background(), []*Pair{f.pair})[0]
	cs := plan.Conflicts()
	if len(cs) != 1 {
		t.Fatalf("conflicts %v", cs)
	}
	return f, cs[0]
}

func TestResolveKeepSide(t *testing.T) {
	f, c := conflictFixture(t)
	v, sides, err := f.eng.Resolve(context.Background(), c, KeepSide{Side: B})
	if err != nil || len(sides) != 1 || sides[0] != A || v == nil {
		t.Fatalf("Resolve = %v, %v", sides, err)
	}
	if got := f.a.Snapshot()["c"].Items["c/x.ics"]; got != ev("x", "on b") {
		t.Fatalf("a holds %q", got)
	}
	if r := f.sync(); len(r.Errors()) > 0 || r.Conflicts() > 0 {
		t.Fatalf("sync after resolving: %v, %d conflicts", r.Errors(), r.Conflicts())
	}
}

func TestResolveRefusesChangedVersions(t *testing.T) {
	f, c := conflictFixture(t)
	shown, err := f.eng.Refetch(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	f.b.Put("c/x.ics", ev("x", "edited again on b"))
	writes := f.a.Writes()
	_, _, err = f.eng.Resolve(context.Background(), c, KeepSide{Side: A, Shown: shown})
	if !errors.Is(err, ErrConflictChanged) || f.a.Writes() != writes || f.b.Writes() != 0 {
		t.Fatalf("err %v; a writes %d→%d, b writes %d", err, writes, f.a.Writes(), f.b.Writes())
	}
}

func TestResolveUnresolvedAndGone(t *testing.T) {
	f, c := conflictFixture(t)
	never := ResolverFunc(func(context.Context, *Versions) (storage.Item, error) {
		return storage.Item{}, fmt.Errorf("%w: not today", ErrUnresolved)
	})
	if _, _, err := f.eng.Resolve(context.Background(), c, never); !errors.Is(err, ErrUnresolved) {
		t.Fatalf("err %v", err)
	}
	f.b.Remove("c/x.ics")
	if _, _, err := f.eng.Resolve(context.Background(), c, KeepSide{Side: A}); !errors.Is(err, ErrConflictGone) {
		t.Fatalf("err %v, want ErrConflictGone", err)
	}
}
