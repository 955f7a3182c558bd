package progress

import (
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/storage/memstore"
	"testing"

	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/internal/pagetest"
)

// newCommon is pagetest.New over in-memory storages.
func newCommon(t *testing.T) *common.Common {
	return pagetest.New(t, func(k storage.Kind) storage.Storage { return memstore.New(k) })
}

func TestBar(t *testing.T) {
	st := newCommon(t).Styles
	for _, c := range []struct {
		bar  Bar
		w    int
		want string
	}{
		{Bar{0, 4}, 16, "[----------] 0/4"},
		{Bar{1, 4}, 16, "[###-------] 1/4"},
		{Bar{39, 40}, 16, "[#######-] 39/40"},
		{Bar{4, 4}, 16, "[##########] 4/4"},
		{Bar{0, 0}, 16, "[##########] 0/0"},
		{Bar{2, 5}, 5, "2/5  "},
	} {
		got := c.bar.View(st, c.w)
		if got != common.Pad(c.want, c.w) {
			t.Errorf("%v in %d: %q, want %q", c.bar, c.w, got, c.want)
		}
		if common.Width(got) != c.w {
			t.Errorf("%v: width %d", c.bar, common.Width(got))
		}
	}
}
