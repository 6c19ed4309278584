"""Run the real program under the recording mocks and hand back what it registered."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.resource as pulumi_resource
from pulumi.runtime import settings as runtime_settings

from components.config import iam_role_identity
from planner.mocks import MockIdentity, PlanMocks, RecordingMonitor, session_arn
from planner.stackfile import StackInput


@dataclass
class Recording:
    """What a run registered, in registration order."""

    stack: str
    resources: list[dict[str, Any]]
    # URN -> number of properties the resource's class handed the runtime (inputs and
    # output-only ones alike; each becomes an Output): what `make bench` replays.
    property_counts: dict[str, int] = field(default_factory=dict)

    def by_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def component(self, component_type: str) -> dict[str, Any]:
        """The one registered component of a type."""
        (found,) = self.by_type(component_type)
        return found

    def children(self, component_type: str, type_token: str) -> list[dict[str, Any]]:
        """Resources of a type that the one component of ``component_type`` registered directly."""
        urn = self.component(component_type)["urn"]
        return [r for r in self.by_type(type_token) if r["parent"] == urn]

    def one(self, type_token: str, name: str) -> dict[str, Any]:
        found = [r for r in self.resources if r["type"] == type_token and r["name"] == name]
        if len(found) != 1:
            known = sorted(r["name"] for r in self.by_type(type_token))
            raise KeyError(f"expected one {type_token} named {name!r}, found {len(found)}; registered: {known}")
        return found[0]


def identity_from_config(stack_input: StackInput) -> MockIdentity:
    """Let invokes answer with the stack's own account, region and deployer, when the config says them.

    The caller is a session of the first deployer role (`vault.deployerRoleArns`, else
    `aws.adminRoleArns`), as when `pulumi up` runs.
    """
    project = stack_input.project
    try:
        aws_cfg = json.loads(stack_input.config.get(f"{project}:aws", "{}"))
        cluster_cfg = json.loads(stack_input.config.get(f"{project}:cluster", "{}"))
        vault_cfg = json.loads(stack_input.config.get(f"{project}:vault", "{}"))
    except json.JSONDecodeError:
        return MockIdentity()
    default = MockIdentity()
    if not isinstance(aws_cfg, dict) or not isinstance(cluster_cfg, dict) or not isinstance(vault_cfg, dict):
        return default
    deployers = vault_cfg.get("deployerRoleArns") or aws_cfg.get("adminRoleArns")
    first = str(deployers[0]) if isinstance(deployers, list) and deployers else ""
    return MockIdentity(
        account_id=str(aws_cfg.get("accountId", default.account_id)),
        region=str(aws_cfg.get("region", default.region)),
        oidc_issuer_url=str(cluster_cfg.get("oidcIssuerUrl", default.oidc_issuer_url)),
        caller_arn=session_arn(first) if iam_role_identity(first) else default.caller_arn,
    )


@contextlib.contextmanager
def constructor_order() -> Iterator[list[tuple[str, str, int]]]:
    """Record (qualified type, name, property count) of each resource as its constructor runs.

    RegisterResource calls reach the monitor when a resource's inputs resolve,
    which varies between runs; the order constructors run in does not, so the
    plan lists resources in that order.
    """
    order: list[tuple[str, str, int]] = []
    qualified_types: dict[int, str] = {}
    original = pulumi_resource.register_resource

    def recording(res: Any, ty: str, name: str, *args: Any, **kwargs: Any) -> None:
        opts = args[4] if len(args) > 4 else kwargs.get("opts")
        parent = getattr(opts, "parent", None)
        parent_type = qualified_types.get(id(parent)) if parent is not None else None
        qualified = f"{parent_type}${ty}" if parent_type else ty
        if ty != "pulumi:pulumi:Stack":
            qualified_types[id(res)] = qualified
        props = args[3] if len(args) > 3 else kwargs.get("props")
        count = len(props) if isinstance(props, Mapping) else len(vars(props)) if props is not None else 0
        order.append((qualified, name, count))
        original(res, ty, name, *args, **kwargs)

    pulumi_resource.register_resource = recording
    try:
        yield order
    finally:
        pulumi_resource.register_resource = original


def _urn_key(urn: str) -> tuple[str, str]:
    parts = urn.split("::")
    return parts[2], parts[3]


def run_program(
    stack_input: StackInput,
    program: Callable[[], None] | None = None,
    monitor: RecordingMonitor | None = None,
    identity: MockIdentity | None = None,
) -> Recording:
    """Run ``program`` (default: the real one) for a stack; exceptions propagate unchanged.

    Pass ``monitor`` to inspect what was registered when the program raises, and
    ``identity`` to run as someone other than the stack's deployer (default: from its config).
    """
    if program is None:
        from components.program import main

        program = main
    mocks = PlanMocks(identity or identity_from_config(stack_input))
    if monitor is None:
        monitor = RecordingMonitor(mocks)
    else:
        monitor.mocks = mocks
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(stack_input.config), list(stack_input.secret_keys))
    pulumi.runtime.set_mocks(mocks, project=stack_input.project, stack=stack_input.stack, preview=False, monitor=monitor)

    chosen: Callable[[], None] = program

    @pulumi.runtime.test
    def _run() -> None:
        chosen()

    with constructor_order() as order:
        try:
            _run()
        finally:
            runtime_settings.ROOT.set(None)
    position = {(qualified, name): i for i, (qualified, name, _) in reversed(list(enumerate(order)))}
    counts = {(qualified, name): count for qualified, name, count in order}
    resources = sorted(monitor.records, key=lambda r: position.get(_urn_key(r["urn"]), len(position)))
    property_counts = {r["urn"]: counts.get(_urn_key(r["urn"]), 0) for r in resources}
    return Recording(stack=stack_input.stack, resources=resources, property_counts=property_counts)
