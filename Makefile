# Quilt: an OCI container runtime. `make help` lists the targets.

GO        ?= go
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBEXEC   ?= $(PREFIX)/libexec/quilt
MANDIR    ?= $(PREFIX)/share/man
VERSION   := $(shell cat VERSION)
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
TAGS      ?= seccomp
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# bin/quilt and bin/quiltd are linked statically, as runc's release
# binaries are: every container start runs the binary as the container's
# init (and quilt as the command too), and each time a static binary spares
# the dynamic loader's work. netgo and osusergo keep glibc's NSS, which a
# static glibc cannot load, out of it. STATIC= links them dynamically.
STATIC    ?= 1
ifeq ($(STATIC),1)
GOFLAGS_B := -trimpath -tags "$(TAGS) netgo osusergo" -ldflags "$(LDFLAGS) -extldflags -static"
GOFLAGS_D := -trimpath -tags "$(TAGS) grpcnotrace netgo osusergo" -ldflags "$(LDFLAGS) -extldflags -static"
else
GOFLAGS_B := -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)"
GOFLAGS_D := -trimpath -tags "$(TAGS) grpcnotrace" -ldflags "$(LDFLAGS)"
endif
BIN       := bin
# bin/quilt's and bin/quiltd's encoding/json is implemented on
# encoding/json/v2, with v1's behaviour: it makes a type's codec when it
# first meets the type, where v1 makes them for a struct's whole type tree
# (all of libcontainer's configuration) on first use. Every quilt command
# and every container's init decodes or encodes that configuration once.
# QUILT_GOEXPERIMENT= builds them with plain v1.
QUILT_GOEXPERIMENT ?= jsonv2

.DEFAULT_GOAL := build

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/quilt, bin/quiltd, bin/quiltctl and the static helpers quilt-sh, quilt-init, quilt-unpack
	CGO_ENABLED=1 GOEXPERIMENT=$(QUILT_GOEXPERIMENT) $(GO) build $(GOFLAGS_B) -o $(BIN)/quilt ./cmd/quilt
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/quilt-sh ./cmd/quilt-sh
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/quilt-init ./cmd/quilt-init
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/quilt-unpack ./cmd/quilt-unpack
	CGO_ENABLED=0 $(GO) build -trimpath -tags grpcnotrace -ldflags "$(LDFLAGS)" -o $(BIN)/quiltctl ./cmd/quiltctl
	CGO_ENABLED=1 GOEXPERIMENT=$(QUILT_GOEXPERIMENT) $(GO) build $(GOFLAGS_D) -o $(BIN)/quiltd ./cmd/quiltd

.PHONY: install
install: build ## install quilt, quiltd and quiltctl into $(BINDIR), the helpers into $(LIBEXEC), man pages if built
	install -D -m 0755 $(BIN)/quilt $(DESTDIR)$(BINDIR)/quilt
	install -D -m 0755 $(BIN)/quiltctl $(DESTDIR)$(BINDIR)/quiltctl
	install -D -m 0755 $(BIN)/quiltd $(DESTDIR)$(BINDIR)/quiltd
	install -D -m 0755 $(BIN)/quilt-sh $(DESTDIR)$(LIBEXEC)/quilt-sh
	install -D -m 0755 $(BIN)/quilt-init $(DESTDIR)$(LIBEXEC)/quilt-init
	install -D -m 0755 $(BIN)/quilt-unpack $(DESTDIR)$(LIBEXEC)/quilt-unpack
	@if [ -d man/man8 ]; then install -d $(DESTDIR)$(MANDIR)/man8 && install -m 0644 man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/; fi

.PHONY: test
test: ## unit tests (no root needed)
	$(GO) test -tags "$(TAGS)" -count=1 $$($(GO) list ./... | grep -v /integration)

.PHONY: integration
integration: ## integration tests: real containers (root)
	$(GO) test -tags "$(TAGS)" -count=1 -timeout 30m ./integration/ ./integration/testinit/

.PHONY: integration-daemon
integration-daemon: ## quiltd and quiltctl tests: a private daemon running real containers (root)
	$(GO) test -tags "$(TAGS)" -count=1 -timeout 20m ./integration/daemon/

.PHONY: integration-clients
integration-clients: ## containerd, Docker, podman and CRI driving quilt (root)
	$(GO) test -tags "$(TAGS)" -count=1 -timeout 15m ./integration/clients/

PROTOS := api/quilt/v1/quilt.proto api/quilt/v1/quiltv1grpc/services.proto

.PHONY: proto
proto: ## regenerate api/ Go code from the .proto files (protoc + plugins pinned in go.mod)
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	$(GO) build -o $(BIN)/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
	PATH="$(CURDIR)/$(BIN):$$PATH" protoc -I . -I /usr/include \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative $(PROTOS)

.PHONY: proto-check
proto-check: proto ## fail when the committed api/ code is not what `make proto` makes
	@git diff --exit-code -- api/ || { echo "api/: generated code is stale, run make proto and commit"; exit 1; }

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags "$(TAGS)" ./...

.PHONY: bench
bench: bench-runtime bench-unpack bench-daemon bench-network ## all benchmarks (root)

.PHONY: bench-runtime
bench-runtime: build ## benchmark quilt against runc, side by side (flags: BENCHFLAGS)
	$(GO) run ./bench/runtime -spec quilt -quilt $(BIN)/quilt -runc $$(command -v runc) $(BENCHFLAGS)

.PHONY: bench-daemon
bench-daemon: build ## benchmark quiltd through quiltctl against containerd (ctr) and podman, side by side (flags: DAEMONFLAGS)
	$(GO) run ./bench/daemon -bin $(BIN) $(DAEMONFLAGS)

.PHONY: bench-unpack
bench-unpack: ## benchmark image unpacking against umoci, and warm bundles (flags: UNPACKFLAGS)
	$(GO) run ./bench/unpack $(UNPACKFLAGS)

.PHONY: bench-network
bench-network: build ## quiltd: create+start of a container on the bridge network vs network none (flags: NETBENCHFLAGS)
	$(GO) run ./bench/network -bin $(BIN) $(NETBENCHFLAGS)

.PHONY: man
man: ## generate man pages into man/man8
	CGO_ENABLED=1 $(GO) build -tags "$(TAGS) man" -o $(BIN)/quilt-man ./cmd/quilt
	$(BIN)/quilt-man man man/man8

.PHONY: clean
clean: ## remove build output
	rm -rf $(BIN) man/man8
