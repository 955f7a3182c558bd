package vdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// Properties implements storage.Storage: each property of the kind is the content of
// the file of the same name in the collection directory (storages.md §1.5), trimmed; a
// missing or blank file means the property is absent.
func (s *Storage) Properties(ctx context.Context, collection string) (map[string]string, error) {
	const op = "properties"
	name, dir, err := s.existingCollection(ctx, op, collection)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string)
	for _, p := range storage.PropertyNames(s.kind) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fsError(op, name, err)
		case !utf8.Valid(b):
			return nil, &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: name, Err: fmt.Errorf("%s is not valid UTF-8", p)}
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			props[p] = v
		}
	}
	return props, nil
}

// SetProperty implements storage.Storage: the exact value, without a trailing newline,
// replaces the metadata file atomically (temporary file and rename).
func (s *Storage) SetProperty(ctx context.Context, collection, prop, value string) error {
	const op = "set property"
	name, path, err := s.propertyPath(ctx, op, collection, prop)
	if err != nil {
		return err
	}
	defer s.locks.lock(path)()
	perm := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, etag, err := writeTmp(dir, []byte(value), perm)
	if err != nil {
		return fsError(op, name, err)
	}
	undo := s.own.expect(path, etag)
	if err := os.Rename(tmp, path); err != nil {
		undo()
		os.Remove(tmp)
		return fsError(op, name, err)
	}
	if err := s.dirs.sync(dir); err != nil {
		return &storage.Error{Op: op, Href: name, Err: err}
	}
	return nil
}

// DeleteProperty implements storage.Storage: the metadata file inside the collection
// directory is removed; a missing one is success.
func (s *Storage) DeleteProperty(ctx context.Context, collection, prop string) error {
	const op = "delete property"
	name, path, err := s.propertyPath(ctx, op, collection, prop)
	if err != nil {
		return err
	}
	defer s.locks.lock(path)()
	if fi, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fsError(op, name, err)
	} else if fi.IsDir() {
		return &storage.Error{Kind: storage.ErrInvalidData, Op: op, Href: name, Err: fmt.Errorf("%s is a directory", path)}
	}
	undo := s.own.expect(path, "")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		undo()
		return fsError(op, name, err)
	}
	if err := s.dirs.sync(filepath.Dir(path)); err != nil {
		return &storage.Error{Op: op, Href: name, Err: err}
	}
	return nil
}

// propertyPath validates the collection and the property name and returns the
// metadata file's path. The collection must exist.
func (s *Storage) propertyPath(ctx context.Context, op, collection, prop string) (name, path string, err error) {
	name, dir, err := s.existingCollection(ctx, op, collection)
	if err != nil {
		return "", "", err
	}
	if !slices.Contains(storage.PropertyNames(s.kind), prop) {
		return "", "", &storage.Error{Kind: storage.ErrUnsupported, Op: op, Href: name,
			Err: fmt.Errorf("%w: no property %q for %s", storage.ErrUnsupported, prop, s.kind)}
	}
	return name, filepath.Join(dir, prop), nil
}

// existingCollection is collectionDir that also requires the directory to exist.
func (s *Storage) existingCollection(ctx context.Context, op, collection string) (name, dir string, err error) {
	name, dir, err = s.collectionDir(ctx, op, collection)
	if err != nil {
		return "", "", err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = fs.ErrNotExist
		}
		return "", "", s.collectionError(op, name, err)
	}
	return name, dir, nil
}
