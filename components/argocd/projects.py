"""AppProjects, one per environment: the GitOps half of environment isolation (pure).

A project named after its environment lets its applications:

* take manifests only from the GitOps repository (``sourceRepos``);
* deploy only into the environment's namespace of this cluster (``destinations``);
* create no cluster-scoped object at all (``clusterResourceWhitelist: []``), which already
  refuses ClusterSecretStores, ClusterExternalSecrets, ClusterGenerators, ClusterRoles,
  ClusterRoleBindings, webhooks, CRDs and namespaces;
* create only the namespaced kinds the GitOps tree needs (``namespaceResourceWhitelist``,
  ALLOWED_KINDS below; a test renders every overlay and compares): Ingress and Gateway routes,
  any CRD installed later and every other kind are refused. ``ExternalSecret`` is allowed
  (through the environment's ClusterSecretStores only, which refuse other namespaces), and so
  are NetworkPolicies (each app opens what it needs on top of the namespace's default-deny);
  what a Service, a pod or a route may say inside an allowed kind is admission's
  (components/admission.py);
* and, should the whitelist ever grow, still none of the kinds that would step around the
  platform's isolation (``namespaceResourceBlacklist``, DENIED_KINDS below: Argo CD applies both).

Sync windows come from ``argocd.syncWindows`` (production change windows); orphaned resources
(objects in the namespace no application manages) raise a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.argocd import names
from components.config import AppConfig, ArgoCdSyncWindow, StackConfig
from components.external_secrets.database_secrets import GENERATOR_API_VERSION, GENERATOR_KIND, TOKEN_ROLE, database_secret_name
from components.vault import names as vault_names

DEFAULT_DENY_POLICY = "default-deny"  # components/namespaces.py creates it outside Argo CD


@dataclass(frozen=True)
class ProjectKind:
    """A namespaced kind an AppProject names (allowed: the GitOps tree renders it; denied: tenants may not create it), and why."""

    group: str
    kind: str
    reason: str

    def manifest(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind}


ALLOWED_KINDS: tuple[ProjectKind, ...] = (
    ProjectKind("apps", "Deployment", "the apps' workloads"),
    ProjectKind("", "Service", "each app's ClusterIP Service (admission refuses externalIPs, NodePort and LoadBalancer)"),
    ProjectKind("", "ServiceAccount", "each app's own identity (admission binds pods to their app's account)"),
    ProjectKind("policy", "PodDisruptionBudget", "keeps each app available through node drains"),
    ProjectKind("networking.k8s.io", "NetworkPolicy", "each app opens its port on top of the namespace's default-deny"),
    ProjectKind("external-secrets.io", "ExternalSecret", "the app's values, through its environment's stores only"),
)


DENIED_KINDS: tuple[ProjectKind, ...] = (
    ProjectKind("external-secrets.io", "SecretStore",
               "a store of the app's own would read backend paths with credentials the platform never scoped"),
    ProjectKind("external-secrets.io", "ClusterSecretStore",
               "cluster-scoped, so refused by the empty cluster whitelist already; listed so the intent survives a whitelist change"),
    ProjectKind("external-secrets.io", "ClusterExternalSecret",
               "cluster-scoped (refused by the whitelist); it would write Secrets into other namespaces"),
    ProjectKind("external-secrets.io", "PushSecret",
               "it copies a Secret of the namespace into a backend path: writing to the stores is the platform's job"),
    ProjectKind("generators.external-secrets.io", "*",
               "generators mint credentials (registry, cloud, Vault and Git tokens, passwords) with the operator's identity"),
    ProjectKind("rbac.authorization.k8s.io", "Role",
               "RBAC inside the namespace is the platform's: an app-made Role could let one app read another's Secrets"),
    ProjectKind("rbac.authorization.k8s.io", "RoleBinding",
               "the same, and it could bind a ClusterRole such as `edit` to any subject"),
    ProjectKind("", "Secret",
               "no secret value comes from Git: ESO writes the Secrets apps read; this also refuses "
               "service-account token Secrets, which would mint a non-expiring token for any account of the namespace"),
    ProjectKind("", "ResourceQuota", "quotas and limits of the namespace are the platform's"),
    ProjectKind("", "LimitRange", "quotas and limits of the namespace are the platform's"),
    ProjectKind("argoproj.io", "*",
               "no Applications, ApplicationSets or AppProjects from an app's own manifests (they would escape their project)"),
)


def sync_window(window: ArgoCdSyncWindow) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "kind": window.kind,
        "schedule": window.schedule,
        "duration": window.duration,
        "timeZone": window.time_zone,
        "applications": ["*"],
        "manualSync": window.manual_sync,
    }
    if window.description:
        manifest["description"] = window.description
    return manifest


def project_name(environment: str) -> str:
    return environment


def database_delivery_objects(apps: Sequence[AppConfig]) -> list[dict[str, str]]:
    """What the program creates for the apps whose database users ESO delivers: a generator each, and one token Role."""
    eso = [app.name for app in apps if app.database is not None and app.database.delivery == "eso"]
    generator_group = GENERATOR_API_VERSION.split("/")[0]
    objects = [{"group": generator_group, "kind": GENERATOR_KIND, "name": database_secret_name(app)} for app in eso]
    if eso:
        objects += [{"group": "rbac.authorization.k8s.io", "kind": kind, "name": TOKEN_ROLE} for kind in ("Role", "RoleBinding")]
    return objects


def app_project(environment: str, settings: StackConfig) -> dict[str, Any]:
    """The ``argoproj.io/v1alpha1`` AppProject of one environment."""
    if environment not in settings.environments:
        raise ValueError(f"{environment!r} is not an environment of this stack")
    windows = {str(env): w for env, w in settings.argocd.sync_windows.items()}.get(environment, [])
    spec: dict[str, Any] = {
        "description": f"{environment}: namespace {environment} on this cluster, from the GitOps repository only",
        "sourceRepos": [settings.gitops.repo_url],
        "destinations": [{"server": names.IN_CLUSTER, "namespace": environment}],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [k.manifest() for k in ALLOWED_KINDS],
        "namespaceResourceBlacklist": [d.manifest() for d in DENIED_KINDS],
        "orphanedResources": {
            "warn": True,
            # The program's own objects in the namespace: no warning for what is meant to be there.
            "ignore": [{"group": "networking.k8s.io", "kind": "NetworkPolicy", "name": DEFAULT_DENY_POLICY},
                       {"group": "", "kind": "ConfigMap", "name": vault_names.CA_CONFIG_MAP},
                       *database_delivery_objects(settings.environments[environment].apps)],
        },
    }
    if windows:
        spec["syncWindows"] = [sync_window(w) for w in windows]
    keys = settings.environments[environment].signature_keys
    if keys:  # Argo CD then syncs only commits signed by one of them (public keys: gitops.gpgPublicKeys)
        spec["signatureKeys"] = [{"keyID": key} for key in keys]
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.APP_PROJECT_KIND,
        "metadata": {
            "name": project_name(environment),
            "namespace": names.NAMESPACE,
            "labels": {**names.MANAGED_LABELS, names.ENVIRONMENT_LABEL: environment},
            # Kept until no Application refers to the project.
            "finalizers": [names.PROJECT_FINALIZER],
        },
        "spec": spec,
    }
