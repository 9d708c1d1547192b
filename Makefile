# Dachs: `make demo` runs the app with synthetic data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null)

.PHONY: setup demo test test-fast lint format bench browser static clean

setup: $(VENV)/.installed frontend/dist/label.js frontend/dist/review.js

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned resolve would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

frontend/dist/label.js frontend/dist/review.js &: frontend/package.json frontend/package-lock.json frontend/vite.config.js $(FRONTEND_SRC)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch frontend/dist/label.js frontend/dist/review.js

static: setup
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

demo: static
	$(BIN)/python manage.py demo

# Debian's chromium for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium first: sudo apt-get install -y chromium" >&2; exit 1; fi; }

test: setup browser
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not browser"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python bench/bench_demo_round.py
	$(BIN)/python bench/bench_label_latency.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist staticfiles
