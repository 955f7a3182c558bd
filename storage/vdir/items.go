package vdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pimsync-go/pimsync/storage"
)

// hardLink is os.Link; tests replace it to exercise the fallback for file systems
// without hard links.
var hardLink = os.Link

// openItem is os.OpenFile; tests replace it where the OS cannot produce an error (a
// permission error when the tests run as root).
var openItem = os.OpenFile

// openItemHooked is set while a test replaces openItem; otherwise items are read with
// readItemFile.
var openItemHooked bool

// List implements storage.Storage with a directory scan that stats but never reads item
// files (storages.md §1.7), sorted by href. Entries whose target cannot be stat'ed (a
// dangling symlink, a symlink loop, no permission) are listed with etag "", so that the
// engine treats them as listed but not fetchable rather than deleted. Our temporary
// files older than 24 h are removed on the way.
func (s *Storage) List(ctx context.Context, collection string) ([]storage.ItemRef, error) {
	var refs []storage.ItemRef
	err := s.ListEach(ctx, collection, func(href, etag []byte) error {
		refs = append(refs, storage.ItemRef{Href: string(href), ETag: string(etag)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(refs, func(a, b storage.ItemRef) int { return strings.Compare(a.Href, b.Href) })
	return refs, nil
}

// listChunk is how many directory entries ListEach reads at a time.
const listChunk = 1024

// ListEach implements storage.Streamer: List without building the listing, in
// directory order. Each entry costs one stat relative to the open directory (no path
// lookup from the root), and no allocation of its own beyond the directory read.
func (s *Storage) ListEach(ctx context.Context, collection string, fn func(href, etag []byte) error) error {
	const op = "list"
	name, dir, err := s.collectionDir(ctx, op, collection)
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return s.collectionError(op, name, err)
	}
	defer d.Close()
	href := make([]byte, 0, 256)
	href = append(append(href, name...), '/')
	prefix := len(href)
	etag := make([]byte, 0, 64)
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, rerr := d.ReadDir(listChunk)
		for _, e := range entries {
			file := e.Name()
			switch {
			case strings.HasPrefix(file, "."):
				if isTmpName(file) {
					removeStaleTmp(filepath.Join(dir, file))
				}
				continue
			case !strings.HasSuffix(file, "."+s.ext), e.IsDir(), !s.validName(dir, file):
				continue
			}
			st, err := statAt(d, dir, file)
			etag = etag[:0]
			switch {
			case err == nil && !st.regular:
				continue // sub-directory, FIFO, socket, device
			case err == nil:
				etag = st.appendETag(etag)
			case errors.Is(err, fs.ErrNotExist) && e.Type()&fs.ModeSymlink == 0:
				continue // removed since it was read
			}
			href = append(href[:prefix], file...)
			if err := fn(href, etag); err != nil {
				return err
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil && first:
			return s.collectionError(op, name, rerr) // not a directory, gone
		case rerr != nil:
			return fsError(op, name, rerr)
		}
	}
}

// Get implements storage.Storage. Files are read with bounded concurrency; each one is
// checked with storage.ParseItem and carries the etag of the file it was read from.
func (s *Storage) Get(ctx context.Context, collection string, hrefs []string) ([]storage.Fetched, error) {
	const op = "get"
	name, _, err := s.existingCollection(ctx, op, collection)
	if err != nil {
		return nil, err
	}
	var uniq []string
	seen := make(map[string]bool, len(hrefs))
	for _, h := range hrefs {
		if !seen[h] {
			seen[h] = true
			uniq = append(uniq, h)
		}
	}
	out := make([]storage.Fetched, len(uniq))
	workers := s.ReadConcurrency
	if workers <= 0 {
		workers = 8
	}
	workers = min(workers, len(uniq))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(uniq) {
					return
				}
				out[i] = s.fetch(name, uniq[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// fetch reads one item of collection.
func (s *Storage) fetch(collection, href string) storage.Fetched {
	const op = "get"
	f := storage.Fetched{Href: href}
	coll, file, err := SplitItemHref(href, s.ext)
	if err == nil && coll != collection {
		err = fmt.Errorf("%w: item href %q is not in collection %q", storage.ErrInvalidData, href, collection)
	}
	if err != nil {
		f.Err = &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
		return f
	}
	path := filepath.Join(s.root, coll, file)
	raw, etag, err := s.readItem(path)
	if err != nil {
		f.Err = fsError(op, href, err)
		return f
	}
	s.logger().Log(context.Background(), storage.LevelTrace, "read item", "href", href, "bytes", len(raw))
	item, err := storage.ParseItem(raw, s.kind)
	if err != nil {
		// The reader's error names the line and byte; the path names the file.
		f.Err = &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: fmt.Errorf("%s: %w", path, err)}
		return f
	}
	f.ETag, f.Item = etag, item
	return f
}

// GetRaw returns the bytes of one item file exactly as they are on disk (line breaks
// and all) with the etag they were read with, for rewriting the file in place
// (engine.Repair). The bytes are not checked.
func (s *Storage) GetRaw(ctx context.Context, href string) ([]byte, string, error) {
	const op = "get"
	coll, file, err := SplitItemHref(href, s.ext)
	if err != nil {
		return nil, "", &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
	}
	if _, _, err := s.existingCollection(ctx, op, coll); err != nil {
		return nil, "", err
	}
	raw, etag, err := s.readItem(filepath.Join(s.root, coll, file))
	if err != nil {
		return nil, "", fsError(op, href, err)
	}
	return raw, etag, nil
}

// readItem reads a regular file (following symlinks) and returns its content and the
// etag of the open file, taken before reading so that a concurrent in-place edit shows
// up as a changed etag on the next listing.
func (s *Storage) readItem(path string) ([]byte, string, error) {
	s.reads.Add(1)
	if !openItemHooked {
		raw, st, err := readItemFile(path, s.maxItem())
		if err != nil {
			return nil, "", err
		}
		return raw, string(st.appendETag(make([]byte, 0, 48))), nil
	}
	f, err := openItem(path, openItemFlags, 0) // never blocks on a FIFO
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	limit := s.maxItem()
	if fi.Size() > limit {
		return nil, "", fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit, Size: fi.Size()})
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(raw)) > limit {
		return nil, "", fmt.Errorf("%s: %w", path, &storage.TooLargeError{Limit: limit})
	}
	return raw, etagOf(fi), nil
}

// Create implements storage.Storage (storages.md §1.3, §1.4): the item is written to a
// file that has no name yet (O_TMPFILE where the system offers it, else a temporary
// file), fsynced, and hard-linked to the first free name of FileNames, so an existing
// file is never overwritten. Where hard links are not supported the target is created
// with O_EXCL instead. The returned etag is that of the file we wrote.
func (s *Storage) Create(ctx context.Context, collection string, item storage.Item) (href, etag string, err error) {
	const op = "create"
	name, dir, err := s.collectionDir(ctx, op, collection)
	if err != nil {
		return "", "", err
	}
	data := item.Bytes()
	w, err := writeUnnamed(dir, data)
	if w == nil && err == nil {
		w, err = writeNamed(dir, data)
	}
	if err != nil {
		return "", "", s.collectionError(op, name, err)
	}
	defer w.close() // the link (or a failure) leaves it behind
	var taken []string
	for _, file := range FileNames(item, s.ext) {
		href := name + "/" + file
		if _, _, err := SplitItemHref(href, s.ext); err != nil { // only a bad fileext gets here
			return "", "", &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
		}
		created, newTag, err := s.link(w, filepath.Join(dir, file), data)
		if err != nil {
			return "", "", fsError(op, href, err)
		}
		if !created {
			taken = append(taken, file)
			continue
		}
		s.dirty.add(dir)
		return href, newTag, nil
	}
	return "", "", &storage.Error{Kind: storage.ErrPrecondition, Op: op, Href: name,
		Err: fmt.Errorf("%w: file names already taken: %s", storage.ErrPrecondition, strings.Join(taken, ", "))}
}

// written is an item file written and fsynced, but not yet visible under its name.
type written interface {
	etag() string
	// linkTo gives the file the name path; it fails with fs.ErrExist if path exists.
	linkTo(path string) error
	// close lets go of the file; a file never linked disappears.
	close()
}

// namedTmp is a temporary file (writeTmp) to be hard-linked into place.
type namedTmp struct{ path, tag string }

func writeNamed(dir string, data []byte) (written, error) {
	tmp, tag, err := writeTmp(dir, data, 0o600)
	if err != nil {
		return nil, err
	}
	return &namedTmp{tmp, tag}, nil
}

func (t *namedTmp) etag() string             { return t.tag }
func (t *namedTmp) linkTo(path string) error { return hardLink(t.path, path) }
func (t *namedTmp) close()                   { os.Remove(t.path) }

// link makes w (holding data) appear at path unless path exists. It reports whether it
// created path, and the etag of the new file.
func (s *Storage) link(w written, path string, data []byte) (created bool, etag string, err error) {
	defer s.locks.lock(path)()
	undo := s.own.expect(path, w.etag())
	err = w.linkTo(path)
	switch {
	case err == nil:
		return true, w.etag(), nil
	case errors.Is(err, fs.ErrExist):
		undo()
		return false, "", nil
	}
	undo()
	// No hard links here (some FUSE and FAT file systems): create exclusively.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return false, "", err
	}
	etag = etagOf(fi)
	s.own.expect(path, etag)
	return true, etag, nil
}

// Update implements storage.Storage: the etag of the current file must equal etag, then
// the new content replaces it through a temporary file and rename, keeping the old
// permission bits. An item symlink is replaced by a regular file; its target is left
// alone.
func (s *Storage) Update(ctx context.Context, href, etag string, item storage.Item) (string, error) {
	const op = "update"
	dir, path, err := s.itemPath(ctx, op, href)
	if err != nil {
		return "", err
	}
	defer s.locks.lock(path)()
	cur, perm, exists, err := statItem(path)
	switch {
	case err != nil:
		return "", fsError(op, href, err)
	case !exists:
		return "", &storage.Error{Kind: storage.ErrNotFound, Op: op, Href: href, Err: errors.New("item no longer exists")}
	case cur != etag:
		return "", changedError(op, href)
	}
	tmp, newTag, err := writeTmp(dir, item.Bytes(), perm)
	if err != nil {
		return "", fsError(op, href, err)
	}
	undo := s.own.expect(path, newTag)
	if err := os.Rename(tmp, path); err != nil {
		undo()
		os.Remove(tmp)
		return "", fsError(op, href, err)
	}
	s.dirty.add(dir)
	return newTag, nil
}

// Delete implements storage.Storage: the etag of the current file must equal etag, then
// the file (or the symlink, never its target) is removed. A missing item is success.
func (s *Storage) Delete(ctx context.Context, href, etag string) error {
	const op = "delete"
	dir, path, err := s.itemPath(ctx, op, href)
	if err != nil {
		return err
	}
	defer s.locks.lock(path)()
	cur, _, exists, err := statItem(path)
	switch {
	case err != nil:
		return fsError(op, href, err)
	case !exists:
		return nil
	case cur != etag:
		return changedError(op, href)
	}
	undo := s.own.expect(path, "")
	if err := os.Remove(path); err != nil {
		undo()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fsError(op, href, err)
	}
	s.dirty.add(dir)
	return nil
}

// statItem returns the etag and permission bits of the item file at path, following
// symlinks. A symlink whose target cannot be stat'ed (dangling, a loop) exists with etag
// "" and permission 0600. Anything but a regular file is an error.
func statItem(path string) (etag string, perm fs.FileMode, exists bool, err error) {
	fi, err := os.Stat(path)
	if err == nil {
		if !fi.Mode().IsRegular() {
			return "", 0, true, fmt.Errorf("%w: %s is not a regular file", storage.ErrInvalidData, path)
		}
		return etagOf(fi), fi.Mode().Perm(), true, nil
	}
	lfi, lerr := os.Lstat(path)
	switch {
	case errors.Is(lerr, fs.ErrNotExist):
		return "", 0, false, nil
	case lerr == nil && lfi.Mode()&fs.ModeSymlink != 0:
		return "", 0o600, true, nil
	}
	return "", 0, false, err
}

func changedError(op, href string) error {
	return &storage.Error{Kind: storage.ErrPrecondition, Op: op, Href: href, Err: errors.New("item changed since it was listed")}
}
