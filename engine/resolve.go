package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// Resolution outcomes that are not failures of the resolver itself.
var (
	// ErrConflictGone: one of the versions no longer exists.
	ErrConflictGone = errors.New("one side no longer has the item; run sync")
	// ErrConflictSolved: both versions are now equal.
	ErrConflictSolved = errors.New("both sides are now equal; the next sync records it")
	// ErrUnresolved: the merge tool ran but did not produce a usable result (the files
	// differ, one is empty or not a valid item); the conflict stays.
	ErrUnresolved = errors.New("conflict left unresolved")
)

func unresolved(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnresolved, fmt.Sprintf(format, args...))
}

// Versions are both current versions of a conflicting item, fetched just before it is
// resolved (sync.md §9.3 step 2), with the etags that the upload is conditional on.
type Versions struct {
	Pair    *Pair
	Mapping *MappingPlan
	Ident   string
	A, B    *ItemState // both with Item set
}

// Refetch reads both versions of a conflict again. It returns ErrConflictGone or
// ErrConflictSolved (with the versions read so far) when there is nothing to resolve.
func (e *Engine) Refetch(ctx context.Context, c Conflict) (*Versions, error) {
	p := c.Pair.Pair
	v := &Versions{Pair: p, Mapping: c.Mapping, Ident: c.Action.Ident}
	st := p.storages()
	hrefs := [2]string{c.Action.A.Href, c.Action.B.Href}
	colls := [2]string{c.Mapping.HrefA, c.Mapping.HrefB}
	var got [2]*ItemState
	for s := range 2 {
		fs, err := st[s].Get(ctx, colls[s], []string{hrefs[s]})
		if err != nil {
			return nil, fmt.Errorf("reading %s from storage %s: %w", hrefs[s], p.names()[s], err)
		}
		for _, f := range fs {
			if f.Href != hrefs[s] {
				continue
			}
			if f.Err != nil {
				if errors.Is(f.Err, storage.ErrNotFound) {
					return v, ErrConflictGone
				}
				return nil, fmt.Errorf("reading %s from storage %s: %w", hrefs[s], p.names()[s], f.Err)
			}
			item := f.Item
			got[s] = &ItemState{Href: f.Href, ETag: f.ETag, Ident: item.Ident(), Hash: item.Hash(), Item: &item}
		}
		if got[s] == nil {
			return v, ErrConflictGone
		}
	}
	v.A, v.B = got[A], got[B]
	if v.A.Ident != v.Ident || v.B.Ident != v.Ident {
		return v, ErrConflictGone
	}
	if v.A.Hash == v.B.Hash {
		return v, ErrConflictSolved
	}
	return v, nil
}

// Apply uploads the resolved item to every side whose current version differs from it,
// conditional on the etags read by Refetch (sync.md §9.3 step 7). It returns the sides
// written. When every upload succeeded, the item's status row is set to what both
// sides now hold (the resolved hash, the etags after the uploads), as the executor does
// after a write: a server that re-serialises the upload has not made a change, and the
// next sync writes nothing.
func (e *Engine) Apply(ctx context.Context, v *Versions, resolved storage.Item) ([]Side, error) {
	return e.apply(ctx, v, resolved, "conflict resolution", nil)
}

// apply is Apply with the reason the trash journal gives for the writes, in the trash
// run tr (nil: a new one), so that one choice is one run that `undo` reverts whole.
func (e *Engine) apply(ctx context.Context, v *Versions, resolved storage.Item, why string, tr *trash.Run) ([]Side, error) {
	st := v.Pair.storages()
	cur := [2]*ItemState{v.A, v.B}
	var targets []Side
	for s := range 2 {
		if cur[s].Hash == resolved.Hash() {
			continue
		}
		if storage.IsReadOnly(st[s]) {
			return nil, fmt.Errorf("the result differs from read-only storage %s; nothing was uploaded", v.Pair.names()[s])
		}
		targets = append(targets, Side(s))
	}
	if ident := resolved.Ident(); ident != v.Ident {
		return nil, fmt.Errorf("the result has UID %q, not %q; nothing was uploaded", ident, v.Ident)
	}
	// Like the executor's writes, an upload that has started finishes even when ctx is
	// cancelled (within writeGrace).
	ctx, cancel := graceContext(ctx, writeGrace)
	defer cancel()
	if tr == nil {
		tr = e.beginTrash(v.Pair.Name)
		defer tr.Close()
	}
	colls := [2]string{v.Mapping.HrefA, v.Mapping.HrefB}
	etags := [2]string{cur[A].ETag, cur[B].ETag}
	var done []Side
	for _, s := range targets {
		kept, err := tr.Keep(trash.Entry{Side: Side(s).String(), Storage: v.Pair.names()[s], Collection: colls[s],
			Href: cur[s].Href, Ident: v.Ident, Summary: storage.Summary(cur[s].Item.Text()), Op: trash.OpUpdate, Why: why,
			ETagBefore: cur[s].ETag, HashBefore: cur[s].Hash}, cur[s].Item.Bytes())
		if err != nil {
			return done, fmt.Errorf("updating %s on storage %s: %w; nothing was written", cur[s].Href, v.Pair.names()[s], err)
		}
		etag, err := st[s].Update(ctx, cur[s].Href, cur[s].ETag, resolved)
		if err != nil {
			return done, fmt.Errorf("updating %s on storage %s: %w", cur[s].Href, v.Pair.names()[s], err)
		}
		if err := tr.Done(kept, cur[s].Href, etag, resolved.Hash()); err != nil {
			e.log().Warn(err.Error())
		}
		if err := flush(ctx, st[s]); err != nil {
			return done, fmt.Errorf("updating %s on storage %s: %w", cur[s].Href, v.Pair.names()[s], err)
		}
		done = append(done, s)
		etags[s] = etag
	}
	e.recordResolved(ctx, v, resolved, etags)
	return done, nil
}

// recordResolved sets the status row of a resolved item to what both sides hold now,
// under the pair lock. A failure is logged, not returned: the uploads are done, and
// the next sync plans from the row as it was (at worst the same conflict again, with
// nothing lost). A row that changed since the versions were read is left alone.
func (e *Engine) recordResolved(ctx context.Context, v *Versions, resolved storage.Item, etags [2]string) {
	if v.Mapping == nil || v.Mapping.MappingUID == 0 {
		return
	}
	warn := func(err error) {
		e.log().Warn(fmt.Sprintf("%s/%s: %s was resolved, but its status was not recorded (the next sync records it or shows the conflict again): %v",
			v.Pair.Name, v.Mapping.Alias, v.Ident, err))
	}
	db, unlock, err := e.openWrite(ctx, v.Pair.Name)
	if err != nil {
		warn(err)
		return
	}
	defer unlock()
	defer db.Close()
	uid := v.Mapping.MappingUID
	rows, err := db.Rows(uid)
	if err != nil {
		warn(err)
		return
	}
	var old *status.Row
	for i := range rows {
		if rows[i].Ident == v.Ident {
			old = &rows[i]
		}
	}
	next := status.Row{Ident: v.Ident, Hash: resolved.Hash(), HrefA: v.A.Href, ETagA: etags[A], HrefB: v.B.Href, ETagB: etags[B]}
	merge := v.Pair.Config != nil && !v.Pair.Config.OneWay && v.Pair.Config.ConflictResolution == config.ResolveMerge
	err = db.Update(func(tx *status.Tx) error {
		var err error
		if old != nil {
			err = tx.Update(uid, *old, next)
		} else {
			err = tx.Insert(uid, next)
		}
		if err == nil && merge {
			err = tx.SetBase(uid, v.Ident, next.Hash, resolved.Text())
		}
		return err
	})
	if err != nil {
		warn(err)
	}
}

// Resolver supplies the resolved text of a conflict from both current versions: a merge
// tool, or a person choosing a side. Front ends implement it; the engine never reads a
// terminal. Returning an error wrapping ErrUnresolved leaves the conflict in place.
type Resolver interface {
	Resolve(ctx context.Context, v *Versions) (storage.Item, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, v *Versions) (storage.Item, error)

// Resolve implements Resolver.
func (f ResolverFunc) Resolve(ctx context.Context, v *Versions) (storage.Item, error) {
	return f(ctx, v)
}

// KeepSide resolves a conflict with one side's current version. When Shown is set (the
// versions a person looked at), a version that changed since is not overwritten: the
// result is ErrConflictChanged and nothing is uploaded.
type KeepSide struct {
	Side  Side
	Shown *Versions
}

// ErrConflictChanged: a version changed since it was shown; nothing was written.
var ErrConflictChanged = errors.New("the item changed since it was shown; look again")

// Resolve implements Resolver.
func (k KeepSide) Resolve(_ context.Context, v *Versions) (storage.Item, error) {
	if k.Shown != nil && (v.A.Hash != k.Shown.A.Hash || v.B.Hash != k.Shown.B.Hash) {
		return storage.Item{}, ErrConflictChanged
	}
	if k.Side == A {
		return *v.A.Item, nil
	}
	return *v.B.Item, nil
}

// Compose resolves a conflict with a person's choice per property (merge.Compose): the
// result is made of the chosen lines of both current versions, byte for byte. As with
// KeepSide, a version that changed since it was shown (Shown) is not overwritten: the
// result is ErrConflictChanged and nothing is uploaded.
type Compose struct {
	Choices merge.Choices
	Shown   *Versions
}

// Resolve implements Resolver.
func (c Compose) Resolve(_ context.Context, v *Versions) (storage.Item, error) {
	if c.Shown != nil && (v.A.Hash != c.Shown.A.Hash || v.B.Hash != c.Shown.B.Hash) {
		return storage.Item{}, ErrConflictChanged
	}
	text, err := merge.Compose(v.A.Item.Text(), v.B.Item.Text(), c.Choices)
	if err != nil {
		return storage.Item{}, unresolved("%v", err)
	}
	item, err := storage.ParseItem([]byte(text), v.Pair.A.Kind())
	if err != nil {
		return storage.Item{}, unresolved("the composed item is not valid: %v", err)
	}
	return item, nil
}

// MergeTool resolves with the external program protocol (RunMergeTool); Run decides
// how the program gets the terminal.
type MergeTool struct {
	Argv []string
	Run  func(*exec.Cmd) error
}

// Resolve implements Resolver.
func (m MergeTool) Resolve(ctx context.Context, v *Versions) (storage.Item, error) {
	return RunMergeTool(ctx, m.Argv, v, m.Run)
}

// Resolve is the whole of sync.md §9.3 steps 2–9 for one conflict: read both versions
// again, ask r for the result, and upload it (etag-conditional) to the sides that
// differ. It returns the versions read, the sides written and the first error;
// ErrConflictGone and ErrConflictSolved mean there was nothing left to resolve.
func (e *Engine) Resolve(ctx context.Context, c Conflict, r Resolver) (*Versions, []Side, error) {
	v, err := e.Refetch(ctx, c)
	if err != nil {
		return v, nil, err
	}
	item, err := r.Resolve(ctx, v)
	if err != nil {
		return v, nil, err
	}
	why := "conflict resolution"
	switch r := r.(type) {
	case KeepSide:
		why = "keep " + r.Side.String()
	case MergeTool:
		why = "merge tool"
	case Compose:
		why = "choice per property"
	}
	sides, err := e.apply(ctx, v, item, why, nil)
	return v, sides, err
}

// flush makes the storage's writes durable if it batches durability.
func flush(ctx context.Context, s storage.Storage) error {
	if d, ok := s.(storage.Durable); ok {
		return d.Flush(ctx)
	}
	return nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// MergeFiles are the two files handed to an external merge tool.
type MergeFiles struct {
	Dir  string
	A, B string
}

// PrepareMerge writes both versions into a private temporary directory as
// a-<storage>.<ext> and b-<storage>.<ext> (sync.md §9.3 step 3). Call Cleanup when done.
func PrepareMerge(v *Versions) (*MergeFiles, error) {
	dir, err := os.MkdirTemp("", "pimsync-conflict-")
	if err != nil {
		return nil, err
	}
	ext := v.Pair.A.Kind().Ext()
	m := &MergeFiles{
		Dir: dir,
		A:   filepath.Join(dir, "a-"+unsafeFileChars.ReplaceAllString(v.Pair.NameA, "_")+"."+ext),
		B:   filepath.Join(dir, "b-"+unsafeFileChars.ReplaceAllString(v.Pair.NameB, "_")+"."+ext),
	}
	for _, f := range []struct {
		path string
		item *storage.Item
	}{{m.A, v.A.Item}, {m.B, v.B.Item}} {
		if err := os.WriteFile(f.path, f.item.Bytes(), 0o600); err != nil {
			m.Cleanup()
			return nil, err
		}
	}
	return m, nil
}

// Cleanup removes the temporary directory.
func (m *MergeFiles) Cleanup() { os.RemoveAll(m.Dir) }

// Command returns the merge tool command: the configured words, then file A and file B.
func (m *MergeFiles) Command(ctx context.Context, argv []string) *exec.Cmd {
	args := append(append([]string(nil), argv[1:]...), m.A, m.B)
	return exec.CommandContext(ctx, argv[0], args...)
}

// Result checks the files after the merge tool exited with status 0 (sync.md §9.3 step
// 5) and returns the resolved item: file A's content with line breaks normalised.
func (m *MergeFiles) Result(kind storage.Kind) (storage.Item, error) {
	var texts [2]string
	for i, path := range []string{m.A, m.B} {
		b, err := os.ReadFile(path)
		if err != nil {
			return storage.Item{}, fmt.Errorf("reading the merged file: %w", err)
		}
		if !utf8.Valid(b) {
			return storage.Item{}, unresolved("resolved item %s is not valid UTF-8", []string{"A", "B"}[i])
		}
		if len(b) == 0 {
			return storage.Item{}, unresolved("resolved item %s is empty", []string{"A", "B"}[i])
		}
		texts[i] = string(b)
	}
	const ws = " \t\r\n"
	if strings.Trim(texts[0], ws) != strings.Trim(texts[1], ws) {
		return storage.Item{}, unresolved("the two files differ after the merge tool ran; not applied")
	}
	item, err := storage.ParseItem([]byte(texts[0]), kind)
	if err != nil {
		return storage.Item{}, unresolved("the merged item is not valid: %v", err)
	}
	return item, nil
}

// RunMergeTool is the whole external-program protocol of sync.md §9.3 steps 3–6 and 9:
// write both versions, run the tool through run (which decides how the tool gets the
// terminal), check the result. A non-zero exit is reported as "merge tool exited with
// status N".
func RunMergeTool(ctx context.Context, argv []string, v *Versions, run func(*exec.Cmd) error) (storage.Item, error) {
	if len(argv) == 0 {
		return storage.Item{}, errors.New("no merge tool configured (conflict_resolution cmd …)")
	}
	files, err := PrepareMerge(v)
	if err != nil {
		return storage.Item{}, err
	}
	defer files.Cleanup()
	if err := run(files.Command(ctx, argv)); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return storage.Item{}, fmt.Errorf("merge tool exited with status %d", ee.ExitCode())
		}
		return storage.Item{}, fmt.Errorf("running the merge tool %s: %w", argv[0], err)
	}
	return files.Result(v.Pair.A.Kind())
}

// PropConflict identifies one collection property conflict of a plan.
type PropConflict struct {
	Pair    *PairPlan
	Mapping *MappingPlan
	Action  *PropAction
}

// String is "pair/alias property NAME".
func (c PropConflict) String() string {
	return fmt.Sprintf("%s/%s property %s", c.Pair.Name(), c.Mapping.Alias, c.Action.Name)
}

// PropertyConflicts returns the property conflicts of the plan in order.
func (p *PairPlan) PropertyConflicts() []PropConflict {
	var out []PropConflict
	for _, m := range p.Mappings {
		for _, a := range m.Props {
			if a.Verb == VerbConflict {
				out = append(out, PropConflict{Pair: p, Mapping: m, Action: a})
			}
		}
	}
	return out
}

// ResolveProperty settles a property conflict by keeping one side's value: it reads both
// values again and writes the kept one to the other side (or removes the property
// there when the kept side has none). When either value changed since it was planned
// the result is ErrConflictChanged and nothing is written; when both are now equal,
// ErrConflictSolved. The status is not touched: the next sync records the equal values.
func (e *Engine) ResolveProperty(ctx context.Context, c PropConflict, keep Side) error {
	p, m, act := c.Pair.Pair, c.Mapping, c.Action
	st := p.storages()
	hrefs := [2]string{m.HrefA, m.HrefB}
	var vals [2]string
	var has [2]bool
	for s := range 2 {
		props, err := st[s].Properties(ctx, hrefs[s])
		if err != nil {
			return fmt.Errorf("reading the properties of %s on storage %s: %w", hrefs[s], p.names()[s], err)
		}
		if m.in != nil {
			props = translateProps(Side(s), props, m.in.aliases)
		}
		vals[s], has[s] = props[act.Name]
	}
	if vals != [2]string{act.A, act.B} || has != [2]bool{act.HasA, act.HasB} {
		if vals[A] == vals[B] && has[A] == has[B] {
			return ErrConflictSolved
		}
		return ErrConflictChanged
	}
	target := keep.Other()
	if storage.IsReadOnly(st[target]) {
		return fmt.Errorf("storage %s is read-only; nothing was written", p.names()[target])
	}
	ctx, cancel := graceContext(ctx, writeGrace)
	defer cancel()
	var err error
	if has[keep] {
		err = st[target].SetProperty(ctx, hrefs[target], act.Name, vals[keep])
	} else {
		err = st[target].DeleteProperty(ctx, hrefs[target], act.Name)
	}
	if err != nil {
		return fmt.Errorf("writing property %s to storage %s: %w", act.Name, p.names()[target], err)
	}
	return nil
}

// CopyUID is the UID of the conflict copy of a version (keep both): derived from the
// item's ident and the copied version's hash, so a run interrupted after creating it
// recognises it next time instead of making another.
func CopyUID(ident, hash string) string {
	return ident + "-conflict-" + strings.ToLower(hash[:min(8, len(hash))])
}

// conflictCopy is version v as an independent item with the UID CopyUID.
func conflictCopy(ident string, v *ItemState) (storage.Item, error) {
	return storage.NewItem([]byte(merge.Copy(v.Item.Text(), CopyUID(ident, v.Hash))))
}

// KeepBoth settles a conflict by keeping both versions: b's version is created on b as
// a new item with its own UID, marked "(conflict copy)", then a's version replaces b's
// under the item's UID. The next sync copies the new item to a. As with KeepSide, a
// version that changed since it was shown is not overwritten (ErrConflictChanged).
func (e *Engine) KeepBoth(ctx context.Context, c Conflict, shown *Versions) (*Versions, []Side, error) {
	v, err := e.Refetch(ctx, c)
	if err != nil {
		return v, nil, err
	}
	if shown != nil && (v.A.Hash != shown.A.Hash || v.B.Hash != shown.B.Hash) {
		return v, nil, ErrConflictChanged
	}
	st := v.Pair.storages()
	if storage.IsReadOnly(st[B]) {
		return v, nil, fmt.Errorf("storage %s is read-only; nothing was written", v.Pair.NameB)
	}
	cp, err := conflictCopy(v.Ident, v.B)
	if err != nil {
		return v, nil, err
	}
	ctx, cancel := graceContext(ctx, writeGrace)
	defer cancel()
	// The copy and the update are one run of the trash: `undo` reverts both.
	tr := e.beginTrash(v.Pair.Name)
	defer tr.Close()
	kept, err := tr.Keep(trash.Entry{Side: "b", Storage: v.Pair.NameB, Collection: v.Mapping.HrefB, Ident: cp.Ident(),
		Summary: storage.Summary(cp.Text()), Op: trash.OpCreate, Why: "keep both"}, nil)
	if err == nil {
		var href, etag string
		href, etag, err = st[B].Create(ctx, v.Mapping.HrefB, cp)
		if err == nil {
			err = tr.Done(kept, href, etag, cp.Hash())
		}
	}
	if err != nil {
		return v, nil, fmt.Errorf("creating the copy of b's version: %w", err)
	}
	sides, err := e.apply(ctx, v, *v.A.Item, "keep both", tr)
	return v, sides, err
}
