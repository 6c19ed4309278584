"""Who can read which AWS secret, evaluated from the documents the program registers.

The evaluation is principalmapper's local policy simulation (identity policies,
resource policies with explicit denies, KMS key policies that must authorise even
in the same account, and condition operators such as StringLike and
ArnNotEquals). What it does not model: SCPs and permission boundaries (the
platform sets none), session policies, the ``Principal`` element of trust
policies (callers check the federated principal themselves), and anything AWS
evaluates outside the documents (a secret scheduled for deletion, a disabled key).
"""

from __future__ import annotations

import collections
import collections.abc
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

# principalmapper 1.1.5 still imports Mapping/MutableMapping from `collections`,
# which Python 3.10 removed; alias them before importing it (nothing else changes).
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

from planner.access_cell import AccessCell  # noqa: E402

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
KMS_KEY = "aws:kms/key:Key"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def role_node(role_arn: str, policies: Sequence[Mapping[str, Any]], trust: Mapping[str, Any]) -> Node:
    """A principalmapper node for an IAM role with inline policies."""
    return Node(
        arn=role_arn, id_value="AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:16].upper(),
        attached_policies=[Policy(role_arn, f"inline-{i}", dict(p)) for i, p in enumerate(policies)],
        group_memberships=[], trust_policy=dict(trust), instance_profile=None, num_access_keys=0,
        active_password=False, is_admin=False, permissions_boundary=None, has_mfa=False, tags={},
    )


def can_act_on_secret(
    role_arn: str,
    trust: Mapping[str, Any],
    role_policies: Sequence[Mapping[str, Any]],
    action: str,
    secret_arn: str,
    secret_policy: Mapping[str, Any] | None,
) -> bool:
    """Whether Secrets Manager lets the role take ``action`` on the secret (identity and resource policies; no KMS)."""
    account = secret_arn.split(":")[4]
    return bool(local_check_authorization_full(
        role_node(role_arn, role_policies, trust), action, secret_arn, {},
        resource_policy=dict(secret_policy) if secret_policy else None, resource_owner=account,
    ))


def can_read_secret(
    role_arn: str,
    trust: Mapping[str, Any],
    role_policies: Sequence[Mapping[str, Any]],
    secret_arn: str,
    secret_policy: Mapping[str, Any] | None,
    key_arn: str,
    key_policy: Mapping[str, Any],
) -> bool:
    """GetSecretValue succeeds only if Secrets Manager allows it and KMS lets the role decrypt that secret."""
    arn_parts = secret_arn.split(":")
    region, account = arn_parts[3], arn_parts[4]
    if not can_act_on_secret(role_arn, trust, role_policies, "secretsmanager:GetSecretValue", secret_arn, secret_policy):
        return False  # most cells of a full matrix: no need to ask KMS
    node = role_node(role_arn, role_policies, trust)
    decrypt = local_check_authorization_full(
        node, "kms:Decrypt", key_arn,
        {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
         "kms:EncryptionContext:SecretARN": secret_arn, "kms:CallerAccount": account},
        resource_policy=dict(key_policy), resource_owner=account,
    )
    return bool(decrypt)


def can_assume_with_web_identity(trust: Mapping[str, Any], role_arn: str, issuer: str, sub: str, aud: str) -> bool:
    """Whether a web identity token with this ``sub`` and ``aud`` satisfies the trust policy's conditions."""
    context = CaseInsensitiveDict({f"{issuer}:sub": sub, f"{issuer}:aud": aud})
    return bool(policy_has_matching_statement(dict(trust), "Allow", WEB_IDENTITY, role_arn, context))


def _trusted_service_account(trust: Mapping[str, Any]) -> str | None:
    for statement in trust.get("Statement", []):
        if statement.get("Action") == WEB_IDENTITY:
            for key, value in statement.get("Condition", {}).get("StringEquals", {}).items():
                if key.endswith(":sub"):
                    return str(value)
    return None


def aws_access_matrix(resources: Sequence[Mapping[str, Any]]) -> list[AccessCell]:
    """Every IRSA role x every Secrets Manager secret the plan registers."""
    secrets = [r for r in resources if r["type"] == SECRET]
    if not secrets:
        return []
    _, partition, _, _, account = str(secrets[0]["id"]).split(":")[:5]
    policies_by_role: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in resources:
        if r["type"] == ROLE_POLICY:
            policies_by_role[r["inputs"]["role"]].append(_doc(r["inputs"]["policy"]))
    secret_policies = {r["inputs"]["secretArn"]: _doc(r["inputs"]["policy"]) for r in resources if r["type"] == SECRET_POLICY}
    key_policies = {str(r["id"]): _doc(r["inputs"]["policy"]) for r in resources if r["type"] == KMS_KEY}
    cells = []
    for role in (r for r in resources if r["type"] == ROLE):
        trust = _doc(role["inputs"]["assumeRolePolicy"])
        subject = _trusted_service_account(trust)
        if subject is None:
            continue
        name = role["inputs"]["name"]
        role_arn = f"arn:{partition}:iam::{account}:role/{name}"
        for secret in secrets:
            key_arn = secret["inputs"]["kmsKeyId"]
            allowed = can_read_secret(
                role_arn, trust, policies_by_role[name], str(secret["id"]), secret_policies.get(str(secret["id"])),
                key_arn, key_policies[key_arn.rsplit("/", 1)[-1]],
            )
            cells.append(AccessCell("aws", subject, name, secret["inputs"]["name"], allowed))
    return cells
