"""Limits that depend on more than one field: the refresh load a stack puts on its backends, and chart
overrides that must still serve the APIs the program creates objects with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config.errors import ConfigIssue
from components.config.types import duration_seconds
from components.versions import CHART_PINS

if TYPE_CHECKING:
    from components.config.stack import StackConfig

# ESO refreshes of one stack may read a backend at most this often (10 reads a second on average):
# beyond it Secrets Manager's bill and Vault's load grow for nothing; refresh less often instead.
READS_PER_HOUR_CEILING = 36_000

# chart -> (first chart version serving the API, the API): the program creates objects at these versions
# (policies/rules/api_versions.py SERVED). ESO served external-secrets.io/v1 from 0.16.2 on.
CHART_API_FLOORS: dict[str, tuple[str, str]] = {
    "external-secrets": ("0.16.2", "external-secrets.io/v1"),
}


def refresh_reads_per_hour(cfg: StackConfig) -> dict[str, float]:
    """Backend -> reads an hour from ESO refreshes (one read per ExternalSecret entry at each refresh)."""
    reads = {"aws": 0.0, "vault": 0.0}
    for env in cfg.environments.values():
        for app in env.apps:
            for spec in app.secrets:
                reads[spec.backend] += 3600 / duration_seconds(env.refresh_interval)
    return reads


def refresh_load_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """The refresh intervals' lower bound in practice: the stack's reads an hour, per backend, under the ceiling."""
    issues: list[ConfigIssue] = []
    for backend, reads in refresh_reads_per_hour(cfg).items():
        if reads <= READS_PER_HOUR_CEILING:
            continue
        fastest = min(cfg.environments, key=lambda env: duration_seconds(cfg.environments[env].refresh_interval))
        issues.append(ConfigIssue(
            f"environments.{fastest}.refreshInterval",
            f"makes ESO read {backend} {reads:,.0f} times an hour from this stack, above the ceiling of {READS_PER_HOUR_CEILING:,}",
            "refresh less often (the plan's summary.md shows the load per backend)",
        ))
    return issues


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def chart_override_issues(charts: dict[str, str]) -> list[ConfigIssue]:
    """An override stays below the pin's next major (which may drop what the program uses) and serves the APIs."""
    issues: list[ConfigIssue] = []
    for chart, version in sorted(charts.items()):
        if chart not in CHART_PINS:
            continue
        pin = CHART_PINS[chart].version
        floor, api = CHART_API_FLOORS.get(chart, ("0.0.0", ""))
        if _version(version)[0] > _version(pin)[0]:
            issues.append(ConfigIssue(f"charts.{chart}", f"is a newer major version than the tested pin {pin}",
                                      "stay on the pin's major version, or raise the pin in components/versions.py with its tests"))
        elif _version(version) < _version(floor):
            issues.append(ConfigIssue(f"charts.{chart}", f"is older than {floor}, the first version serving {api}, which the program uses",
                                      f"use {floor} or newer (the pin is {pin})"))
    return issues
