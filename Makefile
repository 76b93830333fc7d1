# Orbiter developer tasks. Every target sets up .venv first when needed.
#
#   make run                 migrate, then serve on $HOST:$PORT (default 127.0.0.1:8000)
#   make test ARGS="-k auth" the suite against embedded backends and real services
#   make lint | format | bench | migrate | clean

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test lint format bench migrate clean venv

# Create the virtualenv once; `rm -rf` a half-made one so the next run starts over.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "creating $(VENV) failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }

# Reinstall only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/orbiter migrate
	$(BIN)/orbiter serve

test: venv
	$(BIN)/python scripts/run_tests.py $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	@# Every bench runs even when one misses its target; the exit status says whether any did.
	@status=0; for bench in http_overhead.py blobs.py drift.py streaming.py \
		"streaming.py --anthropic"; do \
		$(BIN)/python bench/$$bench || status=1; \
	done; exit $$status

migrate: venv
	$(BIN)/orbiter migrate

# Removes caches and build output; keeps .venv and your local data in .data.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
