# Two commands for a newcomer: `make run` and `make test`. Everything else is for us.
SHELL := /bin/bash
# The first Python 3.12 found, else whatever python3 is (the version check below tells).
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench reliability clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run-dev.sh

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# Process-level runs (load, vendor/worker/database faults) and long fuzzing; see
# tests/reliability/README.md. RELIABILITY_SECONDS sets the length of the load run.
RELIABILITY_SECONDS ?= 300
RELIABILITY_FUZZ_EXAMPLES ?= 1000
# Webhooks and API; the run ends by printing how many requests they made and how many
# were answered with a 5xx.
FUZZERS := tests/reliability/test_webhook_fuzz.py tests/reliability/test_api_fuzz.py \
	tests/reliability/test_api_schema.py
reliability: $(VENV)/.installed
	RELIABILITY_SECONDS=$(RELIABILITY_SECONDS) $(PY) -m pytest -m slow -s tests/reliability $(PYTEST_ARGS)
	RELIABILITY_FUZZ_EXAMPLES=$(RELIABILITY_FUZZ_EXAMPLES) $(PY) -m pytest -q --hypothesis-show-statistics $(FUZZERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# --- Benchmarks (long; not part of `make test`): see bench/README.md ---------------------
BENCH_RUN := $(PY) -m
.PHONY: bench-tools bench-quick bench-webhooks bench-ride-create bench-pool bench-slow-vendor bench-conversations

bench-tools: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing wrk (the load generator)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m pip install --quiet -r bench/requirements.txt
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not answering on 127.0.0.1:5432"; exit 1; }

bench: bench-tools
	$(BENCH_RUN) bench

bench-quick: bench-tools
	BENCH_QUICK=1 $(BENCH_RUN) bench

bench-webhooks: bench-tools
	$(BENCH_RUN) bench.webhooks

bench-ride-create: bench-tools
	$(BENCH_RUN) bench.ride_create

bench-pool: bench-tools
	$(BENCH_RUN) bench.pool

bench-slow-vendor: bench-tools
	$(BENCH_RUN) bench.slow_vendor

bench-conversations: bench-tools
	$(BENCH_RUN) bench.conversations

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
