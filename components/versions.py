"""Every pinned chart version, in one table.

Nothing else in the project repeats a version: components, docs and tests read
this table. Each pin carries a Renovate marker so an update bot can follow it.
Stack config may override a version (``platform:charts``), never the source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """Where a chart comes from and which version the platform is tested with."""

    repository: str
    chart: str
    version: str
    release: str
    namespace: str


CHART_PINS: dict[str, ChartPin] = {
    # renovate: datasource=helm registryUrl=https://helm.releases.hashicorp.com depName=vault
    "vault": ChartPin(
        repository="https://helm.releases.hashicorp.com",
        chart="vault",
        version="0.34.1",
        release="vault",
        namespace="vault",
    ),
    # renovate: datasource=helm registryUrl=https://charts.external-secrets.io depName=external-secrets
    "external-secrets": ChartPin(
        repository="https://charts.external-secrets.io",
        chart="external-secrets",
        version="2.9.0",
        release="external-secrets",
        namespace="external-secrets",
    ),
    # renovate: datasource=helm registryUrl=https://argoproj.github.io/argo-helm depName=argo-cd
    "argo-cd": ChartPin(
        repository="https://argoproj.github.io/argo-helm",
        chart="argo-cd",
        version="10.1.1",
        release="argocd",
        namespace="argocd",
    ),
    # renovate: datasource=helm registryUrl=https://stakater.github.io/stakater-charts depName=reloader
    "reloader": ChartPin(
        repository="https://stakater.github.io/stakater-charts",
        chart="reloader",
        version="2.2.16",
        release="reloader",
        namespace="external-secrets",
    ),
    # renovate: datasource=helm registryUrl=https://bitnami-labs.github.io/sealed-secrets depName=sealed-secrets
    "sealed-secrets": ChartPin(
        repository="https://bitnami-labs.github.io/sealed-secrets",
        chart="sealed-secrets",
        version="2.18.5",
        release="sealed-secrets",
        namespace="kube-system",
    ),
}
