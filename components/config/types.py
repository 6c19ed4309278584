"""What every config model shares: constants, annotated types, validators and the `_Model` base.

Nothing here knows a particular component; the model modules build on it.
"""

from __future__ import annotations

import calendar
import difflib
import ipaddress
import re
import zoneinfo
from collections.abc import Collection
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

PROJECT = "platform"
KNOWN_ENVIRONMENTS = ("development", "staging", "production")
SYSTEM_NAMESPACES = ("vault", "argocd", "external-secrets")

DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
# A stack name is checked against this before any path is built from it (`Pulumi.<stack>.yaml`,
# `build/plan/<stack>`): no separator, no dot, nothing empty.
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
STACK_NAME_RULE = "a lowercase letter, then up to 30 lowercase letters, digits or '-'"



def did_you_mean(word: str, choices: Collection[str]) -> str:
    """`did you mean `x`? ` for the closest choice to a near miss, else empty (a prefix for a fix)."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`? " if close else ""


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
# ESO re-reads a secret at each refresh: under a minute only adds load; over a day a rotated
# value (or a revoked one) lingers in the cluster for too long.
REFRESH_MIN_SECONDS = 60
REFRESH_MAX_SECONDS = 86400


_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h)$")


def duration_seconds(duration: str) -> int:
    """`15m` -> 900 (durations are whole s, m or h); ValueError for anything else."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match[1]) * _DURATION_UNITS[match[2]]


def _check_duration(value: str) -> str:
    if not REFRESH_MIN_SECONDS <= duration_seconds(value) <= REFRESH_MAX_SECONDS:
        raise PydanticCustomError("duration_range", "must be between 1m and 24h")
    return value


Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}(s|m|h)$"), AfterValidator(_check_duration)]
# A lease length: the pattern only; the database model bounds it (5m to 168h), unlike a refresh interval.
LeaseDuration = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}(s|m|h)$")]
ConfigKeyName = Annotated[str, Field(pattern=r"^[a-z][A-Za-z0-9]*$", max_length=64)]
"""A top-level Pulumi config key that holds a secret value."""
DnsName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$", max_length=253)]


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise PydanticCustomError("cidr", "is not a CIDR block (host bits must be zero)") from None
    return value


# The broadest network a source allowlist may name: a /0 to /7 (IPv4) or /0 to /31 (IPv6) is the
# Internet, or a good part of it, not a VPN pool, a runner subnet or a VPC.
NARROWEST_PREFIX = {4: 8, 6: 32}


def _check_narrow_cidr(value: str) -> str:
    network = ipaddress.ip_network(_check_cidr(value), strict=True)
    if network.prefixlen < NARROWEST_PREFIX[network.version]:
        raise PydanticCustomError(
            "cidr_world", "opens to the whole Internet or a large part of it (a /{prefix} or broader)",
            {"prefix": NARROWEST_PREFIX[network.version] - 1},
        )
    return value


_CRON_FIELD = re.compile(r"^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$")
# Bounds of minute, hour, day of month, month, day of week (0 is Sunday; Kubernetes' and Argo CD's
# cron parser refuses 7).
_CRON_BOUNDS = ((0, 59, "minute"), (0, 23, "hour"), (1, 31, "day of month"), (1, 12, "month"), (0, 6, "day of week"))


def _cron_values(part: str, low: int, high: int) -> set[int] | None:
    """The values a cron field selects, or None when a number, range or step is out of bounds."""
    values: set[int] = set()
    for item in part.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        else:
            first_text, _, last_text = base.partition("-")
            first = int(first_text)
            last = int(last_text) if last_text else (high if step_text else first)
        if not (low <= first <= last <= high) or not 1 <= step <= high - low + 1:
            return None
        values.update(range(first, last + 1, step))
    return values


def _check_cron(value: str) -> str:
    parts = value.split()
    if len(parts) != 5 or not all(_CRON_FIELD.match(part) for part in parts):
        raise PydanticCustomError("cron", "is not a five-field numeric cron schedule")
    selected = []
    for part, (low, high, name) in zip(parts, _CRON_BOUNDS, strict=True):
        values = _cron_values(part, low, high)
        if values is None:
            raise PydanticCustomError("cron_range", "has a {field} field out of {low}-{high}, a reversed range or a zero step",
                                      {"field": name, "low": low, "high": high})
        selected.append(values)
    days, months = selected[2], selected[3]
    if parts[4] == "*" and not any(day <= calendar.monthrange(2024, month)[1] for day in days for month in months):
        raise PydanticCustomError("cron_never", "never fires (no selected month has the selected day)")
    return value


def _check_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("time_zone", "is not an IANA time zone this machine's tz database knows") from None
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
NarrowCidr = Annotated[str, AfterValidator(_check_narrow_cidr)]
"""A source network narrower than /8 (IPv4) or /32 (IPv6): never the whole Internet."""
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_check_time_zone)]
"""An IANA time zone such as `Europe/Paris`."""
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
