# Sundial: `make run` starts the server, `make test` runs every test.
GO ?= go

.PHONY: run build test test-go test-python bench fuzz torture

run:
	$(GO) run ./cmd/sundial start

build:
	$(GO) build -o bin/sundial ./cmd/sundial

test: test-go test-python

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -run '^$$' -fuzz FuzzDecode -fuzztime 10s ./internal/tasktoken
	$(GO) test -count=1 -run '^$$' -fuzz FuzzParse -fuzztime 10s ./internal/visibility
	$(GO) test -count=1 -run '^$$' -fuzz FuzzStartRequestBytes -fuzztime 5s ./internal/frontend
	$(GO) test -count=1 -run '^$$' -fuzz FuzzPageToken -fuzztime 5s ./internal/frontend

test-python: build
	SUNDIAL_BIN=$(CURDIR)/bin/sundial bash tests/python/run.sh

bench: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -count 1000 -concurrency 50 -out bench-results/latest.json

# Long crash torture: 200 SIGKILLs under a mixed SDK load (~7 minutes).
torture: build
	$(GO) run ./cmd/sundial-torture -server-bin ./bin/sundial -kills 200 -kill-min 300ms -kill-max 1500ms -workflows 300 -concurrency 30

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 2m ./internal/tasktoken
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 2m ./internal/visibility
	for f in FuzzValidateStart FuzzStartRequestBytes FuzzUpdateRequestBytes FuzzMultiOperationBytes FuzzPageToken; do \
		$(GO) test -run '^$$' -fuzz $$f -fuzztime 1m ./internal/frontend || exit 1; done
