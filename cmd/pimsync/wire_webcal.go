package main

import (
	"fmt"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/webcal"
)

func init() {
	remoteBackends[config.TypeWebcal] = newWebcal
}

// newWebcal builds a webcal storage (storages.md §3). It shares the HTTP options (auth,
// TLS, user agent) of the DAV storages; its single collection is collection_id. The
// caller wraps it as read-only, which webcal storages always are.
func newWebcal(ws *workspace, sc *config.Storage) (storage.Storage, error) {
	opts, err := davOptions(ws, sc)
	if err != nil {
		return nil, err
	}
	s, err := webcal.New(webcal.Options{Options: opts, CollectionID: sc.CollectionID})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc.Pos, err) // err names the storage
	}
	return s, nil
}
