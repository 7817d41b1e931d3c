# Marquee's everyday commands. `make demo` runs the whole system on the
# embedded default with synthetic data and serves it on :8080; `make test`
# runs every test.

GO       ?= go
BIN      := bin/marquee
WORKDIR  ?= marquee-data
ADDR     ?= :8080

.PHONY: build demo test test-short bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/marquee

# Generate a seeded synthetic catalog and event log (idempotent: the same seed
# writes the same data), run every pipeline stage, then serve the API on
# ADDR. The demo signs access tokens with a random secret unless
# MARQUEE_JWT_SECRET is set, so its sessions end when it stops, and it
# serves every user's recommendations without a token, so that
# /v1/users/u00001/recommendations answers curl.
demo: build
	$(BIN) --workdir $(WORKDIR) data generate --seed 1
	$(BIN) --workdir $(WORKDIR) pipeline run
	$(BIN) --workdir $(WORKDIR) serve --addr $(ADDR) --dev-ephemeral-secret --public-user-recommendations

# Every test. Integration tests read MARQUEE_TEST_CASSANDRA and
# MARQUEE_TEST_REDIS and skip without them, except under CI=true.
test:
	$(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench/pipeline.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
