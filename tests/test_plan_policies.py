"""The policy pack over the real dev and prod plans: clean in both runs, and each seeded violation named."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from planner.run import Recording
from policies.runner import run_plan
from tests.conftest import STACKS


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("phase", [None, 1])
def test_real_plans_have_no_mandatory_violation_in_either_run(recording: Callable[..., Recording], stack: str, phase: int | None) -> None:
    report = run_plan(copy.deepcopy(recording(stack, phase).resources))
    assert [run.label for run in report.runs] == ["placeholders", "realistic values"]
    assert report.passed, report.render(stack)


def _first(resources: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    return next(r for r in resources if r["type"] == type_)


def _plaintext_configmap(resources: list[dict[str, Any]]) -> dict[str, Any]:
    namespace = _first(resources, "kubernetes:core/v1:Namespace")
    seeded = {**namespace, "type": "kubernetes:core/v1:ConfigMap", "name": "seeded",
              "urn": namespace["urn"].replace("kubernetes:core/v1:Namespace::vault", "kubernetes:core/v1:ConfigMap::seeded"),
              "inputs": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "staging"},
                         "data": {"DB_PASSWORD": "correct-horse-battery"}}}
    resources.append(seeded)
    return seeded


def _loose_trust(resources: list[dict[str, Any]]) -> dict[str, Any]:
    role = _first(resources, "aws:iam/role:Role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]
    condition["StringLike"] = {k: v.replace("eso-", "*") for k, v in condition.pop("StringEquals").items()}
    role["inputs"]["assumeRolePolicy"] = json.dumps(trust)
    return role


def _aws_managed_key(resources: list[dict[str, Any]]) -> dict[str, Any]:
    secret = _first(resources, "aws:secretsmanager/secret:Secret")
    secret["inputs"]["kmsKeyId"] = "alias/aws/secretsmanager"
    return secret


def _wildcard_reader(resources: list[dict[str, Any]]) -> dict[str, Any]:
    policy = _first(resources, "aws:iam/rolePolicy:RolePolicy")
    doc = json.loads(policy["inputs"]["policy"])
    doc["Statement"][0]["Action"] = "secretsmanager:*"
    doc["Statement"][0]["Resource"] = "*"
    policy["inputs"]["policy"] = json.dumps(doc)
    return policy


SEEDS: list[tuple[str, Callable[[list[dict[str, Any]]], dict[str, Any]], str]] = [
    ("plaintext password in a ConfigMap", _plaintext_configmap, "no-plaintext-secret-values"),
    ("IRSA trust with StringLike and a wildcard sub", _loose_trust, "irsa-trust-scoped"),
    ("secret on the AWS-managed key", _aws_managed_key, "secretsmanager-customer-managed-kms"),
    ("service wildcard on every resource", _wildcard_reader, "iam-no-wildcard-actions"),
]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("seed", "rule"), [s[1:] for s in SEEDS], ids=[s[0] for s in SEEDS])
def test_a_seeded_violation_fails_naming_the_rule_and_the_resource(
    recording: Callable[..., Recording], stack: str, seed: Callable[[list[dict[str, Any]]], dict[str, Any]], rule: str
) -> None:
    resources = copy.deepcopy(recording(stack).resources)
    target = seed(resources)
    report = run_plan(resources)
    assert not report.passed
    named = {(v.rule, v.urn) for run in report.runs for v in run.mandatory}
    assert (rule, target["urn"]) in named, sorted(named)
