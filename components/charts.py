"""One way to install a pinned Helm chart.

Every chart the platform installs goes through ``install_chart``: a fixed release
name in a namespace the platform owns (never created by Helm), the version from
``versions.CHART_PINS`` (or the stack's override), and the values passed through
unchanged so tests can assert on exactly what the chart receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.versions import CHART_PINS

HELM_RELEASE_NAME_MAX = 53  # Helm refuses longer release names


@dataclass(frozen=True)
class ChartSpec:
    """Repository, chart, version, release name and namespace of one release."""

    repository: str
    chart: str
    version: str
    release: str
    namespace: str
    # Charts whose pods cannot become ready on the first run (sealed Vault) must
    # not make `pulumi up` wait for readiness.
    skip_await: bool = False

    def __post_init__(self) -> None:
        if len(self.release) > HELM_RELEASE_NAME_MAX:
            raise ValueError(f"Helm release name {self.release!r} is longer than {HELM_RELEASE_NAME_MAX} characters")


def chart_spec(key: str, settings: StackConfig, *, skip_await: bool = False) -> ChartSpec:
    """The spec of a pinned chart, with the stack's version override applied."""
    pin = CHART_PINS[key]
    return ChartSpec(
        repository=pin.repository,
        chart=pin.chart,
        version=settings.chart_version(key),
        release=pin.release,
        namespace=pin.namespace,
        skip_await=skip_await,
    )


def release_args(spec: ChartSpec, values: Mapping[str, Any]) -> k8s.helm.v3.ReleaseArgs:
    """Release arguments for a spec; values are passed through unchanged."""
    return k8s.helm.v3.ReleaseArgs(
        name=spec.release,
        chart=spec.chart,
        version=spec.version,
        namespace=spec.namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=spec.repository),
        values=dict(values),
        create_namespace=False,
        cleanup_on_fail=True,
        max_history=10,
        skip_await=spec.skip_await,
        timeout=600,
    )


def install_chart(
    resource_name: str,
    spec: ChartSpec,
    values: Mapping[str, Any],
    *,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    """Install a pinned chart as a Helm release owned by ``parent``."""
    return k8s.helm.v3.Release(
        resource_name,
        release_args(spec, values),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
