package vdir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/storagetest"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// plant writes raw as a file next to the storage's items.
func plant(t *testing.T, s storage.Storage, collection, name string, raw []byte) string {
	v := s.(*vdir.Storage)
	file := name + "." + v.Kind().Ext()
	if err := os.WriteFile(filepath.Join(v.Root(), collection, file), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return collection + "/" + file
}

func TestContract(t *testing.T) {
	for _, kind := range []storage.Kind{storage.Calendars, storage.Contacts} {
		t.Run(kind.String(), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Storage {
				return vdir.New(t.TempDir(), kind, kind.Ext())
			}, storagetest.Options{Kind: kind, Plant: plant})
		})
	}
}

// TestContractSymlinkedRoot runs the suite on a root that is a symlink to the real
// directory (storages.md §1.8).
func TestContractSymlinkedRoot(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(t.TempDir(), link); err != nil {
			t.Fatal(err)
		}
		return vdir.New(link, storage.Calendars, "ics")
	}, storagetest.Options{Plant: plant})
}

// TestContractTemporaryFiles runs the suite with Create writing named temporary files,
// as on systems or file systems without O_TMPFILE.
func TestContractTemporaryFiles(t *testing.T) {
	vdir.NoUnnamedFiles(t)
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		return vdir.New(t.TempDir(), storage.Calendars, "ics")
	}, storagetest.Options{Plant: plant})
}

// TestCreateLeavesNothingBehind: a create, by either way of writing, leaves only the
// item in the collection, and the file holds exactly the item.
func TestCreateLeavesNothingBehind(t *testing.T) {
	for _, named := range []bool{false, true} {
		t.Run(map[bool]string{false: "unnamed", true: "named"}[named], func(t *testing.T) {
			if named {
				vdir.NoUnnamedFiles(t)
			}
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "c"), 0o700); err != nil {
				t.Fatal(err)
			}
			s := vdir.New(root, storage.Calendars, "ics")
			it := storage.MustItem(storagetest.ItemText(storage.Calendars, "u1", "one"))
			href, etag, err := s.Create(t.Context(), "c", it)
			if err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(filepath.Join(root, "c"))
			if len(ents) != 1 || "c/"+ents[0].Name() != href {
				t.Fatalf("collection holds %v, want only %s", ents, href)
			}
			b, _ := os.ReadFile(filepath.Join(root, href))
			if string(b) != it.Text() {
				t.Fatalf("file holds %q", b)
			}
			fi, _ := os.Stat(filepath.Join(root, href))
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			refs, _ := s.List(t.Context(), "c")
			if len(refs) != 1 || refs[0].ETag != etag {
				t.Fatalf("List = %v; Create's etag %q", refs, etag)
			}
		})
	}
}
