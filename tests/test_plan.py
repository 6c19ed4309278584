"""The offline plan: format, namespaces, providers, determinism, phases."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from planner.access_cell import AccessCell
from planner.access_matrix import access_cells, write_access_matrix
from planner.run import Recording
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings

NAMESPACE = "kubernetes:core/v1:Namespace"
RECORD_KEYS = {"type", "name", "urn", "parent", "custom", "dependencies", "inputs"}


def _plan(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "plan"
    result = subprocess.run([sys.executable, "-m", "planner", "--out", str(out), *args],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stdout
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_resources_json_has_the_specified_shape(recording: Callable[..., Recording], stack: str) -> None:
    resources = recording(stack).resources
    assert resources[0]["type"] == "platform:core:Platform"  # registration order: root component first
    urns = {r["urn"] for r in resources}
    for r in resources:
        assert set(r) >= RECORD_KEYS, r["urn"]
        assert r["urn"].startswith(f"urn:pulumi:{stack}::platform::"), r["urn"]
        assert r["parent"] is None or r["parent"] in urns or r["parent"].endswith("pulumi:pulumi:Stack::platform-" + stack)
        assert set(r["dependencies"]) <= urns, r["urn"]


@pytest.mark.parametrize(("stack", "expected"), [
    ("dev", ["vault", "argocd", "external-secrets", "development", "staging"]),
    ("prod", ["vault", "argocd", "external-secrets", "production"]),
])
def test_namespaces_with_explicit_names_and_labels(recording: Callable[..., Recording], stack: str, expected: list[str]) -> None:
    namespaces = recording(stack).by_type(NAMESPACE)
    assert [n["inputs"]["metadata"]["name"] for n in namespaces] == expected
    for ns in namespaces:
        labels = ns["inputs"]["metadata"]["labels"]
        name = ns["inputs"]["metadata"]["name"]
        env = name if name in ("development", "staging", "production") else "platform"
        assert labels["platform.secrets/environment"] == env
        assert labels["app.kubernetes.io/managed-by"] == "pulumi"
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.33"


def test_vault_namespace_is_protected_in_prod_only(recording: Callable[..., Recording]) -> None:
    assert recording("prod").one(NAMESPACE, "vault")["protect"] is True
    assert recording("dev").one(NAMESPACE, "vault")["protect"] is False
    assert recording("prod").one(NAMESPACE, "production")["protect"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_every_cloud_or_cluster_object_uses_the_stacks_explicit_provider(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    cluster = stack_config_objects(stack)["platform:cluster"]["name"]
    k8s_provider = rec.one("pulumi:providers:kubernetes", f"eks-{cluster}")["urn"]
    aws_provider = rec.one("pulumi:providers:aws", "aws")["urn"]
    objects = [r for r in rec.resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    assert objects
    for r in objects:
        package = r["type"].split(":")[0]
        expected = {"kubernetes": k8s_provider, "aws": aws_provider}.get(package)
        if expected is not None:
            assert r["provider"] == expected, r["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_providers_are_bound_to_the_stacks_account_and_cluster(recording: Callable[..., Recording], stack: str) -> None:
    cfg = stack_config_objects(stack)
    rec = recording(stack)
    aws = rec.one("pulumi:providers:aws", "aws")["inputs"]
    assert json.loads(aws["allowedAccountIds"]) == [cfg["platform:aws"]["accountId"]]
    assert aws["region"] == cfg["platform:aws"]["region"]
    cluster = cfg["platform:cluster"]["name"]
    kubeconfig = json.loads(rec.one("pulumi:providers:kubernetes", f"eks-{cluster}")["inputs"]["kubeconfig"])
    assert kubeconfig["current-context"] == cluster
    assert [c["name"] for c in kubeconfig["clusters"]] == [cluster]
    args = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--cluster-name") + 1] == cluster
    assert args[args.index("--region") + 1] == cfg["platform:aws"]["region"]
    assert kubeconfig["clusters"][0]["cluster"]["server"].endswith(f".{cfg['platform:aws']['region']}.eks.amazonaws.com")


def test_stack_files_disable_default_providers() -> None:
    for stack in STACKS:
        assert stack_config_objects(stack)["pulumi:disable-default-providers"] == ["*"]


def test_inputs_use_wire_names_and_integers(recording: Callable[..., Recording]) -> None:
    policy = recording("dev").one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "staging-default-deny")["inputs"]
    assert policy["apiVersion"] == "networking.k8s.io/v1"
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == []
    assert policy["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert policy["metadata"]["namespace"] == "staging"


def test_plan_writes_artifacts_and_is_byte_identical_across_runs(tmp_path: Path) -> None:
    first = _plan(tmp_path / "a", "--stack", "dev")
    second = _plan(tmp_path / "b", "--stack", "dev")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert Path("dev/resources.json") in files and Path("dev/summary.md") in files
    assert Path("dev/manifests/_cluster/namespace-vault.yaml") in files
    assert Path("dev/manifests/staging/networkpolicy-default-deny.yaml") in files
    for artifact in ("iam/trust-eso-staging-aws.json", "iam/key-policy-secrets.json", "vault/app-staging-api.hcl",
                     "vault/eso-staging.hcl", "vault/vault-snapshot.hcl", "access-matrix.md",
                     "access-matrix.json", "policy-report.txt"):
        assert Path("dev") / artifact in files, artifact
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    assert sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file()) == files
    resources = json.loads((first / "dev" / "resources.json").read_text())
    assert [r["inputs"]["metadata"]["name"] for r in resources if r["type"] == NAMESPACE][-2:] == ["development", "staging"]


def test_phase_one_plan_goes_to_its_own_folder(tmp_path: Path) -> None:
    out = _plan(tmp_path, "--stack", "prod", "--phase", "1")
    summary = (out / "prod-phase1" / "summary.md").read_text()
    assert "Vault phase: 1" in summary
    assert not (out / "prod").exists()


def test_summary_lists_every_app_of_every_environment(tmp_path: Path) -> None:
    summary = (_plan(tmp_path, "--stack", "dev") / "dev" / "summary.md").read_text()
    for env, apps in stack_config_objects("dev")["platform:environments"].items():
        for app in apps["apps"]:
            assert f"| {env} | {apps['syncPolicy']} | {apps['refreshInterval']} | {app['name']} |" in summary


def test_access_matrix_json_holds_every_cell_one_per_line(recording: Callable[..., Recording]) -> None:
    resources, settings = recording("dev").resources, stack_settings("dev")
    cells = access_cells(resources, settings)
    text = write_access_matrix(resources, settings)["access-matrix.json"]
    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(cells) + 2
    assert [AccessCell(**c) for c in json.loads(text)] == cells


def test_access_matrix_json_lines_are_what_json_dumps_writes(recording: Callable[..., Recording]) -> None:
    resources, settings = recording("prod").resources, stack_settings("prod")
    cells = access_cells(resources, settings)
    lines = write_access_matrix(resources, settings)["access-matrix.json"].splitlines()[1:-1]
    assert lines == [json.dumps(asdict(c), sort_keys=True) + ("," if i < len(cells) - 1 else "") for i, c in enumerate(cells)]
    assert any(c.allowed for c in cells) and not all(c.allowed for c in cells)
