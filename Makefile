# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MKTFLOW_DATA_DIR ?= $(CURDIR)/.mktflow
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
# mkdocs-material's notice about its successor, printed on every build
export NO_MKDOCS_2_WARNING ?= 1
# Python keeps the compiled bytecode of mktflow's own sources (installed editable, so uv's
# --compile-bytecode does not reach them) and of the tests: an environment that says
# PYTHONDONTWRITEBYTECODE made every process the tests start compile mktflow again (about 1 s
# of CPU per `mktflow` command) and every pytest worker rewrite every test module.
unexport PYTHONDONTWRITEBYTECODE
# The browser of the end-to-end tests: Debian's chromium, driven by Playwright (never downloaded).
export MKTFLOW_TEST_CHROMIUM ?= /usr/bin/chromium

.PHONY: install chromium demo test lint messages docs unit e2e bench serve clean

# uv (pinned in constraints.txt, installed by the venv's pip) installs the rest: the same pinned
# versions as pip, in about 18 s where pip took about 60 s on the 2-core machine. Compiled to
# bytecode at install, as pip does: without it, every process the tests start (CLI commands,
# flow runs, Prefect servers) compiled Prefect's sources again (run W: 19 min instead of 15).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create the virtual environment and install mktflow with pinned versions

# Only the tests need a browser. As root (CI, containers) install Debian's package, waiting for
# a running apt, with a CJK font for the Chinese pages' screenshots (fonts-wqy-zenhei);
# otherwise say what to do.
chromium:  ## make sure the e2e tests' browser is there (Debian's chromium package)
	@if [ -x "$(MKTFLOW_TEST_CHROMIUM)" ] && [ -n "$$(fc-list :lang=zh 2>/dev/null)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium and a CJK font for the e2e tests"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    chromium fonts-wqy-zenhei; \
	elif [ -x "$(MKTFLOW_TEST_CHROMIUM)" ]; then \
	  echo "warning: no CJK font: the Chinese screenshots show boxes; run" \
	       "'sudo apt-get install -y fonts-wqy-zenhei'" >&2; \
	else \
	  echo "error: the e2e tests need Chromium at $(MKTFLOW_TEST_CHROMIUM): run" \
	       "'sudo apt-get install -y chromium' (Debian/Ubuntu) or set MKTFLOW_TEST_CHROMIUM" \
	       "to a Chromium binary" >&2; \
	  exit 1; \
	fi

demo: install  ## migrate, load the demo organisation, run the main job on SQLite + local Prefect
	$(BIN)/mktflow db upgrade
	$(BIN)/mktflow org load --demo
	$(BIN)/mktflow demo

messages: install  ## extract the pages' and notices' messages, merge them into each catalogue
	$(BIN)/python -m mktflow.i18n.catalog

lint: install  ## ruff, mypy and a strict build of the docs site
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mkdocs build --strict --quiet

docs: install  ## build the docs site into site/ (open site/index.html)
	$(BIN)/mkdocs build --strict

# pytest-xdist workers: tests mostly wait on servers, so more workers than the 2 cores keep
# them busy; the end-to-end tests are one unit and the flow tests three (lanes), each run in
# order by one worker (tests/conftest.py), so only those workers start Prefect servers.
TEST_WORKERS ?= 6

# The lint runs beside the tests rather than before them; its output is printed after theirs,
# and either failing fails `make test`. Before the workers start, one collection writes the
# test modules' assertion-rewritten bytecode, which every worker then reads: on a new clone
# each of the six workers otherwise rewrote all of them itself (a worker's collection took
# 9.6 CPU-s without that bytecode and 4.1 CPU-s with it, measured 2026-12-07); a collection
# error is the test run's to report.
test: install chromium  ## lint, type-check and run every test (PostgreSQL must be up: .ci/run starts it)
	@log=$$(mktemp); ( $(MAKE) --no-print-directory lint >"$$log" 2>&1 ) & lint=$$!; \
	$(BIN)/python -m compileall -q -j 0 mktflow flows deployments bench >/dev/null; \
	$(BIN)/pytest -q -p no:cacheprovider --collect-only >/dev/null 2>&1; \
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --durations=20; tests=$$?; \
	wait $$lint; linted=$$?; echo "== make lint (run beside the tests)"; cat "$$log"; \
	rm -f "$$log"; [ $$linted -eq 0 ] || echo "make test: make lint failed (above)"; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

unit: install  ## the fast tests only
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

e2e: install chromium  ## only the end-to-end tests: mktflow serve, the Prefect UI in Chromium
	$(BIN)/pytest -q -p no:cacheprovider tests/e2e

# `mktflow serve` starts the local Prefect server of the data folder when no Prefect API is
# configured, serves the REST API on MKTFLOW_API_URL's port, prints the UI and API links, and
# on Ctrl-C stops what it started (schedules stay active).
serve: install  ## serve every deployment with its schedule, and the REST API
	$(BIN)/mktflow db upgrade
	$(BIN)/mktflow serve

# Every benchmark of bench/ (python -m bench): JSON records to bench/results/, then the table of
# docs/benchmarks.md between its bench markers. QUICK=1: fewer rows and runs.
bench: install  ## run the benchmarks (PostgreSQL must be up); QUICK=1 for the quick mode
	$(BIN)/python -m bench $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .mktflow *.egg-info site
