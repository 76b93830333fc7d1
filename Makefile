# Orbiter developer tasks. Every target sets up .venv first when needed.
#
#   make run                 migrate, then serve on $HOST:$PORT (default 127.0.0.1:8000)
#   make test ARGS="-k auth" the suite against embedded backends and real services
#   make lint | format | bench | migrate | check | clean
#
# `run` and `migrate` install only what serving needs (`pip install -e .`); test, lint,
# format and bench add the development tools (`.[dev]`). Each install is redone only when
# pyproject.toml is newer than its stamp.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --disable-pip-version-check --quiet
ARGS   ?=

.PHONY: run test lint format bench migrate check clean venv

# Create the virtualenv once; `rm -rf` a half-made one so the next run starts over.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is required" >&2; exit 1; }
	@echo "creating $(VENV) (first run)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "creating $(VENV) failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing Orbiter and what it needs to serve into $(VENV) (first run, or pyproject.toml changed)..."
	@$(PIP) -e .
	@touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing Orbiter with the development tools into $(VENV) (first run, or pyproject.toml changed)..."
	@$(PIP) -e '.[dev]'
	@touch $(DEV_STAMP) $(RUN_STAMP)

venv: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/orbiter migrate
	$(BIN)/orbiter serve

migrate: $(RUN_STAMP)
	$(BIN)/orbiter migrate

check: $(RUN_STAMP)
	$(BIN)/orbiter check

test: $(DEV_STAMP)
	$(BIN)/python scripts/run_tests.py $(ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_STAMP)
	@# Every bench runs even when one misses its target; the exit status says whether any did.
	@status=0; for bench in http_overhead.py blobs.py drift.py streaming.py \
		"streaming.py --anthropic"; do \
		$(BIN)/python bench/$$bench || status=1; \
	done; exit $$status

# Removes caches and build output; keeps .venv and your local data in .data.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
