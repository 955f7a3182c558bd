// Package pagetest helps the unit tests of the TUI's pages and components: a Common
// over two in-memory pairs, builders for plans, and key messages. Only tests import
// it.
package pagetest

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
)

// Now is the fixed clock of page tests.
var Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// New returns a Common over two pairs, "cal" (calendars) and "contacts", on storages
// made by newStorage (the tests pass in-memory ones; this package imports no backend),
// with the ASCII colour profile.
func New(t testing.TB, newStorage func(storage.Kind) storage.Storage) *common.Common {
	lipgloss.SetColorProfile(termenv.Ascii)
	eng := &engine.Engine{StatusDir: t.TempDir()}
	pair := func(name string, kind storage.Kind) *engine.Pair {
		return &engine.Pair{
			Name:   name,
			Config: &config.Pair{Name: name, StorageA: name + "_a", StorageB: name + "_b", Collections: []string{config.CollectionsAll}},
			A:      newStorage(kind), B: newStorage(kind),
			NameA: name + "_a", NameB: name + "_b",
		}
	}
	pairs := []*engine.Pair{pair("cal", storage.Calendars), pair("contacts", storage.Contacts)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return common.New(common.NewService(ctx, eng, pairs, common.NewBus()), func() time.Time { return Now })
}

// Event returns an iCalendar item.
func Event(uid, summary string, extra ...string) storage.Item {
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:" + uid, "SUMMARY:" + summary}
	lines = append(lines, extra...)
	lines = append(lines, "END:VEVENT", "END:VCALENDAR")
	return storage.MustItem(strings.Join(lines, "\r\n") + "\r\n")
}

// State returns an item state for an item at href.
func State(href string, it storage.Item) *engine.ItemState {
	return &engine.ItemState{Href: href, ETag: "e-" + href, Ident: it.Ident(), Hash: it.Hash(), Item: &it}
}

// Action returns an item action: create/update/delete on target from the other side,
// or a conflict (target ignored) between a and b.
func Action(verb engine.Verb, target engine.Side, a, b storage.Item, coll string) *engine.ItemAction {
	act := &engine.ItemAction{Verb: verb, Target: target}
	if !a.IsZero() {
		act.A = State(coll+"/"+a.Ident()+".ics", a)
		act.Ident = a.Ident()
	}
	if !b.IsZero() {
		act.B = State(coll+"/"+b.Ident()+".ics", b)
		act.Ident = b.Ident()
	}
	return act
}

// Mapping returns a mapping plan of existing collections with the given actions (both
// collections have the alias as href, as in-memory storages want).
func Mapping(alias string, listed [2]int, acts ...*engine.ItemAction) *engine.MappingPlan {
	return &engine.MappingPlan{Alias: alias, HrefA: alias, HrefB: alias, ExistsA: true, ExistsB: true,
		Items: acts, Listed: listed}
}

// SetPlan puts a discovered and planned pair into the store.
func SetPlan(c *common.Common, pair int, ms ...*engine.MappingPlan) *engine.PairPlan {
	ps := c.Store.Pairs[pair]
	d := &engine.Discovery{Pair: ps.Pair}
	for _, m := range ms {
		d.Mappings = append(d.Mappings, engine.DiscoveredMapping{Alias: m.Alias, Href: [2]string{m.HrefA, m.HrefB}, Exists: [2]bool{true, true}})
	}
	ps.Discovery, ps.Discovering = d, false
	ps.Plan = &engine.PairPlan{Pair: ps.Pair, Mappings: ms}
	ps.Planning = false
	ps.LastRunLoaded = true
	return ps.Plan
}

// Key returns the key message of a key name ("enter", "esc", "up", "down", "left",
// "right", "space", "ctrl+c", or runes).
func Key(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case " ", "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// Msg runs a command and returns its message (nil for a nil command).
func Msg(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}
