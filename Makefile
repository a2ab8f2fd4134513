# mentiondesk: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
CODE := src tests $(wildcard bench)

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint lock format check bench chaos peer openapi triage-model clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Installs come from the lock files (requirements/*.txt, every package pinned), so every
# machine gets the same versions; `make lock` rewrites them after a change to pyproject.toml.
# The demo needs the runtime alone; tests and tools add the dev lock on top.
$(RUNTIME): requirements/runtime.txt pyproject.toml
	@# A first run stopped before pip was in place leaves a .venv without it: make it again.
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(RUNTIME)

$(STAMP): requirements/dev.txt $(RUNTIME)
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install mentiondesk with its dev tools

demo: $(RUNTIME) ## run the whole desk with the sandbox network (http://127.0.0.1:8000)
	$(BIN)/mentiondesk demo

test: $(STAMP) ## run the whole test suite: SQLite, then PostgreSQL, browser tests included
	bin/test

lint: $(STAMP) ## ruff, format check, mypy, import contracts (layers), Django checks, migrations up to date
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	MENTIONDESK_DATA_DIR=$$(mktemp -d) $(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	MENTIONDESK_DATA_DIR=$$(mktemp -d) $(BIN)/mentiondesk check
	MENTIONDESK_DATA_DIR=$$(mktemp -d) $(BIN)/mentiondesk makemigrations --check --dry-run

lock: $(STAMP) ## rewrite requirements/*.txt from pyproject.toml (newest versions its pins allow)
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/runtime.txt pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev -c requirements/runtime.txt -o requirements/dev.txt pyproject.toml

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

check: lint test ## everything CI runs

bench: $(STAMP) ## run the benchmarks; results go in bench/RESULTS.md by hand
	$(BIN)/python bench/run.py

chaos: $(STAMP) ## kill workers and database connections, time out, 429: nothing lost or sent twice (~16 min)
	$(BIN)/python bench/chaos.py

peer: $(STAMP) ## side by side with django-helpdesk on PostgreSQL (its own venv: bench/.peer-venv)
	$(BIN)/python bench/peer.py

openapi: $(STAMP) ## refresh the committed OpenAPI snapshot after an intended API change
	$(BIN)/python -m tests.api.snapshot

triage-model: $(STAMP) ## retrain the shipped triage models from ../shared/corpora and dev.csv (~10 min)
	$(BIN)/mentiondesk triage train --corpora ../shared/corpora --no-corrections \
		--out src/mentiondesk/triage/model

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var
