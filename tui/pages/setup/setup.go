// Package setup is the first-run page, shown when there is no configuration file: try
// the demo, convert a vdirsyncer configuration, or write a first configuration with a
// short form (a CalDAV or CardDAV server, a user, a password command and a local
// folder). A configuration is checked, as `pimsync check` does, before it is saved;
// then the TUI reads it and shows the pairs.
package setup

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/tui/common"
)

type state int

const (
	stateMenu      state = iota
	stateForm            // the form is being filled in
	stateChecking        // the configuration is being checked
	stateChecked         // the check's report is shown
	stateConverted       // the converted vdirsyncer configuration is shown
)

// Form fields.
const (
	fieldKind = iota
	fieldURL
	fieldUser
	fieldPassword
	fieldFolder
	nFields
)

// Page is the first-run page.
type Page struct {
	c      *common.Common
	s      *common.Setup
	state  state
	from   state // the state a check started from (form or converted)
	focus  int
	inputs [nFields]textinput.Model
	// contacts: the form is about address books (CardDAV) instead of calendars.
	contacts bool
	// text is the configuration being checked or shown; report and failed the
	// outcome of its check.
	text   string
	report []string
	failed string
	saved  bool
	offset int
	id     int
}

// checkedMsg is the outcome of a check.
type checkedMsg struct {
	id     int
	report []string
	err    error
}

// convertedMsg is a converted vdirsyncer configuration.
type convertedMsg struct {
	text string
	err  error
}

// savedMsg: the configuration was written (or not).
type savedMsg struct{ err error }

// New returns the page.
func New(c *common.Common, s *common.Setup) *Page {
	p := &Page{c: c, s: s}
	placeholders := [nFields]string{"", "https://dav.example.com/", "alice", "pass show dav/alice", ""}
	for i := range p.inputs {
		in := textinput.New()
		in.Prompt = ""
		in.Placeholder = placeholders[i]
		in.TextStyle = c.Styles.Input
		p.inputs[i] = in
	}
	p.inputs[fieldFolder].SetValue(p.folder())
	return p
}

func (p *Page) folder() string {
	base := p.s.DefaultFolder
	if base == "" {
		base = "~/.local/share/pimsync"
	}
	if p.contacts {
		return filepath.Join(base, "contacts")
	}
	return filepath.Join(base, "calendars")
}

// Init starts nothing: the page waits for a choice.
func (p *Page) Init() tea.Cmd { return nil }

// Typing reports whether a form field has the keyboard.
func (p *Page) Typing() bool { return p.state == stateForm }

// Busy implements common.Page.
func (p *Page) Busy() bool { return p.state == stateChecking }

var (
	keyDemo    = key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "demo"))
	keyConvert = key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "convert vdirsyncer's"))
	keyForm    = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "form"))
	keyNext    = key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field"))
	keyPrev    = key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous"))
	keyCheck   = key.NewBinding(key.WithKeys("ctrl+s", "enter"), key.WithHelp("enter", "check"))
	keySave    = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save and start"))
	keyEdit    = key.NewBinding(key.WithKeys("e", "esc"), key.WithHelp("e/esc", "edit"))
	keyCheckV  = key.NewBinding(key.WithKeys("c", "enter"), key.WithHelp("c/enter", "check"))
	keyMenu    = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	keyKind    = key.NewBinding(key.WithKeys(" ", "left", "right"), key.WithHelp("space", "calendars/contacts"))
)

// ShortHelp implements common.Page.
func (p *Page) ShortHelp() []key.Binding {
	k := p.c.Keys
	switch p.state {
	case stateForm:
		bs := []key.Binding{keyNext, keyPrev, keyCheck, keyMenu}
		if p.focus == fieldKind {
			bs = append([]key.Binding{keyKind}, bs...)
		}
		return bs
	case stateChecked:
		if p.failed == "" {
			return []key.Binding{keySave, keyEdit, k.Quit}
		}
		return []key.Binding{keyEdit, k.Quit}
	case stateConverted:
		return []key.Binding{keyCheckV, k.Up, k.Down, keyMenu, k.Quit}
	case stateChecking:
		return []key.Binding{k.Quit}
	}
	bs := []key.Binding{keyDemo}
	if p.s.Vdirsyncer != "" {
		bs = append(bs, keyConvert)
	}
	return append(bs, keyForm, k.Help, k.Quit)
}

// FullHelp implements common.Page.
func (p *Page) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// Update implements common.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case checkedMsg:
		if msg.id != p.id {
			return nil
		}
		p.state, p.report, p.failed = stateChecked, msg.report, ""
		if msg.err != nil {
			p.failed = msg.err.Error()
		}
		return nil
	case convertedMsg:
		if msg.err != nil {
			p.state, p.report, p.failed, p.from = stateChecked, nil, "converting "+p.s.Vdirsyncer+": "+msg.err.Error(), stateMenu
			return nil
		}
		p.state, p.text, p.offset = stateConverted, msg.text, 0
		return nil
	case savedMsg:
		if msg.err != nil {
			p.failed = "saving " + p.s.ConfigPath + ": " + msg.err.Error()
			return nil
		}
		p.saved = true
		return p.c.Go(common.ReloadMsg{})
	case tea.KeyMsg:
		return p.key(msg)
	}
	if p.state == stateForm {
		var cmd tea.Cmd
		p.inputs[p.focus], cmd = p.inputs[p.focus].Update(msg)
		return cmd
	}
	return nil
}

func (p *Page) key(k tea.KeyMsg) tea.Cmd {
	switch p.state {
	case stateMenu:
		switch {
		case key.Matches(k, keyDemo):
			return p.c.Go(common.StartDemoMsg{})
		case key.Matches(k, keyConvert) && p.s.Vdirsyncer != "":
			convert := p.s.Convert
			return func() tea.Msg {
				text, err := convert()
				return convertedMsg{text: text, err: err}
			}
		case key.Matches(k, keyForm):
			p.state = stateForm
			return p.setFocus(fieldURL)
		}
	case stateForm:
		switch {
		case k.Type == tea.KeyEsc:
			p.state = stateMenu
			p.inputs[p.focus].Blur()
		case key.Matches(k, keyNext):
			return p.setFocus((p.focus + 1) % nFields)
		case key.Matches(k, keyPrev):
			return p.setFocus((p.focus + nFields - 1) % nFields)
		case key.Matches(k, keyCheck):
			if p.focus < fieldFolder && k.Type == tea.KeyEnter {
				return p.setFocus(p.focus + 1)
			}
			if missing := p.missing(); missing != "" {
				p.failed = missing
				return nil
			}
			return p.check(stateForm, p.config())
		case p.focus == fieldKind && key.Matches(k, keyKind):
			folder := p.inputs[fieldFolder].Value()
			wasDefault := folder == p.folder()
			p.contacts = !p.contacts
			if wasDefault {
				p.inputs[fieldFolder].SetValue(p.folder())
			}
		default:
			if p.focus == fieldKind {
				return nil
			}
			p.failed = ""
			var cmd tea.Cmd
			p.inputs[p.focus], cmd = p.inputs[p.focus].Update(k)
			return cmd
		}
	case stateChecked:
		switch {
		case key.Matches(k, keySave) && p.failed == "" && !p.saved:
			text, save := p.text, p.s.Save
			return func() tea.Msg { return savedMsg{err: save(text)} }
		case key.Matches(k, keyEdit):
			p.state, p.failed = p.from, ""
			if p.state == stateForm {
				return p.setFocus(p.focus)
			}
		}
	case stateConverted:
		switch {
		case key.Matches(k, keyCheckV):
			return p.check(stateConverted, p.text)
		case key.Matches(k, keyMenu):
			p.state = stateMenu
		default:
			p.offset, _ = p.c.Keys.Scroll(k, p.offset, 10)
			p.offset = max(p.offset, 0)
		}
	}
	return nil
}

func (p *Page) setFocus(i int) tea.Cmd {
	p.inputs[p.focus].Blur()
	p.focus = i
	if i == fieldKind {
		return nil
	}
	return p.inputs[i].Focus()
}

// missing names the first required field left empty.
func (p *Page) missing() string {
	switch {
	case strings.TrimSpace(p.inputs[fieldURL].Value()) == "":
		return "The server's URL is needed."
	case strings.TrimSpace(p.inputs[fieldFolder].Value()) == "":
		return "A local folder is needed."
	}
	return ""
}

func (p *Page) check(from state, text string) tea.Cmd {
	p.id++
	p.state, p.from, p.text, p.failed, p.report = stateChecking, from, text, "", nil
	id, check, ctx := p.id, p.s.Check, p.c.Svc.Context()
	// With the terminal handed over: the password command may ask (pinentry).
	var report []string
	var err error
	return common.Run(func() error {
		report, err = check(ctx, text)
		return nil
	}, func(error) tea.Msg { return checkedMsg{id: id, report: report, err: err} })
}

// quote writes a configuration word, quoted when it needs to be.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\{};#") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// config is the configuration the form describes.
func (p *Page) config() string {
	v := func(i int) string { return strings.TrimSpace(p.inputs[i].Value()) }
	kind, remote, name := "vdir/icalendar", "caldav", "calendars"
	if p.contacts {
		kind, remote, name = "vdir/vcard", "carddav", "contacts"
	}
	var b strings.Builder
	b.WriteString("# Written by pimsync's first-run form; every directive is in pimsync.conf(5).\n")
	b.WriteString("status_path \"~/.local/share/pimsync/status/\"\n\n")
	fmt.Fprintf(&b, "storage local_%s {\n    type %s\n    path %s\n}\n\n", name, kind, quote(v(fieldFolder)))
	fmt.Fprintf(&b, "storage server_%s {\n    type %s\n    url %s\n", name, remote, quote(v(fieldURL)))
	if u := v(fieldUser); u != "" {
		fmt.Fprintf(&b, "    username %s\n", quote(u))
	}
	if pw := v(fieldPassword); pw != "" {
		fmt.Fprintf(&b, "    password {\n        shell %s\n    }\n", quote(pw))
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "pair %s {\n    storage_a local_%s\n    storage_b server_%s\n    collections all\n}\n", name, name, name)
	return b.String()
}

// View implements common.Page.
func (p *Page) View(w, h int) string {
	st := p.c.Styles
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	wrap := func(s string) []string { return strings.Split(ansi.Wrap(s, w, " /"), "\n") }
	switch p.state {
	case stateMenu:
		add(st.Section.Render("Welcome to pimsync"), "")
		add(wrap("There is no configuration file at " + p.s.ConfigPath + " yet. To start:")...)
		add("")
		add("  " + st.HelpKey.Render("d") + "  try the demo: a throwaway workspace with a server of its own")
		if p.s.Vdirsyncer != "" {
			add("  " + st.HelpKey.Render("v") + "  convert your vdirsyncer configuration (" + p.s.Vdirsyncer + ")")
		}
		add("  "+st.HelpKey.Render("f")+"  write a first configuration with a short form", "")
		add(wrap(st.Dim.Render("The configuration is checked before it is saved. pimsync.conf(5) describes every directive; `pimsync migrate-vdirsyncer` and `pimsync demo` do the same from a shell."))...)
	case stateForm:
		add(st.Section.Render("A first configuration")+st.Dim.Render(" · saved to "+p.s.ConfigPath), "")
		labels := [nFields]string{"Sync", "Server URL", "User name", "Password command", "Local folder"}
		for i, l := range labels {
			marker := "  "
			if i == p.focus {
				marker = st.Cursor.Render("> ")
			}
			var value string
			if i == fieldKind {
				cal, con := "( ) calendars (CalDAV)", "( ) contacts (CardDAV)"
				if p.contacts {
					con = "(•) contacts (CardDAV)"
				} else {
					cal = "(•) calendars (CalDAV)"
				}
				value = cal + "  " + con
			} else {
				p.inputs[i].Width = max(w-22, 10)
				value = p.inputs[i].View()
			}
			add(marker + common.Pad(l, 18) + value)
		}
		add("")
		add(wrap(st.Dim.Render("The password command prints the password (for example `pass show dav/alice` or `secret-tool lookup …`); it runs in a shell. The local folder is created if it does not exist."))...)
		if p.failed != "" {
			add("", st.Error.Render(p.failed))
		}
	case stateChecking:
		add(st.SpinnerText.Render(p.c.Spinner + " checking the configuration: reading it, running the password command, asking the server…"))
	case stateChecked:
		if p.failed == "" {
			add(st.ResultGood.Render("The check passed."))
		} else {
			add(st.ResultBad.Render("The check failed; nothing was saved."))
		}
		for _, r := range p.report {
			add(wrap("  " + r)...)
		}
		if p.failed != "" {
			add("")
			add(wrap(st.Error.Render(p.failed))...)
			add("", st.Dim.Render("e: edit and check again"))
		} else if p.saved {
			add("", st.OK.Render("Saved to "+p.s.ConfigPath+"; reading it…"))
		} else {
			add("", st.Prompt.Render("s: save to "+p.s.ConfigPath+" and start")+st.Dim.Render(" · e: edit"))
		}
	case stateConverted:
		add(st.Section.Render("Your vdirsyncer configuration as pimsync.conf")+st.Dim.Render(" · # vdirsyncer: comments need a look"), "")
		body := strings.Split(strings.TrimRight(p.text, "\n"), "\n")
		room := max(h-4, 1)
		p.offset = min(p.offset, max(len(body)-room, 0))
		end := min(p.offset+room, len(body))
		add(body[p.offset:end]...)
		add("", st.Prompt.Render("c: check it, then save it to "+p.s.ConfigPath)+st.Dim.Render(" · esc: back"))
	}
	return common.Fit(strings.Join(lines, "\n"), w, h)
}
