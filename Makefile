# pdiffagent: make build | test | demo | bench | fuzz | soak | clean
#
# `make test` needs only Go and make; it runs in a few minutes on 2 cores.

GO        ?= go
BIN       := bin/pdiffagent
DEMO_DIR  ?= demo-data
DEMO_SIZE ?= 1G
BENCH_SIZE ?= 2G
BENCH_CHANGED ?= 0%,1%,10%,50%,100%
TEST_TIMEOUT ?= 3m
FUZZ_TIME ?= 60s
# Packages with concurrency, tested again under the race detector.
RACE_PKGS := ./engine/... ./agent/... ./sysio/... ./bench/...

.NOTPARALLEL:
.PHONY: build test fmt-check vet unit race fuzz-smoke fuzz demo bench soak clean

build:
	$(GO) build -o $(BIN) ./cmd/pdiffagent

test: fmt-check vet unit race fuzz-smoke

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

# Each wire fuzz target briefly (FUZZ_TIME=5s), or for a minute (`make fuzz`).
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=5s

fuzz:
	@set -e; for f in $$($(GO) test -list '^Fuzz' ./wire/ | grep '^Fuzz'); do \
		echo "fuzz $$f for $(FUZZ_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(FUZZ_TIME) ./wire/; \
	done

# A 1 GiB random file and a copy with 10% of its 1 MiB blocks changed; a
# local sync, then a real listen + push (TCP, QUIC) + pull on loopback. Every
# result is checked with cmp. The data stays in $(DEMO_DIR) (not tmpfs).
demo: build
	BIN=$(BIN) DEMO_DIR=$(DEMO_DIR) DEMO_SIZE=$(DEMO_SIZE) bash bench/demo.sh

# Local benchmark; the table and a JSON report go to bench/results/.
bench: build
	@mkdir -p bench/results bench/work
	@stamp=$$(date +%Y%m%d-%H%M%S); \
	{ $(BIN) bench --size $(BENCH_SIZE) --changed $(BENCH_CHANGED) --dir bench/work \
		--save bench/results/local-$$stamp.json; echo $$? > bench/work/status; } \
		| tee bench/results/local-$$stamp.txt; \
	exit $$(cat bench/work/status)

# Long-running tests, behind the soak build tag.
soak:
	$(GO) test -tags soak -run Soak -timeout 2h ./...

clean:
	rm -rf bin $(DEMO_DIR) bench/work
