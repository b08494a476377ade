# Set-up is part of every target: a fresh machine needs only `make run` or `make test`.
# Each step is a file target, so a second run installs nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
SOLC_VERSION := 0.8.28
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
BROWNIE_NETWORK := vcl-dev

# Everything below runs with the project's own tools first on PATH.
export PATH := $(CURDIR)/$(TOOLS)/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
# Hypothesis and Brownie keep their data in the project, not in $HOME.
export HYPOTHESIS_STORAGE_DIRECTORY := $(CURDIR)/.hypothesis

CONTRACT_SOURCES := $(shell find contracts interfaces -name '*.sol' 2>/dev/null)
PY_SOURCES := vcl vcl_cli oracle node_api localnet benchmarks scripts tests deploy

.PHONY: help setup run test lint slither gas bench-oracle bench-api bench-load test-python test-contracts compile clean

help:
	@echo "make run             set up, then start the local consortium (RUN_ARGS=--fresh starts over; Ctrl-C stops it)"
	@echo "make test            set up, then run every lint and test (lint, slither, test-python, test-contracts)"
	@echo "make setup           install what is missing: .venv, node_modules, solc, anvil, Brownie's network"
	@echo "make compile         compile the contracts into build/contracts"
	@echo "make lint            ruff, mypy, solhint, prettier"
	@echo "make slither         static analysis of the contracts"
	@echo "make test-python     the Python tests (pytest)"
	@echo "make test-contracts  the contract tests (Brownie on anvil)"
	@echo "make gas             rewrite docs/gas.md from measured gas"
	@echo "make bench           every benchmark, then docs/benchmarks.md"
	@echo "make bench-oracle    the oracle's updates per second (docs/oracle-benchmark.md)"
	@echo "make bench-api       the node API's reads, verifications, indexing (docs/api-benchmark.md)"
	@echo "make bench-load      the local consortium under load (docs/load-benchmark.md; LOAD_ARGS)"
	@echo "make screenshots     regenerate the dashboard screenshots in docs/screenshots/"
	@echo "make clean           remove build output and installed tools"

setup: $(VENV)/.installed node_modules/.installed .solcx/solc-v$(SOLC_VERSION) $(TOOLS)/bin/anvil brownie-network

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# A native solc of the pinned version when one is installed, else the WebAssembly build.
.solcx/solc-v$(SOLC_VERSION): tools/solc-wasm.cjs | node_modules/.installed
	mkdir -p .solcx
	if command -v solc >/dev/null && solc --version | grep -q "Version: $(SOLC_VERSION)+"; then \
	  ln -sf "$$(command -v solc)" $@; \
	else \
	  ln -sf ../tools/solc-wasm.cjs $@; \
	fi
	$@ --version | grep -q "Version: $(SOLC_VERSION)+"

# The native anvil binary shipped inside the npm package, without its node wrapper.
$(TOOLS)/bin/anvil: | node_modules/.installed
	mkdir -p $(TOOLS)/bin
	ln -sf ../../node_modules/@foundry-rs/anvil-linux-$$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')/bin/anvil $@
	$@ --version >/dev/null

# Brownie keeps networks in ~/.brownie; its project config cannot override cmd_settings.
brownie-network: $(VENV)/.installed
	@grep -qs "id: $(BROWNIE_NETWORK)" ~/.brownie/network-config.yaml || \
	  $(BIN)/brownie networks add Development $(BROWNIE_NETWORK) cmd=anvil host=http://127.0.0.1 \
	    port=8555 chain_id=1337 gas_limit=30000000 gas_price=0 base_fee=0 evm_version=cancun accounts=10 >/dev/null

# Slither in its own environment, compiling offline through the same solc (standard JSON).
$(TOOLS)/slither/.installed: tools/slither.lock
	test -x $(TOOLS)/slither/bin/python || $(PYTHON) -m venv $(TOOLS)/slither
	$(TOOLS)/slither/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r tools/slither.lock
	touch $@

# Schemathesis in its own environment too: it needs a newer Hypothesis than Brownie's pin.
$(TOOLS)/schemathesis/.installed: tools/schemathesis.lock
	test -x $(TOOLS)/schemathesis/bin/python || $(PYTHON) -m venv $(TOOLS)/schemathesis
	$(TOOLS)/schemathesis/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r tools/schemathesis.lock
	touch $@

slither: setup $(TOOLS)/slither/.installed
	$(TOOLS)/slither/bin/slither contracts --solc-standard-json --solc .solcx/solc-v$(SOLC_VERSION) \
	  --solc-remaps "@openzeppelin=node_modules/@openzeppelin" --solc-args "--evm-version cancun" \
	  --filter-paths node_modules --exclude-informational --exclude-low --exclude-optimization \
	  --fail-medium

build/.compiled: $(CONTRACT_SOURCES) brownie-config.yaml | setup
	$(BIN)/brownie compile >/dev/null
	touch $@

compile: build/.compiled

run: setup compile
	$(BIN)/vcl localnet up $(RUN_ARGS)

lint: setup
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy
	solhint --max-warnings 0 'contracts/**/*.sol' 'interfaces/**/*.sol'
	prettier --check 'contracts/**/*.sol' 'interfaces/**/*.sol'

# Two workers (pytest-xdist), a test file each at a time: its module fixtures stay in one
# process; most tests wait on a chain or a node, so the suite takes about two thirds as long.
PYTEST_WORKERS ?= 2
test-python: setup compile $(TOOLS)/schemathesis/.installed
	$(BIN)/pytest -c tests/python/pytest.ini tests/python -n $(PYTEST_WORKERS) --dist loadfile

# Brownie starts anvil with our HOME, and anvil leaves the block states it spills under
# $$HOME/.foundry for good: the tests run with a HOME of their own (Brownie's ~/.brownie linked
# in), removed after them.
test-contracts: setup compile
	@home=$$(mktemp -d) && ln -s "$$HOME/.brownie" "$$home/.brownie" && \
	  HOME=$$home $(BIN)/brownie test tests/contracts --network $(BROWNIE_NETWORK); \
	  status=$$?; rm -rf "$$home"; exit $$status

test: lint slither test-python test-contracts

# Benchmarks (not tests): figures go to reports/ (ignored); docs/*-benchmark.md record them.
# `make bench` runs them all and writes their summary, docs/benchmarks.md.
.PHONY: bench
bench: bench-oracle bench-api bench-load gas
	$(BIN)/python -m benchmarks.summary --out docs/benchmarks.md

bench-oracle: setup compile
	$(BIN)/python -m benchmarks.oracle --vehicles 5000 --out reports/oracle-benchmark.json

# Node API: read latency at fixed rates, verifications/s, events indexed/s (docs/api-benchmark.md).
bench-api: setup compile
	$(BIN)/python -m benchmarks.api --out reports/api-benchmark.json

# The local consortium under load: writes and reads at fixed rates for 60 s, indexer lag, every
# node's database checked against the chain (docs/load-benchmark.md). LOAD_ARGS adds options.
bench-load: setup compile
	$(BIN)/python -m benchmarks.load --out reports/load-benchmark.json $(LOAD_ARGS)

# Regenerate the committed gas table (docs/gas.md).
gas: setup compile
	$(BIN)/brownie test tests/contracts/test_gas_budget.py --network $(BROWNIE_NETWORK)
	mkdir -p docs && cp build/gas-table.md docs/gas.md

clean:
	rm -rf build .solcx $(TOOLS) .pytest_cache .mypy_cache .ruff_cache

# The dashboard's browser tests (tests/python/dashboard) drive Debian's Chromium through
# Playwright (executable_path; Playwright's own browser download is never used).
/usr/bin/chromium:
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get install -y --no-install-recommends chromium || \
	  { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends chromium; }
	test -x $@

test-python: /usr/bin/chromium

# Regenerate the dashboard's screenshots (docs/screenshots/) on a throw-away chain and node.
.PHONY: screenshots
screenshots: setup compile /usr/bin/chromium
	$(BIN)/python tests/python/dashboard/demo.py
