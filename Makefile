# Two commands on a fresh machine: `make plan` (offline plan of the dev stack) and `make test`.
# Each installs what it needs into .venv on first use, and again when a requirements file changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# CLOUD=gcp|azure plans the stack on another cloud, into its own folder (plan-dev-gcp/), never over plan-dev/.
CLOUD ?=
# REVIEW=1 stubs the config secrets the stack lacks (a review-only plan of prod before its secrets exist).
REVIEW ?=
OUT ?= plan-$(STACK)$(if $(CLOUD),-$(CLOUD))
PLAN_ARGS := $(if $(CLOUD),--cloud $(CLOUD)) $(if $(REVIEW),--stub-secrets)

.PHONY: plan test lint scan schema envexample derived clean mutation

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-tools.txt requirements-scan.txt
	@echo "Installing the Python dependencies into $(VENV) (first run, or a requirements file changed):"
	@echo "Pulumi and the cloud SDKs are large, expect a few minutes (about 4 on a 2-core machine)."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -r requirements-tools.txt
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-scan.txt
	touch $@

plan: $(VENV)/.installed
	$(PY) -m tools.plan --stack $(STACK) --out $(OUT) $(PLAN_ARGS) $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest -q $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy components tools

# gitleaks (working tree and whole history) and detect-secrets; another gitleaks: make scan GITLEAKS=/path
GITLEAKS ?= $(VENV)/bin/gitleaks
scan: $(VENV)/.installed
	$(PY) -m tools.scan_secrets --gitleaks $(GITLEAKS) $(ARGS)

# Every file derived from the catalog (catalog.schema.json, env-examples/): run after editing catalog.yaml.
derived: $(VENV)/.installed
	$(PY) -m tools.derived

envexample: $(VENV)/.installed
	$(PY) -m tools.envexample

schema: $(VENV)/.installed
	$(PY) -m tools.schema

# Mutation testing of the security core ([tool.mutmut] in pyproject.toml): a fresh run in mutants/ with the fast,
# pure tests, niced, two workers; then the score per module, failing under 90 % (not part of `make test`).
MUTATION_JOBS ?= 2
mutation: $(VENV)/.installed
	rm -rf mutants && mkdir mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) >mutants/run.log 2>&1 \
		|| { tail -n 40 mutants/run.log; exit 1; }
	$(PY) -m tools.mutation_report $(ARGS)

clean:
	rm -rf plan-* .pytest_cache .ruff_cache .mypy_cache mutants
