# hawatch build, test and demo entry points. Everything that needs root (network
# namespaces, raw sockets) skips itself with a message when not run as root.

GO       ?= go
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
PLUGINS  := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/main.go))))
# Packages with goroutines of their own: run again under the race detector.
RACE_PKGS := ./core/... ./sdk/... ./plugins/etcd/... ./plugins/splitbrain/...

.PHONY: all build test test-race install proto demo bench clean deb

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/hawatch ./cmd/hawatch
	@set -e; for p in $(PLUGINS); do \
		echo "$(GO) build -o bin/hawatch-$$p ./plugins/$$p"; \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/hawatch-$$p ./plugins/$$p; \
	done
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/hawatch-httpcheck ./examples/plugins/httpcheck

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

proto:
	$(GO) generate ./sdk/proto/...

clean:
	rm -rf bin

# The Debian package (bin/hawatch_<version>_<arch>.deb) built with nfpm:
# see scripts/deb.sh and packaging/. `apt install ./bin/hawatch_*.deb`.
deb:
	GO=$(GO) VERSION=$(VERSION) bash scripts/deb.sh
