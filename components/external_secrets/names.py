"""Names, labels, ports and annotations of the External Secrets installation, in one place.

The charts derive object names and pod labels from their release names; the ones
NetworkPolicies, RBAC and the GitOps tree refer to are spelled here once, each with
the chart template it comes from (external-secrets 2.9.0, reloader 2.2.16,
sealed-secrets 2.18.5).
"""

from __future__ import annotations

from typing import get_args

from components.naming import ESO_NAMESPACE, PLATFORM_SCOPE, Backend
from components.versions import CHART_PINS

NAMESPACE = ESO_NAMESPACE
BACKENDS: tuple[Backend, ...] = get_args(Backend)

# --- External Secrets Operator (chart external-secrets) ------------------------------------
RELEASE = CHART_PINS["external-secrets"].release
CHART_NAME = CHART_PINS["external-secrets"].chart
# The release name contains the chart name, so the chart's fullname is the release name.
CONTROLLER_SERVICE_ACCOUNT = RELEASE
# _helpers.tpl: selectorLabels / external-secrets-webhook.selectorLabels / ...cert-controller.selectorLabels,
# on each Deployment's pods (nameOverride unset). CONTROLLER_LABELS is also the only ESO peer Vault admits.
CONTROLLER_LABELS = {"app.kubernetes.io/name": CHART_NAME, "app.kubernetes.io/instance": RELEASE}
WEBHOOK_LABELS = {"app.kubernetes.io/name": f"{CHART_NAME}-webhook", "app.kubernetes.io/instance": RELEASE}
CERT_CONTROLLER_LABELS = {"app.kubernetes.io/name": f"{CHART_NAME}-cert-controller", "app.kubernetes.io/instance": RELEASE}
WEBHOOK_PORT = 10250  # webhook.port: the pod port the API server calls (the Service maps 443 to it)
METRICS_PORT = 8080  # metrics.listen.port, webhook.metrics.listen.port, certController.metrics.listen.port

API_GROUP = "external-secrets.io"
API_VERSION = f"{API_GROUP}/v1"  # ESO 2.x serves only v1 for stores and ExternalSecrets
STORE_KIND = "ClusterSecretStore"
EXTERNAL_SECRET_KIND = "ExternalSecret"

# --- Stakater Reloader (chart reloader) -------------------------------------------------------
RELOADER_RELEASE = CHART_PINS["reloader"].release
RELOADER_NAMESPACE = CHART_PINS["reloader"].namespace
# _helpers.tpl reloader-labels.chart (pod labels): the chart name and the release.
RELOADER_LABELS = {"app.kubernetes.io/name": CHART_PINS["reloader"].chart, "app.kubernetes.io/instance": RELOADER_RELEASE}
RELOADER_METRICS_PORT = 9090  # the container's `http` port: /metrics and /live
# Opt-in pair ("search + match"): a workload annotated SEARCH rolls when a Secret it
# references and that carries MATCH changes. Generated ExternalSecrets put MATCH on their Secret.
RELOADER_SEARCH_ANNOTATION = "reloader.stakater.com/search"
RELOADER_MATCH_ANNOTATION = "reloader.stakater.com/match"
RELOADER_STRATEGY = "annotations"  # pod-template annotation, not an env var: no drift for Argo CD

# --- Sealed Secrets (chart sealed-secrets) ----------------------------------------------------
SEALED_SECRETS_RELEASE = CHART_PINS["sealed-secrets"].release
SEALED_SECRETS_NAMESPACE = CHART_PINS["sealed-secrets"].namespace
# kubeseal's defaults are --controller-name sealed-secrets-controller --controller-namespace kube-system.
SEALED_SECRETS_FULLNAME = "sealed-secrets-controller"
SEALED_SECRETS_KEY_SECRET = "sealed-secrets-key"  # the chart's secretName: prefix of the sealing key Secrets

# --- Argo CD ordering -------------------------------------------------------------------------
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
EXTERNAL_SECRET_WAVE = "-1"  # before workloads (wave 0): Argo's ExternalSecret health check holds wave 0

# --- Store identities ----------------------------------------------------------------------------
STORE_TOKEN_ROLE = "eso-store-tokens"  # Role letting the controller mint tokens for the store accounts only
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform"}
SCOPE_LABEL = "platform.secrets/scope"
BACKEND_LABEL = "platform.secrets/backend"


def scopes(environments: list[str] | tuple[str, ...]) -> list[str]:
    """Every store scope: the environments in config order, then `platform` (Argo CD's own secrets)."""
    return [*environments, PLATFORM_SCOPE]
