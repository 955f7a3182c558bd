package common

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap holds every key binding of the TUI. Pages pick the bindings they use; the help
// bar shows the ones of the page in front.
type KeyMap struct {
	// Global.
	Quit      key.Binding
	Help      key.Binding
	ToggleLog key.Binding // focus the log pane (and back)
	Filter    key.Binding // filter the list of the page

	// Movement (arrow and vim keys).
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding
	Back     key.Binding

	// Overview.
	Plan      key.Binding
	Sync      key.Binding
	SyncAll   key.Binding
	Conflicts key.Binding
	Refresh   key.Binding

	// Plan preview.
	Confirm key.Binding
	Deny    key.Binding

	// Sync progress.
	Cancel key.Binding

	// Log pane (focused).
	Search    key.Binding
	NextMatch key.Binding
	PrevMatch key.Binding
	SaveLog   key.Binding

	// Conflict viewer.
	KeepA    key.Binding
	KeepB    key.Binding
	KeepBoth key.Binding
	External key.Binding
	Skip     key.Binding
	Raw      key.Binding
	Undo     key.Binding
	// Per-property choice: the row under the cursor takes a's or b's value, or both
	// values of a set; Toggle cycles through them; Choose is their help entry; Apply
	// uploads the result.
	PickA    key.Binding
	PickB    key.Binding
	PickBoth key.Binding
	Toggle   key.Binding
	Choose   key.Binding
	Apply    key.Binding
}

// DefaultKeyMap returns the key bindings of the TUI.
func DefaultKeyMap() *KeyMap {
	b := func(keys []string, k, help string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, help))
	}
	return &KeyMap{
		Quit:      b([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:      b([]string{"?"}, "?", "help"),
		ToggleLog: b([]string{"l"}, "l", "log"),
		Filter:    b([]string{"/"}, "/", "filter"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup/^u", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn/^d", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom"),
		Open:     b([]string{"enter"}, "enter", "open"),
		Back:     b([]string{"esc", "backspace"}, "esc", "back"),

		Plan:      b([]string{"p", "enter"}, "p", "plan"),
		Sync:      b([]string{"s"}, "s", "sync"),
		SyncAll:   b([]string{"S"}, "S", "sync all"),
		Conflicts: b([]string{"c"}, "c", "conflicts"),
		Refresh:   b([]string{"r"}, "r", "reload"),

		Confirm: b([]string{"y", "enter"}, "y", "apply"),
		Deny:    b([]string{"n", "esc", "backspace"}, "n/esc", "back"),

		Cancel: b([]string{"x"}, "x", "cancel"),

		Search:    b([]string{"/"}, "/", "search"),
		NextMatch: b([]string{"n"}, "n/N", "next/prev"),
		PrevMatch: b([]string{"N"}, "N", "previous match"),
		SaveLog:   b([]string{"w"}, "w", "save"),

		KeepA:    b([]string{"a"}, "a", "keep a"),
		KeepB:    b([]string{"b"}, "b", "keep b"),
		KeepBoth: b([]string{"K"}, "K", "keep both"),
		External: b([]string{"e"}, "e", "merge"),
		Skip:     b([]string{"n"}, "n", "skip"),
		Raw:      b([]string{"r"}, "r", "raw"),
		Undo:     b([]string{"u"}, "u", "undo"),
		PickA:    b([]string{"left"}, "←", "take a's value"),
		PickB:    b([]string{"right"}, "→", "take b's value"),
		PickBoth: b([]string{"+"}, "+", "keep both values"),
		Toggle:   b([]string{" "}, "space", "next choice"),
		Choose:   b([]string{"left", "right"}, "←/→", "choose"),
		Apply:    b([]string{"enter"}, "enter", "apply"),
	}
}

// Scroll applies a scrolling key (up, down, page up/down, top, bottom) to offset, with
// page lines per page, and reports whether msg was one. Callers clamp the result.
func (k KeyMap) Scroll(msg tea.KeyMsg, offset, page int) (int, bool) {
	switch {
	case key.Matches(msg, k.Up):
		return offset - 1, true
	case key.Matches(msg, k.Down):
		return offset + 1, true
	case key.Matches(msg, k.PageUp):
		return offset - page, true
	case key.Matches(msg, k.PageDown):
		return offset + page, true
	case key.Matches(msg, k.Top):
		return 0, true
	case key.Matches(msg, k.Bottom):
		return 1 << 20, true
	}
	return offset, false
}
