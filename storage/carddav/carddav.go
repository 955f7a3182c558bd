// Package carddav builds CardDAV storages (config `type carddav`). The protocol code is
// in package dav; this package only fixes the kind.
package carddav

import (
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
)

// New returns a CardDAV storage for opts; opts.Kind is set to storage.Contacts.
func New(opts dav.Options) (*dav.Storage, error) {
	opts.Kind = storage.Contacts
	return dav.New(opts)
}
