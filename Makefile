# Two commands for a new machine with Python 3.11: `make plan` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
PHASE ?=
PLAN_ARGS := --stack $(STACK) $(if $(PHASE),--phase $(PHASE))

POLICY_CONFIG ?=
# checkov pins boto3 and others exactly, against the program's pins: it gets its own virtualenv.
CHECKOV_VENV ?= .venv-checkov

.PHONY: venv plan plans policy gitops bench test lint typecheck ci clean mutation
.PHONY: ruff scan actionlint secrets-scan secrets-baseline checkov checkov-venv

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

## Render a stack offline into build/plan/<stack>/ (STACK=dev|prod, PHASE=1 for the first run).
plan: venv
	$(PY) -m planner $(PLAN_ARGS)

plans: venv
	$(PY) -m planner --stack dev
	$(PY) -m planner --stack prod
	$(PY) -m planner --stack dev --phase 1
	$(PY) -m planner --stack prod --phase 1

## Run the policy pack offline over a plan (STACK=dev, or PLAN=<path to resources.json>).
policy: venv
	$(PY) -m policies.runner --plan $(or $(PLAN),build/plan/$(STACK)/resources.json) $(if $(POLICY_CONFIG),--config $(POLICY_CONFIG))

## Write the apps' ExternalSecrets into gitops/apps/<app>/overlays/<env>/ from every stack file.
gitops: venv
	$(PY) -m planner.gitops

## Benchmark the program under the mocks against the mock runtime's floor (sizes: apps per environment).
bench: venv
	$(PY) -m planner.bench --sizes 10 50 200

## Run every test.
test: venv
	$(PY) -m pytest -q

## Lint: ruff, then the scans (docs/ci.md).
lint: ruff scan

ruff: venv
	$(PY) -m ruff check .

## Scans: the workflows (actionlint), committed secrets (detect-secrets), the plans' manifests (checkov).
scan: actionlint secrets-scan checkov

actionlint: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint .github/workflows/*.yml

secrets-scan: venv
	$(PY) -m tools.secret_scan

## Rescan and rewrite .secrets.baseline (audit results kept; audit new findings with detect-secrets audit).
secrets-baseline: venv
	$(PY) -m tools.secret_scan --update

## checkov over build/plan/*/manifests (renders the plans first if one is missing).
checkov: venv checkov-venv
	@for p in dev prod dev-phase1 prod-phase1; do test -d build/plan/$$p/manifests || { $(MAKE) --no-print-directory plans && break; }; done
	$(PY) -m tools.checkov_scan

typecheck: venv
	$(PY) -m mypy

## Mutation testing of the security builders (tools/mutation.toml; docs/mutation.md): a periodic run, not in `make ci`.
## MODULES=components/irsa.py limits it; JOBS modules run side by side (2 cores: JOBS=2).
MODULES ?=
JOBS ?= 2
mutation: venv
	nice -n 19 $(PY) -m tools.mutation --jobs $(JOBS) $(MODULES)

ci: test plans lint typecheck

clean:
	rm -rf build
