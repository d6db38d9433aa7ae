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

.PHONY: help install airflow-init demo demo-feeds web test test-fast test-integration bench bench-summaries bench-tags tag-model bench-ingest bench-alerts bench-scale bench-scale-pg bench-million bench-celery bench-text lint audit lock clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/.installed: requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(BIN)/.installed ## Create .venv and install the dev lock (runtime + test tools)

$(AIRFLOW_HOME)/.migrated: $(BIN)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -n 30 $(AIRFLOW_HOME)/migrate.log; exit 1)
	@touch $@

airflow-init: $(AIRFLOW_HOME)/.migrated ## Prepare the project-local Airflow home (SQLite) and migrate the store (newsbrief db upgrade)
	$(BIN)/newsbrief db upgrade

demo: airflow-init ## Run the seed digest, then bundled feeds + seeds into the daily digest; mail lands in outbox/
	$(BIN)/python scripts/demo.py

demo-feeds: install ## Serve the bundled demo feeds (demo/feeds/) on http://127.0.0.1:8765 until Ctrl-C
	$(BIN)/python -m newsbrief.sources.demo_server

web: install ## Serve the web app (digests, stories, search, feeds, topics, preferences, /api/v1) on http://127.0.0.1:8088
	$(BIN)/newsbrief web

test: install ## Run the whole test suite (unit, DAG end-to-end, Postgres, Celery integration)
	$(BIN)/python -m pytest

test-fast: install ## The suite without the slow Celery integration test
	$(BIN)/python -m pytest -m "not integration"

test-integration: install ## Only the native CeleryExecutor topology test
	$(BIN)/python -m pytest -m integration

bench: bench-summaries bench-text bench-tags bench-ingest bench-alerts ## All benchmarks (print tables, write bench/results/); needs ../shared/data

bench-summaries: install ## ROUGE of each summarizer on real BBC articles and publisher standfirsts; speed
	$(BIN)/python bench/summaries.py

bench-scale: install ## Reuters bodies + shared full-text feed items through dedup/summarize/tag/cluster at 1k-10k: wall/CPU s, peak RSS, growth (bench/results/scale.json)
	$(BIN)/python bench/scale.py

bench-celery: install ## Manual seed_digest trigger -> email on the native Celery topology, 5 triggers, median (target < 15 s; needs PostgreSQL, redis-server)
	$(BIN)/python bench/celery.py

bench-scale-pg: install ## bench-scale on a fresh database of the local PostgreSQL (bench/results/scale_postgres.json)
	$(BIN)/python bench/scale.py --postgres

bench-million: install ## 1,000,000 synthetic articles on the local PostgreSQL: a day's articles, dedup, clustering window, one digest (< 1 s each)
	$(BIN)/python bench/million.py

bench-text: install ## Real-feed furniture share and Reuters wrapped-text fragments (bench/results/text_quality.json)
	$(BIN)/python bench/text_quality.py

bench-tags: install ## Tag P/R/F1 per topic (development, holdout), Reuters TRAIN trade, BBC sport/world checks, 3 kB speed
	$(BIN)/python bench/tags.py --holdout

tag-model: install ## Rebuild the shipped tag model plugins/newsbrief/tagging/model.bin from config/topic_examples.yaml, IPTC and bbc-summary-100 (same bytes every time)
	$(BIN)/python -m newsbrief.tagging.train

bench-ingest: install ## Feeds/s and articles/s for 200 feeds on loopback; dedup and cluster counts on real feeds
	$(BIN)/python bench/ingest.py

bench-alerts: install ## Matching 3 alerts each of 1,000 subscribers against 10,000 articles (target < 5 s CPU; prints PASS/FAIL)
	$(BIN)/python bench/alerts.py

lint: install ## ruff
	$(BIN)/ruff check .

AUDIT_SERVICE ?= pypi
audit: install ## pip-audit over requirements.lock (runtime); prints findings, and what it could not check and why (AUDIT_SERVICE=pypi|osv)
	$(BIN)/python scripts/audit.py $(AUDIT_SERVICE)

lock: ## Re-pin both locks from the current .venv: requirements.lock (runtime, the image) and requirements-dev.lock (+ tools)
	$(BIN)/python scripts/lock.py

clean: ## Remove the virtualenv, Airflow home, store and outbox
	rm -rf $(VENV) .airflow var outbox
