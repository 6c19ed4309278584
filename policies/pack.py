"""Adapter from the pure rules to ``pulumi_policy``: one wrapper per rule, built on demand.

Nothing here constructs a ``PolicyPack`` (that starts a gRPC server and blocks); only
``policies/__main__.py`` does, with :func:`build_policies`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _is_unknown  # the SDK's own test for its unknown sentinels

from policies.rules.core import UNKNOWN, ResourceView, RuleSpec
from policies.rules.registry import RULES

PACK_NAME = "gitops-secrets-platform"
PACK_DESCRIPTION = (
    "Guards the GitOps secrets platform: no plaintext secrets, least privilege (IAM, IRSA, Vault), "
    "TLS for Vault, served CRD versions; advisory reliability checks."
)


def plain(value: Any) -> Any:
    """Deep copy of policy props as plain dicts/lists; unknowns become "[unknown]".

    ``pulumi_policy`` wraps props in proxies that raise on unknown values; rules treat
    "[unknown]" like the offline plan does, so both paths see the same shapes.
    """
    if isinstance(value, str):
        return UNKNOWN if _is_unknown(value) else value
    if isinstance(value, Mapping):
        raw = value if isinstance(value, dict) else value["__target"]
        return {str(k): plain(v) for k, v in raw.items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        raw_list = value if isinstance(value, (list, tuple)) else value["__target"]  # type: ignore[call-overload]
        return [plain(v) for v in raw_list]
    if isinstance(value, Secret):
        return plain(value.value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return f"[{type(value).__name__}]"  # assets and archives: nothing a rule reads


def view_from_args(args: ResourceValidationArgs) -> ResourceView:
    """ResourceView of a resource under validation (``retainOnDelete`` is not sent to policies)."""
    return ResourceView(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=plain(args.props),
        protect=bool(getattr(args.opts, "protect", False)),
        retain_on_delete=None,
        parent=getattr(args.opts, "parent", None),
    )


def views_from_stack(args: StackValidationArgs) -> list[ResourceView]:
    return [
        ResourceView(
            type=r.resource_type,
            name=r.name,
            urn=r.urn,
            props=plain(r.props),
            protect=bool(getattr(r.opts, "protect", False)),
            retain_on_delete=None,
            parent=r.parent.urn if r.parent is not None else None,
            dependencies=tuple(d.urn for d in r.dependencies),
        )
        for r in args.resources
    ]


def violation_text(spec: RuleSpec, message: str) -> str:
    return f"{message} Fix: {spec.remediation}"


def _resource_validate(spec: RuleSpec) -> Any:
    assert spec.resource_fn is not None
    fn = spec.resource_fn

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        view = view_from_args(args)
        for message in fn(view, spec.effective_config(args.get_config())):
            report_violation(violation_text(spec, message), None)

    return validate


def _stack_validate(spec: RuleSpec) -> Any:
    assert spec.stack_fn is not None
    fn = spec.stack_fn

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        views = views_from_stack(args)
        for urn, message in fn(views, spec.effective_config(args.get_config())):
            report_violation(violation_text(spec, message), urn)

    return validate


def to_policy(spec: RuleSpec) -> Policy:
    """The ``pulumi_policy`` policy of one rule, with its level, schema and remediation."""
    level = EnforcementLevel(spec.enforcement)
    schema = PolicyConfigSchema(properties={k: dict(v) for k, v in spec.config_schema.items()}) if spec.config_schema else None
    if spec.scope == "stack":
        return StackValidationPolicy(
            name=spec.name,
            description=spec.description,
            validate=_stack_validate(spec),
            enforcement_level=level,
            config_schema=schema,
            remediation_steps=spec.remediation,
            tags=[spec.category],
        )
    return ResourceValidationPolicy(
        name=spec.name,
        description=spec.description,
        validate=_resource_validate(spec),
        enforcement_level=level,
        config_schema=schema,
        remediation_steps=spec.remediation,
        tags=[spec.category],
    )


def build_policies() -> list[Policy]:
    """Every rule of the registry as a policy, in registry order."""
    return [to_policy(spec) for spec in RULES]
