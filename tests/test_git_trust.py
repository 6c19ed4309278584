"""Git trust per environment (issue 16, item 4): own revisions, signed commits, CODEOWNERS.

Production follows a revision of its own (a merge to the shared branch does not reach it),
AppProjects verify commit signatures when keys are configured, and `.github/CODEOWNERS`,
generated from the stack files, gives each environment's folders to its approvers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.argocd.applicationsets import application_set
from components.argocd.projects import app_project
from components.argocd.values import argocd_values
from components.config import ConfigError
from planner import codeowners
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings

KEY_ID = "4AEE18F83AFDEB23"
PUBLIC_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBGExampleOnlyNotARealKey\n-----END PGP PUBLIC KEY BLOCK-----\n"


def _owners() -> dict[str, list[str]]:
    lines = (ROOT / codeowners.TARGET).read_text().splitlines()
    return {line.split()[0]: line.split()[1:] for line in lines if line and not line.startswith("#")}


def test_codeowners_is_up_to_date() -> None:
    assert codeowners.main(["--check"]) == 0


def test_a_stale_codeowners_fails_the_check(tmp_path: Path) -> None:
    for name in ["Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in STACKS)]:
        shutil.copy(ROOT / name, tmp_path)
    (tmp_path / ".github").mkdir()
    (tmp_path / codeowners.TARGET).write_text((ROOT / codeowners.TARGET).read_text().replace("production-approvers", "someone-else"))
    assert codeowners.main(["--check", "--root", str(tmp_path)]) == 1
    assert codeowners.main(["--root", str(tmp_path)]) == 0
    assert codeowners.main(["--check", "--root", str(tmp_path)]) == 0


@pytest.mark.parametrize("stack", STACKS)
def test_each_environments_overlays_belong_to_its_approvers(stack: str) -> None:
    owners = _owners()
    settings = stack_settings(stack)
    for env, cfg in settings.environments.items():
        assert cfg.approvers, f"{stack}: environments.{env}.approvers is empty"
        for app in cfg.apps:
            assert owners[f"/{settings.gitops.path}/apps/{app.name}/overlays/{env}/"] == cfg.approvers


def test_shared_folders_belong_to_the_most_protected_environment_deploying_them() -> None:
    """A base change reaches every environment of the app: a development approver alone cannot merge one."""
    owners = _owners()
    production = stack_settings("prod").environments["production"]
    for app in production.apps:
        assert owners[f"/gitops/apps/{app.name}/base/"] == production.approvers
    assert owners["/gitops/charts/"] == production.approvers
    assert owners["/.github/"] == production.approvers
    dev = stack_settings("dev")
    assert owners["/Pulumi.dev.yaml"] == dev.environments["staging"].approvers


def test_production_follows_a_revision_of_its_own() -> None:
    settings = stack_settings("prod")
    revision = application_set("production", settings)["spec"]["template"]["spec"]["source"]["targetRevision"]
    assert revision == settings.environments["production"].revision != settings.gitops.revision


def test_production_on_the_shared_revision_is_refused() -> None:
    envs = stack_config_objects("prod")["platform:environments"]
    del envs["production"]["revision"]
    with pytest.raises(ConfigError, match=r"platform:environments.production.revision: is not set apart from gitops.revision"):
        stack_settings("prod", environments=envs)


@pytest.mark.parametrize("stack", STACKS)
def test_projects_verify_signatures_only_when_keys_are_configured(stack: str) -> None:
    settings = stack_settings(stack)
    for env in settings.environments:
        assert "signatureKeys" not in app_project(env, settings)["spec"]
    config = stack_config_objects(stack)
    gitops_cfg = {**config["platform:gitops"], "gpgPublicKeys": {KEY_ID: PUBLIC_KEY}}
    envs = config["platform:environments"]
    env = next(iter(envs))
    envs[env]["signatureKeys"] = [KEY_ID]
    signed = stack_settings(stack, gitops=gitops_cfg, environments=envs)
    assert app_project(env, signed)["spec"]["signatureKeys"] == [{"keyID": KEY_ID}]
    assert argocd_values(signed)["configs"]["gpg"]["keys"] == {KEY_ID: PUBLIC_KEY}
    envs[env]["signatureKeys"] = ["0123456789ABCDEF"]
    with pytest.raises(ConfigError, match=r"is not a key of gitops\.gpgPublicKeys"):
        stack_settings(stack, gitops=gitops_cfg, environments=envs)


def test_ci_docs_list_the_branch_protection_that_makes_it_bind() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    for words in ("Require review from Code Owners", "production", "Require signed commits", "planner.codeowners --check"):
        assert words in text, words
