# minicloud's build. `make run` starts minicloud on its embedded simulated
# ESXi hosts; `make test` installs what the tests need and runs them all.

GO      ?= go
BIN     := bin/minicloud
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)

.PHONY: all build run test test-deps vet fmt esxi esxi-check esxisim-cmd bench bench-go fuzz-short clean \
	torture load

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/minicloud

# Serve on 127.0.0.1:8787 with state in ./data and two simulated hosts.
run: build
	./$(BIN) serve

# Everything the tests need, every fuzz target briefly, then every test
# with the race detector. As root, the driver's OpenSSH run (sshd and
# busybox) must not be skipped.
test: test-deps vet esxi-check bench-go fuzz-short
	MINICLOUD_OPENSSH=$$([ "$$(id -u)" = 0 ] && echo require) \
		$(GO) test -race -count=1 -timeout 12m ./...

# Every Go benchmark once, so that none stops compiling or running
# unnoticed; the figures mean nothing at one iteration. make test runs
# it before the tests.
bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count=1 ./...

# Every fuzz target for a few seconds each (about two minutes), so that a
# regression in a parser shows in CI; longer runs: FUZZTIME=10m .ci/fuzz.
fuzz-short:
	./.ci/fuzz

# minicloud's performance figures (docs/performance.md): the EC2 API
# against moto and a bare HTTP server, launches on simulated hosts,
# start-up and memory. Takes several minutes; the JSON report goes to
# bin/bench.json.
bench: build
	./$(BIN) bench -json bin/bench.json

# minicloud's reliability figures (docs/reliability.md), in runs longer
# than make test's: ten crash tortures of 200 instances each, and two
# minutes of fifty clients, then the same under host faults. Each prints
# its table; .ci/torture and .ci/load take flags for other sizes.
torture:
	./.ci/torture

load:
	./.ci/load -faults

# A static linux/amd64 minicloud to copy onto an ESXi host and run there
# (see docs/esxi-on-host.md): no cgo, so it needs no C library.
esxi:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/minicloud-esxi ./cmd/minicloud

# Prove the ESXi build is static: file(1) says so, and so does the build
# information Go records in it.
esxi-check: esxi
	@file bin/minicloud-esxi | grep -q 'statically linked' || \
		{ echo "bin/minicloud-esxi is not statically linked:"; file bin/minicloud-esxi; exit 1; }
	@$(GO) version -m bin/minicloud-esxi | grep -q 'CGO_ENABLED=0' || \
		{ echo "bin/minicloud-esxi was built with cgo"; exit 1; }
	@$(GO) version -m bin/minicloud-esxi | grep -q 'GOOS=linux' && \
		$(GO) version -m bin/minicloud-esxi | grep -q 'GOARCH=amd64' || \
		{ echo "bin/minicloud-esxi is not linux/amd64"; exit 1; }
	@echo "bin/minicloud-esxi: static linux/amd64"

# The simulated host's vim-cmd, vmkfstools, esxcli and vmware as one
# executable with a link for each, to run under sshd with ESXISIM_DIR set.
esxisim-cmd:
	$(GO) build -trimpath -o bin/esxisim/esxisim-cmd ./cmd/esxisim-cmd
	for p in vim-cmd vmkfstools esxcli vmware; do ln -sf esxisim-cmd bin/esxisim/$$p; done

test-deps:
	./.ci/deps

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf bin
