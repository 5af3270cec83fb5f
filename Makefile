# pdiffagent: make build | test | demo | bench | fuzz | soak | clean
#
# `make test` needs only Go and make; it runs in a few minutes on 2 cores.

GO        ?= go
BIN       := bin/pdiffagent
DEMO_DIR  ?= demo-data
DEMO_SIZE ?= 1G
BENCH_SIZE ?= 2G
BENCH_ROUNDS ?= 10
BENCH_REPEAT ?= 2
BENCH_PATTERNS ?= random,insert,inserts,pages
# Bytes the insert pattern inserts into the copy, a round each (the sync
# deletes them: 4 KiB, less than a block; 2 MiB, more than one; 8 MiB, more
# than two batches).
BENCH_INSERT_LEN ?= 4K,2M,8M
BENCH_SIZES ?= 1G,2G,4G,8G
BENCH_FLAGS ?=
# The tree case's sizes (1: the issue's 3.5 GiB tree; 0.01 for a quick run).
BENCH_TREE_SCALE ?= 1
# Per package: a guard against a hang, not a budget. cmd/pdiffagent's process
# tests take about 1.5 min on a quiet 2-core machine and measured 3-4 min on
# one shared with other builds; agent under -race took 6 min at load 12
# (four other builds and benchmarks on the same 2 cores).
TEST_TIMEOUT ?= 9m
FUZZ_TIME ?= 60s
# Packages with concurrency, tested again under the race detector.
RACE_PKGS := ./engine/... ./agent/... ./sysio/... ./bench/...

.NOTPARALLEL:
.PHONY: build man test test-sshd fmt-check vet unit race fuzz-smoke fuzz demo bench bench-scale bench-rsync soak clean

# The go command stamps the commit into the binary (pdiffagent version) when
# it can; COMMIT covers the builds it cannot (git worktrees, GOFLAGS with
# -buildvcs=false).
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +modified)

build:
	$(GO) build -buildvcs=auto -ldflags "-X main.buildCommit=$(COMMIT)" -o $(BIN) ./cmd/pdiffagent

# A man page per command (pdiffagent.1, pdiffagent-push.1, …) in MANDIR,
# generated from the commands' help (cobra/doc): man -l bin/man/pdiffagent.1
MANDIR ?= bin/man
man: build
	$(BIN) man $(MANDIR)
	@ls $(MANDIR)

test: fmt-check vet test-sshd unit race fuzz-smoke

# cmd's TestSSHTransport runs push and pull through a real sshd (127.0.0.1,
# key-only, started and stopped by the test): install openssh-server with
# apt-get when it is missing and we are root (as CI is); otherwise the test
# installs it itself or says why it skips.
test-sshd:
	@test -x /usr/sbin/sshd || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "== installing openssh-server: apt-get install -y openssh-server"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-server >/dev/null 2>&1 || \
			{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-server >/dev/null 2>&1; } || \
			echo "== openssh-server could not be installed; TestSSHTransport will say why it skips"; \
		else \
			echo "== sshd is missing (install openssh-server, or run make test as root); TestSSHTransport will skip"; \
		fi; }

fmt-check:
	@out=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); \
	if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

race:
	@pkgs=$$($(GO) list $(RACE_PKGS) 2>/dev/null); \
	if [ -n "$$pkgs" ]; then set -x; $(GO) test -race -timeout $(TEST_TIMEOUT) $$pkgs; fi

# Every fuzz target of every package briefly (FUZZ_TIME=5s), or for a
# minute each (`make fuzz`). Seed corpora: <pkg>/testdata/fuzz/<target>/;
# a failing input found is written there too. FUZZ_MINIMIZE bounds the time
# spent shrinking each new input (the default, 60s, can stall a short run).
FUZZ_MINIMIZE ?= 5s
FUZZ_PKGS = $(sort $(dir $(shell grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata '^func Fuzz' .)))

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=5s

# Go 1.26's fuzzing coordinator can end a run whose -fuzztime ran out
# while a worker was mid-input with a bare "context deadline exceeded"
# and no failing input (golang/go#75804, fixed in Go 1.27): such a run is
# tried once more; a failure that wrote an input, or any other, fails.
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for p in $(FUZZ_PKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			for try in 1 2; do \
				echo "fuzz $$p $$f for $(FUZZ_TIME)"; \
				if $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(FUZZ_TIME) -fuzzminimizetime=$(FUZZ_MINIMIZE) $$p >$$log 2>&1; then cat $$log; break; fi; \
				cat $$log; \
				if [ $$try = 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
					echo "fuzz $$p $$f: the coordinator's deadline race (golang/go#75804), no failing input: once more"; continue; \
				fi; \
				exit 1; \
			done; \
		done; \
	done

# A 1 GiB random file and a copy with 10% of its 1 MiB blocks changed; a
# local sync, then a real listen + push (TCP, QUIC) + pull on loopback. Every
# result is checked with cmp. The data stays in $(DEMO_DIR) (not tmpfs).
demo: build
	BIN=$(BIN) DEMO_DIR=$(DEMO_DIR) DEMO_SIZE=$(DEMO_SIZE) bash bench/demo.sh

# The full comparison: $(BENCH_SIZE) of random data, changed 10%..100% in
# $(BENCH_ROUNDS) rounds (plus one insertion 1 MiB in of each of
# $(BENCH_INSERT_LEN), 100 insertions of
# 100 bytes, and 100 and 1000 rewritten 8 KiB
# pages), local sync, push over TCP and
# QUIC and rsync side by side, each the best of $(BENCH_REPEAT) runs, with the
# floors, then the tree case (2,000 small files and three of 512 MiB, times
# $(BENCH_TREE_SCALE), pushed as a tree and with rsync -a; 7 GiB of work
# files). Writes bench/results/latest.{txt,md,json,csv,svg} and timestamped
# copies. Takes about 10 minutes on 2 cores, plus the tree case. Then the
# 100-page round again with -m blake3, tcp against rsync, the best of 3
# (its 0.9x goal; under a minute): bench/results/blake3/latest.*.
bench: build bench-rsync
	@mkdir -p bench/results bench/work
	$(BIN) bench --size $(BENCH_SIZE) --rounds $(BENCH_ROUNDS) --repeat $(BENCH_REPEAT) \
		--pattern $(BENCH_PATTERNS) --insert-len $(BENCH_INSERT_LEN) --vs-rsync --tree --tree-scale $(BENCH_TREE_SCALE) \
		--dir bench/work --out bench/results $(BENCH_FLAGS)
	@mkdir -p bench/results/blake3
	$(BIN) bench --size $(BENCH_SIZE) --repeat 3 --pattern pages --pages 100 --tools tcp --vs-rsync -m blake3 \
		--dir bench/work --out bench/results/blake3 $(BENCH_FLAGS)

# How time and peak memory grow with the file size (16 GiB of work files
# at 8G; about 10 minutes): bench/results/scale/latest.*.
bench-scale: build
	@mkdir -p bench/results/scale bench/work
	$(BIN) bench --sizes $(BENCH_SIZES) --changed 10%,100% --repeat $(BENCH_REPEAT) \
		--dir bench/work --out bench/results/scale $(BENCH_FLAGS)

# rsync for the comparison: installed with apt-get when missing and root;
# otherwise the bench says that the RSYNC column is skipped, and why.
bench-rsync:
	@command -v rsync >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "== installing rsync: apt-get install -y rsync"; \
			apt-get install -y rsync >/dev/null 2>&1 || \
			{ apt-get update >/dev/null 2>&1 && apt-get install -y rsync >/dev/null 2>&1; } || \
			echo "== rsync could not be installed; the RSYNC column will be skipped"; \
		else \
			echo "== rsync is missing (install it, or run make bench as root); the RSYNC column will be skipped"; \
		fi; }

# Long-running tests, behind the soak build tag: agent's TestSoak runs
# PDIFF_SOAK_TIME (default 2m) of concurrent pushes and pulls; its
# TestHostileSoak as long of a hostile client (floods, repeated blocks,
# sessions that never gather) against a server in its own process, which
# must keep serving a legitimate client and stay within its memory budget.
soak:
	$(GO) test -tags soak -run Soak -count=1 -v -timeout 30m ./...

clean:
	rm -rf bin $(DEMO_DIR) bench/work
