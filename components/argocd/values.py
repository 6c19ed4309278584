"""Helm values of the argo-cd chart (pinned in components/versions.py), as a pure function of the config.

Every key exists in the pinned chart's values.yaml (tests walk them), except below the
maps the chart copies verbatim: ``configs.cm`` (argocd-cm keys), ``configs.rbac``
(argocd-rbac-cm keys), the notifications catalogue, and Kubernetes fields (resources,
security contexts, topology spread constraints).

* No credential passes through the chart: ``configs.secret.createSecret: false`` (Argo CD
  creates ``argocd-secret`` itself at first start with its generated session key, and the
  admin password is never set), ``notifications.secret.create: false`` (ESO owns that
  Secret), no ``configs.repositories``/``credentialTemplates`` (the repository Secret comes
  from an ExternalSecret), and the SSO client secret is the reference
  ``$argocd-oidc:clientSecret`` (a Secret ESO writes, labelled ``part-of: argocd``).
* Sign-in is SSO only: ``admin.enabled: "false"``, Dex off, OIDC straight to the issuer.
* HA (``argocd.ha``): Redis HA (3 Redis with Sentinel behind HAProxy) with soft or hard
  anti-affinity from config plus a zone spread, ``replicas`` API servers, repo servers and
  ApplicationSet controllers with disruption budgets, and a zone spread for every component.
  The application controller stays at one replica in both modes: extra replicas only shard
  clusters between them, and this platform manages one cluster (its StatefulSet restarts the
  pod; reconciliation pauses meanwhile, running workloads do not).
* Every container runs restricted (non-root, no privilege escalation, all capabilities
  dropped, RuntimeDefault seccomp, read-only root file system) with a memory limit; no CPU
  limit (throttling a controller only slows reconciliation). Redis HA's containers keep the
  subchart's restricted contexts and take their memory limit from the namespace LimitRange.
* NetworkPolicies: the chart's own (``global.networkPolicy.create``) plus its namespace-wide
  ingress default-deny; the component adds the Redis HA policies the chart does not ship.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.argocd import names
from components.argocd.notifications import notifications_values
from components.argocd.rbac import rbac_values
from components.config import ArgoCdConfig, StackConfig

ZONE_KEY = "topology.kubernetes.io/zone"
POD_SECURITY: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}
# The chart's redis section splits the same settings between pod and container (its defaults'
# keys); uid 999 is the redis image's user.
REDIS_POD_SECURITY: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": 999, "seccompProfile": {"type": "RuntimeDefault"}}
REDIS_CONTAINER_SECURITY: dict[str, Any] = {
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
OIDC_SCOPES = ["openid", "profile", "email", "groups"]


def resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def oidc_config(cfg: ArgoCdConfig) -> str:
    """argocd-cm ``oidc.config``: the client secret is a reference, never a value."""
    return yaml.safe_dump(
        {
            "name": cfg.sso_name,
            "issuer": cfg.sso_issuer_url,
            "clientID": cfg.sso_client_id,
            "clientSecret": f"${names.OIDC_SECRET}:{names.OIDC_CLIENT_SECRET_KEY}",
            "requestedScopes": OIDC_SCOPES,
            "requestedIDTokenClaims": {"groups": {"essential": True}},
        },
        sort_keys=False,
    )


def argocd_cm(cfg: ArgoCdConfig) -> dict[str, str]:
    """The chart's ``configs.cm``: copied key by key into argocd-cm (strings, as Argo CD reads them)."""
    return {
        "url": f"https://{cfg.domain}",
        "admin.enabled": "false",
        "exec.enabled": "false",
        "users.anonymous.enabled": "false",
        # Syncing to a revision other than the Application's needs `override` (Argo CD 3.2+), which
        # no environment role holds: production follows its configured revision, nothing else.
        "application.sync.requireOverridePrivilegeForRevisionSync": "true",
        # The admission policies (components/admission/) read each object's owner from this annotation,
        # which Argo CD writes over whatever a manifest says: pinned rather than left to the default.
        "application.resourceTrackingMethod": "annotation",
        "oidc.config": oidc_config(cfg),
        # gitops/apps/payments renders its Helm chart through Kustomize's helmCharts (docs/gitops.md).
        "kustomize.buildOptions": "--enable-helm",
    }


def _scaled(cfg: ArgoCdConfig) -> int:
    return cfg.replicas if cfg.ha else 1


def _pdb(cfg: ArgoCdConfig) -> dict[str, Any]:
    return {"enabled": True, "minAvailable": 1} if cfg.ha else {"enabled": False}


def redis_ha_values(cfg: ArgoCdConfig) -> dict[str, Any]:
    """The redis-ha subchart, through the keys the argo-cd chart exposes for it."""
    if not cfg.ha:
        return {"enabled": False}
    hard = cfg.redis_ha_anti_affinity == "hard"
    return {
        "enabled": True,
        "hardAntiAffinity": hard,
        "haproxy": {"hardAntiAffinity": hard},
        "topologySpreadConstraints": {
            "enabled": True,
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "ScheduleAnyway",
        },
    }


def argocd_values(settings: StackConfig) -> dict[str, Any]:
    """Values of the argo-cd release for a stack."""
    cfg = settings.argocd
    environments = list(settings.environments)
    replicas = _scaled(cfg)
    spread = [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway"}] if cfg.ha else []
    return {
        "crds": {"install": True, "keep": True},
        "global": {
            "domain": cfg.domain,
            "securityContext": POD_SECURITY,
            "networkPolicy": {"create": True, "defaultDenyIngress": True},
            "affinity": {"podAntiAffinity": "soft"},
            "topologySpreadConstraints": spread,
        },
        "configs": {
            "cm": argocd_cm(cfg),
            "rbac": rbac_values(cfg, environments),
            # Argo CD creates argocd-secret itself (session signing key only); the chart holds nothing.
            "secret": {"createSecret": False},
            # Public keys the AppProjects' signatureKeys verify commits with (argocd-gpg-keys-cm).
            "gpg": {"keys": dict(sorted(settings.gitops.gpg_public_keys.items()))},
        },
        "controller": {
            "replicas": 1,
            "resources": resources("250m", "512Mi", cfg.controller_memory_limit),
            "containerSecurityContext": CONTAINER_SECURITY,
        },
        "dex": {"enabled": False},
        "redis": {
            "resources": resources("50m", "64Mi", cfg.redis_memory_limit),
            "securityContext": REDIS_POD_SECURITY,
            "containerSecurityContext": REDIS_CONTAINER_SECURITY,
        },
        "redis-ha": redis_ha_values(cfg),
        "redisSecretInit": {
            "resources": resources("10m", "32Mi", "64Mi"),
            "securityContext": POD_SECURITY,
            "containerSecurityContext": CONTAINER_SECURITY,
        },
        "server": {
            "replicas": replicas,
            "pdb": _pdb(cfg),
            "resources": resources("50m", "128Mi", "512Mi"),
            "containerSecurityContext": CONTAINER_SECURITY,
        },
        "repoServer": {
            "replicas": replicas,
            "pdb": _pdb(cfg),
            "resources": resources("100m", "256Mi", cfg.repo_server_memory_limit),
            "copyutil": {"resources": resources("10m", "32Mi", "64Mi")},
            "containerSecurityContext": CONTAINER_SECURITY,
        },
        "applicationSet": {
            "replicas": replicas,
            "pdb": _pdb(cfg),
            "resources": resources("20m", "64Mi", "256Mi"),
            "containerSecurityContext": CONTAINER_SECURITY,
        },
        "notifications": notifications_values(
            cfg, resources=resources("10m", "64Mi", "128Mi"), security=CONTAINER_SECURITY
        ),
    }
