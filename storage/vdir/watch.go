package vdir

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/fsnotify/fsnotify"

	"github.com/pimsync-go/pimsync/storage"
)

// Watch implements storage.Watcher (sync.md §15.2) with fsnotify watches on the root
// and on every collection directory, added and removed as collections come and go.
//
// notify is called from Watch's goroutine, without debouncing, whenever someone else
// creates, changes or removes an item file ("*.<fileext>"), a metadata file or a
// collection directory. Hidden names, other files and the events of this Storage's own
// writes (recognised by path and current etag) are ignored. A watcher error or queue
// overflow calls notify and rebuilds the watches. notify should return quickly (say, a
// non-blocking send on a channel of capacity 1): events wait while it runs.
//
// Watch returns nil when ctx is done. It returns an error when watching cannot start
// (no inotify instance, the watch limit is reached, the root is missing) or breaks (the
// root is removed, a new collection cannot be watched); callers then poll instead.
func (s *Storage) Watch(ctx context.Context, notify func()) error {
	return s.watch(ctx, func(string) { notify() })
}

// watch is Watch with the path that caused each notification, for tests.
func (s *Storage) watch(ctx context.Context, notify func(path string)) error {
	s.own.watching.Add(1) // before the watches exist, so that no write of ours is missed
	defer s.own.watching.Add(-1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return &storage.Error{Op: "watch", Err: err}
	}
	defer w.Close()
	ws := &watchSet{s: s, w: w, colls: make(map[string]bool)}
	if err := ws.rebuild(); err != nil {
		return &storage.Error{Op: "watch", Err: err}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return &storage.Error{Op: "watch", Err: errors.New("watcher closed")}
			}
			if err := ws.handle(ev, notify); err != nil {
				return &storage.Error{Op: "watch", Err: err}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return &storage.Error{Op: "watch", Err: errors.New("watcher closed")}
			}
			// Events may have been lost (fsnotify.ErrEventOverflow or worse): have the
			// caller sync everything, and make sure every collection is watched.
			s.logger().Debug("vdir: watcher error; rebuilding watches", "root", s.root, "err", err)
			notify(s.root)
			if err := ws.rebuild(); err != nil {
				return &storage.Error{Op: "watch", Err: err}
			}
		}
	}
}

// watchSet is the state of one Watch call.
type watchSet struct {
	s     *Storage
	w     *fsnotify.Watcher
	colls map[string]bool // collection names with a watch
}

// rebuild (re-)establishes the watches on the root and every collection directory.
func (ws *watchSet) rebuild() error {
	root := ws.s.root
	if err := ws.w.Add(root); err != nil {
		if rerr := ws.s.checkRoot(); rerr != nil {
			return rerr
		}
		return fmt.Errorf("watch %s: %w", root, err)
	}
	names, err := ws.s.collectionNames()
	if err != nil {
		return err
	}
	for n := range ws.colls {
		ws.w.Remove(filepath.Join(root, n)) // it may have been replaced since
		delete(ws.colls, n)
	}
	for _, n := range names {
		if err := ws.add(n); err != nil {
			return err
		}
	}
	return nil
}

// add watches collection n, unless it has gone away meanwhile.
func (ws *watchSet) add(n string) error {
	p := filepath.Join(ws.s.root, n)
	if err := ws.w.Add(p); err != nil {
		if currentTag(p) != "dir" {
			return nil
		}
		return fmt.Errorf("watch %s: %w", p, err)
	}
	ws.colls[n] = true
	return nil
}

// handle filters one event, keeps the watches in step with the collections and calls
// notify when the event may matter to a sync.
func (ws *watchSet) handle(ev fsnotify.Event, notify func(string)) error {
	s := ws.s
	name := filepath.Clean(ev.Name)
	if name == s.root {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			notify(name)
			return fmt.Errorf("vdir %s was removed or renamed", s.root)
		}
		return nil
	}
	dir, base := filepath.Dir(name), filepath.Base(name)
	if strings.HasPrefix(base, ".") || !utf8.ValidString(base) {
		return nil
	}
	switch {
	case dir == s.root: // a collection (or some other entry of the root)
		tag := currentTag(name)
		watched := ws.colls[base]
		switch {
		case tag == "dir" && !watched:
			if err := ws.add(base); err != nil {
				notify(name)
				return err
			}
		case tag != "dir" && watched:
			ws.w.Remove(name)
			delete(ws.colls, base)
		case tag != "dir":
			return nil // a file in the root: not a collection
		}
		if !s.own.isOwn(name, tag) {
			notify(name)
		}

	case filepath.Dir(dir) == s.root && ws.colls[filepath.Base(dir)]: // inside a collection
		if !strings.HasSuffix(base, "."+s.ext) && !isMetadataFile(base) {
			return nil
		}
		if !s.own.isOwn(name, currentTag(name)) {
			notify(name)
		}
	}
	return nil
}
