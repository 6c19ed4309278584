"""Plan summary figures and the benchmark's fleet: derived from the config, constant per (app, environment)."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest

from planner.bench import FLEET_ENVIRONMENTS, Row, fleet_config, sdk_floor_program, table
from planner.run import Recording, run_program
from planner.stackfile import read_stack
from planner.summary import API_CALLS_USD_PER_10K, HOURS_PER_MONTH, SECRET_MONTHLY_USD, cost_lines, seconds
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings


@pytest.mark.parametrize(("duration", "expected"), [("45s", 45), ("15m", 900), ("1h", 3600), ("12h", 43200)])
def test_durations(duration: str, expected: int) -> None:
    assert seconds(duration) == expected


@pytest.mark.parametrize("stack", STACKS)
def test_cost_lines_follow_the_secrets_and_refresh_intervals(recording: Callable[..., Recording], stack: str) -> None:
    resources = recording(stack).resources
    secrets = len(recording(stack).by_type("aws:secretsmanager/secret:Secret"))
    per_hour = {"aws": 0.0, "vault": 0.0}
    for env in stack_config_objects(stack)["platform:environments"].values():
        interval = {"m": 60, "h": 3600, "s": 1}[env["refreshInterval"][-1]] * int(env["refreshInterval"][:-1])
        for app in env["apps"]:
            for secret in app["secrets"]:
                per_hour[secret["backend"]] += 3600 / interval
    text = "\n".join(cost_lines(stack_settings(stack), resources))
    monthly = secrets * SECRET_MONTHLY_USD + per_hour["aws"] * HOURS_PER_MONTH / 10_000 * API_CALLS_USD_PER_10K
    assert f"{secrets} secrets x ${SECRET_MONTHLY_USD:.2f}" in text
    assert f"{per_hour['aws']:.0f} GetSecretValue calls an hour" in text
    assert f"${monthly:.2f} a month in all" in text
    assert f"Vault: {per_hour['vault']:.0f} KV reads an hour" in text


def test_fleet_adds_a_constant_number_of_resources_per_app_and_environment() -> None:
    base = read_stack(ROOT, "dev")
    counts = {n: len(run_program(fleet_config(base, n)).resources) for n in (2, 4, 6)}  # even: as many Vault as AWS apps
    per_pair = [(counts[b] - counts[a]) / ((b - a) * len(FLEET_ENVIRONMENTS)) for a, b in ((2, 4), (4, 6))]
    assert per_pair[0] == per_pair[1] > 0


def test_recording_counts_the_properties_each_class_hands_the_runtime() -> None:
    def program() -> None:
        pulumi.CustomResource("bench:index:Raw", "raw", {"a": 1, "b": None})
        pulumi.ComponentResource("bench:index:Group", "group", None)
        aws.iam.Role("role", assume_role_policy="{}")

    recording = run_program(fleet_config(read_stack(ROOT, "dev"), 1), program=program)
    counts = {r["name"]: recording.property_counts[r["urn"]] for r in recording.resources}
    role_outputs = {name for name in dir(aws.iam.Role) if isinstance(getattr(aws.iam.Role, name), property)}
    assert counts["raw"] == 2 and counts["group"] == 0
    # The SDK class hands every property it declares (input or output-only) to the runtime, set or not.
    assert 1 < counts["role"] <= len(role_outputs)


def test_sdk_floor_replays_the_programs_resources_flat_with_their_property_counts() -> None:
    stack_input = fleet_config(read_stack(ROOT, "dev"), 2)
    program = run_program(stack_input)
    floor = run_program(stack_input, program=sdk_floor_program(program))
    assert [(r["type"], r["custom"]) for r in floor.resources] == [(r["type"], r["custom"]) for r in program.resources]
    assert [floor.property_counts[r["urn"]] for r in floor.resources] == [
        program.property_counts[r["urn"]] for r in program.resources
    ]
    assert {r["parent"] for r in floor.resources} == {"urn:pulumi:dev::platform::pulumi:pulumi:Stack::platform-dev"}  # flat


def test_bench_table_reports_marginal_resources_and_both_ratios() -> None:
    rows = [Row(apps=10, resources=334, program=2.0, bare=1.0, sdk=1.6, artifacts=0.5),
            Row(apps=50, resources=1054, program=6.0, bare=2.5, sdk=5.0, artifacts=2.0)]
    header, first, second = table(rows)
    assert header.split() == ["apps/env", "(app,env)", "resources", "marginal", "program", "s", "bare", "s", "ratio",
                              "sdk", "s", "/sdk", "artifacts", "s"]
    envs = len(FLEET_ENVIRONMENTS)
    assert first.split() == ["10", str(10 * envs), "334", "-", "2.00", "1.00", "2.00", "1.60", "1.25", "0.50"]
    marginal = f"{(1054 - 334) / (40 * envs):.2f}"
    assert second.split() == ["50", str(50 * envs), "1054", marginal, "6.00", "2.50", "2.40", "5.00", "1.20", "2.00"]
