package config

import (
	"strings"
	"testing"
)

// The deadline and size directives are our extensions (DECISIONS #13, #14).

func TestLimitDirectives(t *testing.T) {
	cfg := parse(t, `status_path /s
max_item_size 2M
storage dav {
    type caldav
    url https://example.org/
    connect_timeout 5
    read_timeout 60
    request_timeout 600
}
storage feed {
    type webcal
    url https://example.org/feed.ics
    collection_id f
    read_timeout 10
}
storage plain {
    type carddav
    url https://example.org/
}
`)
	if cfg.MaxItemSize != 2<<20 {
		t.Errorf("MaxItemSize = %d", cfg.MaxItemSize)
	}
	d := cfg.Storages["dav"]
	if d.ConnectTimeout != 5 || d.ReadTimeout != 60 || d.RequestTimeout != 600 {
		t.Errorf("dav timeouts %d %d %d", d.ConnectTimeout, d.ReadTimeout, d.RequestTimeout)
	}
	if f := cfg.Storages["feed"]; f.ReadTimeout != 10 || f.ConnectTimeout != 0 {
		t.Errorf("feed timeouts %d %d", f.ReadTimeout, f.ConnectTimeout)
	}
	if p := cfg.Storages["plain"]; p.ConnectTimeout != 0 || p.ReadTimeout != 0 || p.RequestTimeout != 0 {
		t.Errorf("defaults are not 0: %+v", p)
	}
	for in, want := range map[string]int64{"1024": 1024, "1K": 1 << 10, "16m": 16 << 20, "1G": 1 << 30} {
		cfg := parse(t, "status_path /s\nmax_item_size "+in+"\n")
		if cfg.MaxItemSize != want {
			t.Errorf("max_item_size %s = %d, want %d", in, cfg.MaxItemSize, want)
		}
	}
	if cfg := parse(t, "status_path /s\n"); cfg.MaxItemSize != 0 {
		t.Errorf("MaxItemSize without the directive = %d", cfg.MaxItemSize)
	}
}

func TestLimitDirectiveErrors(t *testing.T) {
	for text, want := range map[string]string{
		"max_item_size 10":                                                 "t.conf:2: `max_item_size` is too small: 10 (at least 1K)",
		"max_item_size 2G":                                                 "t.conf:2: `max_item_size` is too large: 2G (at most 1G)",
		"max_item_size 99999999999999999999":                               "t.conf:2: `max_item_size` is too large",
		"max_item_size 5 MB":                                               "t.conf:2: `max_item_size` takes exactly 1 parameter, got 2",
		"max_item_size lots":                                               "t.conf:2: `max_item_size` must be a size in bytes, optionally with K, M or G, got `lots`",
		"max_item_size 1M\nmax_item_size 2M":                               "t.conf:3: `max_item_size` is specified more than once (first on line 2)",
		"storage v {\ntype vdir/vcard\npath /v\nread_timeout 5\n}":         "t.conf:5: `read_timeout` is not valid for storage type vdir/vcard",
		"storage d {\ntype caldav\nurl https://x/\nconnect_timeout 0\n}":   "t.conf:5: `connect_timeout` must be a number of seconds >= 1, got `0`",
		"storage d {\ntype caldav\nurl https://x/\nrequest_timeout 1.5\n}": "t.conf:5: `request_timeout` must be a number of seconds >= 1, got `1.5`",
	} {
		_, err := Parse("t.conf", []byte("status_path /s\n"+text+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}
