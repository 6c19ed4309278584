"""The AWS account and region the stack acts on."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from components.config.types import _Model


class AwsConfig(_Model):
    """The AWS account and region the stack may act on, and who administers keys."""

    account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    """The only account the AWS provider may act on."""
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")]
    """Region of the cluster and of every AWS resource."""
    admin_role_arns: Annotated[
        list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]],
        Field(min_length=1),
    ]
    """Roles that administer KMS keys and secrets; include the role that runs `pulumi up`."""
    break_glass_role_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    ] = []
    """Emergency roles of `adminRoleArns` whose secret reads always alarm; never a deployer, so set `vault.deployerRoleArns` too."""
    secret_recovery_window_days: Annotated[int, Field(ge=7, le=30)] = 30
    """Days a deleted Secrets Manager secret stays recoverable (7 to 30)."""
    alarm_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    """Addresses subscribed to the alarm on unexpected secret reads and on every read of Vault's recovery secret (required with production)."""
