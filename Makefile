# hawatch build, test and demo entry points. Everything that needs root (network
# namespaces, raw sockets) skips itself with a message when not run as root.

GO       ?= go
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# Static binaries, as the .deb ships them (scripts/deb.sh): no libc mapped
# into the daemon (about 1.3 MB of its VmRSS), Go's own resolver and
# /etc/group lookups. Only for the binaries: -race needs cgo.
BUILD    := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
PLUGINS  := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/main.go))))
# Packages with goroutines of their own: run again under the race detector.
RACE_PKGS := ./core/... ./sdk/... ./plugins/etcd/... ./plugins/splitbrain/...

.PHONY: all build test test-race install proto demo bench clean deb

all: build

build:
	@mkdir -p bin
	$(BUILD) -o bin/hawatch ./cmd/hawatch
	@set -e; for p in $(PLUGINS); do \
		echo "$(GO) build -o bin/hawatch-$$p ./plugins/$$p"; \
		$(BUILD) -o bin/hawatch-$$p ./plugins/$$p; \
	done
	$(BUILD) -o bin/hawatch-httpcheck ./examples/plugins/httpcheck

# The whole suite: unit tests and fuzz seed corpora, then the root-only
# end-to-end tests on their own (their timing assertions want a quiet
# machine), then the concurrent packages again under -race.
test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /e2e)
	$(GO) test -count=1 -timeout 30m ./e2e
	$(GO) test -count=1 -race -short -timeout 20m $(RACE_PKGS)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/hawatch
	install -m 0755 bin/hawatch $(DESTDIR)$(PREFIX)/bin/hawatch
	@set -e; for p in $(PLUGINS); do \
		install -m 0755 bin/hawatch-$$p $(DESTDIR)$(PREFIX)/libexec/hawatch/hawatch-$$p; \
	done

# The live demo (root): nginx and hawatch on two nodes in network namespaces,
# nginx killed on the master, the VIP moving and coming back. It removes
# everything it made, also on Ctrl-C or failure.
demo: build
	@command -v nginx >/dev/null && command -v curl >/dev/null || bash scripts/deps.sh
	bash scripts/demo.sh

# The benchmark table (root, about 10 minutes): hawatch next to keepalived
# 2.2.7 in one run, CPU, VmRSS/PSS and state changes per cell, the same
# 100 x 10 ms cell under stress-ng with and without realtime scheduling, and
# the takeover at 10 ms (e2e/bench_table_test.go, docs/benchmarks.md "make
# bench"). It measures the release build of bin/hawatch.
bench:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make bench: run as root (network namespaces, raw sockets, realtime scheduling)" >&2; exit 1; fi
	@for c in keepalived stress-ng; do command -v $$c >/dev/null || { \
		echo "make bench: $$c is missing; install it with: bash scripts/deps.sh" >&2; exit 1; }; done
	$(MAKE) --no-print-directory build
	HAWATCH_BENCH=1 HAWATCH_BENCH_BIN=$(CURDIR)/bin/hawatch $(GO) test -count=1 -timeout 30m -v -run 'TestBenchTable$$' ./e2e

proto:
	$(GO) generate ./sdk/proto/...

clean:
	rm -rf bin

# The Debian package (bin/hawatch_<version>_<arch>.deb) built with nfpm:
# see scripts/deb.sh and packaging/. `apt install ./bin/hawatch_*.deb`.
deb:
	GO=$(GO) VERSION=$(VERSION) bash scripts/deb.sh
