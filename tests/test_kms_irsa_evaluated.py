"""KMS key policies and IRSA roles judged by what they allow (principalmapper, planner/iam_access.py)
and by literal expected values, never the constants the code uses (issue 19: mutation survivors)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.irsa import IrsaRole, irsa_role_name, irsa_trust_policy
from components.kms import KmsKey, key_policy
from components.providers import aws_provider
from planner.iam_access import can_assume_with_web_identity, local_check_authorization_full, role_node
from planner.run import run_program
from planner.stackfile import read_stack
from tests.conftest import ROOT, stack_settings

ACCOUNT = "111111111111"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-000000000001"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/someone-else"


def _kms_allows(principal_arn: str, action: str, policy: dict[str, Any]) -> bool:  # principalmapper, via iam_access (py3.11 shim)
    """Whether the key policy alone lets a principal with no IAM policy of its own do ``action``."""
    node = role_node(principal_arn, [], {"Version": "2012-10-17", "Statement": []})
    return bool(local_check_authorization_full(node, action, KEY_ARN, {}, resource_policy=policy, resource_owner=ACCOUNT))


# --- KMS: the key stays manageable, by its administrators only, without data access -----------

# One action of each kind an administrator needs to manage (and rescue) a key over its life.
ADMIN_CAN = ["kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKeyRotation",
             "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:ListGrants", "kms:PutKeyPolicy", "kms:RevokeGrant",
             "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"]


@pytest.mark.parametrize("action", ADMIN_CAN)
def test_key_administrators_can_still_administer_the_key(action: str) -> None:
    policy = key_policy(admin_arns=[ADMIN], usage_statements=[])
    assert _kms_allows(ADMIN, action, policy)
    assert not _kms_allows(OTHER, action, policy)


@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"])
def test_key_administrators_cannot_use_the_key(action: str) -> None:
    assert not _kms_allows(ADMIN, action, key_policy(admin_arns=[ADMIN], usage_statements=[]))


def test_key_policy_admin_statement_literally() -> None:
    doc = key_policy(admin_arns=[OTHER, ADMIN], usage_statements=[])
    assert doc["Version"] == "2012-10-17"
    admin = doc["Statement"][0]
    assert (admin["Sid"], admin["Effect"], admin["Resource"]) == ("KeyAdministration", "Allow", "*")
    assert admin["Principal"] == {"AWS": [ADMIN, OTHER]}


def test_a_key_policy_without_administrators_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"^a key policy needs at least one administrator, or the key becomes unmanageable$"):
        key_policy(admin_arns=[], usage_statements=[])


def test_a_usage_statement_may_not_take_the_administrator_sid() -> None:
    with pytest.raises(ValueError, match="may not reuse the Sid 'KeyAdministration'"):
        key_policy(admin_arns=[ADMIN], usage_statements=[{"Sid": "KeyAdministration", "Effect": "Deny"}])


# --- IRSA: one service account, one hour, tagged ---------------------------------------------

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/platform-dev-external-secrets-eso"


@pytest.mark.parametrize(("sub", "aud", "allowed"), [
    ("system:serviceaccount:external-secrets:eso", "sts.amazonaws.com", True),
    ("system:serviceaccount:external-secrets:other", "sts.amazonaws.com", False),
    ("system:serviceaccount:team-a:eso", "sts.amazonaws.com", False),
    ("system:serviceaccount:external-secrets:eso", "https://kubernetes.default.svc", False),
])
def test_irsa_trust_admits_exactly_one_service_account_with_the_sts_audience(sub: str, aud: str, allowed: bool) -> None:
    trust = irsa_trust_policy(cluster=stack_settings("dev").cluster, namespace="external-secrets", service_account="eso")
    assert can_assume_with_web_identity(trust, ROLE_ARN, ISSUER, sub, aud) is allowed


def test_irsa_role_name_limit_is_64_characters_inclusive() -> None:
    service_account = "s" * (64 - len("platform-dev-vault-"))
    assert len(irsa_role_name("platform-dev", "vault", service_account)) == 64
    with pytest.raises(ValueError, match="exceeds 64 characters"):
        irsa_role_name("platform-dev", "vault", service_account + "s")


def _probe() -> None:
    settings = stack_settings("dev")
    root = pulumi.ComponentResource("platform:test:Probe", "probe")
    aws = aws_provider(settings, parent=root)
    role = IrsaRole("eso", cluster=settings.cluster, namespace="external-secrets", service_account="eso",
                    aws_provider=aws, opts=pulumi.ResourceOptions(parent=root))
    role.attach_policy({"Version": "2012-10-17", "Statement": []})
    with pytest.raises(ValueError, match="already has its policy"):
        role.attach_policy({"Version": "2012-10-17", "Statement": []})
    KmsKey("plain", alias="platform-dev/plain", description="d", aws_provider=aws,
           policy=key_policy(admin_arns=[ADMIN], usage_statements=[]), opts=pulumi.ResourceOptions(parent=root))


@pytest.fixture(scope="module")
def probe() -> Any:
    return run_program(read_stack(ROOT, "dev"), program=_probe)


def test_irsa_sessions_last_at_most_one_hour(probe: Any) -> None:
    assert probe.one("aws:iam/role:Role", "eso")["inputs"]["maxSessionDuration"] == 3600


def test_irsa_role_is_tagged_with_its_service_account(probe: Any) -> None:
    assert probe.one("aws:iam/role:Role", "eso")["inputs"]["tags"] == {
        "kubernetes-namespace": "external-secrets", "kubernetes-service-account": "eso"}


def test_irsa_role_policy_is_named_after_the_role(probe: Any) -> None:
    policy = probe.one("aws:iam/rolePolicy:RolePolicy", "eso")
    assert policy["inputs"]["name"] == "platform-dev-external-secrets-eso-permissions"
    assert json.loads(policy["inputs"]["policy"]) == {"Version": "2012-10-17", "Statement": []}


def test_kms_key_is_unprotected_unless_asked(probe: Any) -> None:
    key = probe.one("aws:kms/key:Key", "plain")
    assert key["protect"] is False
    assert key["parent"].endswith("platform:aws:KmsKey::plain")
    assert key["inputs"]["deletionWindowInDays"] == 30
    assert key["inputs"]["description"] == "d"
