"""Plan summary figures and the benchmark's fleet: derived from the config, constant per (app, environment)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.config import KNOWN_ENVIRONMENTS
from planner.bench import fleet_config
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
    per_pair = [(counts[b] - counts[a]) / ((b - a) * len(KNOWN_ENVIRONMENTS)) for a, b in ((2, 4), (4, 6))]
    assert per_pair[0] == per_pair[1] > 0
