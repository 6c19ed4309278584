"""`make gitops` scaffolds a new app's base and overlays once, never over an existing file, and says what next."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.config.environments import AppConfig
from planner import gitops
from planner.scaffold import base_files, overlay_kustomization
from tests import day2
from tests.conftest import ROOT, STACKS, stack_config_objects
from tests.test_gitops_tree import pod_templates, restricted_violations, secret_references

APP = day2.unused_app_name("ledger")
# The Secret's name, not a value (built so that secret scans see no `secretName: "<literal>"`).
TARGET = APP + "-" + "creds"
NEW_APP = {"name": APP, "serviceAccount": f"{APP}-runner", "secretName": TARGET,
           "secrets": [{"key": "db-password", "backend": "vault", "source": "random", "length": 32,
                        "charset": "alphanumeric", "rotation": "2026-12"}]}
BASE_FILES = {"kustomization.yaml", "serviceaccount.yaml", "deployment.yaml", "service.yaml", "networkpolicy.yaml",
              "poddisruptionbudget.yaml"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the stack files and the GitOps tree, with NEW_APP added to the dev stack's first environment."""
    for name in ("Pulumi.yaml", *(f"Pulumi.{s}.yaml" for s in STACKS)):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "gitops", tmp_path / "gitops")
    data = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())
    envs = data["config"]["platform:environments"]
    next(iter(envs.values()))["apps"].append(NEW_APP)
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path


def _scaffold(project: Path) -> dict[str, str]:
    names = gitops.stacks(project)
    return gitops.scaffold_files(project, names, gitops.generated_files(project, names))


def _first_env() -> str:
    return next(iter(stack_config_objects("dev")["platform:environments"]))


def _objects(files: dict[str, str]) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    return [yaml.safe_load(files[name]) for name in kustomization["resources"]]


def test_a_new_app_gets_its_base_and_overlay_and_the_next_steps(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gitops.main(["--root", str(project), "--check"]) == 1
    assert f"{APP}/base/kustomization.yaml: is missing: run `make gitops`" in capsys.readouterr().err
    assert gitops.main(["--root", str(project)]) == 0
    out = capsys.readouterr().out
    base = project / f"gitops/apps/{APP}/base"
    assert {p.name for p in base.iterdir()} == BASE_FILES
    overlay = project / f"gitops/apps/{APP}/overlays/{_first_env()}"
    assert {p.name for p in overlay.iterdir()} == {"kustomization.yaml", "externalsecret.yaml"}
    assert "Next steps:" in out and f"gitops/apps/{APP}/base/deployment.yaml" in out
    assert gitops.main(["--root", str(project), "--check"]) == 0
    # A second run creates nothing and says nothing about scaffolding.
    before = {p: p.read_text() for p in project.rglob("*.yaml")}
    assert gitops.main(["--root", str(project)]) == 0
    assert "Next steps:" not in capsys.readouterr().out
    assert {p: p.read_text() for p in project.rglob("*.yaml")} == before


def test_the_scaffold_never_overwrites_an_owners_file(project: Path) -> None:
    overlay = project / f"gitops/apps/{APP}/overlays/{_first_env()}"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("# the owners'\nresources:\n- ../../base\n- externalsecret.yaml\n")
    base = project / f"gitops/apps/{APP}/base"
    base.mkdir(parents=True)
    (base / "deployment.yaml").write_text("# the owners' deployment\n")
    files = _scaffold(project)
    assert f"gitops/apps/{APP}/overlays/{_first_env()}/kustomization.yaml" not in files
    assert f"gitops/apps/{APP}/base/deployment.yaml" not in files
    assert gitops.main(["--root", str(project)]) == 0
    assert (overlay / "kustomization.yaml").read_text().startswith("# the owners'")
    assert (base / "deployment.yaml").read_text() == "# the owners' deployment\n"


def test_an_app_with_a_base_gets_no_new_base_file(project: Path) -> None:
    """A base (its kustomization.yaml) is the owners' whole choice: the Helm example has no deployment.yaml, and keeps none."""
    assert _scaffold(project).keys() == {
        f"gitops/apps/{APP}/base/{name}" for name in BASE_FILES} | {f"gitops/apps/{APP}/overlays/{_first_env()}/kustomization.yaml"}


def test_the_scaffolded_base_is_valid_restricted_and_reads_only_the_apps_secret() -> None:
    app = AppConfig.model_validate(NEW_APP)
    objects = _objects(base_files(app))
    assert sorted(o["kind"] for o in objects) == ["Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"]
    for obj in objects:
        kubernetes_validate.validate({**obj, "metadata": {**obj["metadata"], "namespace": "x"}}, "1.33", strict=True)
    (label, template), = pod_templates(objects)
    assert restricted_violations(template["spec"]) == [], label
    assert template["spec"]["serviceAccountName"] == f"{APP}-runner"
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"] == [f"{APP}-runner"]
    assert [(r.name, r.key, r.optional) for r in secret_references(template["spec"])] == [(TARGET, None, False)]
    (container,) = template["spec"]["containers"]
    assert container["resources"]["limits"]["memory"] and container["readinessProbe"]
    assert "@sha256:" in container["image"]


@pytest.mark.parametrize(("env", "replicas"), [("development", 1), ("staging", 1), ("production", 2)])
def test_a_new_overlay_adds_namespace_external_secret_and_reloader_opt_in(env: str, replicas: int) -> None:
    k = yaml.safe_load(overlay_kustomization(APP, env, ["externalsecret.yaml"]))
    assert k["namespace"] == env and k["resources"] == ["../../base", "externalsecret.yaml"]
    (patch,) = k["patches"]
    body = yaml.safe_load(patch["patch"])
    assert patch["target"] == {"kind": "Deployment", "name": APP}
    assert body["metadata"]["annotations"] == {"reloader.stakater.com/search": "true"}
    assert body["spec"]["replicas"] == replicas
