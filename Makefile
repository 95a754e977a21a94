# Every target sets up .venv first, so each one works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest fmt clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bimpe-tui --demo

lint: $(STAMP)
	$(BIN)/ruff check bimpe_tui tests scripts
	$(BIN)/ruff format --check bimpe_tui tests scripts
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collects nothing: that is a failure here too.
pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint pytest

fmt: $(STAMP)
	$(BIN)/ruff check --fix bimpe_tui tests scripts
	$(BIN)/ruff format bimpe_tui tests scripts

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# Regenerate screenshots/ (SVG, and PNG through cairosvg) with a fixed seed and clock.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py
