# pimsync — build, test and install.
#
#   make demo      run pimsync on a throwaway demo workspace (no account needed)
#   make test      the whole test suite (installs the Debian packages it needs when root)
#   make bench     benchmarks (figures go to docs/BENCHMARKS.md by hand)
#   make install   PREFIX=/usr/local: binary, manuals, shell completions

GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  = -X main.version=$(VERSION)
BIN      = bin/pimsync

# Debian packages the tests drive for real.
TEST_PACKAGES = radicale xandikos vdirsyncer khal todoman mandoc tmux apache2-utils
TEST_COMMANDS = radicale xandikos vdirsyncer khal todoman mandoc tmux htpasswd

.PHONY: all build demo test test-go deps fmt-check vet fuzz bench install clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pimsync

demo: build
	./$(BIN) demo

# deps makes sure the real servers and clients the tests use are installed. As root on
# Debian it installs them; otherwise it says what to install.
deps:
	@missing=""; for c in $(TEST_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test dependencies:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES) >/dev/null; \
	  else \
	    echo "missing test dependencies:$$missing"; \
	    echo "install them with: sudo apt-get install $(TEST_PACKAGES)"; exit 1; \
	  fi; \
	fi

test: deps fmt-check vet test-go fuzz

test-go:
	$(GO) test -race -count=1 -timeout 20m ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# A short run of every fuzz target; run longer by hand with FUZZTIME=10m.
FUZZTIME ?= 8s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs grep -H '^func Fuzz' | sed -E 's#^\./(.*)/[^/]+:func (Fuzz[A-Za-z0-9_]+).*#\1:\2#' | sort -u); do \
	  pkg=$${spec%%:*}; fn=$${spec##*:}; \
	  echo "fuzz ./$$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/ ./engine/ ./status/

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pimsync

clean:
	rm -rf bin
