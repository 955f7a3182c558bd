// Package caldav builds CalDAV storages (config `type caldav`). The protocol code is in
// package dav; this package only fixes the kind.
package caldav

import (
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/dav"
)

// New returns a CalDAV storage for opts; opts.Kind is set to storage.Calendars.
func New(opts dav.Options) (*dav.Storage, error) {
	opts.Kind = storage.Calendars
	return dav.New(opts)
}
