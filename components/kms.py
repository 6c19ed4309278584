"""Customer-managed KMS keys, built one way for every purpose.

Each key's policy always begins with an administrator statement for the roles
named in ``aws.adminRoleArns`` (management only, no Encrypt/Decrypt), so a key
can never be locked out of management; usage is granted by the caller's
statements, to named principals only. In a key policy, ``Resource: "*"`` means
"this key".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
ADMIN_STATEMENT_SID = "KeyAdministration"


def key_policy(*, admin_arns: Sequence[str], usage_statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Key policy: the administrator statement first, then the caller's usage statements."""
    if not admin_arns:
        raise ValueError("a key policy needs at least one administrator, or the key becomes unmanageable")
    sids = [s.get("Sid") for s in usage_statements]
    if ADMIN_STATEMENT_SID in sids:
        raise ValueError(f"usage statements may not reuse the Sid {ADMIN_STATEMENT_SID!r}")
    admin = {
        "Sid": ADMIN_STATEMENT_SID,
        "Effect": "Allow",
        "Principal": {"AWS": sorted(admin_arns)},
        "Action": KEY_ADMIN_ACTIONS,
        "Resource": "*",
    }
    return {"Version": "2012-10-17", "Statement": [admin, *usage_statements]}


class KmsKey(pulumi.ComponentResource):
    """A symmetric key with rotation on, its alias, and a policy from ``key_policy``."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: str

    def __init__(
        self,
        name: str,
        *,
        alias: str,
        description: str,
        policy: pulumi.Input[dict[str, Any]],
        aws_provider: aws.Provider,
        deletion_window_in_days: int = 30,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:aws:KmsKey", name, None, opts)
        key = aws.kms.Key(
            name,
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_in_days,
            policy=pulumi.Output.from_input(policy).apply(lambda doc: json.dumps(doc, sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self, provider=aws_provider, protect=protect),
        )
        self.alias_name = f"alias/{alias}"
        aws.kms.Alias(
            name,
            name=self.alias_name,
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self, provider=aws_provider),
        )
        self.arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "keyId": self.key_id})
