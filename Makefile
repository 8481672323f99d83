# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.toml
HOST   ?= 127.0.0.1
PORT   ?= 5000
export HOST PORT

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install test-deps translations chromium lint serve clean serve-prod bench

## run: create .venv, install, initialise the SQLite database from $(CONFIG), serve on $(HOST):$(PORT)
run: install translations
	$(BIN)/antrian init --config $(CONFIG)
	$(BIN)/antrian serve --host $(HOST) --port $(PORT) --config $(CONFIG)

## serve-prod: the production server (gunicorn, queue_server/gunicorn_conf.py): ANTRIAN_ASYNC_MODE
## (default gevent), ANTRIAN_WORKERS, HOST, PORT, DATABASE_URL... see docs/deployment.md
serve-prod: install translations
	$(BIN)/gunicorn -c python:queue_server.gunicorn_conf queue_server.wsgi:app

## bench: run every benchmark in bench/ (each prints its table, docs/performance.md); the scripts
## that take --postgres / --redis get BENCH_POSTGRES / BENCH_REDIS when those servers answer
BENCH_POSTGRES ?= postgresql://127.0.0.1:5432/test
BENCH_REDIS    ?= redis://127.0.0.1:6379/0
bench: $(VENV)/.bench-installed
	@pg=$$($(BIN)/python bench/common.py --postgres-reachable $(BENCH_POSTGRES)); \
	redis=$$($(BIN)/python bench/common.py --redis-reachable $(BENCH_REDIS)); \
	for script in bench/*_bench.py; do \
	  opts=""; usage=$$($(BIN)/python $$script --help); \
	  case "$$usage" in *"--postgres POSTGRES"*) [ -z "$$pg" ] || opts="$$opts --postgres $$pg";; esac; \
	  case "$$usage" in *"--redis REDIS"*) [ -z "$$redis" ] || opts="$$opts --redis $$redis";; esac; \
	  echo "== $$script$$opts"; $(BIN)/python $$script $$opts || exit 1; \
	done

## test: install test dependencies (and Debian's chromium when missing), lint, run every test
test: test-deps translations chromium
	$(BIN)/ruff check .
	$(BIN)/pytest -n auto

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

# bench/ starts servers with tests/live_server.py (so the test extras) and needs aiohttp.
$(VENV)/.bench-installed: $(VENV)/.test-installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
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
