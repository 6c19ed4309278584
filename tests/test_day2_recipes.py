"""Each README day-2 recipe, done as written on a copy of the repository, keeps everything green.

On a fresh copy: the recipe's hand edits and CLI steps, then `make gitops` (`python -m
planner.gitops`), `make plan` for every stack, the secret scan against the committed baseline
(no new entry) and the config-driven tests, run on the copy without editing a test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import day2

# The tests whose names, keys and positions come from the stack files and the GitOps tree: the
# ones a config change reaches. (The whole suite on a copy is too slow to run for each recipe.)
CONFIG_DRIVEN = (
    "tests/test_project_files.py",
    "tests/test_secrets_flow.py",
    "tests/test_config.py",
    "tests/test_external_secrets_gitops.py",
    "tests/test_gitops_tree.py",
)
AWSKMS = "awskms://alias/pulumi-secrets?region=eu-west-1"


def _random(key: str) -> dict[str, Any]:
    return {"key": key, "backend": "vault", "source": "random", "length": 32, "charset": "alphanumeric", "rotation": "2026-12"}


def _stack_hosting(root: Path, env: str) -> str:
    return next(s for s in ("dev", "prod") if env in day2.environments(day2.read_stack_file(root, s)["config"]))


def new_app_with_config_random_and_external_secrets(root: Path) -> None:
    """README: add the app under platform:environments, `pulumi config set --secret` its configKey, `make gitops`."""
    stack = _stack_hosting(root, "development")
    app = {"name": "ledger", "secrets": [
        {"key": "api-key", "backend": "aws", "source": "config", "configKey": "ledgerApiKey"},
        _random("db-password"),
        {"key": "partner-token", "backend": "vault", "source": "external"},
    ]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"]["development"]["apps"].append(app))
    day2.pulumi_config_set_secret(root, stack, "ledgerApiKey")


def staging_only_app(root: Path) -> None:
    """README: an app listed in one environment only (its secrets and overlay exist there only)."""
    stack = _stack_hosting(root, "staging")
    app = {"name": "reports", "secrets": [_random("signing-key"), {"key": "warehouse-token", "backend": "aws", "source": "external"}]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"]["staging"]["apps"].append(app))


def _without_staging(root: Path) -> str:
    """The starting point: a repository whose dev stack hosts `development` only (as before staging existed)."""
    stack = _stack_hosting(root, "staging")

    def drop(config: dict[str, Any]) -> None:
        config["platform:environments"].pop("staging")
        for per_env in ("rbacGroups", "syncWindows"):
            (config["platform:argocd"].get(per_env) or {}).pop("staging", None)

    day2.edit_stack_file(root, stack, drop)
    for overlay in root.glob("gitops/apps/*/overlays/staging"):
        shutil.rmtree(overlay)
    for base in root.glob("gitops/apps/*"):
        if not (base / "overlays").exists() or not any((base / "overlays").iterdir()):
            shutil.rmtree(base)
    assert day2.run(root, "-m", "planner.gitops").returncode == 0
    return stack


def new_environment_in_an_existing_stack(root: Path) -> None:
    """README: add the environment (one of development, staging, production) under platform:environments."""
    stack = _without_staging(root)
    environment = {"syncPolicy": "automated", "refreshInterval": "30m",
                   "apps": [{"name": "ledger", "secrets": [_random("db-password")]}]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"].update(staging=environment))


def awskms_secrets_provider_and_a_secret_set(root: Path) -> None:
    """README: `pulumi stack init --secrets-provider awskms://...`, then `pulumi config set --secret` every configKey."""
    stack = "prod"
    config = day2.read_stack_file(root, stack)["config"]
    keys = sorted({s["configKey"] for env in day2.environments(config).values() for app in env["apps"]
                   for s in app["secrets"] if s["source"] == "config"})
    assert keys, "the prod stack names a config secret"
    day2.pulumi_stack_init_awskms(root, stack, AWSKMS)
    for key in keys:
        day2.pulumi_config_set_secret(root, stack, key)


RECIPES: dict[str, Callable[[Path], None]] = {
    "new app": new_app_with_config_random_and_external_secrets,
    "staging-only app": staging_only_app,
    "new environment": new_environment_in_an_existing_stack,
    "awskms provider and a secret": awskms_secrets_provider_and_a_secret_set,
}


def _ok(result: Any, what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return str(result.stdout)


@pytest.mark.parametrize("recipe", list(RECIPES), ids=list(RECIPES))
def test_a_day2_recipe_done_as_written_keeps_plan_gitops_scan_and_tests_green(tmp_path: Path, recipe: str) -> None:
    root = day2.clone(tmp_path / "clone")
    before = (root / ".secrets.baseline").read_text()
    RECIPES[recipe](root)
    out = _ok(day2.run(root, "-m", "planner.gitops"), "make gitops")
    assert "Next steps:" in out or recipe == "awskms provider and a secret"
    _ok(day2.run(root, "-m", "planner.gitops", "--check"), "make gitops --check")
    for stack in ("dev", "prod"):
        _ok(day2.run(root, "-m", "planner", "--stack", stack, "--out", str(tmp_path / "plan")), f"make plan STACK={stack}")
    _ok(day2.run(root, "-m", "tools.secret_scan"), "the secret scan")
    assert (root / ".secrets.baseline").read_text() == before, "no new baseline entry"
    _ok(day2.run(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CONFIG_DRIVEN, timeout=1500), "the config-driven tests")
