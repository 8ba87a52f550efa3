# procguard: `make demo` shows the agent at work; `make test` runs every test and lint.
# Both do all set-up themselves on a fresh Debian 12 machine as root.

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         ?= .venv
PY            = $(VENV)/bin/python
VENV_STAMP    = $(VENV)/.stamp
TEST_TARGETS := lint pytest

.PHONY: all setup setup-demo venv demo test lint pytest docs bench clean help

all: help

help:
	@echo "make demo    start the agent on a built-in example and kill its service"
	@echo "make test    every test and lint (what CI runs)"
	@echo "make docs    regenerate docs/messages.md and the JSON Schema"
	@echo "make bench   death-to-replacement and idle-cost benchmarks"

include mk/*.mk

setup:
	scripts/setup-host.sh test

setup-demo:
	scripts/setup-host.sh demo

venv: $(VENV_STAMP)

$(VENV_STAMP): agent/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e agent -r requirements-dev.txt
	@touch $@

demo: setup-demo venv  ## KEEP=1 leaves the agent running afterwards
	KEEP=$(KEEP) scripts/demo.sh $(VENV)

test: setup venv
	@$(MAKE) --no-print-directory $(TEST_TARGETS)
	@$(PY) scripts/test-summary.py .test-results/pytest.xml

lint: venv
	cd agent && ../$(VENV)/bin/ruff check procguard
	$(VENV)/bin/ruff check tests benchmarks scripts
	cd agent && ../$(VENV)/bin/mypy procguard

pytest: venv
	$(PY) -m pytest -q -p no:cacheprovider --timeout=600 --junitxml=.test-results/pytest.xml --ignore=tests/lab tests

docs: venv
	$(VENV)/bin/procguard messages --markdown > docs/messages.md
	$(PY) -c "from procguard.config import schema; print(schema.as_json(), end='')" > agent/procguard/config/schema.json
	cp agent/procguard/config/schema.json docs/watches.schema.json

bench: venv
	$(PY) benchmarks/restart_latency.py

clean:
	rm -rf $(VENV) .demo .test-results
