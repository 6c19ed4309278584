"""Advisory rules: memory limits, prod replicas, KMS rotation, prod deletion protection."""

from __future__ import annotations

import pytest

from policies.rules.registry import RULES_BY_NAME

DEPLOY = "kubernetes:apps/v1:Deployment"


def _deploy(replicas=None, limits: bool = True):
    container = {"name": "app", "image": "app:1"}
    if limits:
        container["resources"] = {"limits": {"memory": "128Mi"}}
    spec = {"template": {"spec": {"containers": [container], "initContainers": [{"name": "init"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"spec": spec}


def test_advisory_rules_are_advisory_by_default() -> None:
    for name in ("controller-memory-limits", "prod-controller-replicas", "kms-key-rotation", "prod-deletion-protection"):
        assert RULES_BY_NAME[name].enforcement == "advisory"


def test_memory_limits(f) -> None:
    assert f.check("controller-memory-limits", f.view(DEPLOY, _deploy(2))) == []
    assert f.check("controller-memory-limits", f.view(DEPLOY, _deploy(2, limits=False))) == [
        "container app has no resources.limits.memory."
    ]
    ds = f.view("kubernetes:apps/v1:DaemonSet", _deploy(limits=False))
    assert len(f.check("controller-memory-limits", ds)) == 1
    assert f.check("controller-memory-limits", ds, stacks=["prod"]) == []
    values = f.vault_values()
    del values["server"]["resources"]
    vault = f.view("kubernetes:helm.sh/v3:Release", {"chart": "vault", "values": values})
    assert f.check("controller-memory-limits", vault) == ["values.server.resources.limits.memory is not set for the Vault server."]


@pytest.mark.parametrize(("replicas", "n"), [(None, 1), (1, 1), (2, 0), (3, 0), ("[unknown]", 0)])
def test_prod_replicas(f, replicas, n: int) -> None:
    assert len(f.check("prod-controller-replicas", f.view(DEPLOY, _deploy(replicas), stack="prod"))) == n
    assert f.check("prod-controller-replicas", f.view(DEPLOY, _deploy(replicas), stack="dev")) == []


def test_prod_vault_replicas(f) -> None:
    values = f.vault_values()
    release = "kubernetes:helm.sh/v3:Release"
    assert f.check("prod-controller-replicas", f.view(release, {"chart": "vault", "values": values}, stack="prod")) == []
    values["server"]["ha"]["replicas"] = 1
    assert f.check("prod-controller-replicas", f.view(release, {"chart": "vault", "values": values}, stack="prod")) == [
        "values.server.ha.replicas is 1 (fewer than 3) in stack prod."
    ]
    values["server"]["ha"] = {"enabled": False}
    assert "standalone" in f.check("prod-controller-replicas", f.view(release, {"chart": "vault", "values": values}, stack="prod"))[0]


def test_kms_rotation(f) -> None:
    key = "aws:kms/key:Key"
    assert f.check("kms-key-rotation", f.view(key, {"enableKeyRotation": True})) == []
    assert f.check("kms-key-rotation", f.view(key, {})) == ["enableKeyRotation is not true."]
    assert f.check("kms-key-rotation", f.view(key, {"enableKeyRotation": False})) == ["enableKeyRotation is not true."]
    assert f.check("kms-key-rotation", f.view(key, {"customerMasterKeySpec": "RSA_2048"})) == []


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        ("aws:kms/key:Key", {}),
        ("aws:s3/bucketV2:BucketV2", {}),
        ("aws:s3/bucket:Bucket", {}),
        ("kubernetes:core/v1:Namespace", {"metadata": {"name": "vault"}}),
        ("kubernetes:core/v1:PersistentVolumeClaim", {"metadata": {"name": "data"}}),
        ("kubernetes:storage.k8s.io/v1:StorageClass", {"metadata": {"name": "gp3"}}),
    ],
)
def test_prod_deletion_protection(f, type_: str, inputs: dict) -> None:
    rule = "prod-deletion-protection"
    assert f.check(rule, f.view(type_, inputs, stack="prod")) == [f"{type_} has neither protect nor retainOnDelete in stack prod."]
    assert f.check(rule, f.view(type_, inputs, stack="prod", protect=True)) == []
    assert f.check(rule, f.view(type_, inputs, stack="prod", retain=True)) == []
    assert f.check(rule, f.view(type_, inputs, stack="dev")) == []


def test_other_namespaces_need_no_protection(f) -> None:
    ns = f.view("kubernetes:core/v1:Namespace", {"metadata": {"name": "development"}}, stack="prod")
    assert f.check("prod-deletion-protection", ns) == []
