# minicloud's build. `make run` starts minicloud on its embedded simulated
# ESXi hosts; `make test` installs what the tests need and runs them all.

GO      ?= go
BIN     := bin/minicloud
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)

.PHONY: all build run test test-deps vet fmt esxi clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/minicloud

# Serve on 127.0.0.1:8787 with state in ./data and two simulated hosts.
run: build
	./$(BIN) serve

# Everything the tests need, then every test with the race detector.
test: test-deps vet
	$(GO) test -race -count=1 -timeout 12m ./...

test-deps:
	./.ci/deps

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf bin
