package memstore_test

import (
	"testing"

	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"github.com/pimsync-go/pimsync/storage/storagetest"
)

func plant(t *testing.T, s storage.Storage, collection, name string, raw []byte) string {
	var m *memstore.Store
	switch s := s.(type) {
	case *memstore.Store:
		m = s
	case *memstore.IncrementalStore:
		m = s.Store
	}
	href := collection + "/" + name + "." + s.Kind().Ext()
	m.Put(href, string(raw))
	return href
}

func TestContract(t *testing.T) {
	for _, kind := range []storage.Kind{storage.Calendars, storage.Contacts} {
		t.Run(kind.String(), func(t *testing.T) {
			storagetest.Run(t, func(*testing.T) storage.Storage { return memstore.New(kind) },
				storagetest.Options{Kind: kind, Plant: plant})
		})
	}
}

func TestContractIncremental(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Storage { return memstore.NewIncremental(storage.Calendars, "sync-token") },
		storagetest.Options{Plant: plant})
}
