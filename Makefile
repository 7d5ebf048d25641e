# Two commands on a fresh machine: `make plan` (offline plan of the dev stack) and `make test`.
# Each installs what it needs into .venv on first use (from the hash-locked files), and again when a lock changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
ENVIRONMENT ?= example
# CLOUD=gcp|azure plans the stack on another cloud, into its own folder (plan-dev-gcp/), never over plan-dev/.
CLOUD ?=
# REVIEW=1 stubs the config secrets the stack lacks (a review-only plan of prod before its secrets exist).
REVIEW ?=
OUT ?= plan-$(STACK)$(if $(CLOUD),-$(CLOUD))
PLAN_ARGS := $(if $(CLOUD),--cloud $(CLOUD)) $(if $(REVIEW),--stub-secrets)

.PHONY: plan plan-env test lint scan derived clean lock mutation

# Installed from the hash-locked files only: pip bootstraps uv from requirements-uv.txt (hash-checking mode),
# uv installs requirements-dev.lock (everything the tests, lint and scan need) and requirements-scan.txt (the
# gitleaks wheel, one hash) with --require-hashes: a package or a file that is not in the lock is refused.
# --compile-bytecode: the dependencies' bytecode is written once here, not by every test process (CI runs with
# PYTHONDONTWRITEBYTECODE, so each worker, server and subprocess would otherwise compile pulumi_aws anew).
# Then the project itself, editable and with no dependency of its own (all locked above): the
# `platform-secrets` command in $(VENV)/bin.
# The ranges live in requirements*.txt; `make lock` compiles them into the locks (tests/ci/test_locks.py checks
# that the locks cover every range and that every locked line carries a hash).
UV := $(VENV)/uv/bin/uv
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet
$(VENV)/.installed: requirements-uv.txt requirements-dev.lock requirements-scan.txt pyproject.toml
	@echo "Installing the locked Python dependencies into $(VENV) (first run, or a lock file changed)."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps --upgrade \
		--target $(VENV)/uv -r requirements-uv.txt
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) \
		--require-hashes requirements-dev.lock requirements-scan.txt
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

# Recompile the locks after editing a range in requirements*.txt (needs the registry; commit the result).
lock: $(VENV)/.installed
	$(UV) pip compile $(LOCK_FLAGS) requirements.txt requirements-dev.txt requirements-tools.txt \
		-o requirements-dev.lock
	$(UV) pip compile $(LOCK_FLAGS) requirements.txt -c requirements-dev.lock -o requirements.lock
	$(UV) pip compile $(LOCK_FLAGS) requirements.txt requirements-tools.txt -c requirements-dev.lock \
		-o requirements-tools.lock
	cd policy && ../$(UV) pip compile $(LOCK_FLAGS) requirements.txt -c ../requirements-dev.lock \
		-o requirements.lock

plan: $(VENV)/.installed
	$(VENV)/bin/platform-secrets plan --stack $(STACK) --out $(OUT) $(PLAN_ARGS) $(ARGS)

# A sharded environment (environments/$(ENVIRONMENT).yaml): the foundation, then the shards in parallel processes.
plan-env: $(VENV)/.installed
	$(VENV)/bin/platform-secrets plan --environment $(ENVIRONMENT) --out plan-$(ENVIRONMENT) $(ARGS)

# One pytest-xdist worker per core, each given whole files (a file's server and replays are set up once).
test: $(VENV)/.installed
	$(PY) -m pytest -q -n auto --dist loadfile --no-loadscope-reorder $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy platform_secrets
	# The walls between the rooms (pyproject.toml [tool.importlinter]): a wrong import fails here.
	$(VENV)/bin/lint-imports

# gitleaks (working tree and whole history) and detect-secrets; another gitleaks: make scan GITLEAKS=/path
GITLEAKS ?= $(VENV)/bin/gitleaks
scan: $(VENV)/.installed
	$(VENV)/bin/platform-secrets scan --gitleaks $(GITLEAKS) $(ARGS)

# Every file derived from the catalog (catalog.schema.json, env-examples/): run after editing catalog.yaml.
derived: $(VENV)/.installed
	$(VENV)/bin/platform-secrets derived

# Mutation testing of the security core ([tool.mutmut] in pyproject.toml): a fresh run in mutants/ with the fast,
# pure tests, niced, two workers; then the score per module, failing under 90 % (not part of `make test`).
MUTATION_JOBS ?= 2
mutation: $(VENV)/.installed
	rm -rf mutants && mkdir mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) >mutants/run.log 2>&1 \
		|| { tail -n 40 mutants/run.log; exit 1; }
	$(PY) -m platform_secrets.ci.mutation_report $(ARGS)

clean:
	rm -rf plan-* .pytest_cache .ruff_cache .mypy_cache mutants
