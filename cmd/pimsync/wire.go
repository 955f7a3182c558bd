package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/vdir"
)

// workspace is a loaded configuration with the storages of the selected pairs built.
// Only this file (and its siblings for other backends) wires backends together.
type workspace struct {
	cfg       *config.Config
	log       *slog.Logger
	pairs     []*config.Pair
	storages  map[string]storage.Storage
	statusDir string
	// writable is set for commands that may write next to the status files (sync,
	// daemon); dry runs, check and discover leave the disk alone.
	writable bool
}

// loadConfig reads the configuration file (-c or the default) and logs its warnings.
func (a *app) loadConfig() (*config.Config, error) {
	path := a.configPath
	if path == "" {
		p, err := config.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noConfigError{path: path, err: err}
	}
	if err != nil {
		return nil, err
	}
	log := a.logger()
	for _, w := range cfg.Warnings {
		log.Warn(w.String())
	}
	return cfg, nil
}

// noConfigError: the configuration file does not exist. The message says how to get
// one; a bare pimsync on a terminal offers the same in the TUI.
type noConfigError struct {
	path string
	err  error
}

func (e noConfigError) Unwrap() error { return e.err }

func (e noConfigError) Error() string {
	return fmt.Sprintf(`no configuration file at %s. To get started:
  pimsync demo                     try pimsync on a throwaway workspace with its own server
  pimsync migrate-vdirsyncer > %s
                                   convert your vdirsyncer configuration
  pimsync                          on a terminal: write a first configuration with a short form
The format is in pimsync.conf(5); -c FILE reads another file`, e.path, e.path)
}

// open loads the configuration, selects pairs, runs the credential commands of the
// storages those pairs use (in file order) and builds their storages.
func (a *app) open(pairNames []string) (*workspace, error) {
	return a.openFor(pairNames, false)
}

// openWritable is open for commands that write (sync, daemon).
func (a *app) openWritable(pairNames []string) (*workspace, error) {
	return a.openFor(pairNames, true)
}

func (a *app) openFor(pairNames []string, writable bool) (*workspace, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	pairs, err := cfg.SelectPairs(pairNames)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = p.Name
	}
	warnings, err := cfg.ResolveFor(a.ctx, names)
	if err != nil {
		return nil, err
	}
	ws := &workspace{cfg: cfg, log: a.logger(), pairs: pairs, storages: map[string]storage.Storage{}, writable: writable}
	for _, w := range warnings {
		ws.log.Warn(w.String())
	}
	ws.statusDir = cfg.StatusPath.Get()
	for _, p := range pairs {
		for _, name := range []string{p.StorageA, p.StorageB} {
			if _, ok := ws.storages[name]; ok {
				continue
			}
			s, err := ws.newStorage(cfg.Storages[name])
			if err != nil {
				return nil, err
			}
			ws.storages[name] = s
		}
	}
	return ws, nil
}

// openStorages loads the configuration, runs the credential commands of the named
// storages only (config.md §3, repair) and builds them.
func (a *app) openStorages(names []string) (*workspace, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	warnings, err := cfg.ResolveStorages(a.ctx, names)
	if err != nil {
		return nil, err
	}
	ws := &workspace{cfg: cfg, log: a.logger(), storages: map[string]storage.Storage{}}
	// Only the named storages' commands run; a status_path given as a command is not
	// known here, and repair then keeps no trash.
	ws.statusDir, _ = cfg.StatusPath.Known()
	for _, w := range warnings {
		ws.log.Warn(w.String())
	}
	for _, name := range names {
		if ws.storages[name] != nil {
			continue
		}
		s, err := ws.newStorage(cfg.Storages[name])
		if err != nil {
			return nil, err
		}
		ws.storages[name] = s
	}
	return ws, nil
}

// newStorage builds the backend for one configured storage.
func (ws *workspace) newStorage(sc *config.Storage) (storage.Storage, error) {
	var s storage.Storage
	switch sc.Type {
	case config.TypeVdirICalendar, config.TypeVdirVCard:
		kind := storage.Contacts
		if sc.Type.IsCalendar() {
			kind = storage.Calendars
		}
		v := vdir.New(sc.Path.Get(), kind, sc.FileExt)
		v.Logger = ws.log.With("storage", sc.Name)
		v.MaxItemSize = ws.cfg.MaxItemSize
		s = v
	default:
		b, ok := remoteBackends[sc.Type]
		if !ok {
			return nil, fmt.Errorf("%s: storage %s: type %s is not supported by this build", sc.Pos, sc.Name, sc.Type)
		}
		var err error
		if s, err = b(ws, sc); err != nil {
			return nil, err
		}
	}
	if sc.ReadOnly {
		s = storage.ReadOnly(s)
	}
	return s, nil
}

// remoteBackends builds network storages; filled in by the DAV and webcal wiring.
var remoteBackends = map[config.StorageType]func(*workspace, *config.Storage) (storage.Storage, error){}

// enginePairs returns the engine view of the selected pairs.
func (ws *workspace) enginePairs() []*engine.Pair {
	out := make([]*engine.Pair, len(ws.pairs))
	for i, p := range ws.pairs {
		out[i] = &engine.Pair{
			Name: p.Name, Config: p,
			A: ws.storages[p.StorageA], B: ws.storages[p.StorageB],
			NameA: p.StorageA, NameB: p.StorageB,
		}
	}
	return out
}

// engine returns an engine writing status files to the configured status_path.
func (ws *workspace) engine(r engine.Reporter) *engine.Engine {
	return &engine.Engine{StatusDir: ws.statusDir, Log: ws.log, Reporter: r,
		TrashMaxAge: time.Duration(ws.cfg.TrashMaxAgeDays) * 24 * time.Hour, TrashMaxSize: ws.cfg.TrashMaxSize}
}
