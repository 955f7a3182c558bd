// Package vdir is the vdir storage (storages.md §1): a root directory with one
// sub-directory per collection and one file per item, as khal, todoman and vdirsyncer
// use it.
//
// Hrefs are "<collection>" and "<collection>/<file>"; every href is validated before any
// file operation (CleanCollectionHref, SplitItemHref), so no input can make the storage
// touch anything outside its root. Listing only stats (never reads) item files, one
// fstatat each relative to the open directory, and can be streamed (ListEach); etags
// are "<mtime ns>;<size>;<inode>". Every write goes through a temporary file (for a
// create, an unnamed O_TMPFILE one where Linux offers it) that is fsynced before it is
// linked or renamed into place, so a file never appears half written. The directory entries of item writes become durable at the next Flush
// (storage.Durable), which fsyncs each directory written since: the engine calls it
// before it commits the status of a batch of writes, so the status never records a
// write that a power loss could undo. Collection and property writes fsync their
// directory before they return.
//
// Between the etag check of Update or Delete and the rename or unlink, another program
// can still change the file: POSIX has no compare-and-swap on files. The window is a
// few system calls long (pimsync(1) CAVEATS).
package vdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// metadataFiles are the collection property files of the vdir convention
// (storages.md §1.5), whatever the kind.
var metadataFiles = []string{storage.PropDisplayName, storage.PropColor, storage.PropDescription, storage.PropOrder}

// Storage is one vdir storage. Set the exported fields before first use.
type Storage struct {
	// Logger receives warnings about entries that are skipped for having names that are
	// not valid UTF-8 (once per name). nil means slog.Default().
	Logger *slog.Logger
	// ReadConcurrency bounds how many files Get reads at once; 0 means 8.
	ReadConcurrency int
	// MaxItemSize is the largest item file Get reads (max_item_size); 0 means
	// storage.DefaultMaxItemSize. A larger file is not fetchable
	// (*storage.TooLargeError).
	MaxItemSize int64

	root string
	kind storage.Kind
	ext  string

	reads  atomic.Int64
	locks  pathLocks
	dirs   dirSyncer
	dirty  dirtyDirs // collection directories to fsync at the next Flush
	own    ownWrites
	warned sync.Map // names already warned about
}

var (
	_ storage.Storage  = (*Storage)(nil)
	_ storage.Watcher  = (*Storage)(nil)
	_ storage.Durable  = (*Storage)(nil)
	_ storage.Streamer = (*Storage)(nil)
	_ storage.Verbatim = (*Storage)(nil)
)

// StoresVerbatim implements storage.Verbatim: an item file holds exactly the bytes
// written.
func (s *Storage) StoresVerbatim() bool { return true }

// New returns the vdir storage rooted at root holding items of kind in files ending in
// "."+fileext (fileext without the dot; "" means kind.Ext()). The root is not created
// and not checked here; see Check.
func New(root string, kind storage.Kind, fileext string) *Storage {
	fileext = strings.TrimPrefix(fileext, ".")
	if fileext == "" {
		fileext = kind.Ext()
	}
	return &Storage{root: filepath.Clean(root), kind: kind, ext: fileext}
}

func (s *Storage) maxItem() int64 {
	if s.MaxItemSize > 0 {
		return s.MaxItemSize
	}
	return storage.DefaultMaxItemSize
}

// Root returns the storage root directory.
func (s *Storage) Root() string { return s.root }

// Kind implements storage.Storage.
func (s *Storage) Kind() storage.Kind { return s.kind }

// ItemReads returns how many times the storage has opened an item file (only Get does).
// Tests use it to prove that an unchanged collection is not read.
func (s *Storage) ItemReads() int64 { return s.reads.Load() }

// Check implements storage.Storage: the root must exist and be a directory (after
// following symlinks), and fileext must be usable.
func (s *Storage) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkComponent("x." + s.ext); err != nil {
		return &storage.Error{Kind: storage.ErrInvalidData, Op: "check", Err: fmt.Errorf("file extension %q: %v", s.ext, err)}
	}
	if err := s.checkRoot(); err != nil {
		return &storage.Error{Op: "check", Err: err}
	}
	return nil
}

// checkRoot explains what is wrong with the root directory, naming it.
func (s *Storage) checkRoot() error {
	fi, err := os.Stat(s.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("vdir %s does not exist", s.root)
	case err != nil:
		return fmt.Errorf("vdir %s: %w", s.root, err)
	case !fi.IsDir():
		return fmt.Errorf("vdir %s is not a directory", s.root)
	}
	return nil
}

// Discover implements storage.Storage: every sub-directory of the root (following
// symlinks), except hidden ones and names that are not valid UTF-8, is a collection
// whose id and href are its name.
func (s *Storage) Discover(ctx context.Context) ([]storage.Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := s.collectionNames()
	if err != nil {
		return nil, &storage.Error{Op: "discover", Err: err}
	}
	colls := make([]storage.Collection, len(names))
	for i, n := range names {
		colls[i] = storage.Collection{ID: n, Href: n}
	}
	return colls, nil
}

// collectionNames lists the collection directories of the root, sorted.
func (s *Storage) collectionNames() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		if rerr := s.checkRoot(); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !s.validName(s.root, name) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(s.root, name)); err == nil && fi.IsDir() {
			names = append(names, name)
		}
	}
	return names, nil
}

// validName reports whether an entry name is valid UTF-8, warning once if not.
func (s *Storage) validName(dir, name string) bool {
	if utf8.ValidString(name) {
		return true
	}
	p := filepath.Join(dir, name)
	if _, seen := s.warned.LoadOrStore(p, true); !seen {
		s.logger().Warn("vdir: skipping entry whose name is not valid UTF-8", "path", fmt.Sprintf("%q", p))
	}
	return false
}

// Flush implements storage.Durable: it fsyncs every collection directory whose entries
// item writes changed since the last Flush (concurrent writers share one fsync per
// directory through the group commit of dirSyncer).
func (s *Storage) Flush(ctx context.Context) error {
	var errs []error
	for _, dir := range s.dirty.take() {
		if err := s.dirs.sync(dir); err != nil {
			s.dirty.add(dir) // try again at the next Flush
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Storage) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// CollectionHref implements storage.Storage: a collection's href is its id, which must
// be a valid directory name.
func (s *Storage) CollectionHref(id string) (string, error) {
	name, err := CleanCollectionHref(id)
	if err != nil {
		return "", &storage.Error{Kind: storage.ErrInvalidData, Op: "collection href", Err: err}
	}
	return name, nil
}

// CreateCollection implements storage.Storage: mkdir with mode 0700; an existing
// directory counts as success.
func (s *Storage) CreateCollection(ctx context.Context, href string) error {
	const op = "create collection"
	name, dir, err := s.collectionDir(ctx, op, href)
	if err != nil {
		return err
	}
	if err := s.checkRoot(); err != nil {
		return &storage.Error{Op: op, Href: name, Err: err}
	}
	undo := s.own.expect(dir, "dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		undo()
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			return &storage.Error{Kind: storage.ErrPrecondition, Op: op, Href: name, Err: errors.New("a file of that name exists")}
		}
		return fsError(op, name, err)
	}
	if err := s.dirs.sync(s.root); err != nil {
		return &storage.Error{Op: op, Href: name, Err: err}
	}
	return nil
}

// DeleteCollection implements storage.Storage. It refuses (ErrCollectionNotEmpty) if the
// directory holds anything but metadata files and our own leftover temporary files;
// otherwise it removes those and then the directory. A collection that is a symlink to
// a directory loses its link; the (then empty) target directory stays.
func (s *Storage) DeleteCollection(ctx context.Context, href string) error {
	const op = "delete collection"
	name, dir, err := s.collectionDir(ctx, op, href)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return s.collectionError(op, name, err)
	}
	var remove, others []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (isMetadataFile(n) || isTmpName(n)) {
			remove = append(remove, n)
		} else {
			others = append(others, fmt.Sprintf("%q", n))
		}
	}
	if len(others) > 0 {
		if len(others) > 5 {
			others = append(others[:5], "…")
		}
		return &storage.Error{Kind: storage.ErrCollectionNotEmpty, Op: op, Href: name,
			Err: fmt.Errorf("%w: %d entries remain: %s", storage.ErrCollectionNotEmpty, len(entries)-len(remove), strings.Join(others, ", "))}
	}
	for _, n := range remove {
		p := filepath.Join(dir, n)
		undo := s.own.expect(p, "")
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			undo()
			return fsError(op, name, err)
		}
	}
	undo := s.own.expect(dir, "")
	if err := os.Remove(dir); err != nil { // rmdir, or unlink for a symlink
		undo()
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return &storage.Error{Kind: storage.ErrCollectionNotEmpty, Op: op, Href: name, Err: err}
		}
		return fsError(op, name, err)
	}
	if err := s.dirs.sync(s.root); err != nil {
		return &storage.Error{Op: op, Href: name, Err: err}
	}
	return nil
}

func isMetadataFile(name string) bool {
	for _, m := range metadataFiles {
		if name == m {
			return true
		}
	}
	return false
}

// collectionDir checks ctx, validates a collection href and returns the collection name
// and directory.
func (s *Storage) collectionDir(ctx context.Context, op, href string) (name, dir string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	name, err = CleanCollectionHref(href)
	if err != nil {
		return "", "", &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
	}
	return name, filepath.Join(s.root, name), nil
}

// itemPath checks ctx, validates an item href and returns its collection directory and
// file path.
func (s *Storage) itemPath(ctx context.Context, op, href string) (dir, path string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	coll, file, err := SplitItemHref(href, s.ext)
	if err != nil {
		return "", "", &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: href, Err: err}
	}
	dir = filepath.Join(s.root, coll)
	return dir, filepath.Join(dir, file), nil
}

// collectionError turns the failure to use a collection directory into an error. A
// broken root is reported as such and never as ErrNotFound: an unmounted disk must not
// look like deleted collections.
func (s *Storage) collectionError(op, name string, err error) error {
	if rerr := s.checkRoot(); rerr != nil {
		return &storage.Error{Op: op, Href: name, Err: rerr}
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &storage.Error{Kind: storage.ErrNotFound, Op: op, Href: name, Err: errors.New("no such collection")}
	}
	return fsError(op, name, err)
}

// fsError wraps a file-system error with its kind.
func fsError(op, href string, err error) error {
	var kind error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = storage.ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = storage.ErrAccessDenied
	case errors.Is(err, storage.ErrInvalidData):
		kind = storage.ErrInvalidData // an item larger than max_item_size
	}
	return &storage.Error{Kind: kind, Op: op, Href: href, Err: err}
}
