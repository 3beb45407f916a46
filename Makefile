# Two commands: `make serve` (set up, then serve the bundled data) and `make test`
# (set up, then run the checks and the test suite). Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := api/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
CM := node_modules/codemirror

.PHONY: setup serve test lint check test-deps

setup: $(STAMP) $(VENDOR_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The query page's editor: CodeMirror 5 from npm (package-lock.json), copied to
# /-/static/vendor/ (not in git; without it the page is a plain text box).
$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/codemirror
	cp $(CM)/lib/codemirror.js $(CM)/lib/codemirror.css $(CM)/mode/sparql/sparql.js \
	  $(CM)/addon/hint/show-hint.js $(CM)/addon/hint/show-hint.css \
	  $(CM)/addon/edit/matchbrackets.js $(CM)/LICENSE $(VENDOR)/codemirror/
	touch $(VENDOR_STAMP)

serve: setup
	$(BIN)/digistrat serve

# From Debian, when missing: Chromium drives the browser tests (Playwright with
# executable_path); Virtuoso and nginx are the remote store and the proxy of the scale tests.
test-deps:
	.ci/install-test-stores.sh

lint: setup
	$(BIN)/ruff check kg api tests bench

check: setup
	$(BIN)/digistrat check --quiet

test: setup test-deps lint check
	$(BIN)/python -m pytest -q
