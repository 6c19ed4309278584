"""Names, labels and ports of the Argo CD installation, spelled once.

The chart derives object names and pod labels from its release name and
``nameOverride: argocd`` (argo-cd 10.1.1 ``_helpers.tpl``: selector labels are
``app.kubernetes.io/name: argocd-<component>`` and ``app.kubernetes.io/instance: <release>``);
its redis-ha dependency (4.38.0) labels its pods ``app: redis-ha`` / ``app: redis-ha-haproxy``
with ``release: <release>``. NetworkPolicies, RBAC and tests refer to these names.
"""

from __future__ import annotations

from components.naming import ARGOCD_NAMESPACE, PLATFORM_APP, PLATFORM_SCOPE, secret_path
from components.versions import CHART_PINS

CHART_KEY = "argo-cd"
NAMESPACE = ARGOCD_NAMESPACE
RELEASE = CHART_PINS[CHART_KEY].release  # "argocd": fixed, so object names never change
NAME_OVERRIDE = "argocd"  # the chart's nameOverride default; the prefix of every component name

API_GROUP = "argoproj.io"
API_VERSION = f"{API_GROUP}/v1alpha1"  # the only version Argo CD 3.4 serves for its three kinds
APP_PROJECT_KIND = "AppProject"
APPLICATION_SET_KIND = "ApplicationSet"
IN_CLUSTER = "https://kubernetes.default.svc"  # the cluster Argo CD runs in

# Finalizer that keeps an AppProject until no Application refers to it.
PROJECT_FINALIZER = "resources-finalizer.argocd.argoproj.io"

# --- pod labels (NetworkPolicies) ----------------------------------------------------------------
COMPONENTS = {
    "server": "server",
    "repoServer": "repo-server",
    "controller": "application-controller",
    "applicationSet": "applicationset-controller",
    "notifications": "notifications-controller",
}


def component_labels(component: str) -> dict[str, str]:
    """Selector labels of one Argo CD component's pods (``component``: a key of COMPONENTS)."""
    return {"app.kubernetes.io/name": f"{NAME_OVERRIDE}-{COMPONENTS[component]}", "app.kubernetes.io/instance": RELEASE}


REDIS_HA_LABELS = {"app": "redis-ha", "release": RELEASE}
HAPROXY_LABELS = {"app": "redis-ha-haproxy", "release": RELEASE}
REDIS_PORT = 6379
SENTINEL_PORT = 26379

# --- Argo CD's own secrets (`platform/argocd/<key>` through the `platform` store) ---------------
PART_OF_LABEL = {"app.kubernetes.io/part-of": "argocd"}  # Argo CD resolves `$<secret>:<key>` only in these
REPOSITORY_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "repository"}
REPO_SECRET = "argocd-repo-gitops"
OIDC_SECRET = "argocd-oidc"
OIDC_CLIENT_SECRET_KEY = "clientSecret"
NOTIFICATIONS_SECRET = "argocd-notifications-secret"  # the chart's notifications.secret.name default
SLACK_TOKEN_KEY = "slack-token"
REPO_CREDENTIAL_KEY = "credential"  # the fetched value, used only inside the repository Secret's template

REPO_CREDENTIAL_PATH = secret_path(PLATFORM_SCOPE, PLATFORM_APP, "repo-credential")
SSO_CLIENT_SECRET_PATH = secret_path(PLATFORM_SCOPE, PLATFORM_APP, "sso-client-secret")
NOTIFICATIONS_TOKEN_PATH = secret_path(PLATFORM_SCOPE, PLATFORM_APP, "notifications-token")

# --- labels on what this component creates --------------------------------------------------------
MANAGED_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform"}
ENVIRONMENT_LABEL = "platform.secrets/environment"

# Notification triggers and the templates they send.
TRIGGER_SYNC_FAILED = "on-sync-failed"
TRIGGER_HEALTH_DEGRADED = "on-health-degraded"
TEMPLATE_SYNC_FAILED = "app-sync-failed"
TEMPLATE_HEALTH_DEGRADED = "app-health-degraded"
