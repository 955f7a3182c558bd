package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/caldav"
	"github.com/pimsync-go/pimsync/storage/carddav"
	"github.com/pimsync-go/pimsync/storage/dav"
)

func init() {
	remoteBackends[config.TypeCalDAV] = newDAV
	remoteBackends[config.TypeCardDAV] = newDAV
}

// davOptions turns a caldav/carddav/webcal storage block (values already resolved) into
// the options of the HTTP-based backends.
func davOptions(ws *workspace, sc *config.Storage) (dav.Options, error) {
	warnings, err := sc.CheckURL()
	if err != nil {
		return dav.Options{}, err
	}
	for _, w := range warnings {
		ws.log.Warn(w.String())
	}
	base, err := sc.BaseURL()
	if err != nil {
		return dav.Options{}, fmt.Errorf("%s: storage %s: %w", sc.Pos, sc.Name, err)
	}
	userAgent := sc.UserAgent
	if userAgent == "" {
		userAgent = "pimsync/" + pimsyncVersion()
	}
	opts := dav.Options{
		Name:      sc.Name,
		URL:       base.String(),
		Socket:    sc.Socket,
		HasAuth:   sc.Username.Set,
		UserAgent: userAgent,
		Timeouts: dav.Timeouts{
			Connect: time.Duration(sc.ConnectTimeout) * time.Second,
			Read:    time.Duration(sc.ReadTimeout) * time.Second,
			Request: time.Duration(sc.RequestTimeout) * time.Second,
		},
		MaxItemSize:         ws.cfg.MaxItemSize,
		TLSRoot:             sc.TLSRoot,
		TLSFingerprint:      sc.TLSFingerprint,
		AuthCert:            sc.AuthCert,
		AuthKey:             sc.AuthKey,
		CollectionIDSegment: sc.CollectionIDSegment,
		Logger:              ws.log, // the backend adds storage=<name>
	}
	if sc.Username.Set {
		opts.Username = sc.Username.Get()
	}
	if sc.Password.Set {
		opts.Password = sc.Password.Get()
	}
	if ws.writable {
		// Keep the bootstrap result between runs (next to the status files), so an
		// unchanged collection costs a single request.
		opts.BootstrapCache = filepath.Join(ws.statusDir, "."+sc.Name+".bootstrap")
	}
	return opts, nil
}

func newDAV(ws *workspace, sc *config.Storage) (storage.Storage, error) {
	opts, err := davOptions(ws, sc)
	if err != nil {
		return nil, err
	}
	var s *dav.Storage
	if sc.Type == config.TypeCalDAV {
		s, err = caldav.New(opts)
	} else {
		s, err = carddav.New(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: storage %s: %w", sc.Pos, sc.Name, err)
	}
	return s, nil
}
