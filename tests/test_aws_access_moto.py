"""Proof in moto: the plan's IAM, KMS and secret documents, created through boto3, grant exactly one environment.

moto validates the documents as it stores them (JSON, policy grammar), but its own
evaluator only knows StringEquals; access is therefore evaluated with
principalmapper's local simulation (planner.iam_access) over the documents read
back from moto. Not modelled: SCPs, permission boundaries, session policies, the
Principal element of trust policies (asserted structurally below), and service
state such as a key pending deletion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from planner.iam_access import can_act_on_secret, can_assume_with_web_identity, can_read_secret
from planner.run import Recording
from tests.conftest import STACKS, stack_config_objects

REGION = "eu-west-1"


@dataclass
class Account:
    """What moto holds after creating the plan's documents, read back through boto3."""

    account_id: str
    role_arns: dict[str, str]  # resource name -> ARN
    trusts: dict[str, dict[str, Any]]
    role_policies: dict[str, list[dict[str, Any]]]
    secret_arns: dict[str, str]  # secret name -> ARN (moto's own suffix)
    secret_policies: dict[str, dict[str, Any]]
    key_arn: str
    key_policy: dict[str, Any]
    outsider_arn: str

    def may(self, role: str, action: str, secret: str, extra_policies: tuple[dict[str, Any], ...] = ()) -> bool:
        return can_act_on_secret(self.role_arns[role], self.trusts[role], [*self.role_policies[role], *extra_policies],
                                 action, self.secret_arns[secret], self.secret_policies[secret])

    def reads(self, role: str, secret: str) -> bool:
        return can_read_secret(self.role_arns[role], self.trusts[role], self.role_policies[role], self.secret_arns[secret],
                               self.secret_policies[secret], self.key_arn, self.key_policy)


MANAGE_EVERY_SECRET = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
WRITES = ["secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue", "secretsmanager:PutResourcePolicy",
          "secretsmanager:DeleteResourcePolicy", "secretsmanager:UpdateSecret", "secretsmanager:RestoreSecret",
          "secretsmanager:RotateSecret", "secretsmanager:TagResource", "secretsmanager:ListSecretVersionIds"]


def _build(rec: Recording, account_id: str, stack_admin_arns: list[str]) -> Account:
    """Create roles, key, secrets and policies exactly as registered, swapping the plan's mock ids for moto's."""
    iam = boto3.client("iam", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    sm = boto3.client("secretsmanager", region_name=REGION)
    roles = [r for r in rec.by_type("aws:iam/role:Role") if r["name"].startswith("eso-")]
    role_arns = {}
    for role in roles:
        created = iam.create_role(RoleName=role["inputs"]["name"], AssumeRolePolicyDocument=role["inputs"]["assumeRolePolicy"])
        role_arns[role["name"]] = created["Role"]["Arn"]
    root = {"AWS": f"arn:aws:iam::{account_id}:root"}
    outsider = iam.create_role(RoleName="curious-admin", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": root, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="curious-admin", PolicyName="broad", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:*", "kms:Decrypt"], "Resource": "*"}]}))

    key_record = rec.one("aws:kms/key:Key", "secrets")
    plan_key_arn = f"arn:aws:kms:{REGION}:{account_id}:key/{key_record['id']}"
    key = kms.create_key(Policy=key_record["inputs"]["policy"], Description=key_record["inputs"]["description"])
    key_arn = key["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)

    renames = {plan_key_arn: key_arn}
    secret_arns = {}
    for secret in rec.by_type("aws:secretsmanager/secret:Secret"):
        created = sm.create_secret(Name=secret["inputs"]["name"], KmsKeyId=key_arn)
        secret_arns[secret["inputs"]["name"]] = created["ARN"]
        renames[secret["id"]] = created["ARN"]

    def swap(text: str) -> str:
        for old, new in renames.items():
            text = text.replace(old, new)
        return text

    for policy in rec.by_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        sm.put_resource_policy(SecretId=swap(policy["inputs"]["secretArn"]), ResourcePolicy=swap(policy["inputs"]["policy"]),
                               BlockPublicPolicy=True)
    for policy in rec.by_type("aws:iam/rolePolicy:RolePolicy"):
        if policy["name"].startswith("eso-"):
            iam.put_role_policy(RoleName=policy["inputs"]["role"], PolicyName=policy["inputs"]["name"],
                                PolicyDocument=swap(policy["inputs"]["policy"]))

    # The stack's administrators exist before the program (they run it): created here with full Secrets Manager rights.
    admins = {}
    for arn in stack_admin_arns:
        name = arn.rsplit("/", 1)[-1]
        admin = iam.create_role(RoleName=name, Path="/" + arn.split(":role/", 1)[1].rpartition(name)[0].lstrip("/"),
                                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                    {"Effect": "Allow", "Principal": root, "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName=name, PolicyName="manage", PolicyDocument=json.dumps(MANAGE_EVERY_SECRET))
        admins[f"admin:{name}"] = (admin["Role"]["Arn"], name)

    names = {r["name"]: r["inputs"]["name"] for r in roles}
    names.update({key: role_name for key, (_, role_name) in admins.items()})
    return Account(
        account_id=account_id,
        role_arns={**role_arns, **{key: arn for key, (arn, _) in admins.items()}, "outsider": outsider["Role"]["Arn"]},
        trusts={**{n: iam.get_role(RoleName=rn)["Role"]["AssumeRolePolicyDocument"] for n, rn in names.items()},
                "outsider": iam.get_role(RoleName="curious-admin")["Role"]["AssumeRolePolicyDocument"]},
        role_policies={**{n: [iam.get_role_policy(RoleName=rn, PolicyName=p)["PolicyDocument"]
                              for p in iam.list_role_policies(RoleName=rn)["PolicyNames"]] for n, rn in names.items()},
                       "outsider": [iam.get_role_policy(RoleName="curious-admin", PolicyName="broad")["PolicyDocument"]]},
        secret_arns=secret_arns,
        secret_policies={n: json.loads(sm.get_resource_policy(SecretId=a)["ResourcePolicy"]) for n, a in secret_arns.items()},
        key_arn=key_arn,
        key_policy=json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]),
        outsider_arn=outsider["Role"]["Arn"],
    )


@pytest.fixture(params=STACKS)
def account(request: pytest.FixtureRequest, recording: Callable[..., Recording], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Account]]:
    stack = request.param
    account_id = stack_config_objects(stack)["platform:aws"]["accountId"]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account_id)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    with mock_aws():
        yield stack, _build(recording(stack), account_id, stack_config_objects(stack)["platform:aws"]["adminRoleArns"])


def _scopes(stack: str) -> list[str]:
    return [*stack_config_objects(stack)["platform:environments"], "platform"]


def test_each_reader_reads_its_own_scope_and_nothing_else(account: tuple[str, Account]) -> None:
    stack, acct = account
    assert acct.key_policy["Statement"][0]["Sid"] == "KeyAdministration"  # moto stored the plan's policy
    for scope in _scopes(stack):
        for secret in acct.secret_arns:
            assert acct.reads(f"eso-{scope}-aws", secret) is secret.startswith(f"{scope}/"), (scope, secret)


def test_resource_and_key_policies_deny_a_principal_with_broad_iam_permissions(account: tuple[str, Account]) -> None:
    _, acct = account
    for secret in acct.secret_arns:
        assert acct.reads("outsider", secret) is False, secret


def test_without_the_resource_policy_the_key_policy_still_stops_the_outsider(account: tuple[str, Account]) -> None:
    _, acct = account
    secret = next(iter(acct.secret_arns))
    assert can_read_secret(acct.outsider_arn, acct.trusts["outsider"], acct.role_policies["outsider"],
                           acct.secret_arns[secret], None, acct.key_arn, acct.key_policy) is False


def test_evaluator_would_allow_the_outsider_if_the_documents_did(account: tuple[str, Account]) -> None:
    """Control: the evaluator is not denying everything; a key policy naming the outsider lets it through."""
    _, acct = account
    secret = next(iter(acct.secret_arns))
    open_key = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": acct.outsider_arn},
                                                        "Action": "kms:Decrypt", "Resource": "*"}]}
    assert can_read_secret(acct.outsider_arn, acct.trusts["outsider"], acct.role_policies["outsider"],
                           acct.secret_arns[secret], None, acct.key_arn, open_key) is True


@pytest.mark.parametrize(("namespace", "service_account", "audience", "allowed"), [
    ("external-secrets", "eso-{scope}-aws", "sts.amazonaws.com", True),
    ("{scope}", "eso-{scope}-aws", "sts.amazonaws.com", False),  # same name, an application namespace
    ("external-secrets", "eso-{other}-aws", "sts.amazonaws.com", False),  # another store's identity
    ("external-secrets", "external-secrets", "sts.amazonaws.com", False),  # the operator's own account
    ("external-secrets", "eso-{scope}-aws", "vault", False),  # a token minted for another audience
])
def test_only_the_stores_own_service_account_with_the_sts_audience_assumes_the_role(
    account: tuple[str, Account], namespace: str, service_account: str, audience: str, allowed: bool
) -> None:
    stack, acct = account
    issuer = stack_config_objects(stack)["platform:cluster"]["oidcIssuerUrl"].removeprefix("https://")
    provider = stack_config_objects(stack)["platform:cluster"]["oidcProviderArn"]
    for scope in _scopes(stack):
        other = next(s for s in _scopes(stack) if s != scope)
        role = f"eso-{scope}-aws"
        trust = acct.trusts[role]
        assert trust["Statement"][0]["Principal"] == {"Federated": provider}
        sub = f"system:serviceaccount:{namespace}:{service_account}".format(scope=scope, other=other)
        assert can_assume_with_web_identity(trust, acct.role_arns[role], issuer, sub, audience) is allowed, (role, sub, audience)


@pytest.mark.parametrize("action", WRITES)
def test_an_outsider_with_every_secrets_manager_right_cannot_touch_a_secret(account: tuple[str, Account], action: str) -> None:
    _, acct = account
    for secret in acct.secret_arns:
        assert acct.may("outsider", action, secret) is False, (action, secret)


def test_the_outsider_would_manage_the_secret_without_its_resource_policy(account: tuple[str, Account]) -> None:
    """Control: the identity policy alone grants the writes; the resource policy is what stops them."""
    _, acct = account
    secret = next(iter(acct.secret_arns))
    assert can_act_on_secret(acct.outsider_arn, acct.trusts["outsider"], acct.role_policies["outsider"],
                             "secretsmanager:DeleteSecret", acct.secret_arns[secret], None) is True


@pytest.mark.parametrize("action", WRITES)
def test_a_reader_given_every_secrets_manager_right_still_only_reads_its_secrets(account: tuple[str, Account], action: str) -> None:
    """Someone attaching secretsmanager:* to a store's role gains no write: the resource policies deny all but reads."""
    stack, acct = account
    for scope in _scopes(stack):
        for secret in acct.secret_arns:
            role = f"eso-{scope}-aws"
            assert acct.may(role, action, secret, (MANAGE_EVERY_SECRET,)) is False, (role, action, secret)
            if secret.split("/")[0] in _scopes(stack):  # Vault's recovery secret leaves DescribeSecret to its bootstrap
                assert acct.may(role, "secretsmanager:DescribeSecret", secret, (MANAGE_EVERY_SECRET,)) is secret.startswith(f"{scope}/")


@pytest.mark.parametrize("action", WRITES)
def test_the_administrators_manage_every_secret(account: tuple[str, Account], action: str) -> None:
    stack, acct = account
    admins = [key for key in acct.role_arns if key.startswith("admin:")]
    assert len(admins) == len(stack_config_objects(stack)["platform:aws"]["adminRoleArns"])
    for admin in admins:
        for secret in acct.secret_arns:
            assert acct.may(admin, action, secret) is True, (admin, action, secret)
