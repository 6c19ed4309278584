"""IAM documents of the Vault installation: role permissions, key policies, bucket and secret policies.

Each principal gets only what its job needs:

* **Vault's servers** use the unseal key (``kms:Encrypt``/``Decrypt``/``DescribeKey``)
  and call ``iam:GetRole`` only on the roles its AWS auth roles bind (the deployer's and
  the preview's). The AWS auth method's ``iam`` login forwards the *client's* signed
  ``sts:GetCallerIdentity`` request, so Vault needs no STS permission; ``iam:GetRole`` is
  what ``resolve_aws_unique_ids`` (on, the default) uses when a role is bound (the
  deployer's by the bootstrap job, the preview's by VaultConfig in phase 2): Vault stores
  the role's unique id, so a deleted and re-created role of the same name cannot log in.
* **The bootstrap job** writes one secret (``PutSecretValue``, ``DescribeSecret`` on
  its exact ARN) and uses the recovery key only through Secrets Manager for that
  secret (``GenerateDataKey`` to encrypt the value, ``Decrypt`` which Secrets Manager
  also requires of a caller that writes with a customer-managed key). It cannot read
  the secret back: no ``GetSecretValue``.
* **The snapshot job** puts objects under one prefix of one bucket, with one
  single-part ``PutObject`` (no multipart upload, so no ``kms:Decrypt``), and
  ``kms:GenerateDataKey`` on the snapshot key only through S3.

KMS keys name the same principals from their side; the administrators of
``aws.adminRoleArns`` manage every key (``key_policy``) and may read snapshots and
the recovery material for a restore or a break-glass, through the owning service only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.aws_context import AwsContext
from components.vault import names

VERSION = "2012-10-17"
UNSEAL_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"]
RECOVERY_WRITE_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"]
SNAPSHOT_BUCKET_MAX = 63


def snapshot_bucket_name(cluster_name: str, account_id: str) -> str:
    name = f"{cluster_name.lower()}-vault-snapshots-{account_id}"
    if len(name) > SNAPSHOT_BUCKET_MAX:
        raise ValueError(f"snapshot bucket name {name!r} exceeds {SNAPSHOT_BUCKET_MAX} characters; shorten the cluster name")
    return name


def recovery_secret_name(cluster_name: str) -> str:
    """Outside every ESO scope (`<env>/...`, `platform/...`): no store role can read it."""
    return f"vault/{cluster_name}/recovery"


# --- identity policies ---------------------------------------------------------------


def server_role_policy(unseal_key_arn: str, deployer_role_arns: Sequence[str], preview_role_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "AutoUnsealWithTheUnsealKey", "Effect": "Allow", "Action": UNSEAL_ACTIONS, "Resource": unseal_key_arn},
            {
                "Sid": "ResolveAwsAuthBoundRoles",
                "Effect": "Allow",
                "Action": "iam:GetRole",
                "Resource": sorted({*deployer_role_arns, *preview_role_arns}),
            },
        ],
    }


def bootstrap_role_policy(ctx: AwsContext, recovery_secret_arn: str, recovery_key_arn: str, alarm_topic_arn: str) -> dict[str, Any]:
    """Write (never read) the recovery secret; publish an incident to the alarm topic (its key's policy lets it encrypt)."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "WriteTheRecoverySecret", "Effect": "Allow", "Action": RECOVERY_WRITE_ACTIONS, "Resource": recovery_secret_arn},
            {
                "Sid": "EncryptTheRecoverySecretThroughSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": recovery_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": ctx.service("secretsmanager"),
                        "kms:EncryptionContext:SecretARN": recovery_secret_arn,
                    }
                },
            },
            {"Sid": "PublishABootstrapIncident", "Effect": "Allow", "Action": "sns:Publish", "Resource": alarm_topic_arn},
        ],
    }


def snapshot_role_policy(ctx: AwsContext, bucket: str, snapshot_key_arn: str) -> dict[str, Any]:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PutSnapshotsUnderTheirPrefix",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{ctx.bucket_arn(bucket)}/{names.SNAPSHOT_PREFIX}/*",
            },
            {
                "Sid": "EncryptSnapshotsThroughS3",
                "Effect": "Allow",
                "Action": "kms:GenerateDataKey",
                "Resource": snapshot_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": ctx.service("s3")}},
            },
        ],
    }


# --- key policy statements (Resource "*" is the key itself) -------------------------------


def unseal_key_statements(server_role_arn: str) -> list[dict[str, Any]]:
    return [{
        "Sid": "VaultServersAutoUnseal",
        "Effect": "Allow",
        "Principal": {"AWS": server_role_arn},
        "Action": UNSEAL_ACTIONS,
        "Resource": "*",
    }]


def snapshot_key_statements(ctx: AwsContext, writer_arn: str, admin_arns: Sequence[str]) -> list[dict[str, Any]]:
    through_s3 = {"StringEquals": {"kms:ViaService": ctx.service("s3"), "kms:CallerAccount": ctx.account_id}}
    return [
        {
            "Sid": "SnapshotJobEncryptsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": writer_arn},
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": through_s3,
        },
        {
            "Sid": "AdministratorsReadSnapshotsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(admin_arns)},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": through_s3,
        },
    ]


def recovery_key_statements(ctx: AwsContext, writer_arn: str, admin_arns: Sequence[str], secret_name: str) -> list[dict[str, Any]]:
    # The key policy cannot name the secret's ARN (the secret needs the key first): the
    # name plus Secrets Manager's six-character suffix pins it just as well.
    condition = {
        "StringEquals": {"kms:ViaService": ctx.service("secretsmanager"), "kms:CallerAccount": ctx.account_id},
        "StringLike": {"kms:EncryptionContext:SecretARN": ctx.one_secret_arn_pattern(secret_name)},
    }
    return [
        {
            "Sid": "BootstrapJobWritesRecoveryMaterial",
            "Effect": "Allow",
            "Principal": {"AWS": writer_arn},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": condition,
        },
        {
            "Sid": "AdministratorsReadRecoveryMaterial",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(admin_arns)},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": condition,
        },
    ]


# --- resource policies ---------------------------------------------------------------------


def snapshot_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request that does not use TLS."""
    return {
        "Version": VERSION,
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }


def recovery_secret_policy(bootstrap_role_arn: str, admin_arns: Sequence[str]) -> dict[str, Any]:
    """Only the administrators read the recovery material; only the bootstrap job and they write it; only they manage it."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyReadsToAllButAdministrators",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",  # in a resource policy: this secret
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(admin_arns)}},
            },
            {
                "Sid": "DenyWritesToAllButBootstrapAndAdministrators",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"],
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted([bootstrap_role_arn, *admin_arns])}},
            },
            {
                # Every other action (DeleteSecret, PutResourcePolicy...): a Deny with NotAction, administrators excepted.
                "Sid": "DenyManagementToAllButAdministrators",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "NotAction": sorted({"secretsmanager:GetSecretValue", "secretsmanager:UpdateSecret", *RECOVERY_WRITE_ACTIONS}),
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(admin_arns)}},
            },
        ],
    }
