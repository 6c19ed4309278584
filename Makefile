# Two commands for a new machine with Python 3.11: `make plan` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
PHASE ?=
PLAN_ARGS := --stack $(STACK) $(if $(PHASE),--phase $(PHASE))

POLICY_CONFIG ?=

.PHONY: venv plan plans policy gitops bench test lint typecheck ci clean

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

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

lint: venv
	$(PY) -m ruff check .

typecheck: venv
	$(PY) -m mypy

ci: test plans lint typecheck

clean:
	rm -rf build
