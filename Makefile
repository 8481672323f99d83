# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.toml
HOST   ?= 127.0.0.1
PORT   ?= 5000
export HOST PORT

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install test-deps translations chromium lint serve clean

## run: create .venv, install, initialise the SQLite database from $(CONFIG), serve on $(HOST):$(PORT)
run: install translations
	$(BIN)/antrian init --config $(CONFIG)
	$(BIN)/antrian serve --host $(HOST) --port $(PORT) --config $(CONFIG)

## test: install test dependencies (and Debian's chromium when missing), lint, run every test
test: test-deps translations chromium
	$(BIN)/ruff check .
	$(BIN)/pytest

install: $(VENV)/.installed
test-deps: $(VENV)/.test-installed

$(VENV)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

## translations: compile the gettext catalogues (.po -> .mo)
translations: install
	$(BIN)/pybabel compile -d queue_server/translations

## extract-messages: refresh the catalogue template and merge it into each language
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o queue_server/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i queue_server/translations/messages.pot -d queue_server/translations

## chromium: Debian's chromium for the browser tests (skipped where apt is not available)
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: could not install chromium; browser tests will be skipped"

lint: test-deps
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache .ruff_cache
