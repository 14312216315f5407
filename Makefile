# Sundial: `make run` starts the server, `make test` runs every test.
GO ?= go

.PHONY: run build test test-go test-python test-cli temporal-cli conformance bench bench-pg bench-1m bench-schedules bench-sleepers fuzz torture torture-cluster

run:
	$(GO) run ./cmd/sundial start

build:
	$(GO) build -o bin/sundial ./cmd/sundial

# Pinned `temporal` CLI for tests/cli. v1.9.1 cannot be built with
# `go install ...@version` (its go.mod has a replace directive).
TEMPORAL_CLI_VERSION ?= v1.5.1

test: test-go test-python test-cli

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	# Fixed exec counts, not durations: with -fuzztime <duration> Go's fuzzer can
	# fail with "context deadline exceeded" when the time runs out mid-exchange
	# with a worker (seen in CI on FuzzPageToken).
	$(GO) test -count=1 -run '^$$' -fuzz FuzzDecode -fuzztime 60000x ./internal/tasktoken
	$(GO) test -count=1 -run '^$$' -fuzz FuzzParse -fuzztime 60000x ./internal/visibility
	$(GO) test -count=1 -run '^$$' -fuzz FuzzStartRequestBytes -fuzztime 30000x ./internal/frontend
	$(GO) test -count=1 -run '^$$' -fuzz FuzzPageToken -fuzztime 30000x ./internal/frontend
	$(GO) test -count=1 -run '^$$' -fuzz FuzzAuthorizationHeader -fuzztime 30000x ./internal/auth

test-python: build
	SUNDIAL_BIN=$(CURDIR)/bin/sundial bash tests/python/run.sh

# The documented `temporal` CLI commands against bin/sundial (tests/cli).
test-cli: build temporal-cli
	SUNDIAL_BIN=$(CURDIR)/bin/sundial SUNDIAL_TEMPORAL_CLI=$(CURDIR)/bin/temporal \
		$(GO) test -count=1 -timeout 10m -v ./tests/cli

# Temporal's cross-SDK feature suite (../shared/third_party/temporalio-features,
# unmodified) for go, py and ts against a fresh bin/sundial; fails on any
# outcome that differs from tests/conformance/expected-failures.txt.
# `make conformance CONFORMANCE_ARGS="py update/basic"` runs a subset.
conformance: build
	SUNDIAL_BIN=$(CURDIR)/bin/sundial bash tests/conformance/run.sh $(CONFORMANCE_ARGS)

# Installs the pinned CLI into bin/temporal (a Go build of several minutes:
# 2 with a warm build cache, 8 from a cold one on a busy 2-core machine) unless it is
# already there at that version.
temporal-cli:
	@if $(GO) version -m bin/temporal 2>/dev/null | grep -Eq '^[[:space:]]+mod[[:space:]]+github.com/temporalio/cli[[:space:]]+$(TEMPORAL_CLI_VERSION)([[:space:]]|$$)'; then \
		echo "bin/temporal: temporal CLI $(TEMPORAL_CLI_VERSION) already installed"; \
	else \
		echo "installing temporal CLI $(TEMPORAL_CLI_VERSION) into bin/temporal"; \
		GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION); \
	fi

bench: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -count 1000 -concurrency 50 -out bench-results/latest.json

# One node on Pebble and one on PostgreSQL (a throwaway server the bench
# starts: fsync and synchronous_commit on), back to back, three interleaved
# rounds of one-activity workflows at concurrency 100: throughput, latency,
# server and database CPU per workflow, medians (docs/PERFORMANCE.md).
bench-pg: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -stores pebble,postgres -repeat 3 -scenarios activity \
		-count 10000 -concurrency 100 -out bench-results/pg.json

# 60,000 schedules firing at one minute: every start within 60 s of its
# time, none missed or doubled (see docs/PERFORMANCE.md, "Schedule burst").
bench-schedules: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -scenarios schedburst -sched-count 60000 -concurrency 100 \
		-scenario-timeout 15m -out bench-results/schedules.json

# The same server on a store already holding 1,000,000 workflows (written
# directly into the data dir first, ~40 s): one-activity throughput, the
# newest-100 list and filtered counts at that size.
bench-1m: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -prefill 1000000 -scenarios activity,list,count,countqueue,countscan \
		-count 3000 -concurrency 100 -out bench-results/1m.json

# 1,000,000 open sleeping workflows (written into the store first, ~1 min):
# RSS, cold signal and query round trips, then SIGKILL, 60 s down with
# 100,000 timers coming due, restart: first RPC and a new workflow after
# exec, and when the due timers fired (issue 15; docs/PERFORMANCE.md).
bench-sleepers: build
	$(GO) run ./cmd/sundial-bench -server-bin ./bin/sundial -scenarios sleepers -sleepers 1000000 -sleepers-due 100000 \
		-downtime 60s -out bench-results/sleepers.json

# Long crash torture: 200 SIGKILLs under a mixed SDK load (~7 minutes).
torture: build
	$(GO) run ./cmd/sundial-torture -server-bin ./bin/sundial -kills 200 -kill-min 300ms -kill-max 1500ms -workflows 300 -concurrency 30

# Cluster crash torture: 3 nodes on a throwaway PostgreSQL (Debian's postgresql
# package; SUNDIAL_TEST_PG_PORTS=lo-hi confines its port), 50 SIGKILLs of
# random nodes under the mixed load (~3 minutes). docs/CLUSTER.md.
torture-cluster: build
	$(GO) run ./cmd/sundial-torture -server-bin ./bin/sundial -nodes 3 -postgres auto -lease-period 1s -kills 50 -kill-min 1s -kill-max 3s -down-max 2s -workflows 300 -concurrency 30

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 2m ./internal/tasktoken
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 2m ./internal/visibility
	for f in FuzzValidateStart FuzzStartRequestBytes FuzzUpdateRequestBytes FuzzMultiOperationBytes FuzzPageToken; do \
		$(GO) test -run '^$$' -fuzz $$f -fuzztime 1m ./internal/frontend || exit 1; done
	$(GO) test -run '^$$' -fuzz FuzzAuthorizationHeader -fuzztime 1m ./internal/auth
