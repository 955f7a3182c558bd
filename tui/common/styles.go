package common

import (
	"regexp"

	"github.com/charmbracelet/lipgloss"
)

// Styles holds every style of the TUI. Colour is decoration only: every state is also
// spelled out in text (markers, words), so the screen reads the same with NO_COLOR.
type Styles struct {
	Header      lipgloss.Style
	HeaderDim   lipgloss.Style
	Section     lipgloss.Style
	Dim         lipgloss.Style
	Bold        lipgloss.Style
	Selected    lipgloss.Style
	Cursor      lipgloss.Style
	SelectedBar lipgloss.Style // the whole selected row of a list
	Match       lipgloss.Style // a search match
	Input       lipgloss.Style // a line being typed (filter, search, form fields)
	Error       lipgloss.Style
	Warn        lipgloss.Style
	OK          lipgloss.Style
	Info        lipgloss.Style
	Conflict    lipgloss.Style
	Create      lipgloss.Style
	Update      lipgloss.Style
	Delete      lipgloss.Style
	Differs     lipgloss.Style
	DiffMarker  lipgloss.Style
	BarDone     lipgloss.Style
	BarTodo     lipgloss.Style
	Rule        lipgloss.Style
	LogTitle    lipgloss.Style
	HelpKey     lipgloss.Style
	HelpDesc    lipgloss.Style
	HelpSep     lipgloss.Style
	Prompt      lipgloss.Style
	ResultGood  lipgloss.Style
	ResultBad   lipgloss.Style
	SpinnerText lipgloss.Style
}

// DefaultStyles returns the styles of the TUI (adaptive to light and dark terminals).
func DefaultStyles() *Styles {
	c := func(light, dark string) lipgloss.AdaptiveColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	accent := c("#5A3FC0", "#B59CFF")
	red := c("#C0262D", "#FF6B6B")
	yellow := c("#8A6100", "#F2C94C")
	green := c("#1E7B34", "#6FCF97")
	blue := c("#1F5FAD", "#6CB4FF")
	dim := c("#6B6B6B", "#8A8A8A")
	s := &Styles{}
	s.Header = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.HeaderDim = lipgloss.NewStyle().Foreground(dim)
	s.Section = lipgloss.NewStyle().Bold(true)
	s.Dim = lipgloss.NewStyle().Foreground(dim)
	s.Bold = lipgloss.NewStyle().Bold(true)
	s.Selected = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Cursor = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.SelectedBar = lipgloss.NewStyle().Background(c("#E4DCFF", "#3B2F66"))
	s.Match = lipgloss.NewStyle().Reverse(true)
	s.Input = lipgloss.NewStyle().Foreground(accent)
	s.Error = lipgloss.NewStyle().Foreground(red)
	s.Warn = lipgloss.NewStyle().Foreground(yellow)
	s.OK = lipgloss.NewStyle().Foreground(green)
	s.Info = lipgloss.NewStyle().Foreground(blue)
	s.Conflict = lipgloss.NewStyle().Bold(true).Foreground(red)
	s.Create = lipgloss.NewStyle().Foreground(green)
	s.Update = lipgloss.NewStyle().Foreground(blue)
	s.Delete = lipgloss.NewStyle().Foreground(red)
	s.Differs = lipgloss.NewStyle().Bold(true).Foreground(yellow)
	s.DiffMarker = lipgloss.NewStyle().Bold(true).Foreground(red)
	s.BarDone = lipgloss.NewStyle().Foreground(green)
	s.BarTodo = lipgloss.NewStyle().Foreground(dim)
	s.Rule = lipgloss.NewStyle().Foreground(dim)
	s.LogTitle = lipgloss.NewStyle().Foreground(dim)
	s.HelpKey = lipgloss.NewStyle().Bold(true)
	s.HelpDesc = lipgloss.NewStyle().Foreground(dim)
	s.HelpSep = lipgloss.NewStyle().Foreground(dim)
	s.Prompt = lipgloss.NewStyle().Bold(true).Foreground(yellow)
	s.ResultGood = lipgloss.NewStyle().Bold(true).Foreground(green)
	s.ResultBad = lipgloss.NewStyle().Bold(true).Foreground(red)
	s.SpinnerText = lipgloss.NewStyle().Foreground(accent)
	return s
}

var hexColor = regexp.MustCompile(`^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8}|[0-9A-Fa-f]{3})$`)

// Swatch renders a small block in a collection's colour ("#RRGGBB[AA]"), or a blank
// when the colour is unknown or invalid.
func (s *Styles) Swatch(color string) string {
	if !hexColor.MatchString(color) {
		return " "
	}
	if len(color) == 9 { // #RRGGBBAA: drop the alpha
		color = color[:7]
	}
	return lipgloss.NewStyle().Foreground(lipgloss.Color(color)).Render("■")
}
