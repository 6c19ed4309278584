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


def new_app_with_config_random_and_external_secrets(root: Path) -> str:
    """README: add the app under platform:environments, `pulumi config set --secret` its configKey, `make gitops`."""
    stack = _stack_hosting(root, "development")
    app = {"name": "ledger", "secrets": [
        {"key": "api-key", "backend": "aws", "source": "config", "configKey": "ledgerApiKey"},
        _random("db-password"),
        {"key": "partner-token", "backend": "vault", "source": "external"},
    ]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"]["development"]["apps"].append(app))
    day2.pulumi_config_set_secret(root, stack, "ledgerApiKey")
    return stack


def staging_only_app(root: Path) -> str:
    """README: an app listed in one environment only (its secrets and overlay exist there only)."""
    stack = _stack_hosting(root, "staging")
    app = {"name": "reports", "secrets": [_random("signing-key"), {"key": "warehouse-token", "backend": "aws", "source": "external"}]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"]["staging"]["apps"].append(app))
    return stack


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


def new_environment_in_an_existing_stack(root: Path) -> str:
    """README: add the environment (one of development, staging, production) under platform:environments."""
    stack = _without_staging(root)
    environment = {"syncPolicy": "automated", "refreshInterval": "30m",
                   "apps": [{"name": "ledger", "secrets": [_random("db-password")]}]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"].update(staging=environment))
    return stack


def awskms_secrets_provider_and_a_secret_set(root: Path) -> str:
    """README: `pulumi stack init --secrets-provider awskms://...`, then `pulumi config set --secret` every configKey."""
    stack = "prod"
    config = day2.read_stack_file(root, stack)["config"]
    keys = sorted({s["configKey"] for env in day2.environments(config).values() for app in env["apps"]
                   for s in app["secrets"] if s["source"] == "config"})
    assert keys, "the prod stack names a config secret"
    day2.pulumi_stack_init_awskms(root, stack, AWSKMS)
    for key in keys:
        day2.pulumi_config_set_secret(root, stack, key)
    return stack


Recipe = Callable[[Path], str]


def _ok(result: Any, what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return str(result.stdout)


def _walk(tmp_path: Path, recipes: list[Recipe]) -> None:
    """Each recipe in turn on one copy, then `make gitops`, `make plan` of the stack it changed and the
    secret scan (against the committed baseline, which stays as it is); the config-driven tests at the end."""
    root = day2.clone(tmp_path / "clone")
    baseline = (root / ".secrets.baseline").read_text()
    for recipe in recipes:
        stack = recipe(root)
        out = _ok(day2.run(root, "-m", "planner.gitops"), f"{recipe.__name__}: make gitops")
        if recipe is not awskms_secrets_provider_and_a_secret_set:
            assert "Next steps:" in out, f"{recipe.__name__}: make gitops scaffolds the new app's files and says what next"
        _ok(day2.run(root, "-m", "planner.gitops", "--check"), f"{recipe.__name__}: make gitops --check")
        _ok(day2.run(root, "-m", "planner", "--stack", stack, "--out", str(tmp_path / "plan")), f"{recipe.__name__}: make plan STACK={stack}")
        _ok(day2.run(root, "-m", "tools.secret_scan"), f"{recipe.__name__}: the secret scan")
        assert (root / ".secrets.baseline").read_text() == baseline, "no new baseline entry"
    _ok(day2.run(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CONFIG_DRIVEN, timeout=1500), "the config-driven tests")


def test_a_new_app_a_staging_only_app_and_an_awskms_stack_with_a_secret_keep_everything_green(tmp_path: Path) -> None:
    _walk(tmp_path, [new_app_with_config_random_and_external_secrets, staging_only_app, awskms_secrets_provider_and_a_secret_set])


def test_a_new_environment_in_an_existing_stack_keeps_everything_green(tmp_path: Path) -> None:
    _walk(tmp_path, [new_environment_in_an_existing_stack])
