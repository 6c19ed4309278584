"""Each README day-2 recipe, done as written on a copy of the repository, keeps everything green.

On a fresh copy: each recipe's hand edits and CLI steps, then `make gitops` (`python -m
planner.gitops`) and `make plan` of the stack it changed; then the secret scan against the
committed baseline (no new entry) and the config-driven tests, run on the copy without editing a
test. One copy walks the four recipes in turn, to keep the walk affordable.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner import gitops
from planner.__main__ import main as planner_main
from tests import day2

# The tests whose names, keys and positions come from the stack files and the GitOps tree: the
# ones a config change reaches. (The whole suite on a copy is too slow to run for each recipe.)
CONFIG_DRIVEN = (
    "tests/test_project_files.py",
    "tests/test_secrets_flow.py",
    "tests/test_config.py",
    "tests/test_external_secrets.py",
    "tests/test_external_secrets_gitops.py",
    "tests/test_gitops_tree.py",
)
AWSKMS = "awskms://alias/pulumi-secrets?region=eu-west-1"


# The apps the recipes add: names no stack file uses yet (a user's own `ledger` stays theirs).
LEDGER = day2.unused_app_name("ledger")
LEDGER_KEY = day2.config_key(LEDGER, "ApiKey")
REPORTS = day2.unused_app_name("reports")


def _random(key: str) -> dict[str, Any]:
    return {"key": key, "backend": "vault", "source": "random", "length": 32, "charset": "alphanumeric", "rotation": "2026-12"}


def _stack_hosting(root: Path, env: str) -> str:
    return next(s for s in ("dev", "prod") if env in day2.environments(day2.read_stack_file(root, s)["config"]))


def new_app_with_config_random_and_external_secrets(root: Path) -> str:
    """README: add the app under platform:environments, `pulumi config set --secret` its configKey, `make gitops`."""
    stack = _stack_hosting(root, "development")
    app = {"name": LEDGER, "secrets": [
        {"key": "api-key", "backend": "aws", "source": "config", "configKey": LEDGER_KEY},
        _random("db-password"),
        {"key": "partner-token", "backend": "vault", "source": "external"},
    ]}
    day2.edit_stack_file(root, stack, lambda c: c["platform:environments"]["development"]["apps"].append(app))
    day2.pulumi_config_set_secret(root, stack, LEDGER_KEY)
    return stack


def staging_only_app(root: Path) -> str:
    """README: an app listed in one environment only (its secrets and overlay exist there only)."""
    stack = _stack_hosting(root, "staging")
    app = {"name": REPORTS, "secrets": [_random("signing-key"), {"key": "warehouse-token", "backend": "aws", "source": "external"}]}
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
                   "apps": [{"name": LEDGER, "secrets": [_random("db-password")]}]}
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
# In this order on one copy: the new environment first (its starting point drops `staging`), then the
# apps (one of them in that environment only), then the stack with an awskms provider and its secrets.
RECIPES: tuple[Recipe, ...] = (
    new_environment_in_an_existing_stack,
    new_app_with_config_random_and_external_secrets,
    staging_only_app,
    awskms_secrets_provider_and_a_secret_set,
)


def _ok(result: Any, what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return str(result.stdout)


def test_each_day2_recipe_done_as_written_keeps_plan_gitops_scan_and_tests_green(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each recipe in turn on one copy, then `make gitops` (and its check) and `make plan` of the stack it
    changed (in-process, on the copy's files); at the end the secret scan of every file the recipes
    changed or added, against the committed baseline, which stays as it is, and the config-driven
    tests, run on the copy as `make test` would."""
    root = day2.clone(tmp_path / "clone")
    baseline = (root / ".secrets.baseline").read_text()
    for recipe in RECIPES:
        stack = recipe(root)
        capsys.readouterr()
        assert gitops.main(["--root", str(root)]) == 0, f"{recipe.__name__}: make gitops\n{capsys.readouterr().err}"
        if recipe is not awskms_secrets_provider_and_a_secret_set:
            assert "Next steps:" in capsys.readouterr().out, f"{recipe.__name__}: make gitops scaffolds the new files and says what next"
        assert gitops.main(["--root", str(root), "--check"]) == 0, f"{recipe.__name__}: make gitops --check"
        code = planner_main(["--stack", stack, "--root", str(root), "--out", str(tmp_path / "plan")])
        assert code == 0, f"{recipe.__name__}: make plan STACK={stack}\n{capsys.readouterr().err}"
    # The committed tree passes the scan (`make lint`); what the recipes wrote must too, with the same baseline.
    produced = day2.changed_files(root)
    assert "Pulumi.prod.yaml" in produced and any(f.startswith(f"gitops/apps/{LEDGER}/base/") for f in produced)
    _ok(day2.run(root, "-m", "tools.secret_scan", *produced), "the secret scan of the recipes' files")
    assert (root / ".secrets.baseline").read_text() == baseline, "no new baseline entry"
    # (The plan command's own test is left out: the walk ran the plan of every stack it changed.)
    _ok(day2.run(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CONFIG_DRIVEN,
                 "--deselect", "tests/test_config.py::test_plan_command_on_valid_copy_writes_the_plan", timeout=1500),
        "the config-driven tests")
