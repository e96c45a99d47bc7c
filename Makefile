# Switchboard — the two commands that matter are `make run` and `make test`.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOBIN         := $(shell $(GO) env GOPATH)/bin
PKGS          := ./...
# BUILD_FLAGS are make build's and the image's (deploy/Dockerfile; a test checks they agree).
BUILD_FLAGS   := -trimpath -ldflags='-s -w'
IMAGE         ?= switchboard:latest
DOCKER        ?= docker
# The suites that also run on a 3-master Redis Cluster (redistest.BackendEnv).
CLUSTER_PKGS  := ./routing ./internal/conversation ./internal/auth

.PHONY: run build image test test-s3 smoke lint bench e2e fuzz deps clean voice-sdk

## run: start the gateway with the embedded store; console at http://localhost:8080/agent/
run:
	$(GO) run ./cmd/switchboard serve

## build: one static binary in ./switchboard, built as the image builds it
build:
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o switchboard ./cmd/switchboard

## image: the container image (deploy/Dockerfile: static binary, distroless, non-root)
image:
	@command -v $(DOCKER) >/dev/null || { echo "make image needs $(DOCKER) (or DOCKER=podman); CI checks the Dockerfile with deploy's tests instead"; exit 1; }
	$(DOCKER) build -f deploy/Dockerfile -t $(IMAGE) .

## deps: install the system packages the tests need (redis-server, dovecot) as root, or say how
deps:
	.ci/install-deps redis imap

## test: every Go test with the race detector, against a real redis-server; then the Redis
## suites (routing, conversations, auth, the stats fold of two gateways) again on a real
## 3-master Redis Cluster (the Sentinel failovers run in the first pass only)
test: deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	SWITCHBOARD_TEST_REDIS=cluster $(GO) test -race -count=1 -timeout 20m -skip 'Sentinel' $(CLUSTER_PKGS)
	SWITCHBOARD_TEST_REDIS=cluster $(GO) test -race -count=1 -timeout 10m -run 'TwoGatewaysShowIdenticalFigures' ./internal/app

## smoke: 3 gateways, a few hundred contacts, one gateway SIGKILLed mid-run;
## fails unless nothing was lost, duplicated or offered twice (no timings)
smoke: deps build
	$(GO) build -o loadgen ./cmd/loadgen
	.ci/smoke ./switchboard ./loadgen

## test-s3: the attachment store against a real S3 server (SeaweedFS, built once per machine
## into ~/.cache/switchboard by .ci/build-seaweedfs: about 7 minutes the first time)
test-s3: deps
	SWITCHBOARD_SEAWEEDFS=$$(.ci/build-seaweedfs) $(GO) test -race -count=1 -tags s3 -timeout 10m ./internal/s3store

## lint: gofmt, go vet, staticcheck and the OpenAPI linter (Redocly CLI) must all be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@test -x $(GOBIN)/staticcheck || $(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck $(PKGS)
	@# info-license: the project has not named the license the API is
	@# published under; the document is otherwise held to every rule.
	@# Redocly CLI is pinned in e2e/package-lock.json next to the browser
	@# tests' playwright-core, so one npm ci serves both.
	@test -x e2e/node_modules/.bin/redocly || { .ci/install-deps node && cd e2e && npm ci --no-audit --no-fund; }
	e2e/node_modules/.bin/redocly lint --skip-rule info-license docs/openapi.yaml

## bench: the routing and realtime benchmarks (figures go to docs/benchmarks.md)
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

## e2e: browser tests in headless Chromium (Playwright); the gateway test runs on one
## redis-server and again on a real 3-master Redis Cluster
e2e: deps
	@if [ -f e2e/package.json ]; then .ci/install-deps browser && cd e2e && npm ci --no-audit --no-fund && npm test; else echo "no browser tests yet"; fi

## voice-sdk: rebuild the console's softphone bundle from the Twilio Voice JS SDK pinned in agentui/voicesdk/package-lock.json
voice-sdk:
	cd agentui/voicesdk && npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p agentui/static/vendor
	cp agentui/voicesdk/node_modules/@twilio/voice-sdk/dist/twilio.min.js agentui/static/vendor/twilio.min.js

clean:
	rm -f switchboard loadgen
