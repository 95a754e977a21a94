# Every target sets up .venv first, so each one works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: running the app needs only the package's own dependencies;
# the tests, linters and screenshot tools come with the `dev` extra.
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest fmt clean screenshots soak bench test-pythons

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

# One install of the package with its dev extra (not the runtime's first, then this:
# pip resolves and checks everything twice).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUNTIME) $(STAMP)

demo: $(RUNTIME)
	$(BIN)/bimpe-tui --demo

lint: $(STAMP)
	$(BIN)/ruff check bimpe_tui tests scripts soak bench
	$(BIN)/ruff format --check bimpe_tui tests scripts soak bench
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collects nothing: that is a failure here too. The tests
# run in parallel, four workers (much of a test is waiting on a server or a terminal:
# on 2 cores, four took 230 s where three took 270 s, docs/development.md), the longest first,
# handed out one at a time so that no worker gets two long ones (tests/conftest.py);
# the minutes-long soaks (marked slow) are `make soak`'s. PYTEST_ARGS narrows it:
# `make pytest PYTEST_ARGS=tests/core`; PYTEST_WORKERS=1 runs them one at a time.
# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE):
# else every run's workers compile the package and rewrite the tests' asserts again.
PYTEST_WORKERS ?= 4
pytest: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxschedchunk 1 -m "not slow" $(PYTEST_ARGS)

# Lint (one core: ruff, then mypy, ~10 s from a fresh clone) runs beside the suite,
# which needs seconds to start its workers anyway; make test fails if either fails
# (make names the failing target last). Lint prints a few lines among the suite's.
test: $(STAMP)
	@$(MAKE) --no-print-directory -j2 lint pytest

fmt: $(STAMP)
	$(BIN)/ruff check --fix bimpe_tui tests scripts soak bench
	$(BIN)/ruff format bimpe_tui tests scripts soak bench

clean:
	rm -rf $(VENV) .venv-3.* .mypy_cache .pytest_cache .ruff_cache

# Every Python that pyproject's requires-python claims, each in its own venv
# (.venv-3.11, ...), the test suite on each: `make test-pythons`, or a part of
# it, e.g. `make test-pythons PYTHONS=3.13 PYTEST_ARGS=tests/shell/test_app.py`.
PYTHONS ?= 3.11 3.12 3.13
PYTEST_ARGS ?=
# The interpreter for one version: python3.X on PATH if it runs, else pyenv's newest 3.X.
find-python = $(shell for c in python$(1) "$$(pyenv prefix $(1) 2>/dev/null)/bin/python$(1)"; do \
	"$$c" -c "import sys" >/dev/null 2>&1 && { command -v "$$c"; break; }; done)

.venv-%/.installed-dev: pyproject.toml
	@test -n "$(call find-python,$*)" || { echo "no Python $* found (PATH or pyenv)"; exit 1; }
	test -x .venv-$*/bin/python || $(call find-python,$*) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

test-pythons: $(foreach v,$(PYTHONS),.venv-$(v)/.installed-dev)
	@for v in $(PYTHONS); do \
		echo "== Python $$v: $$(.venv-$$v/bin/python --version)"; \
		.venv-$$v/bin/python -m pytest $(PYTEST_ARGS) || exit 1; \
	done

# Regenerate screenshots/ (SVG: every script shows, in the viewer's fonts) with a fixed seed and clock.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

# The chaos soak (10 minutes, 20 conversations, every fault) and 100 SIGKILL restarts.
# Not part of `make test`, which runs a two-minute soak and 10 kills.
soak: $(STAMP)
	$(BIN)/python -m pytest -m slow
	$(BIN)/python -m soak

# Benchmarks against the official SDK and the targets; prints one table, writes JSON.
bench: $(STAMP)
	$(BIN)/python -m bench
