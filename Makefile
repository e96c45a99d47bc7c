# Switchboard — the two commands that matter are `make run` and `make test`.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOBIN         := $(shell $(GO) env GOPATH)/bin
PKGS          := ./...

.PHONY: run build test smoke lint bench e2e fuzz deps clean

## run: start the gateway with the embedded store; console at http://localhost:8080/agent/
run:
	$(GO) run ./cmd/switchboard serve

## build: one static binary in ./switchboard
build:
	CGO_ENABLED=0 $(GO) build -o switchboard ./cmd/switchboard

## deps: install the system packages the tests need (as root), or say how
deps:
	.ci/install-deps redis

## test: every Go test with the race detector, against a real redis-server
test: deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## smoke: 3 gateways, a few hundred contacts, one gateway SIGKILLed mid-run;
## fails unless nothing was lost, duplicated or offered twice (no timings)
smoke: deps build
	$(GO) build -o loadgen ./cmd/loadgen
	.ci/smoke ./switchboard ./loadgen

## lint: gofmt, go vet and staticcheck must all be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@test -x $(GOBIN)/staticcheck || $(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck $(PKGS)

## bench: the routing and realtime benchmarks (figures go to docs/benchmarks.md)
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

## e2e: browser tests in headless Chromium (Playwright)
e2e: deps
	@if [ -f e2e/package.json ]; then .ci/install-deps browser && cd e2e && npm ci --no-audit --no-fund && npm test; else echo "no browser tests yet"; fi

clean:
	rm -f switchboard loadgen
