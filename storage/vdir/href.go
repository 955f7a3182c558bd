package vdir

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pimsync-go/pimsync/storage"
)

// maxNameBytes is the longest sanitised ident used as a file name (storages.md §1.3);
// longer ones fall back to the hash.
const maxNameBytes = 200

// CleanCollectionHref validates a collection href (storages.md §1.2) and returns it
// without the one trailing "/" that is tolerated. A collection href is exactly one
// normal path component: not empty, not "." or "..", not hidden (a leading "."),
// no "/" or NUL, and valid UTF-8. Failures wrap storage.ErrInvalidData.
func CleanCollectionHref(href string) (string, error) {
	name := strings.TrimSuffix(href, "/")
	if err := checkComponent(name); err != nil {
		return "", fmt.Errorf("%w: collection href %q: %v", storage.ErrInvalidData, href, err)
	}
	return name, nil
}

// SplitItemHref validates an item href "<collection>/<file>" (storages.md §1.2) whose
// file name must end in "."+ext, and returns its two components. Both must be normal
// path components as for CleanCollectionHref; no trailing "/" is allowed. Failures wrap
// storage.ErrInvalidData.
func SplitItemHref(href, ext string) (collection, file string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: item href %q: %s", storage.ErrInvalidData, href, why)
	}
	collection, file, ok := strings.Cut(href, "/")
	if !ok {
		return bad("not of the form <collection>/<file>")
	}
	if err := checkComponent(collection); err != nil {
		return bad("collection: " + err.Error())
	}
	if err := checkComponent(file); err != nil {
		return bad("file: " + err.Error())
	}
	if !strings.HasSuffix(file, "."+ext) {
		return bad("file name does not end in ." + ext)
	}
	return collection, file, nil
}

// checkComponent reports why name is not a single normal, visible path component.
func checkComponent(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty path component")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not allowed", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("hidden names (leading '.') are not allowed")
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("contains '/' or NUL")
	case !utf8.ValidString(name):
		return fmt.Errorf("not valid UTF-8")
	}
	return nil
}

// FileNames returns the file names to try, in order, when creating item in a vdir
// collection whose files end in "."+ext (storages.md §1.3): the ident reduced to ASCII
// letters, digits, '_', '+' and '-', then the item hash. When nothing or more than 200
// bytes remain of the ident, only the hash name is returned. A name that is taken is
// never overwritten; when every name is taken the create fails.
func FileNames(item storage.Item, ext string) []string {
	hashName := item.Hash() + "." + ext
	name := sanitize(item.Ident())
	if name == "" || len(name) > maxNameBytes || name+"."+ext == hashName {
		return []string{hashName}
	}
	return []string{name + "." + ext, hashName}
}

// sanitize keeps only the bytes A-Z a-z 0-9 _ + - of s.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
