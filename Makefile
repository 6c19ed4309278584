# Two commands for a new machine with Python 3.11: `make plan` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
PHASE ?=
# What a user types on the command line reaches the recipes as environment variables, quoted by the
# shell ("$$STACK"), never pasted into a command line: `make plan STACK='dev; rm -rf ~'` plans no stack.
export STACK PHASE PLAN POLICY_CONFIG MODULES JOBS

POLICY_CONFIG ?=
# checkov pins boto3 and others exactly, against the program's pins: it gets its own virtualenv.
CHECKOV_VENV ?= .venv-checkov

.PHONY: venv plan plans policy gitops bench test lint typecheck ci clean mutation
.PHONY: ruff scan actionlint secrets-scan secrets-baseline checkov checkov-venv

# First use: pip lists each package as it goes (a couple of minutes), instead of a silent wait.
$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	@echo ">> Creating $(VENV) and installing the pinned requirements (requirements-dev.txt): first run only, a few minutes"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar off -r requirements-dev.txt
	@echo ">> $(VENV) ready"
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@echo ">> Creating $(CHECKOV_VENV) and installing checkov (requirements-checkov.txt): first run only"
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --progress-bar off -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

## Render a stack offline into build/plan/<stack>/ (STACK=dev|prod, PHASE=1 for the first run).
plan: venv
	$(PY) -m planner --stack "$$STACK" $${PHASE:+--phase "$$PHASE"}

PLANS_OUT ?= build/plan
# `make lint` renders its own plans here for checkov, so build/plan/ keeps the ones you made.
LINT_PLANS := build/lint-plan

plans: venv
	$(PY) -m planner --out $(PLANS_OUT) --stack dev
	$(PY) -m planner --out $(PLANS_OUT) --stack prod
	$(PY) -m planner --out $(PLANS_OUT) --stack dev --phase 1
	$(PY) -m planner --out $(PLANS_OUT) --stack prod --phase 1

## Run the policy pack offline over a plan (STACK=dev, or PLAN=<path to resources.json>).
policy: venv
	$(PY) -m policies.runner --plan "$${PLAN:-build/plan/$$STACK/resources.json}" $${POLICY_CONFIG:+--config "$$POLICY_CONFIG"}

## Write the apps' ExternalSecrets into gitops/apps/<app>/overlays/<env>/ from every stack file, scaffold a new app's base and overlays, and write .github/CODEOWNERS.
gitops: venv
	$(PY) -m planner.gitops
	$(PY) -m planner.codeowners

## Benchmark the program under the mocks against the mock runtime's floor (sizes: apps per environment).
bench: venv
	$(PY) -m planner.bench --sizes 10 50 200

## Run every test but the whole-tree secret scan, which `make lint` runs (secrets-scan): the slowest test by far.
SLOW_IN_LINT := tests/test_security_scans.py::test_the_baseline_is_current
test: venv
	$(PY) -m pytest -q --deselect $(SLOW_IN_LINT)

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

## checkov over the manifests of the four plans, rendered from the current code into build/lint-plan/.
checkov: venv checkov-venv
	@echo ">> Rendering the four plans into $(LINT_PLANS)/ for checkov (build/plan/ is left as it is)"
	@$(MAKE) --no-print-directory plans PLANS_OUT=$(LINT_PLANS)
	$(PY) -m tools.checkov_scan --plan-root $(LINT_PLANS)

typecheck: venv
	$(PY) -m mypy

## Mutation testing of the security builders (tools/mutation.toml; docs/mutation.md): a periodic run, not in `make ci`.
## MODULES=components/irsa.py limits it; JOBS modules run side by side (2 cores: JOBS=2).
MODULES ?=
JOBS ?= 2
mutation: venv
	nice -n 19 $(PY) -m tools.mutation --jobs "$$JOBS" $$MODULES

ci: test plans lint typecheck

clean:
	rm -rf build
