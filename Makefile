# newsbrief: `make demo` runs the seed digest end to end; `make test` runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# A project-local Airflow: its home, DAGs and plugins come from this checkout, metadata in SQLite.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True

.DEFAULT_GOAL := help

.PHONY: help install airflow-init demo demo-feeds test test-fast test-integration bench lint lock clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(BIN)/.installed ## Create .venv and install the locked dependency set

$(AIRFLOW_HOME)/.migrated: $(BIN)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -n 30 $(AIRFLOW_HOME)/migrate.log; exit 1)
	@touch $@

airflow-init: $(AIRFLOW_HOME)/.migrated ## Prepare the project-local Airflow home (SQLite)

demo: airflow-init ## Run the seed digest, then bundled feeds + seeds into the daily digest; mail lands in outbox/
	$(BIN)/python scripts/demo.py

demo-feeds: install ## Serve the bundled demo feeds (demo/feeds/) on http://127.0.0.1:8765 until Ctrl-C
	$(BIN)/python -m newsbrief.demo_server

test: install ## Run the whole test suite (unit, DAG end-to-end, Postgres, Celery integration)
	$(BIN)/python -m pytest

test-fast: install ## The suite without the slow Celery integration test
	$(BIN)/python -m pytest -m "not integration"

test-integration: install ## Only the native CeleryExecutor topology test
	$(BIN)/python -m pytest -m integration

bench: install ## Summary and tag quality and speed benchmarks (prints tables, writes bench/results/)
	$(BIN)/python bench/summaries.py
	$(BIN)/python bench/tags.py
	$(BIN)/python bench/ingest.py

lint: install ## ruff
	$(BIN)/ruff check .

lock: ## Re-resolve and pin the whole dependency set into requirements.lock
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean: ## Remove the virtualenv, Airflow home, store and outbox
	rm -rf $(VENV) .airflow var outbox
