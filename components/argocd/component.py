"""ArgoCD: the pinned release, its own secrets, and one AppProject and ApplicationSet per environment.

Registration order follows what a first ``pulumi up`` on an empty cluster needs:

1. the namespace's container defaults (LimitRange) and, with ``ha``, the Redis HA
   NetworkPolicies, before any pod;
2. Argo CD's three ExternalSecrets (repository credential, SSO client secret, notifications
   token), after the ESO release (their CRD) and the ``platform-aws`` store;
3. the argo-cd release (it installs the Argo CD CRDs), after them, so its pods find their
   Secrets being written;
4. per environment, the AppProject after the release, then the ApplicationSet after the
   release, its project, the environment's namespace, its ClusterSecretStores (the apps'
   ExternalSecrets in the GitOps tree read through them) and ``workloads_after`` (Vault's
   bootstrap Job: no tenant workload exists before the platform has initialised Vault).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.argocd import names
from components.argocd.applicationsets import application_set
from components.argocd.network import limit_range_manifest, redis_ha_network_policies
from components.argocd.projects import app_project
from components.argocd.secrets import BACKEND, platform_external_secrets
from components.argocd.values import argocd_values
from components.charts import chart_spec, install_chart
from components.config import StackConfig
from components.naming import PLATFORM_SCOPE, Backend, store_name
from components.network_policy import create_network_policy

STORE_BACKENDS: tuple[Backend, ...] = ("vault", "aws")


def environment_stores(environment: str, stores: Mapping[str, pulumi.Resource]) -> list[pulumi.Resource]:
    """The ClusterSecretStores of one environment that the ExternalSecrets component registered."""
    return [stores[store_name(environment, b)] for b in STORE_BACKENDS if store_name(environment, b) in stores]


class ArgoCD(pulumi.ComponentResource):
    """Argo CD and the per-environment projects and ApplicationSets that deliver the workloads."""

    release: k8s.helm.v3.Release
    url: str
    external_secrets: dict[str, k8s.apiextensions.CustomResource]
    projects: dict[str, k8s.apiextensions.CustomResource]
    application_sets: dict[str, k8s.apiextensions.CustomResource]

    def __init__(
        self,
        name: str,
        *,
        settings: StackConfig,
        k8s_provider: k8s.Provider,
        namespace: k8s.core.v1.Namespace,
        environment_namespaces: Mapping[str, k8s.core.v1.Namespace],
        eso_release: pulumi.Resource,
        stores: Mapping[str, pulumi.Resource],
        workloads_after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:argocd:ArgoCD", name, None, opts)
        environments = list(settings.environments)
        platform_store = store_name(PLATFORM_SCOPE, BACKEND)
        missing = [f"namespace {env}" for env in environments if env not in environment_namespaces]
        missing += [f"stores of {env}" for env in environments if not environment_stores(env, stores)]
        missing += [f"store {platform_store}"] if platform_store not in stores else []
        if missing:
            raise ValueError(f"ArgoCD needs: {', '.join(missing)}")
        cfg = settings.argocd

        def opts_after(*needs: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=list(needs))

        # --- before any pod: container defaults and the Redis HA policies ---------------------------
        limits = limit_range_manifest(cfg)
        limit_range = k8s.core.v1.LimitRange(
            "argocd-limits", metadata=limits["metadata"], spec=limits["spec"], opts=opts_after(namespace)
        )
        before_pods: list[pulumi.Resource] = [namespace, limit_range]
        for manifest in redis_ha_network_policies(cfg):
            before_pods.append(create_network_policy(
                f"argocd-netpol-{manifest['metadata']['name']}", manifest,
                provider=k8s_provider, parent=self, depends_on=[namespace],
            ))

        # --- Argo CD's own secrets, through the platform store ----------------------------------------
        self.external_secrets = {}
        for manifest in platform_external_secrets(settings):
            secret_name = manifest["metadata"]["name"]
            self.external_secrets[secret_name] = self._custom_resource(
                f"argocd-es-{secret_name}", manifest, opts_after(namespace, eso_release, stores[platform_store])
            )

        # --- the release (CRDs, controllers) -----------------------------------------------------------
        self.release = install_chart(
            names.RELEASE, chart_spec(names.CHART_KEY, settings), argocd_values(settings),
            provider=k8s_provider, parent=self, depends_on=[*before_pods, *self.external_secrets.values()],
        )
        self.url = f"https://{cfg.domain}"

        # --- per environment: project, then ApplicationSet ------------------------------------------
        self.projects = {}
        self.application_sets = {}
        for env in environments:
            env_ns = environment_namespaces[env]
            self.projects[env] = self._custom_resource(
                f"argocd-project-{env}", app_project(env, settings), opts_after(self.release, env_ns)
            )
            # `workloads_after`: the bootstrap Job and TenantAdmission: no Application exists before Vault is
            # initialised by the platform or before the API server enforces the tenant policies.
            needs: Sequence[pulumi.Resource] = [
                self.release, self.projects[env], env_ns, *environment_stores(env, stores), *workloads_after,
            ]
            self.application_sets[env] = self._custom_resource(
                f"argocd-appset-{env}", application_set(env, settings), opts_after(*needs)
            )

        self.register_outputs({
            "url": self.url,
            "release": self.release.name,
            "namespace": names.NAMESPACE,
            "projects": sorted(self.projects),
            "applicationSets": sorted(self.application_sets),
            "externalSecrets": sorted(self.external_secrets),
        })

    def _custom_resource(
        self, resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=opts,
        )
