# The two commands of the README: `make run` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
.DEFAULT_GOAL := run
NODE_MODULES := node_modules/.package-lock.json
SOURCES := $(shell find src bench scripts -name '*.ts' 2>/dev/null) tsconfig.json

.PHONY: run test install browser build typecheck models contracts bench clean

# npm ci only when the lock file changed since the last install (package.json's allowScripts keeps
# onnxruntime-node's downloader, which fetches from a host this network cannot reach, from running).
# better-sqlite3 compiles SQLite from source where its prebuilt binary cannot be fetched: most of a
# fresh install (docs/BENCHMARKS.md), so node-gyp gets every core.
$(NODE_MODULES): package.json package-lock.json
	JOBS=max npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES)

dist/.built: $(NODE_MODULES) $(SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

build: dist/.built

## the gateway on embedded defaults (PORT, HOST, … see README); a failed start ends with its reason in one line
run: build
	@node bin/proofgate.js serve

## Debian's chromium, for the explorer's browser tests (test/explorer/), installed when missing
browser:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

## the whole suite: type checks (server and explorer page), lint and format (biome.json), then every test file on node's test runner (the stage rules are a test: test/dependencies/)
test: install browser
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p src/api/explorer/tsconfig.json
	npx biome check .
	node --import tsx --test --test-concurrency=1 $$(find test -name '*.test.ts' | sort)

## onnxruntime-node's CUDA provider, on demand (~180 MB download; never in install, test or CI): scripts/gpu-install.sh
.PHONY: gpu
gpu: install
	bash scripts/gpu-install.sh

## regenerate contracts/generated/, artifacts/contracts/contracts.json and src/chain/bindings/ (seconds)
contracts: build
	node bin/proofgate.js contracts build

## retrain the shipped models (~30 minutes; byte-identical for the same seed)
models: build
	node bin/proofgate.js models build

## every benchmark; each rewrites its section of docs/BENCHMARKS.md (bench/provers needs Redis and PostgreSQL)
bench: install
	for b in models gateway zk provers gas fuzz load install; do node --import tsx bench/$$b.ts || exit 1; done

clean:
	rm -rf dist
