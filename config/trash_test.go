package config

import (
	"strings"
	"testing"
)

func TestTrashDirectives(t *testing.T) {
	base := "status_path /tmp/s\nstorage a {\n type vdir/icalendar\n path /tmp/a\n}\nstorage b {\n type vdir/icalendar\n path /tmp/b\n}\npair p {\n storage_a a\n storage_b b\n collections all\n}\n"
	cfg, err := Parse("c.conf", []byte("trash_max_age 7\ntrash_max_size 2M\n"+base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TrashMaxAgeDays != 7 || cfg.TrashMaxSize != 2<<20 {
		t.Fatalf("age %d size %d", cfg.TrashMaxAgeDays, cfg.TrashMaxSize)
	}
	for _, bad := range []string{"trash_max_age 0\n", "trash_max_age 5d\n", "trash_max_size 12X\n"} {
		if _, err := Parse("c.conf", []byte(bad+base)); err == nil || !strings.Contains(err.Error(), "c.conf:1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
