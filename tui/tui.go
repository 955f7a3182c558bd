// Package tui is the interactive terminal UI of pimsync (Bubble Tea). The root model
// routes messages between the pages (overview, plan preview, sync progress, conflicts),
// draws the header, the log pane and the help bar, and owns the store of what is
// known about each pair. It talks to the engine only through common.Service, whose
// commands do all the I/O off the Update loop; engine events, log records and merge
// tool requests arrive through a bus, in order.
package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/components/logview"
	"github.com/pimsync-go/pimsync/tui/pages/conflicts"
	"github.com/pimsync-go/pimsync/tui/pages/overview"
	"github.com/pimsync-go/pimsync/tui/pages/plan"
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
}

// LogSink collects log records for the log pane (see Options.Logs).
type LogSink = common.LogSink

// NewLogSink returns a log sink for Options.Logs keeping records at or above level.
func NewLogSink(level slog.Leveler) *LogSink {
	return common.NewLogSink(level)
}

type pageID int

const (
	pageOverview pageID = iota
	pagePlan
	pageSync
	pageConflicts
)

func (p pageID) String() string {
	return [...]string{"overview", "plan", "sync", "conflicts"}[p]
}

// Model is the root model.
type Model struct {
	c         *common.Common
	bus       *common.Bus
	cancel    context.CancelFunc
	logs      *common.LogSink
	title     string
	page      pageID
	overview  *overview.Page
	plan      *plan.Page
	sync      *syncview.Page
	conflicts *conflicts.Page
	log       *logview.Model
	help      help.Model
	spin      spinner.Model
	ticking   bool
	showLog   bool
	bigLog    bool
	// quitting: quit once the running sync has stopped.
	quitting bool
	flash    string
}

// New builds the root model. ctx bounds everything the TUI starts; it is cancelled
// when the TUI quits.
func New(ctx context.Context, opts Options) *Model {
	ctx, cancel := context.WithCancel(ctx)
	bus := common.NewBus()
	svc := common.NewService(ctx, opts.Engine, opts.Pairs, bus)
	c := common.New(svc, opts.Now)
	title := opts.Title
	if title == "" {
		title = "pimsync"
	}
	m := &Model{
		c: c, bus: bus, cancel: cancel, logs: opts.Logs, title: title,
		overview:  overview.New(c),
		plan:      plan.New(c),
		sync:      syncview.New(c),
		conflicts: conflicts.New(c),
		log:       logview.New(c),
		help:      help.New(),
		spin:      spinner.New(spinner.WithSpinner(spinner.Line)),
		showLog:   true,
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

// Init implements tea.Model: discovery of every pair starts at once.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.bus.Wait()}
	for i := range m.c.Store.Pairs {
		cmds = append(cmds, m.refresh(i)...)
	}
	cmds = append(cmds, m.tick())
	return tea.Batch(cmds...)
}

// refresh re-discovers, re-plans and re-reads the last run of a pair.
func (m *Model) refresh(i int) []tea.Cmd {
	ps := m.c.Store.Pairs[i]
	if ps.Syncing {
		return nil
	}
	ps.Gen++
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
	}
	return m.overview
}

// Busy reports whether anything is still in progress.
func (m *Model) Busy() bool {
	return m.c.Store.Busy() || m.plan.Busy() || m.sync.Busy() || m.conflicts.Busy() || m.bus.Pending() > 0
}

func (m *Model) tick() tea.Cmd {
	if m.ticking || !m.Busy() {
		return nil
	}
	m.ticking = true
	return m.spin.Tick
}

// snapshotMsg asks for the current screen (tests).
type snapshotMsg struct{ reply chan<- snapshot }

type snapshot struct {
	view string
	busy bool
	page pageID
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, tea.Batch(cmd, m.tick())
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
	case snapshotMsg:
		msg.reply <- snapshot{view: m.View(), busy: m.Busy(), page: m.page}
		return nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed faster than the terminal is read arrive together: one
			// at a time, they are what the user meant.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			}
			return tea.Sequence(cmds...)
		}
		return m.key(msg)
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
		ps.Discovery, ps.Props = msg.Discovery, msg.Props
		if ps.DiscoveryFailed() {
			ps.Plan = nil
			return nil
		}
		ps.Planning = true
		return m.c.Svc.Plan(msg.Pair, ps.Gen)
	case common.PlannedMsg:
		ps := m.c.Store.Pairs[msg.Pair]
		if msg.Gen != ps.Gen {
			return nil
		}
		ps.Planning, ps.Plan = false, msg.Plan
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
		return m.conflicts.Update(msg)

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
	}
	return m.active().Update(msg)
}

func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	keys := m.c.Keys
	m.flash = ""
	switch {
	case key.Matches(k, keys.Quit):
		if m.sync.Running {
			if m.quitting {
				return m.quit() // asked twice: stop now
			}
			m.quitting = true
			m.sync.Quitting = true
			m.sync.Cancel()
			m.page = pageSync
			return nil
		}
		return m.quit()
	case key.Matches(k, keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		return nil
	case key.Matches(k, keys.ToggleLog):
		switch {
		case !m.showLog:
			m.showLog, m.bigLog = true, false
		case !m.bigLog:
			m.bigLog = true
		default:
			m.showLog = false
		}
		return nil
	}
	return m.active().Update(k)
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
	return m.sync.Start(s)
}

func (m *Model) busItem(it any) tea.Cmd {
	switch it := it.(type) {
	case common.LogLine:
		m.log.Add(it)
		return nil
	case common.ExecRequest:
		done := it.Done
		return tea.ExecProcess(it.Cmd, func(err error) tea.Msg {
			done <- err
			return nil
		})
	case common.SyncPairFinished:
		cmd := m.sync.Update(it)
		if it.Pair >= 0 {
			m.c.Store.Pairs[it.Pair].Syncing = false
			return tea.Batch(cmd, tea.Batch(m.refresh(it.Pair)...))
		}
		return cmd
	case common.SyncDone:
		cmd := m.sync.Update(it)
		var cmds []tea.Cmd
		for i, ps := range m.c.Store.Pairs {
			if ps.Syncing {
				ps.Syncing = false
				cmds = append(cmds, m.refresh(i)...)
			}
		}
		if m.quitting {
			return m.quit()
		}
		return tea.Batch(append(cmds, cmd)...)
	case tea.Msg:
		return m.sync.Update(it)
	}
	return nil
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
	var helpView string
	if m.help.ShowAll {
		helpView = m.help.FullHelpView(page.FullHelp())
	} else {
		helpView = m.help.ShortHelpView(page.ShortHelp())
	}
	helpLines := strings.Count(helpView, "\n") + 1
	logH := 0
	if m.showLog && h >= 16 {
		logH = 3
		if m.bigLog {
			logH = max(h/2-2, 3)
		}
	}
	bodyH := h - 1 - helpLines
	if logH > 0 {
		bodyH -= logH + 1
	}
	if bodyH < 1 {
		// Too small for anything but the page.
		return common.Fit(page.View(w, h), w, h)
	}
	parts := []string{header, page.View(w, bodyH)}
	if logH > 0 {
		parts = append(parts, m.c.Rule("log", w), m.log.View(w, logH))
	}
	if m.flash != "" {
		helpView = st.Warn.Render(m.flash)
		helpLines = 1
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
	}[m.page]
	left := st.Header.Render(m.title) + st.HeaderDim.Render(" · "+crumb)
	var right string
	switch {
	case m.sync.Running && m.page != pageSync:
		right = st.SpinnerText.Render(m.c.Spinner + " sync running")
	case !m.showLog && m.log.Unseen > 0:
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
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx))
	_, err := p.Run()
	m.cancel()
	m.c.Svc.Wait(30 * time.Second)
	if opts.Logs != nil {
		opts.Logs.Detach()
	}
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return nil
	}
	return err
}
