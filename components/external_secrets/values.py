"""Helm values of the External Secrets Operator, Stakater Reloader and Sealed Secrets charts.

Pure functions of typed settings. Every key exists in the pinned chart's ``values.yaml``
(tests walk them), except the pod-level security contexts that the charts copy
verbatim into the pod spec (``podSecurityContext`` minus ``enabled``): the tests check
those against the Kubernetes schema instead.

Decisions, each with its reason:

* **CRDs by the release** (``installCRDs`` and every ``crds.create*``): the chart renders
  them as templates, so ``helm upgrade`` upgrades them with the operator; ESO 2.x serves
  only ``v1`` and ``crds.unsafeServeV1Beta1`` stays off.
* **Controller HA**: ``leaderElect`` with 2+ replicas. One leader reconciles; the others
  are warm standbys (failover, not load sharing). The cert controller follows the same
  flag. Every Deployment has a disruption budget keeping one pod.
* **Webhook**: 2+ replicas and ``failurePolicy: Fail`` (an invalid store or ExternalSecret
  is refused, never admitted unchecked); it listens on ``webhook.port`` 10250.
* **Token minting limited to the store accounts**: ``rbac.serviceAccountTokenCreate``
  is off, so the chart's ClusterRole cannot mint a token for *any* service account
  (an app's Vault role, another namespace's IRSA role); the component grants
  ``serviceaccounts/token`` on the store accounts only, in ``external-secrets``.
* **No write path**: PushSecret and ClusterPushSecret are not processed (their CRDs stay
  installed so Argo CD projects can name the kinds they deny); the store identities
  can only read anyway. ESO's kinds are not aggregated into the ``edit``/``admin``
  ClusterRoles: environment namespaces change through Argo CD, not ``kubectl``.
* **Security contexts** pass the ``restricted`` Pod Security Standard of the namespaces:
  non-root, RuntimeDefault seccomp, no privilege escalation, no capabilities,
  read-only root filesystem.
* **Reloader** watches only the environment namespaces (``watchGlobally: false``, scoped
  Roles, no ClusterRole) and rolls workloads with the ``annotations`` strategy (a
  pod-template annotation; an env var would show as drift in Argo CD).
* **Sealed Secrets** keeps ``kubeseal``'s default controller name and namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.config import ExternalSecretsConfig, WorkloadSizing
from components.external_secrets import names

HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
ZONE_TOPOLOGY = "topology.kubernetes.io/zone"
ESO_RUN_AS_USER = 1000  # the chart's default non-root user (distroless image)
RELOADER_RUN_AS_USER = 65534


def resources(sizing: WorkloadSizing) -> dict[str, Any]:
    """Requests and a memory limit; no CPU limit (throttling a controller only slows it down)."""
    return {
        "requests": {"cpu": sizing.cpu_request, "memory": sizing.memory_request},
        "limits": {"memory": sizing.memory_limit},
    }


def pod_security_context() -> dict[str, Any]:
    """Pod level of the restricted profile (the ESO charts copy it, minus ``enabled``)."""
    return {"enabled": True, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def eso_container_security_context() -> dict[str, Any]:
    """Container level of the restricted profile, in the ESO chart's own keys."""
    return {
        "enabled": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": ESO_RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Replicas on distinct nodes and zones when the cluster allows it (soft: never blocks scheduling)."""
    return [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": dict(labels)}}
        for key in (HOSTNAME_TOPOLOGY, ZONE_TOPOLOGY)
    ]


def _deployment(sizing: WorkloadSizing, labels: Mapping[str, str]) -> dict[str, Any]:
    """What the controller, webhook and cert controller sections share."""
    return {
        "replicaCount": sizing.replicas,
        "resources": resources(sizing),
        "podSecurityContext": pod_security_context(),
        "securityContext": eso_container_security_context(),
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "topologySpreadConstraints": spread(labels),
        "metrics": {"service": {"enabled": True, "port": names.METRICS_PORT}},
    }


def eso_values(cfg: ExternalSecretsConfig) -> dict[str, Any]:
    """Values for the pinned ``external-secrets`` chart."""
    return {
        "installCRDs": True,
        "crds": {
            "createClusterExternalSecret": True,
            "createClusterSecretStore": True,
            "createSecretStore": True,
            "createClusterGenerator": True,
            "createClusterPushSecret": True,
            "createPushSecret": True,
            "unsafeServeV1Beta1": False,
            "conversion": {"enabled": False},
        },
        **_deployment(cfg.controller, names.CONTROLLER_LABELS),
        "leaderElect": True,
        "processPushSecret": False,
        "processClusterPushSecret": False,
        "serviceAccount": {"create": True, "name": names.CONTROLLER_SERVICE_ACCOUNT},
        "rbac": {
            "create": True,
            "serviceAccountTokenCreate": False,
            "aggregateToView": True,
            "aggregateToEdit": False,
            "aggregateToAdmin": False,
        },
        "log": {"level": "info"},
        "webhook": {
            "create": True,
            **_deployment(cfg.webhook, names.WEBHOOK_LABELS),
            "port": names.WEBHOOK_PORT,
            "failurePolicy": "Fail",
            "log": {"level": "info"},
        },
        "certController": {
            "create": True,
            **_deployment(cfg.cert_controller, names.CERT_CONTROLLER_LABELS),
            "log": {"level": "info"},
        },
    }


def reloader_values(cfg: ExternalSecretsConfig, environments: Sequence[str]) -> dict[str, Any]:
    """Values for the pinned ``reloader`` chart: scoped to the environments, restricted, HA from 2 replicas."""
    sizing = cfg.reloader
    return {
        "reloader": {
            "watchGlobally": False,
            "namespaces": list(environments),
            "reloadStrategy": names.RELOADER_STRATEGY,
            "enableHA": sizing.replicas > 1,
            "readOnlyRootFileSystem": True,
            "logFormat": "json",
            "logLevel": "info",
            "rbac": {"enabled": True},
            "serviceAccount": {"create": True},
            "deployment": {
                "replicas": sizing.replicas,
                "resources": resources(sizing),
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": RELOADER_RUN_AS_USER,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containerSecurityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "topologySpreadConstraints": spread(names.RELOADER_LABELS),
            },
        }
    }


def sealed_secrets_values() -> dict[str, Any]:
    """Values for the pinned ``sealed-secrets`` chart (installed only when enabled)."""
    return {
        "fullnameOverride": names.SEALED_SECRETS_FULLNAME,
        "secretName": names.SEALED_SECRETS_KEY_SECRET,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "podSecurityContext": {
            "enabled": True,
            "fsGroup": 65534,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "enabled": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 1001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "logFormat": "json",
    }
