"""The namespaces the platform owns: its three system namespaces and one per environment.

Names are explicit (no auto-naming suffix: Argo CD projects, ESO store
conditions and Vault roles refer to them by name). Every namespace enforces the
``restricted`` Pod Security Standard at the cluster's version, and every
environment namespace starts from default-deny (ingress, and egress except DNS):
the apps' own NetworkPolicies in the GitOps tree open what each app needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config import SYSTEM_NAMESPACES, StackConfig
from components.network_policy import DNS_EGRESS, create_network_policy, network_policy_manifest

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform"}
ENVIRONMENT_LABEL = "platform.secrets/environment"
PLATFORM_ENVIRONMENT = "platform"


@dataclass(frozen=True)
class NamespaceSpec:
    name: str
    environment: str
    labels: Mapping[str, str]


def namespace_labels(environment: str, kubernetes_version: str) -> dict[str, str]:
    """Standard, environment and Pod Security Admission labels."""
    psa_version = f"v{kubernetes_version}"
    labels = {**MANAGED_BY, ENVIRONMENT_LABEL: environment}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        labels[f"pod-security.kubernetes.io/{mode}-version"] = psa_version
    return labels


def namespace_specs(settings: StackConfig) -> list[NamespaceSpec]:
    """System namespaces first, then the stack's environments in config order."""
    version = settings.cluster.kubernetes_version
    specs = [NamespaceSpec(ns, PLATFORM_ENVIRONMENT, namespace_labels(PLATFORM_ENVIRONMENT, version)) for ns in SYSTEM_NAMESPACES]
    specs += [NamespaceSpec(env, env, namespace_labels(env, version)) for env in settings.environments]
    return specs


class Namespaces(pulumi.ComponentResource):
    """Creates every platform namespace and the environments' default-deny policies."""

    by_name: dict[str, k8s.core.v1.Namespace]

    def __init__(
        self,
        name: str,
        *,
        settings: StackConfig,
        provider: k8s.Provider,
        protect: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:kubernetes:Namespaces", name, None, opts)
        self.by_name = {}
        for spec in namespace_specs(settings):
            self.by_name[spec.name] = k8s.core.v1.Namespace(
                spec.name,
                metadata={"name": spec.name, "labels": dict(spec.labels)},
                opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=spec.name in protect),
            )
        for env in settings.environments:
            manifest = network_policy_manifest(
                "default-deny", env, ingress=[], egress=[DNS_EGRESS], labels=MANAGED_BY
            )
            create_network_policy(
                f"{env}-default-deny", manifest, provider=provider, parent=self, depends_on=[self.by_name[env]]
            )
        self.register_outputs({"names": sorted(self.by_name)})
