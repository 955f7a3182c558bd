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
