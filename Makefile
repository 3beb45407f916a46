# Two commands: `make serve` (set up, then serve the bundled data) and `make test`
# (set up, then run the checks and the test suite). Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup serve test lint check browser-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: setup
	$(BIN)/digistrat serve

# Debian's Chromium drives the browser tests (Playwright with executable_path).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: setup
	$(BIN)/ruff check kg api tests bench

check: setup
	$(BIN)/digistrat check --quiet

test: setup browser-deps lint check
	$(BIN)/python -m pytest -q
