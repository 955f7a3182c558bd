package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// UndoResult says what Undo or Restore did with each entry of a run.
type UndoResult struct {
	Run      string
	Reverted []trash.Entry
	// Refused holds the entries left alone, with the reason (the item changed since).
	Refused []RefusedEntry
}

// RefusedEntry is a write that was not reverted.
type RefusedEntry struct {
	Entry  trash.Entry
	Reason string
}

// ErrNothingToUndo: the pair has no run with writes left to undo.
var ErrNothingToUndo = errors.New("nothing to undo")

// Undo reverts the writes of the pair's last run that has writes and was not undone
// yet (a sync, or a conflict choice): every item it replaced or deleted gets its
// previous bytes back, every item it created is deleted — each conditional on the
// item still being what the run left (an item changed since is left alone and
// reported). The status rows of the reverted items are forgotten, so the next sync
// takes them as unsynced: an item on one side only is copied, two different versions
// are a conflict for a person. What Undo overwrites goes to the trash too.
func (e *Engine) Undo(ctx context.Context, p *Pair) (*UndoResult, error) {
	runs, err := trash.Runs(e.StatusDir, p.Name)
	if err != nil {
		return nil, err
	}
	var last *trash.Record
	for i := len(runs) - 1; i >= 0; i-- {
		if !runs[i].Undone && len(runs[i].Entries) > 0 {
			last = runs[i]
			break
		}
	}
	if last == nil {
		return nil, fmt.Errorf("pair %s: %w", p.Name, ErrNothingToUndo)
	}
	entries := make([]trash.Entry, 0, len(last.Entries))
	for i := len(last.Entries) - 1; i >= 0; i-- {
		entries = append(entries, last.Entries[i])
	}
	res, err := e.revert(ctx, p, last, entries, "undo")
	if err != nil {
		return res, err
	}
	if err := last.MarkUndone(); err != nil {
		return res, err
	}
	return res, nil
}

// Restore puts back the bytes one trash entry replaced or deleted, whatever the item
// holds now (the current version goes to the trash first), and forgets its status row.
func (e *Engine) Restore(ctx context.Context, p *Pair, id string) (*UndoResult, error) {
	rec, ent, err := trash.Find(e.StatusDir, p.Name, id)
	if err != nil {
		return nil, err
	}
	if ent.Op == trash.OpCreate {
		return nil, fmt.Errorf("entry %s created %s; there are no earlier bytes to restore (use `pimsync undo` to revert its run)", id, ent.HrefAfter)
	}
	ent.HashAfter, ent.ETagAfter = "", "" // restore over whatever is there now
	return e.revert(ctx, p, rec, []trash.Entry{ent}, "restore")
}

// revert undoes entries in the order given, under the pair lock.
func (e *Engine) revert(ctx context.Context, p *Pair, rec *trash.Record, entries []trash.Entry, why string) (*UndoResult, error) {
	db, unlock, err := e.openWrite(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer db.Close()
	tr := e.beginTrash(p.Name)
	defer tr.Close()
	res := &UndoResult{Run: rec.ID}
	st := p.storages()
	var forget []trash.Entry
	for _, ent := range entries {
		s := A
		if ent.Side == "b" {
			s = B
		}
		if err := e.revertOne(ctx, st[s], rec, ent, tr, why); err != nil {
			res.Refused = append(res.Refused, RefusedEntry{Entry: ent, Reason: err.Error()})
			continue
		}
		res.Reverted = append(res.Reverted, ent)
		forget = append(forget, ent)
	}
	if len(forget) == 0 {
		return res, nil
	}
	maps, err := db.Mappings()
	if err != nil {
		return res, &StatusError{err}
	}
	err = db.Update(func(tx *status.Tx) error {
		for _, ent := range forget {
			for _, m := range maps {
				if (ent.Side == "a" && m.HrefA == ent.Collection) || (ent.Side == "b" && m.HrefB == ent.Collection) {
					if err := tx.Delete(m.UID, ent.Ident); err != nil {
						return err
					}
					if err := tx.DeleteBase(m.UID, ent.Ident); err != nil {
						return err
					}
					for _, side := range []status.Side{status.SideA, status.SideB} {
						if err := tx.DeletePending(m.UID, side, ent.Ident); err != nil {
							return err
						}
					}
					// The mapping no longer has every item on record: no token.
					for _, side := range []status.Side{status.SideA, status.SideB} {
						if err := tx.DeleteToken(m.UID, side); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return res, &StatusError{err}
	}
	return res, nil
}

// revertOne reverts one write, conditional on what the item holds now.
func (e *Engine) revertOne(ctx context.Context, st storage.Storage, rec *trash.Record, ent trash.Entry, tr *trash.Run, why string) error {
	if storage.IsReadOnly(st) {
		return fmt.Errorf("storage %s is read-only", ent.Storage)
	}
	href := ent.HrefAfter
	if ent.Op == trash.OpDelete {
		href = ent.Href
	}
	cur, err := current(ctx, st, ent.Collection, href)
	if err != nil {
		return err
	}
	unchanged := cur != nil && (ent.HashAfter == "" && ent.ETagAfter == "" ||
		cur.Item.Hash() == ent.HashAfter || ent.ETagAfter != "" && cur.ETag == ent.ETagAfter)
	var before storage.Item
	if ent.Op != trash.OpCreate {
		b, err := rec.Before(ent)
		if err != nil {
			return fmt.Errorf("the earlier bytes are gone from the trash: %w", err)
		}
		if before, err = storage.NewItem(b); err != nil {
			return err
		}
	}
	keep := func(op trash.Op) (*trash.Entry, error) {
		e := trash.Entry{Side: ent.Side, Storage: ent.Storage, Collection: ent.Collection, Href: href, Ident: ent.Ident,
			Summary: ent.Summary, Op: op, Why: why}
		var b []byte
		if cur != nil {
			e.ETagBefore, e.HashBefore, b = cur.ETag, cur.Item.Hash(), cur.Item.Bytes()
		}
		return tr.Keep(e, b)
	}
	ctx, cancel := graceContext(ctx, writeGrace)
	defer cancel()
	switch {
	case ent.Op == trash.OpCreate && cur == nil:
		return nil // already gone
	case ent.Op == trash.OpCreate && unchanged:
		kept, err := keep(trash.OpDelete)
		if err != nil {
			return err
		}
		if err := st.Delete(ctx, cur.Href, cur.ETag); err != nil {
			return err
		}
		return tr.Done(kept, "", "", "")
	case ent.Op == trash.OpDelete && cur == nil:
		kept, err := keep(trash.OpCreate)
		if err != nil {
			return err
		}
		newHref, etag, err := st.Create(ctx, ent.Collection, before)
		if err != nil {
			return err
		}
		return tr.Done(kept, newHref, etag, before.Hash())
	case ent.Op == trash.OpDelete:
		return fmt.Errorf("%s exists again", href)
	case cur == nil:
		return fmt.Errorf("%s was deleted since", href)
	case !unchanged:
		return fmt.Errorf("%s changed since; left as it is (`pimsync trash restore %s` puts the earlier version back anyway)", href, ent.ID)
	}
	kept, err := keep(trash.OpUpdate)
	if err != nil {
		return err
	}
	etag, err := st.Update(ctx, cur.Href, cur.ETag, before)
	if err != nil {
		return err
	}
	if err := tr.Done(kept, cur.Href, etag, before.Hash()); err != nil {
		return err
	}
	return flush(ctx, st)
}

// current reads the item at href, or nil when it is gone.
func current(ctx context.Context, st storage.Storage, coll, href string) (*ItemState, error) {
	fs, err := st.Get(ctx, coll, []string{href})
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	for _, f := range fs {
		if f.Href != href {
			continue
		}
		if errors.Is(f.Err, storage.ErrNotFound) {
			return nil, nil
		}
		if f.Err != nil {
			return nil, f.Err
		}
		item := f.Item
		return &ItemState{Href: f.Href, ETag: f.ETag, Ident: item.Ident(), Hash: item.Hash(), Item: &item}, nil
	}
	return nil, nil
}
