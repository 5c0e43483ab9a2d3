# otel-lake — `make help` lists the targets. Everything installs from the package registries
# (PyPI, Maven Central, the Go module proxy) into a cache outside the repository.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
CACHE := $(or $(OTELLAKE_CACHE),$(HOME)/.cache/otel-lake)
UV := $(CACHE)/uv-$(UV_VERSION)/bin/uv
export UV_CACHE_DIR := $(CACHE)/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
REPORT_SINCE ?= 24h

.PHONY: bench bench-quick help setup up down status demo test test-fast test-long lint fmt descriptors clean notebook report cluster-up cluster-down

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(CACHE)/uv-$(UV_VERSION)
	$(CACHE)/uv-$(UV_VERSION)/bin/pip install --quiet uv==$(UV_VERSION)

setup: $(UV) ## install everything: Python env (.venv, from uv.lock), Spark/Kafka jars, the Collector
	$(UV) sync --frozen --python python3
	$(BIN)/otellake setup

up: ## start the local Kafka broker and Collector (waits until ready)
	$(BIN)/otellake up

down: ## stop the local Kafka broker and Collector
	$(BIN)/otellake down

status: ## show the local services
	$(BIN)/otellake status

cluster-up: ## start a Spark standalone master and one worker on 127.0.0.1 (waits until registered)
	$(BIN)/otellake cluster up

cluster-down: ## stop the Spark master and worker that cluster-up started
	$(BIN)/otellake cluster down

demo: ## run the pipeline end to end on local defaults (stack up, telemetry in, stack down)
	OTELLAKE_TRIGGER=$${OTELLAKE_TRIGGER:-1s} $(BIN)/otellake demo

test: ## the whole suite: starts its own broker and Collector on random ports
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

test-fast: ## the tests that need no broker or Collector (a local SparkSession is fine)
	$(BIN)/pytest -m "not services" --durations=15 $(PYTEST_ARGS)

test-long: ## soak-sized reliability and maintenance tests (10x: 1M spans killed mid-stream, ...)
	OTELLAKE_TEST_SCALE=10 $(BIN)/pytest tests/reliability tests/maintain --durations=15 -s $(PYTEST_ARGS)

bench: ## the benchmark at full scale (~20 min): bench/results/latest.json and docs/benchmark.md
	$(BIN)/otellake bench

bench-quick: ## the benchmark at 1/10 scale (< 5 min): bench/results/quick.json
	$(BIN)/otellake bench --quick

notebook: ## JupyterLab on 127.0.0.1 over notebooks/ (open the printed URL with its token)
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks

report: ## write the report of the last REPORT_SINCE (24h) to reports/ (HTML + JSON)
	$(BIN)/otellake report --since $(REPORT_SINCE) --out reports

lint: ## ruff and mypy
	$(BIN)/ruff check src tests jobs bench
	$(BIN)/ruff format --check src tests jobs bench
	$(BIN)/mypy

fmt: ## format the code with ruff
	$(BIN)/ruff check --fix src tests jobs bench
	$(BIN)/ruff format src tests jobs bench

clean: ## stop services and remove local state (var/), keeping the download cache
	-$(BIN)/otellake cluster down
	-$(BIN)/otellake down
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
