"""What every config model shares: constants, annotated types, validators and the `_Model` base.

Nothing here knows a particular component; the model modules build on it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

PROJECT = "platform"
KNOWN_ENVIRONMENTS = ("development", "staging", "production")
SYSTEM_NAMESPACES = ("vault", "argocd", "external-secrets")

DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h)$")]
ConfigKeyName = Annotated[str, Field(pattern=r"^[a-z][A-Za-z0-9]*$", max_length=64)]
"""A top-level Pulumi config key that holds a secret value."""


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise PydanticCustomError("cidr", "is not a CIDR block (host bits must be zero)") from None
    return value


_CRON_FIELD = re.compile(r"^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$")


def _check_cron(value: str) -> str:
    parts = value.split()
    if len(parts) != 5 or not all(_CRON_FIELD.match(part) for part in parts):
        raise PydanticCustomError("cron", "is not a five-field numeric cron schedule")
    return value


_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")
_SESSION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<name>[\w+=,.@-]+)/[\w+=,.@-]+$"
)


def iam_role_identity(arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of an IAM role ARN or of an assumed-role session ARN; None otherwise.

    A role name is unique in its account whatever the role's path, and an assumed-role
    ARN drops the path, so these three name one role either way.
    """
    match = _ROLE_ARN.match(arn) or _SESSION_ARN.match(arn)
    return (match["partition"], match["account"], match["name"]) if match else None


def mebibytes(quantity: str) -> int:
    """`512Mi` -> 512, `2Gi` -> 2048 (the only units memory fields accept)."""
    return int(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1)


def _limit_covers_request(cls: type, value: str, info: ValidationInfo) -> str:
    """A `<x>memory_limit` field must be at least its `<x>memory_request` sibling."""
    request = info.data.get(str(info.field_name).replace("memory_limit", "memory_request"))
    if request is not None and mebibytes(value) < mebibytes(request):
        raise PydanticCustomError("memory_limit", "is below the memory request")
    return value


Cidr = Annotated[str, AfterValidator(_check_cidr)]
"""A network such as `10.0.0.0/16`."""
CronFields = Annotated[str, AfterValidator(_check_cron)]
"""Five numeric cron fields (no names such as MON)."""


class _Model(BaseModel):
    """Strict, frozen, camelCase in the stack file, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )
