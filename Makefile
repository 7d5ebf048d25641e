# Two commands on a fresh machine: `make plan` (offline plan of the dev stack) and `make test`.
# Each installs what it needs into .venv on first use, and again when a requirements file changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
OUT ?= plan-$(STACK)

.PHONY: plan test lint scan schema envexample clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-tools.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -r requirements-tools.txt
	touch $@

plan: $(VENV)/.installed
	$(PY) -m tools.plan --stack $(STACK) --out $(OUT) $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest -q $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy components tools

scan: $(VENV)/.installed
	$(PY) -m tools.scan_secrets $(ARGS)

envexample: $(VENV)/.installed
	$(PY) -m tools.envexample

schema: $(VENV)/.installed
	$(PY) -m tools.schema

clean:
	rm -rf plan-* .pytest_cache .ruff_cache .mypy_cache
