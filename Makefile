# Orbiter developer tasks. Every target sets up .venv first when needed.
#
#   make run                 migrate, then serve on $HOST:$PORT (default 127.0.0.1:8000)
#   make test ARGS="-k auth" the suite against embedded backends and real services
#   make lint | format | bench | migrate | check | clean
#   make lock                re-resolve the lock files after a change to pyproject.toml
#   make lock LOCK_ARGS=--upgrade   ... and move every pin to the newest release allowed
#
# Installs come from the lock files, hash-checked, then Orbiter itself without dependencies:
# `run`, `migrate` and `check` install requirements.lock (what serving needs); test, lint,
# format and bench install requirements-dev.lock (the same pins plus the development tools).
# Each install is redone only when pyproject.toml or its lock file is newer than its stamp.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --disable-pip-version-check --quiet
ARGS   ?=
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION := 0.13.9
UV_STAMP := $(VENV)/.installed-uv-$(UV_VERSION)
# One resolution for every platform, from Python 3.11 up, with the hash of every file.
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"
# LOCK_ARGS: e.g. --upgrade, or --upgrade-package fastapi; by default pins move only as needed.
LOCK_ARGS ?=

.PHONY: run test lint format bench migrate check clean venv lock

# Create the virtualenv once; `rm -rf` a half-made one so the next run starts over.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is required" >&2; exit 1; }
	@echo "creating $(VENV) (first run)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "creating $(VENV) failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }

# The lock is the whole resolution, so pip installs it as is (--no-deps: pip's hash mode refuses
# a dependency named with extras, e.g. githubkit's `hishel[async,httpx]`, even when the lock pins
# it); `pip check` then catches a lock older than pyproject.toml (a dependency it does not hold).
define install_locked
	@$(PIP) --require-hashes --no-deps -r $(1)
	@$(PIP) --no-deps -e .
	@$(BIN)/python -m pip check --disable-pip-version-check >/dev/null || { \
		$(BIN)/python -m pip check --disable-pip-version-check >&2; \
		echo "$(1) does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
endef

$(RUN_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	@echo "installing Orbiter and what it needs to serve ($(LOCK)) into $(VENV) (first run, or pyproject.toml or the lock changed)..."
	$(call install_locked,$(LOCK))
	@touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	@echo "installing Orbiter with the development tools ($(DEV_LOCK)) into $(VENV) (first run, or pyproject.toml or the lock changed)..."
	$(call install_locked,$(DEV_LOCK))
	@touch $(DEV_STAMP) $(RUN_STAMP)

$(UV_STAMP): | $(BIN)/python
	@echo "installing uv $(UV_VERSION) into $(VENV) (for make lock)..."
	@$(PIP) 'uv==$(UV_VERSION)'
	@touch $(UV_STAMP)

# The development lock is constrained by the runtime one: tests run the versions that ship.
lock: $(UV_STAMP)
	$(UV_COMPILE) $(LOCK_ARGS) -o $(LOCK)
	$(UV_COMPILE) $(LOCK_ARGS) --extra dev -c $(LOCK) -o $(DEV_LOCK)

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
		"streaming.py --anthropic" runs.py workflows.py search.py monitoring.py sync.py knowledge.py; do \
		$(BIN)/python bench/$$bench || status=1; \
	done; exit $$status

# Removes caches and build output; keeps .venv and your local data in .data.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
