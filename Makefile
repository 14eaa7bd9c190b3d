# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MKTFLOW_DATA_DIR ?= $(CURDIR)/.mktflow
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: install demo test lint unit bench serve clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create the virtual environment and install mktflow with pinned versions

demo: install  ## migrate, load the demo organisation, run the main job on SQLite + local Prefect
	$(BIN)/mktflow db upgrade
	$(BIN)/mktflow org load --demo
	$(BIN)/mktflow demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint  ## lint, type-check and run every test (PostgreSQL must be up: .ci/run starts it)
	$(BIN)/pytest -q -p no:cacheprovider --durations=20

unit: install  ## the fast tests only
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

# `mktflow serve` starts the local Prefect server of the data folder when no Prefect API is
# configured, prints the UI link, and on Ctrl-C stops the runner and the server it started.
serve: install  ## serve every deployment with its schedule on the local Prefect server
	$(BIN)/mktflow db upgrade
	$(BIN)/mktflow serve

bench: install  ## run the benchmarks (PostgreSQL must be up); results go in the README
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/outbox_drain.py
	$(BIN)/python bench/outbox_drain.py --database postgresql

clean:
	rm -rf $(VENV) .mktflow *.egg-info
