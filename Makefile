# Two entry points do all set-up on first use: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps are remade when pyproject.toml changes, so a pull that adds a dependency installs it.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The dev extra brings every runtime dependency too: one install makes both stamps (a fresh
# clone, as in CI, no longer resolves and builds the editable package twice).
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/python -m bot

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite runs beside a throwaway PostgreSQL server (tests/helpers/postgres.py), stopped at the end.
test: lint
	$(BIN)/python -m tests.helpers.postgres -- $(BIN)/pytest

# SCENARIO=burst|slow|limits|limits-expired|tracked runs one scenario of the job engine's bench.
bench: $(VENV)/.dev
	$(BIN)/python benchmarks/local_pika_render.py
	$(BIN)/python benchmarks/burst.py --scenario $(or $(SCENARIO),all)
	$(BIN)/python benchmarks/hostile_media.py

# 1,000 jobs across two guilds: one process on SQLite, one on PostgreSQL, two on PostgreSQL.
bench-scale: $(VENV)/.dev
	$(BIN)/python benchmarks/scale_out.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
