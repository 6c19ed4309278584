"""Run the real program under the recording mocks and hand back what it registered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings

from planner.mocks import MockIdentity, PlanMocks, RecordingMonitor
from planner.stackfile import StackInput


@dataclass
class Recording:
    """What a run registered, in registration order."""

    stack: str
    resources: list[dict[str, Any]]

    def by_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name: str) -> dict[str, Any]:
        found = [r for r in self.resources if r["type"] == type_token and r["name"] == name]
        if len(found) != 1:
            known = sorted(r["name"] for r in self.by_type(type_token))
            raise KeyError(f"expected one {type_token} named {name!r}, found {len(found)}; registered: {known}")
        return found[0]


def identity_from_config(stack_input: StackInput) -> MockIdentity:
    """Let invokes answer with the stack's own account and region, when the config says them."""
    project = stack_input.project
    try:
        aws_cfg = json.loads(stack_input.config.get(f"{project}:aws", "{}"))
        cluster_cfg = json.loads(stack_input.config.get(f"{project}:cluster", "{}"))
    except json.JSONDecodeError:
        return MockIdentity()
    default = MockIdentity()
    if not isinstance(aws_cfg, dict) or not isinstance(cluster_cfg, dict):
        return default
    return MockIdentity(
        account_id=str(aws_cfg.get("accountId", default.account_id)),
        region=str(aws_cfg.get("region", default.region)),
        oidc_issuer_url=str(cluster_cfg.get("oidcIssuerUrl", default.oidc_issuer_url)),
    )


def run_program(
    stack_input: StackInput,
    program: Callable[[], None] | None = None,
    monitor: RecordingMonitor | None = None,
) -> Recording:
    """Run ``program`` (default: the real one) for a stack; exceptions propagate unchanged.

    Pass ``monitor`` to inspect what was registered when the program raises.
    """
    if program is None:
        from components.program import main

        program = main
    mocks = PlanMocks(identity_from_config(stack_input))
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
        # One worker thread: RPCs reach the monitor in a deterministic order.
        asyncio.get_event_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        chosen()

    try:
        _run()
    finally:
        runtime_settings.ROOT.set(None)
    return Recording(stack=stack_input.stack, resources=list(monitor.records))
