"""`make bench`: the program's cost under the mocks against the mock runtime's own floor.

For synthetic fleets (N apps in each of the three environments, half Vault-backed and
half AWS-backed, each with a random and an external secret), it runs the real
program under the plan's mocks, then registers the same number of bare resources
with the same mocks in the same process (the floor: what the mock runtime costs
per resource), and prints resources, the marginal resources per added
(app, environment), the ratio to the floor, and the time the artifact writers take
(separately: a full access matrix grows with principals x paths).
Targets: ratio at most 1.3; marginal resources per (app, environment) constant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pulumi

from components.config import KNOWN_ENVIRONMENTS, PROJECT, parse_stack_config
from planner.__main__ import ROOT
from planner.artifacts import ARTIFACT_WRITERS
from planner.run import run_program
from planner.stackfile import StackInput, read_stack

RATIO_TARGET = 1.3


def fleet_config(base: StackInput, apps_per_environment: int) -> StackInput:
    """The dev stack's settings with every environment hosting ``apps_per_environment`` synthetic apps."""
    # Only the settings; the fleet's secrets are random or external, so no secret config key is used.
    config = {k: v for k, v in base.config.items() if k not in base.secret_keys}
    environments: dict[str, Any] = {}
    for env in KNOWN_ENVIRONMENTS:
        apps = []
        for i in range(apps_per_environment):
            backend = "vault" if i % 2 == 0 else "aws"
            apps.append({"name": f"svc-{i:04d}", "secrets": [
                {"key": "password", "backend": backend, "source": "random", "length": 32,
                 "charset": "alphanumeric", "rotation": "bench"},
                {"key": "token", "backend": backend, "source": "external"},
            ]})
        environments[env] = {"syncPolicy": "manual" if env == "production" else "automated", "apps": apps}
    config[f"{PROJECT}:environments"] = json.dumps(environments)
    return StackInput(project=base.project, stack=base.stack, config=config, secret_keys=[])


def _bare_program(count: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Bare", f"bare-{i}", {"index": i})

    return program


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(apps_per_environment: int, base: StackInput) -> dict[str, float]:
    stack_input = fleet_config(base, apps_per_environment)
    raw = {k.split(":", 1)[1]: v for k, v in stack_input.config.items() if k.startswith(f"{PROJECT}:")}
    secret_keys = [k.split(":", 1)[1] for k in stack_input.secret_keys if k.startswith(f"{PROJECT}:")]
    settings = parse_stack_config(raw, stack_input.stack, secret_keys)
    program_seconds, recording = _timed(lambda: run_program(stack_input))
    count = len(recording.resources)
    floor_seconds, _ = _timed(lambda: run_program(stack_input, program=_bare_program(count)))
    artifact_seconds, _ = _timed(lambda: [writer(recording.resources, settings) for writer in ARTIFACT_WRITERS])
    return {"apps": apps_per_environment, "resources": count, "program": program_seconds,
            "floor": floor_seconds, "ratio": program_seconds / floor_seconds, "artifacts": artifact_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner.bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200],
                        help="apps per environment (three environments)")
    args = parser.parse_args(argv)
    base = read_stack(ROOT, "dev")
    measure(1, base)  # warm up: imports and first-use caches are not per-resource costs
    rows = [measure(n, base) for n in sorted(args.sizes)]
    print(f"{'apps/env':>8} {'(app,env)':>9} {'resources':>9} {'marginal':>8} {'program s':>9} {'floor s':>8} "
          f"{'ratio':>6} {'artifacts s':>11}")
    previous: dict[str, float] | None = None
    ok = True
    for row in rows:
        pairs = int(row["apps"]) * len(KNOWN_ENVIRONMENTS)
        marginal = "-"
        if previous is not None:
            added = (row["apps"] - previous["apps"]) * len(KNOWN_ENVIRONMENTS)
            marginal = f"{(row['resources'] - previous['resources']) / added:.2f}"
        ok &= row["ratio"] <= RATIO_TARGET
        print(f"{int(row['apps']):>8} {pairs:>9} {int(row['resources']):>9} {marginal:>8} {row['program']:>9.2f} "
              f"{row['floor']:>8.2f} {row['ratio']:>6.2f} {row['artifacts']:>11.2f}")
        previous = row
    print(f"Target: ratio <= {RATIO_TARGET}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
