# Routine commands of the election pipeline. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: help install browser up up-worker down status reset test test-fast demo \
	dashboard deploy worker blocks freshness bench lint

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "no $(PYTHON) on PATH: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## make the virtual environment from the lock file

browser:  ## install Debian's chromium for the browser tests when missing
	scripts/ensure-chromium

up: install  ## start PostgreSQL, Kafka, the Prefect server and the API
	$(PY) -m services up

up-worker: install  ## like up, and a background worker of the election-process pool
	$(PY) -m services up --worker

down: install  ## stop every service, the worker first
	$(PY) -m services down

status: install  ## report each service's health
	$(PY) -m services status

reset: install  ## stop the services and delete their data, keeping the installation
	$(PY) -m services reset

test: install browser  ## run every test against services of its own
	$(PY) -m pytest

test-fast: install  ## run the tests that need no service
	$(PY) -m pytest -m "not slow"

demo: up  ## run the 2020 election at 1:10,000 through the whole pipeline
	$(PY) -m flows.pipeline --scenario 2020 --ratio 10000

dashboard: install  ## serve the dashboard on http://127.0.0.1:8050
	$(PY) -m dashboard

deploy: install  ## create the work pool, deployments and automations; start followers
	$(PY) deployments/setup.py

worker: install  ## run a worker of the election-process pool in the foreground
	$(PY) -m services.worker

blocks: install  ## save the credentials of the settings as Prefect blocks
	$(PY) -m flows.blocks

freshness: install  ## time votes from the API to the marts (needs deploy and a worker)
	$(PY) deployments/freshness.py

bench: install  ## run the ingestion, sync and whole-job benchmarks (about 15 min)
	$(PY) -m benchmarks.ingest && $(PY) -m benchmarks.sync && $(PY) -m benchmarks.pipeline

lint: install  ## check style with ruff
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
