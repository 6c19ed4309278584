"""Every Kubernetes object of every stack's plan validates, strictly, against the cluster version's schema."""

from __future__ import annotations

from collections.abc import Callable

import kubernetes_validate
import pytest

from planner.artifacts import is_kubernetes_object, kubernetes_manifest
from planner.run import Recording
from policies.realistic import RealisticValues
from tests.conftest import STACKS, stack_config_objects

BUILT_IN_GROUPS = ("kubernetes:core/", "kubernetes:apps/", "kubernetes:batch/", "kubernetes:networking.k8s.io/",
                   "kubernetes:policy/", "kubernetes:rbac.authorization.k8s.io/", "kubernetes:storage.k8s.io/",
                   "kubernetes:admissionregistration.k8s.io/")


@pytest.mark.parametrize("stack", STACKS)
def test_every_built_in_object_validates_strictly(recording: Callable[..., Recording], stack: str) -> None:
    version = stack_config_objects(stack)["platform:cluster"]["kubernetesVersion"]
    objects = [r for r in recording(stack).resources if is_kubernetes_object(r) and r["type"].startswith(BUILT_IN_GROUPS)]
    assert len(objects) >= 4
    failures = []
    for r in objects:
        try:
            # A Secret's data is registered as one "[secret]": validate with a value of its kind there.
            realistic = {**r, "inputs": RealisticValues().replace(r["type"], r["inputs"])}
            kubernetes_validate.validate(kubernetes_manifest(realistic), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{r['urn']}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_validation_catches_a_misspelled_field() -> None:
    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "x", "namespace": "staging"}, "spec": {"podSelector": {}, "policyType": ["Ingress"]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33", strict=True)
