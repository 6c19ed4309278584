"""Tests that kill the mutants tools/mutation.py found surviving (issue 19), by behaviour.

Each test evaluates a document (principalmapper's IAM evaluator, planner/iam_access.py) or states
the literal value a reviewer expects, never the constant the code itself uses.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.irsa import IrsaRole, irsa_role_name, irsa_trust_policy
from components.kms import KmsKey, key_policy
from components.providers import aws_provider
from planner.iam_access import can_assume_with_web_identity, role_node
from planner.run import run_program
from planner.stackfile import read_stack
from principalmapper.querying.query_interface import local_check_authorization_full
from tests.conftest import ROOT, stack_settings

ACCOUNT = "111111111111"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-000000000001"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/someone-else"


def _kms_allows(principal_arn: str, action: str, policy: dict[str, Any]) -> bool:
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
    with pytest.raises(ValueError, match="^a key policy needs at least one administrator, or the key becomes unmanageable$"):
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


# --- The AWS evaluator: each of the three documents can refuse on its own --------------------

SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:development/api/db-AbCdEf"
READER = f"arn:aws:iam::{ACCOUNT}:role/platform-dev-external-secrets-eso-development-aws"
READER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET},
    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN},
]}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
         "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
         "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:external-secrets:eso-development-aws"}}}]}


def _key_policy(via_region: str = "eu-west-1", secret: str = SECRET) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": READER}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{via_region}.amazonaws.com",
                                       "kms:EncryptionContext:SecretARN": secret, "kms:CallerAccount": ACCOUNT}}}]}


def _deny_all_but(principal: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": principal}}}]}


def _reads(secret_policy: dict[str, Any] | None, key_policy_doc: dict[str, Any], role_policies: list[Any] | None = None) -> bool:
    from planner.iam_access import can_read_secret
    return can_read_secret(READER, TRUST, [READER_POLICY] if role_policies is None else role_policies,
                           SECRET, secret_policy, KEY_ARN, key_policy_doc)


def test_reader_reads_when_all_three_documents_agree() -> None:
    assert _reads(_deny_all_but(READER), _key_policy()) is True
    assert _reads(None, _key_policy()) is True


def test_the_secret_resource_policy_alone_stops_the_reader() -> None:
    assert _reads(_deny_all_but(OTHER), _key_policy()) is False


def test_the_key_policy_alone_stops_the_reader() -> None:
    assert _reads(None, _key_policy(via_region="us-east-1")) is False
    assert _reads(None, _key_policy(secret=SECRET + "x")) is False


def test_the_identity_policy_alone_stops_the_reader() -> None:
    only_decrypt = {"Version": "2012-10-17", "Statement": [READER_POLICY["Statement"][1]]}
    assert _reads(None, _key_policy(), [only_decrypt]) is False


def _resources(*, trust: dict[str, Any], secret_policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    name = READER.rsplit("/", 1)[1]
    found: list[dict[str, Any]] = [
        {"type": "aws:iam/role:Role", "inputs": {"name": name, "assumeRolePolicy": json.dumps(trust)}},
        {"type": "aws:iam/rolePolicy:RolePolicy", "inputs": {"role": name, "policy": json.dumps(READER_POLICY)}},
        {"type": "aws:secretsmanager/secret:Secret", "id": SECRET, "inputs": {"name": "development/api/db", "kmsKeyId": KEY_ARN}},
        {"type": "aws:kms/key:Key", "id": KEY_ARN.rsplit("/", 1)[1], "inputs": {"policy": json.dumps(_key_policy())}},
    ]
    if secret_policy is not None:
        found.append({"type": "aws:secretsmanager/secretPolicy:SecretPolicy",
                      "inputs": {"secretArn": SECRET, "policy": json.dumps(secret_policy)}})
    return found


def test_matrix_reads_every_document_of_the_plan() -> None:
    from planner.iam_access import aws_access_matrix
    cells = aws_access_matrix(_resources(trust=TRUST, secret_policy=_deny_all_but(READER)))
    assert [(c.principal, c.via, c.path, c.allowed) for c in cells] == [
        ("system:serviceaccount:external-secrets:eso-development-aws", READER.rsplit("/", 1)[1], "development/api/db", True)]
    denied = aws_access_matrix(_resources(trust=TRUST, secret_policy=_deny_all_but(OTHER)))
    assert [c.allowed for c in denied] == [False]


def test_matrix_skips_roles_without_a_web_identity_trust_and_plans_without_secrets() -> None:
    from planner.iam_access import aws_access_matrix
    ec2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
           "Principal": {"Service": "ec2.amazonaws.com"}}]}
    assert aws_access_matrix(_resources(trust=ec2, secret_policy=None)) == []
    no_secrets = [r for r in _resources(trust=TRUST, secret_policy=None) if r["type"] != "aws:secretsmanager/secret:Secret"]
    assert aws_access_matrix(no_secrets) == []


# --- Vault's path priority -------------------------------------------------------------------

def test_the_earliest_wildcard_decides_priority_even_when_a_path_holds_both_plus_and_star() -> None:
    """Vault: the path whose first wildcard comes earlier loses. ``kv/data/+/a/bb*`` (first at 8)
    loses to ``kv/data/x/+/b*`` (first at 10), although its ``*`` comes later."""
    from planner.vault_access import allowed_capabilities
    policies = [{"kv/data/+/a/bb*": frozenset({"deny"})}, {"kv/data/x/+/b*": frozenset({"read"})}]
    assert allowed_capabilities(policies, "kv/data/x/a/bb1") == frozenset({"read"})


# --- Config: the survivors in stack.py and environments.py -------------------------------------

def _config_problems(edit: Any = None, **scalars: str) -> list[str]:
    """The ``  - <path>: <problem>`` lines parse_stack_config reports for the dev stack, edited."""
    from components.config import ConfigError, parse_stack_config
    from tests.conftest import secret_config, stack_config_objects
    from tests.test_config import _raw

    config = stack_config_objects("dev")
    if edit is not None:
        edit(config)
    values, keys = secret_config("dev")
    try:
        parse_stack_config({**_raw(config), **values, **scalars}, "dev", keys)
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines() if line.startswith("  - ")]
    return []


@pytest.mark.parametrize(("key", "text"), [("vaultPhase", "two"), ("vaultPhase", "1.5"), ("protectStateful", "yes")])
def test_a_scalar_of_the_wrong_type_is_a_config_error_not_a_crash(key: str, text: str) -> None:
    problems = _config_problems(**{key: text})
    assert [p for p in problems if p.startswith(f"- platform:{key}: has the wrong type. Fix: ")], problems


def _first(source: str) -> tuple[str, int, int, dict[str, Any]]:
    """(environment, app index, secret index, secret) of the dev stack's first secret of ``source``."""
    from tests.conftest import stack_config_objects

    for env, body in stack_config_objects("dev")["platform:environments"].items():
        for i, app in enumerate(body["apps"]):
            for j, secret in enumerate(app["secrets"]):
                if secret["source"] == source:
                    return env, i, j, secret
    raise AssertionError(f"the dev stack has no secret of source {source}")


def _edit_secret(source: str, **changes: Any) -> tuple[str, list[str]]:
    env, i, j, _ = _first(source)

    def edit(config: dict[str, Any]) -> None:
        secret = config["platform:environments"][env]["apps"][i]["secrets"][j]
        for key, value in changes.items():
            if value is None:
                secret.pop(key, None)
            else:
                secret[key] = value

    return f"platform:environments.{env}.apps[{i}].secrets[{j}]", _config_problems(edit)


@pytest.mark.parametrize(("setting", "value"), [("length", 32), ("charset", "alphanumeric"), ("rotation", "2026-11")])
def test_random_only_settings_on_a_config_secret_are_refused(setting: str, value: Any) -> None:
    path, problems = _edit_secret("config", **{setting: value})
    assert problems == [f"- {path}.{setting}: applies only to source random, not config. Fix: remove it."], problems


def test_config_key_on_a_random_secret_is_refused() -> None:
    path, problems = _edit_secret("random", configKey="someKey")
    assert [p for p in problems if p.startswith(f"- {path}.configKey: applies only to source config, not random.")], problems


def test_a_config_secret_needs_its_config_key() -> None:
    path, problems = _edit_secret("config", configKey=None)
    assert [p for p in problems if p.startswith(f"- {path}.configKey: is required for source config.")], problems


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True), (128, True), (129, False)])
def test_random_length_bounds_are_16_and_128_inclusive(length: int, accepted: bool) -> None:
    path, problems = _edit_secret("random", length=length)
    assert problems == ([] if accepted else [f"- {path}.length: must be between 16 and 128. Fix: set a length of 16 to 128."])


@pytest.mark.parametrize("setting", ["length", "charset", "rotation"])
def test_a_random_secret_needs_length_charset_and_rotation(setting: str) -> None:
    path, problems = _edit_secret("random", **{setting: None})
    assert [p for p in problems if p.startswith(f"- {path}.{setting}: is required for source random.")], problems


def test_an_app_with_no_secrets_is_refused() -> None:
    env, i, _, _ = _first("random")

    def edit(config: dict[str, Any]) -> None:
        config["platform:environments"][env]["apps"][i]["secrets"] = []

    problems = _config_problems(edit)
    assert [p for p in problems if p.startswith(f"- platform:environments.{env}.apps[{i}].secrets: ")], problems
