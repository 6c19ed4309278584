"""`make bench`: the program's cost under the mocks against the mock runtime's own floor.

For synthetic fleets (N apps in each of the three environments, half Vault-backed and
half AWS-backed, each with a random and an external secret), it runs the real program
under the plan's mocks and, in the same process and with the same mocks, two floors
registering the same number of resources:

* the **bare floor**: bare resources with one input each (the mock runtime's cost per
  registered resource);
* the **SDK floor**: the very resources the program registered (same types, parents
  flattened, same number of properties, their inputs as plain values, through a
  subclass as SDK classes are) in a flat loop, with no program around them. Every
  provider SDK class hands the runtime all its input and output properties, each
  becoming an Output; this is that cost, so the ratio to it is what the program
  itself adds.

A calibration row registers one real SDK resource (``aws.iam.Role``, one input) per
bare resource: the least any program built on the provider SDKs pays per resource.

Times are process CPU seconds (not wall time: the machine may be shared), the best of
``--repeat`` runs, the program and its floors interleaved. Artifact writing is timed
separately: a full access matrix grows with principals x paths.
Targets: ratio to the bare floor at most 1.3; marginal resources per (app, environment)
constant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import PROJECT, parse_stack_config
from planner.__main__ import ROOT
from planner.artifacts import ARTIFACT_WRITERS
from planner.run import Recording, run_program
from planner.stackfile import StackInput, read_stack

RATIO_TARGET = 1.3
# The dev stack's environments: a stack that hosts production hosts nothing else.
FLEET_ENVIRONMENTS = ("development", "staging")
CALIBRATION_RESOURCES = 500


def fleet_config(base: StackInput, apps_per_environment: int) -> StackInput:
    """The dev stack's settings with every environment hosting ``apps_per_environment`` synthetic apps."""
    # Only the settings; the fleet's secrets are random or external, so no secret config key is used.
    config = {k: v for k, v in base.config.items() if k not in base.secret_keys}
    environments: dict[str, Any] = {}
    for env in FLEET_ENVIRONMENTS:
        apps = []
        for i in range(apps_per_environment):
            backend = "vault" if i % 2 == 0 else "aws"
            apps.append({"name": f"svc-{i:04d}", "secrets": [
                {"key": "password", "backend": backend, "source": "random", "length": 32,
                 "charset": "alphanumeric", "rotation": "bench"},
                {"key": "token", "backend": backend, "source": "external"},
            ]})
        environments[env] = {"syncPolicy": "automated", "apps": apps}
    config[f"{PROJECT}:environments"] = json.dumps(environments)
    return StackInput(project=base.project, stack=base.stack, config=config, secret_keys=[])


def bare_program(count: int) -> Callable[[], None]:
    """``count`` bare resources with one input each: the floor of the mock runtime."""
    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Bare", f"bare-{i}", {"index": i})

    return program


class _Replayed(pulumi.CustomResource):
    """A recorded resource registered again. A subclass, as every SDK class is: the SDK records the
    constructor's stack (source positions) only for resources built through a subclass."""

    def __init__(self, type_token: str, name: str, props: dict[str, Any]) -> None:
        super().__init__(type_token, name, props)


def sdk_floor_program(recording: Recording) -> Callable[[], None]:
    """The recorded resources again, flat and without the program: what their SDK classes cost the runtime."""
    counts = recording.property_counts

    def program() -> None:
        for i, r in enumerate(recording.resources):
            name = f"{r['name']}-{i}"
            if not r["custom"]:
                pulumi.ComponentResource(r["type"], name, None)
                continue
            props: dict[str, Any] = dict(r["inputs"])
            # The SDK class also handed its output-only properties (unset) to the runtime.
            props.update({f"out{j}": None for j in range(len(props), counts[r["urn"]])})
            _Replayed(r["type"], name, props)

    return program


def calibration_program(count: int) -> Callable[[], None]:
    """``count`` real SDK resources with one input each."""
    def program() -> None:
        for i in range(count):
            aws.iam.Role(f"calibration-{i}", assume_role_policy="{}")

    return program


@dataclass
class Row:
    apps: int
    resources: int
    program: float
    bare: float
    sdk: float
    artifacts: float

    @property
    def ratio(self) -> float:
        return self.program / self.bare

    @property
    def sdk_ratio(self) -> float:
        return self.program / self.sdk


def _cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def _best(runs: int, measures: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Best CPU time of each measure over ``runs`` interleaved rounds, with the last result."""
    best: dict[str, tuple[float, Any]] = {}
    for _ in range(runs):
        for key, fn in measures.items():
            seconds, result = _cpu(fn)
            if key not in best or seconds < best[key][0]:
                best[key] = (seconds, result)
            else:
                best[key] = (best[key][0], result)
    return best


def measure(apps_per_environment: int, base: StackInput, runs: int) -> Row:
    stack_input = fleet_config(base, apps_per_environment)
    raw = {k.split(":", 1)[1]: v for k, v in stack_input.config.items() if k.startswith(f"{PROJECT}:")}
    settings = parse_stack_config(raw, stack_input.stack, [])
    recording: Recording = run_program(stack_input)
    count = len(recording.resources)
    best = _best(runs, {
        "program": lambda: run_program(stack_input),
        "bare": lambda: run_program(stack_input, program=bare_program(count)),
        "sdk": lambda: run_program(stack_input, program=sdk_floor_program(recording)),
        "artifacts": lambda: [writer(recording.resources, settings) for writer in ARTIFACT_WRITERS],
    })
    return Row(apps=apps_per_environment, resources=count, program=best["program"][0], bare=best["bare"][0],
               sdk=best["sdk"][0], artifacts=best["artifacts"][0])


def calibration(base: StackInput, runs: int) -> float:
    """CPU time of real SDK resources over the same number of bare ones."""
    stack_input = fleet_config(base, 1)
    best = _best(runs, {
        "sdk": lambda: run_program(stack_input, program=calibration_program(CALIBRATION_RESOURCES)),
        "bare": lambda: run_program(stack_input, program=bare_program(CALIBRATION_RESOURCES)),
    })
    return best["sdk"][0] / best["bare"][0]


def table(rows: Sequence[Row]) -> list[str]:
    lines = [f"{'apps/env':>8} {'(app,env)':>9} {'resources':>9} {'marginal':>8} {'program s':>9} {'bare s':>7} "
             f"{'ratio':>6} {'sdk s':>6} {'/sdk':>5} {'artifacts s':>11}"]
    previous: Row | None = None
    for row in rows:
        marginal = "-"
        if previous is not None:
            added = (row.apps - previous.apps) * len(FLEET_ENVIRONMENTS)
            marginal = f"{(row.resources - previous.resources) / added:.2f}"
        lines.append(f"{row.apps:>8} {row.apps * len(FLEET_ENVIRONMENTS):>9} {row.resources:>9} {marginal:>8} "
                     f"{row.program:>9.2f} {row.bare:>7.2f} {row.ratio:>6.2f} {row.sdk:>6.2f} {row.sdk_ratio:>5.2f} "
                     f"{row.artifacts:>11.2f}")
        previous = row
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200],
                        help="apps per environment (three environments)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size; the best CPU time counts")
    args = parser.parse_args(argv)
    base = read_stack(ROOT, "dev")
    run_program(fleet_config(base, 1))  # warm up: imports and first-use caches are not per-resource costs
    rows = [measure(n, base, args.repeat) for n in sorted(args.sizes)]
    print("\n".join(table(rows)))
    print(f"calibration: one aws.iam.Role (one input) per resource costs "
          f"{calibration(base, args.repeat):.2f}x the bare floor")
    met = all(row.ratio <= RATIO_TARGET for row in rows)
    print(f"Target: ratio to the bare floor <= {RATIO_TARGET}: {'met' if met else 'NOT met'}; "
          f"the program's own cost above its resources' SDK floor: "
          f"{', '.join(f'{row.sdk_ratio:.2f}' for row in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
