// Package tui is the interactive terminal UI of pimsync (Bubble Tea). The root model
// routes messages between the pages (overview, plan preview, sync progress, conflicts,
// first-run setup), draws the header, the log pane and the help bar, and owns the
// store of what is known about each pair. It talks to the engine only through
// common.Service, whose commands do all the I/O off the Update loop; engine events,
// log records and merge tool requests arrive through a bus, in order. Attached to a
// running `pimsync daemon`, it sends the daemon its syncs and resolutions and shows
// the daemon's own syncs as they happen.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/components/logview"
	"github.com/pimsync-go/pimsync/tui/pages/conflicts"
	"github.com/pimsync-go/pimsync/tui/pages/overview"
	"github.com/pimsync-go/pimsync/tui/pages/plan"
	"github.com/pimsync-go/pimsync/tui/pages/setup"
	"github.com/pimsync-go/pimsync/tui/pages/syncview"
)

// Options configure the TUI.
type Options struct {
	// Engine runs everything; its Reporter is replaced by the TUI's.
	Engine *engine.Engine
	// Pairs are the pairs shown, in order.
	Pairs []*engine.Pair
	// Logs, when set, is shown in the log pane (attach the same sink to the loggers of
	// the engine and the storages so that nothing is written onto the screen).
	Logs *common.LogSink
	// Now is the clock ("synced 2 h ago"); time.Now when nil.
	Now func() time.Time
	// Title is shown in the header ("pimsync" when empty).
	Title string
	// Daemon is the running `pimsync daemon` for the same configuration (nil: none).
	// The pairs it syncs are written only through it.
	Daemon *control.Client
	// Reload reads the configuration again and builds a new engine (r). It runs with
	// the terminal handed over, so that credential commands can ask for a password.
	Reload func(ctx context.Context) (*Reloaded, error)
	// Setup, when set, opens the first-run page instead of the pairs (there is no
	// configuration file yet).
	Setup *common.Setup
	// LogDir is where w saves the log ($XDG_STATE_HOME/pimsync when empty).
	LogDir string
}

// Reloaded is what Options.Reload builds.
type Reloaded struct {
	Engine *engine.Engine
	Pairs  []*engine.Pair
	Daemon *control.Client
}

// LogSink collects log records for the log pane (see Options.Logs).
type LogSink = common.LogSink

// Setup is the first-run page's access to the outside (see Options.Setup).
type Setup = common.Setup

// NewLogSink returns a log sink for Options.Logs keeping records at or above level.
func NewLogSink(level slog.Leveler) *LogSink {
	return common.NewLogSink(level)
}

// ErrInterrupted is returned by Run when the person quit while a sync ran: the sync
// was cancelled after the writes in flight, which are recorded.
var ErrInterrupted = errors.New("the sync was interrupted; what was written is recorded, and the next sync continues")

// ErrStartDemo is returned by Run when the person chose the demo on the first-run page.
var ErrStartDemo = errors.New("start the demo")

type pageID int

const (
	pageOverview pageID = iota
	pagePlan
	pageSync
	pageConflicts
	pageSetup
)

func (p pageID) String() string {
	return [...]string{"overview", "plan", "sync", "conflicts", "setup"}[p]
}

// typer is a page that sometimes takes every key (a filter or a form being typed).
type typer interface{ Typing() bool }

// Model is the root model.
type Model struct {
	c         *common.Common
	bus       *common.Bus
	cancel    context.CancelFunc
	logs      *common.LogSink
	opts      Options
	title     string
	page      pageID
	overview  *overview.Page
	plan      *plan.Page
	sync      *syncview.Page
	conflicts *conflicts.Page
	setup     *setup.Page
	log       *logview.Model
	help      help.Model
	spin      spinner.Model
	ticking   bool
	// logFocus: the log pane fills the screen and has the keyboard.
	logFocus bool
	// counting: the once-a-second tick of retry countdowns runs.
	counting bool
	// reloading: the configuration is being read again.
	reloading bool
	// quitting: quit once the running sync has stopped; interrupted: that quit
	// cancelled a sync (Run returns ErrInterrupted).
	quitting    bool
	interrupted bool
	startDemo   bool
	flash       string
	// logged holds the error texts already put into the log pane (by pair, -1 for
	// none), so that a repeated error is logged once.
	logged map[string]int
}

// New builds the root model. ctx bounds everything the TUI starts; it is cancelled
// when the TUI quits.
func New(ctx context.Context, opts Options) *Model {
	ctx, cancel := context.WithCancel(ctx)
	bus := common.NewBus()
	eng := opts.Engine
	if eng == nil {
		eng = &engine.Engine{}
	}
	svc := common.NewService(ctx, eng, opts.Pairs, bus)
	svc.SetRemote(opts.Daemon)
	if opts.Logs != nil {
		svc.LogLevel = opts.Logs.Level()
	}
	c := common.New(svc, opts.Now)
	title := opts.Title
	if title == "" {
		title = "pimsync"
	}
	m := &Model{
		c: c, bus: bus, cancel: cancel, logs: opts.Logs, opts: opts, title: title,
		overview:  overview.New(c),
		plan:      plan.New(c),
		sync:      syncview.New(c),
		conflicts: conflicts.New(c),
		log:       logview.New(c),
		help:      help.New(),
		spin:      spinner.New(spinner.WithSpinner(spinner.Line)),
		logged:    map[string]int{},
	}
	if opts.Setup != nil {
		m.setup = setup.New(c, opts.Setup)
		m.page = pageSetup
	}
	st := c.Styles
	m.help.Styles.ShortKey, m.help.Styles.FullKey = st.HelpKey, st.HelpKey
	m.help.Styles.ShortDesc, m.help.Styles.FullDesc = st.HelpDesc, st.HelpDesc
	m.help.Styles.ShortSeparator, m.help.Styles.FullSeparator = st.HelpSep, st.HelpSep
	m.help.Styles.Ellipsis = st.HelpSep
	c.Spinner = m.spin.View()
	c.Navigate = m.update
	if opts.Logs != nil {
		opts.Logs.Attach(bus.Push)
	}
	return m
}

// Init implements tea.Model: discovery of every pair starts at once, the attached
// daemon is followed and local directories are watched.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.bus.Wait()}
	if m.page == pageSetup {
		return tea.Batch(append(cmds, m.setup.Init())...)
	}
	for i := range m.c.Store.Pairs {
		cmds = append(cmds, m.refresh(i)...)
	}
	svc := m.c.Svc
	cmds = append(cmds, m.tick(), func() tea.Msg {
		svc.Follow()
		svc.Watch()
		return nil
	})
	return tea.Batch(cmds...)
}

// refresh re-discovers, re-plans and re-reads the last run of a pair.
func (m *Model) refresh(i int) []tea.Cmd {
	ps := m.c.Store.Pairs[i]
	if ps.Syncing {
		return nil
	}
	ps.Gen++
	ps.RetryAt = time.Time{}
	ps.Discovering, ps.Planning, ps.LastRunLoading = true, false, true
	return []tea.Cmd{m.c.Svc.Discover(i, ps.Gen), m.c.Svc.LastRun(i, ps.Gen)}
}

func (m *Model) active() common.Page {
	switch m.page {
	case pagePlan:
		return m.plan
	case pageSync:
		return m.sync
	case pageConflicts:
		return m.conflicts
	case pageSetup:
		return m.setup
	}
	return m.overview
}

// Busy reports whether anything is still in progress.
func (m *Model) Busy() bool {
	busy := m.c.Store.Busy() || m.plan.Busy() || m.sync.Busy() || m.conflicts.Busy() || m.bus.Pending() > 0 || m.reloading
	if m.setup != nil {
		busy = busy || m.setup.Busy()
	}
	return busy
}

func (m *Model) tick() tea.Cmd {
	if m.ticking || !m.Busy() {
		return nil
	}
	m.ticking = true
	return m.spin.Tick
}

// countdownMsg is the once-a-second tick of the retry countdowns.
type countdownMsg struct{}

// countdown starts the tick while a retry is scheduled somewhere.
func (m *Model) countdown() tea.Cmd {
	if m.counting {
		return nil
	}
	for _, ps := range m.c.Store.Pairs {
		if _, ok := ps.RetryIn(m.c.Now()); ok {
			m.counting = true
			return tea.Tick(time.Second, func(time.Time) tea.Msg { return countdownMsg{} })
		}
	}
	return nil
}

// snapshotMsg asks for the current screen (tests).
type snapshotMsg struct{ reply chan<- snapshot }

type snapshot struct {
	view string
	busy bool
	page pageID
}

// reloadedMsg: the configuration was read again.
type reloadedMsg struct {
	r   *Reloaded
	err error
}

// logSavedMsg: the log was saved (or not).
type logSavedMsg struct {
	path string
	err  error
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, tea.Batch(cmd, m.tick(), m.countdown())
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return nil
	case spinner.TickMsg:
		if !m.Busy() {
			m.ticking = false
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		m.c.Spinner = m.spin.View()
		return cmd
	case countdownMsg:
		m.counting = false
		var cmds []tea.Cmd
		now := m.c.Now()
		for i, ps := range m.c.Store.Pairs {
			if !ps.RetryAt.IsZero() && !now.Before(ps.RetryAt) && !ps.Discovering {
				cmds = append(cmds, m.refresh(i)...)
			}
		}
		return tea.Batch(cmds...)
	case snapshotMsg:
		msg.reply <- snapshot{view: m.View(), busy: m.Busy(), page: m.page}
		return nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !m.typing() {
			// Keys typed faster than the terminal is read arrive together: one
			// at a time, they are what the user meant.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			}
			return tea.Sequence(cmds...)
		}
		return m.key(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	case common.BusMsg:
		var cmds []tea.Cmd
		for _, it := range msg.Items {
			cmds = append(cmds, m.busItem(it))
		}
		return tea.Batch(append(cmds, m.bus.Wait())...)

	case common.DiscoveredMsg:
		ps := m.c.Store.Pairs[msg.Pair]
		if msg.Gen != ps.Gen {
			return nil
		}
		ps.Discovering = false
		ps.Discovery, ps.Props, ps.Partial = msg.Discovery, msg.Props, msg.Partial
		if ps.DiscoveryFailed() {
			ps.Plan = nil
			m.discoveryFailed(msg.Pair)
			return nil
		}
		ps.Backoff = 0
		m.forget(msg.Pair)
		ps.Planning = true
		return m.c.Svc.Plan(msg.Pair, ps.Gen)
	case common.PlannedMsg:
		ps := m.c.Store.Pairs[msg.Pair]
		if msg.Gen != ps.Gen {
			return nil
		}
		ps.Planning, ps.Plan = false, msg.Plan
		if msg.Plan != nil && msg.Plan.Err != nil {
			m.logError(msg.Pair, slog.LevelError, "pair "+ps.Pair.Name+": "+msg.Plan.Err.Error())
		}
		if m.page != pageConflicts || !m.conflicts.Viewing {
			m.conflicts.Rebuild()
		}
		return nil
	case common.LastRunMsg:
		ps := m.c.Store.Pairs[msg.Pair]
		if msg.Gen != ps.Gen {
			return nil
		}
		ps.LastRunLoading, ps.LastRunLoaded = false, true
		ps.LastRun, ps.LastRunErr = msg.Run, msg.Err
		return nil
	case common.PreviewMsg:
		return m.plan.Update(msg)
	case common.ConflictLoadedMsg, common.ConflictResultMsg:
		if r, ok := msg.(common.ConflictResultMsg); ok && r.Err != nil && !r.Changed {
			m.logError(-1, slog.LevelError, r.Action+": "+r.Err.Error())
		}
		return m.conflicts.Update(msg)
	case reloadedMsg:
		return m.reloaded(msg)
	case logSavedMsg:
		if msg.err != nil {
			m.flash = "Cannot save the log: " + msg.err.Error()
		} else {
			m.flash = "Log saved to " + msg.path
		}
		return nil

	case common.OpenPlanMsg:
		m.page = pagePlan
		return m.plan.Open(msg.Scope)
	case common.StartSyncMsg:
		return m.startSync(msg.Scope)
	case common.OpenConflictsMsg:
		m.page = pageConflicts
		m.conflicts.Open(msg.Scope)
		return nil
	case common.BackMsg:
		m.page = pageOverview
		return nil
	case common.RefreshMsg:
		var cmds []tea.Cmd
		for i := range m.c.Store.Pairs {
			if msg.Pair < 0 || msg.Pair == i {
				cmds = append(cmds, m.refresh(i)...)
			}
		}
		return tea.Batch(cmds...)
	case common.ReloadMsg:
		return m.reload()
	case common.StartDemoMsg:
		m.startDemo = true
		return m.quit()
	}
	return m.active().Update(msg)
}

// typing reports whether the keyboard belongs to a line being typed.
func (m *Model) typing() bool {
	if m.logFocus {
		return m.log.Typing()
	}
	t, ok := m.active().(typer)
	return ok && t.Typing()
}

func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	keys := m.c.Keys
	m.flash = ""
	if k.Type == tea.KeyCtrlC || !m.typing() && key.Matches(k, keys.Quit) {
		return m.quitKey()
	}
	if m.typing() {
		if m.logFocus {
			cmd, _ := m.log.Update(k)
			return cmd
		}
		return m.active().Update(k)
	}
	if m.page == pageSetup {
		if key.Matches(k, keys.Help) {
			m.help.ShowAll = !m.help.ShowAll
			return nil
		}
		return m.active().Update(k)
	}
	switch {
	case key.Matches(k, keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		return nil
	case key.Matches(k, keys.ToggleLog):
		m.logFocus = !m.logFocus
		return nil
	}
	if m.logFocus {
		switch {
		case key.Matches(k, keys.SaveLog):
			return m.saveLog()
		case key.Matches(k, keys.Back) && m.log.Query() == "":
			m.logFocus = false
			return nil
		}
		cmd, _ := m.log.Update(k)
		return cmd
	}
	return m.active().Update(k)
}

func (m *Model) quitKey() tea.Cmd {
	if m.sync.Running {
		if m.quitting {
			return m.quit() // asked twice: stop now
		}
		m.quitting, m.interrupted = true, true
		m.sync.Quitting = true
		m.sync.Cancel()
		m.page = pageSync
		m.logFocus = false
		return nil
	}
	return m.quit()
}

// mouse: the wheel scrolls what is under it, a click selects a row of the overview or
// focuses the log.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if msg.Action != tea.MouseActionPress {
		return nil
	}
	_, logTop := m.layout()
	overLog := m.logFocus || (logTop > 0 && msg.Y >= logTop)
	switch msg.Button {
	case tea.MouseButtonWheelUp, tea.MouseButtonWheelDown:
		up := msg.Button == tea.MouseButtonWheelUp
		if overLog {
			if up {
				m.log.Scroll(3)
			} else {
				m.log.Scroll(-3)
			}
			return nil
		}
		if m.typing() {
			return nil
		}
		k := tea.KeyMsg{Type: tea.KeyDown}
		if up {
			k = tea.KeyMsg{Type: tea.KeyUp}
		}
		return m.active().Update(k)
	case tea.MouseButtonLeft:
		switch {
		case overLog && !m.logFocus:
			m.logFocus = true
		case m.page == pageOverview && !m.logFocus && msg.Y >= 1:
			m.overview.List.Click(msg.Y - 1)
		}
	}
	return nil
}

func (m *Model) quit() tea.Cmd {
	m.cancel()
	m.bus.Close()
	if m.logs != nil {
		m.logs.Detach()
	}
	return tea.Quit
}

func (m *Model) startSync(s common.Scope) tea.Cmd {
	if m.sync.Running {
		m.flash = "A sync is already running."
		m.page = pageSync
		return nil
	}
	for i, ps := range m.c.Store.Pairs {
		if s.IsAll() || s.Pair == i {
			ps.Gen++ // results of discovery or planning in flight are stale now
			ps.Discovering, ps.Planning, ps.LastRunLoading = false, false, false
			ps.Syncing = true
		}
	}
	m.page = pageSync
	m.logFocus = false
	return m.sync.Start(s)
}

// covers reports whether an event of pair i belongs to the sync this TUI runs.
func (m *Model) covers(i int) bool {
	return m.sync.Running && i >= 0 && (m.sync.Scope.IsAll() || m.sync.Scope.Pair == i)
}

func (m *Model) busItem(it any) tea.Cmd {
	switch it := it.(type) {
	case common.LogLine:
		m.log.Add(it)
		return nil
	case common.ExecRequest:
		done := it.Done
		return tea.Exec(&asideExec{cmd: it.Cmd}, func(err error) tea.Msg {
			done <- err
			return nil
		})
	case common.DaemonStateMsg:
		if it.Pair >= 0 {
			st := it.Status
			m.c.Store.Pairs[it.Pair].Daemon = &st
		}
		return nil
	case common.DaemonGoneMsg:
		m.c.Svc.SetRemote(nil)
		for _, ps := range m.c.Store.Pairs {
			ps.Daemon = nil
		}
		m.log.Add(common.LogLine{Level: slog.LevelWarn, Text: "the daemon stopped answering; this TUI syncs by itself from now on"})
		m.c.Svc.Watch()
		return nil
	case common.StorageChangedMsg:
		if it.Pair >= 0 && it.Pair < len(m.c.Store.Pairs) && !m.c.Store.Pairs[it.Pair].Syncing {
			return tea.Batch(m.refresh(it.Pair)...)
		}
		return nil
	case common.SyncItemFinished:
		if it.Err != nil {
			m.logError(-1, slog.LevelError, it.Err.Error())
		}
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		m.daemonProgress(it)
		return nil
	case common.SyncPairFinished:
		if it.Pair < 0 {
			return nil
		}
		for _, err := range it.Result.Errors() {
			m.logError(-1, slog.LevelError, err.Error())
		}
		var cmd tea.Cmd
		ps := m.c.Store.Pairs[it.Pair]
		if m.covers(it.Pair) {
			cmd = m.sync.Update(it)
		} else if ps.Progress != nil || m.c.Svc.Attached(it.Pair) {
			m.log.Add(common.LogLine{Level: slog.LevelInfo, Text: daemonSynced(it.Result)})
		}
		ps.Syncing, ps.Progress = false, nil
		return tea.Batch(cmd, tea.Batch(m.refresh(it.Pair)...))
	case common.SyncDone:
		cmd := m.sync.Update(it)
		var cmds []tea.Cmd
		for i, ps := range m.c.Store.Pairs {
			if ps.Syncing && (it.Scope.IsAll() || it.Scope.Pair == i) {
				ps.Syncing = false
				cmds = append(cmds, m.refresh(i)...)
			}
		}
		if m.quitting {
			return m.quit()
		}
		return tea.Batch(append(cmds, cmd)...)
	case common.SyncPairStarted:
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		if it.Pair >= 0 {
			ps := m.c.Store.Pairs[it.Pair]
			ps.Syncing, ps.Progress = true, map[string][2]int{}
		}
		return nil
	case common.SyncPairPlanned:
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		if it.Pair >= 0 && m.c.Store.Pairs[it.Pair].Progress != nil {
			for _, mp := range it.Mappings {
				m.c.Store.Pairs[it.Pair].Progress[mp.Alias] = [2]int{0, mp.Total}
			}
		}
		return nil
	case common.SyncPairWaiting:
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		return nil
	case common.SyncItemStarted:
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		return nil
	case common.SyncMappingFinished:
		if m.covers(it.Pair) {
			return m.sync.Update(it)
		}
		return nil
	case tea.Msg:
		return m.sync.Update(it)
	}
	return nil
}

// daemonProgress counts the writes of a sync the daemon runs on its own.
func (m *Model) daemonProgress(it common.SyncItemFinished) {
	if it.Pair < 0 {
		return
	}
	ps := m.c.Store.Pairs[it.Pair]
	if ps.Progress == nil {
		ps.Syncing, ps.Progress = true, map[string][2]int{}
	}
	ps.Progress[it.Mapping] = [2]int{it.Done, it.Total}
}

// daemonSynced is the log line of a sync the daemon ran on its own.
func daemonSynced(r *engine.PairResult) string {
	var parts []string
	for _, mr := range r.Mappings {
		if s := present.MappingSummary(mr, r.Pair); s != "" {
			parts = append(parts, s)
		}
	}
	switch {
	case r.Err != nil:
		return fmt.Sprintf("daemon: the sync of pair %s failed: %v", r.Pair, r.Err)
	case len(parts) == 0:
		return fmt.Sprintf("daemon: synced pair %s; nothing changed", r.Pair)
	}
	return "daemon: synced " + strings.Join(parts, "; ")
}

// discoveryFailed logs why, and schedules a retry when the failure may pass (the
// server down, a timeout) and no daemon retries for us.
func (m *Model) discoveryFailed(i int) {
	ps := m.c.Store.Pairs[i]
	d := ps.Discovery
	temporary := false
	for s, err := range d.Errs {
		if err == nil {
			continue
		}
		m.logError(i, slog.LevelError, fmt.Sprintf("pair %s: storage %s (side %s): %v", ps.Pair.Name,
			[2]string{ps.Pair.NameA, ps.Pair.NameB}[s], engine.Side(s), err))
		temporary = temporary || storage.IsTemporary(err)
	}
	if d.Err != nil {
		m.logError(i, slog.LevelError, d.Err.Error())
	}
	if !temporary || m.c.Svc.Attached(i) {
		return
	}
	switch {
	case ps.Backoff == 0:
		ps.Backoff = 5 * time.Second
	default:
		ps.Backoff = min(ps.Backoff*2, 5*time.Minute)
	}
	ps.RetryAt = m.c.Now().Add(ps.Backoff)
}

// logError puts an error into the log pane once (until the pair's next good
// discovery), whatever the log level: errors of the session always show there.
func (m *Model) logError(pair int, level slog.Level, text string) {
	if _, seen := m.logged[text]; seen {
		return
	}
	m.logged[text] = pair
	m.log.Add(common.LogLine{Level: level, Text: text})
}

// forget lets the errors of a pair be logged again.
func (m *Model) forget(pair int) {
	for t, p := range m.logged {
		if p == pair {
			delete(m.logged, t)
		}
	}
}

// reload reads the configuration again (with the terminal handed over, for
// credential commands), or rediscovers when there is no way to.
func (m *Model) reload() tea.Cmd {
	if m.opts.Reload == nil {
		return m.update(common.RefreshMsg{Pair: -1})
	}
	if m.sync.Running || m.reloading {
		m.flash = "Wait for the sync to finish before reading the configuration again."
		return nil
	}
	m.reloading = true
	ctx := m.c.Svc.Context()
	var res *Reloaded
	return common.Run(func() error {
		var err error
		res, err = m.opts.Reload(ctx)
		return err
	}, func(err error) tea.Msg { return reloadedMsg{r: res, err: err} })
}

func (m *Model) reloaded(msg reloadedMsg) tea.Cmd {
	m.reloading = false
	if msg.err != nil {
		m.flash = "The configuration was not read again: see the log (l)."
		for _, line := range strings.Split(msg.err.Error(), "\n") {
			m.log.Add(common.LogLine{Level: slog.LevelError, Text: line})
		}
		return nil
	}
	base := 0
	for _, ps := range m.c.Store.Pairs {
		base = max(base, ps.Gen)
	}
	svc := m.c.Svc
	follow := svc.Remote() == nil && msg.r.Daemon != nil
	svc.Replace(msg.r.Engine, msg.r.Pairs)
	svc.SetRemote(msg.r.Daemon)
	m.c.Store = common.NewStore(msg.r.Pairs)
	for _, ps := range m.c.Store.Pairs {
		ps.Gen = base // results of before the reload are stale
	}
	m.logged = map[string]int{}
	m.page, m.setup = pageOverview, nil
	m.conflicts.Rebuild()
	m.log.Add(common.LogLine{Level: slog.LevelInfo, Text: fmt.Sprintf("configuration read again: %s", common.Plural(len(msg.r.Pairs), "pair", "pairs"))})
	var cmds []tea.Cmd
	for i := range m.c.Store.Pairs {
		cmds = append(cmds, m.refresh(i)...)
	}
	cmds = append(cmds, func() tea.Msg {
		if follow {
			svc.Follow()
		}
		svc.Watch()
		return nil
	})
	return tea.Batch(cmds...)
}

// saveLog writes the log to a file of its own.
func (m *Model) saveLog() tea.Cmd {
	text := m.log.Text()
	dir := m.opts.LogDir
	now := m.c.Now()
	return func() tea.Msg {
		if dir == "" {
			state := os.Getenv("XDG_STATE_HOME")
			if state == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return logSavedMsg{err: err}
				}
				state = filepath.Join(home, ".local", "state")
			}
			dir = filepath.Join(state, "pimsync")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return logSavedMsg{err: err}
		}
		path := filepath.Join(dir, "tui-"+now.Format("20060102-150405")+".log")
		return logSavedMsg{path: path, err: os.WriteFile(path, []byte(text), 0o600)}
	}
}

// asideExec runs a program (the merge tool) while the TUI has stepped aside, on a
// screen of its own: whatever it prints around its own full-screen view (vimdiff's
// "2 files to edit") goes when it ends, instead of staying in the shell's scrollback.
type asideExec struct {
	cmd *exec.Cmd
	out io.Writer
}

func (e *asideExec) SetStdin(r io.Reader)  { e.cmd.Stdin = r }
func (e *asideExec) SetStdout(w io.Writer) { e.cmd.Stdout, e.out = w, w }
func (e *asideExec) SetStderr(w io.Writer) { e.cmd.Stderr = w }

func (e *asideExec) Run() error {
	if e.out != nil {
		io.WriteString(e.out, "\x1b[?1049h\x1b[H\x1b[2J") // a screen of its own, empty
		defer io.WriteString(e.out, "\x1b[2J\x1b[?1049l")
	}
	if e.cmd.Stderr == os.Stderr && e.cmd.Stdout != nil {
		// What the tool says on stderr belongs on that screen too.
		e.cmd.Stderr = e.cmd.Stdout
	}
	return e.cmd.Run()
}

// layout returns the height of the page body and the first line of the log strip (0
// when none is shown).
func (m *Model) layout() (body, logTop int) {
	w, h := m.c.Width, m.c.Height
	helpLines := 1
	if m.help.ShowAll {
		helpLines = strings.Count(m.helpView(), "\n") + 1
	}
	if m.flash != "" {
		helpLines = 1
	}
	body = h - 1 - helpLines
	if m.logFocus || m.page == pageSetup {
		return body, 0
	}
	if strip := m.logStrip(w, h); strip > 0 {
		body -= strip + 1
		logTop = 1 + body + 1
	}
	return body, logTop
}

// logStrip is the height of the log lines under an unfocused page: up to three,
// when there is anything to show and room for it.
func (m *Model) logStrip(w, h int) int {
	if m.log.Len() == 0 || h < 16 {
		return 0
	}
	return min(m.log.Rows(w), 3)
}

func (m *Model) helpView() string {
	page := m.active()
	var short []key.Binding
	full := page.FullHelp()
	if m.logFocus {
		k := m.c.Keys
		short = []key.Binding{k.Up, k.Down, k.Search, k.NextMatch, k.SaveLog, back("l/esc", "back"), k.Quit}
		full = [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Search, k.NextMatch, k.SaveLog}, {back("l/esc", "back"), k.Help, k.Quit}}
	} else {
		short = page.ShortHelp()
	}
	if m.help.ShowAll {
		return m.help.FullHelpView(full)
	}
	return m.help.ShortHelpView(short)
}

func back(keys, desc string) key.Binding {
	return key.NewBinding(key.WithKeys("esc"), key.WithHelp(keys, desc))
}

// View implements tea.Model.
func (m *Model) View() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	st := m.c.Styles
	page := m.active()
	header := m.header(w)
	helpView := m.helpView()
	helpLines := strings.Count(helpView, "\n") + 1
	if m.flash != "" {
		helpView = st.Warn.Render(m.flash)
		helpLines = 1
	}
	bodyH, logTop := m.layout()
	if bodyH < 1 {
		// Too small for anything but the page.
		return common.Fit(page.View(w, h), w, h)
	}
	var parts []string
	switch {
	case m.logFocus:
		title := "log · l/esc: back"
		parts = []string{header, m.c.Rule(title, w), m.log.View(w, bodyH-1, true)}
	default:
		parts = []string{header, page.View(w, bodyH)}
		if logTop > 0 {
			strip := h - 1 - helpLines - bodyH - 1
			parts = append(parts, m.c.Rule("log (l)", w), m.log.View(w, strip, false))
		}
	}
	parts = append(parts, common.Fit(helpView, w, helpLines))
	return common.Fit(strings.Join(parts, "\n"), w, h)
}

func (m *Model) header(w int) string {
	st := m.c.Styles
	crumb := map[pageID]string{
		pageOverview:  "overview",
		pagePlan:      "plan preview",
		pageSync:      "sync",
		pageConflicts: "conflicts",
		pageSetup:     "getting started",
	}[m.page]
	title := m.title
	if r := m.c.Svc.Remote(); r != nil {
		title += fmt.Sprintf(" (attached to daemon %d)", r.Hello.PID)
	}
	left := st.Header.Render(title) + st.HeaderDim.Render(" · "+crumb)
	var right string
	switch {
	case m.sync.Running && m.page != pageSync:
		right = st.SpinnerText.Render(m.c.Spinner + " sync running")
	case m.reloading:
		right = st.SpinnerText.Render(m.c.Spinner + " reading the configuration")
	case !m.logFocus && m.log.Unseen > 0 && m.logStrip(w, m.c.Height) == 0:
		right = st.Warn.Render(fmt.Sprintf("%s in the log (l)", common.Plural(m.log.Unseen, "message", "messages")))
	}
	gap := w - common.Width(left) - common.Width(right)
	if gap < 1 {
		return common.FitLine(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}

// Run runs the TUI on a terminal until the user quits. A sync still running when the
// program stops (killed by a signal) is cancelled and waited for, so that the writes
// in flight are recorded in the status.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	detectColors(in, out)
	m := New(ctx, opts)
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx))
	_, err := p.Run()
	m.cancel()
	m.c.Svc.Wait(30 * time.Second)
	if opts.Logs != nil {
		opts.Logs.Detach()
	}
	switch {
	case err == tea.ErrProgramKilled && ctx.Err() != nil:
		return nil
	case err != nil:
		return err
	case m.interrupted:
		return ErrInterrupted
	case m.startDemo:
		return ErrStartDemo
	}
	return nil
}
