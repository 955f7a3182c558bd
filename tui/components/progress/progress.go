// Package progress draws progress bars that read the same with and without colour:
// "[#######------]  7/13".
package progress

import (
	"fmt"
	"strings"

	"github.com/pimsync-go/pimsync/tui/common"
)

// Bar is the progress of one collection.
type Bar struct {
	Done, Total int
}

// Fraction is how much is done, between 0 and 1 (1 when there is nothing to do).
func (b Bar) Fraction() float64 {
	if b.Total <= 0 {
		return 1
	}
	f := float64(b.Done) / float64(b.Total)
	return min(max(f, 0), 1)
}

// View renders the bar in exactly w cells, the counter included.
func (b Bar) View(st *common.Styles, w int) string {
	counter := fmt.Sprintf(" %d/%d", b.Done, b.Total)
	inner := w - 2 - common.Width(counter)
	if inner < 3 {
		return common.Pad(strings.TrimSpace(counter), w)
	}
	filled := int(b.Fraction()*float64(inner) + 0.5)
	if b.Done < b.Total && filled == inner {
		filled = inner - 1 // never look finished before it is
	}
	return "[" + st.BarDone.Render(strings.Repeat("#", filled)) +
		st.BarTodo.Render(strings.Repeat("-", inner-filled)) + "]" + counter
}
