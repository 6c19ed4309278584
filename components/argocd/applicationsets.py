"""ApplicationSets, one per environment, reading the GitOps tree (pure).

A List generator over the environment's apps from the stack config, not a Git-directory
generator: an app folder without the Vault, AWS and ESO setup the config drives must not
become an Application. Each element renders one Application ``<env>-<app>`` in the
environment's project, deploying ``<gitops.path>/apps/<app>/overlays/<env>`` from the GitOps
repository's revision for that environment (``environments.<env>.revision``, production's own
protected branch or tag, else ``gitops.revision``) into the environment's namespace.

* Go templates with ``missingkey=error``: a typo in the template fails instead of rendering
  an empty path.
* Sync: ``automated`` environments prune and self-heal; ``manual`` ones (production) sync
  only when someone with the environment's role syncs, inside the project's sync windows.
  Both retry with exponential backoff.
* ``preserveResourcesOnDeletion``: deleting the ApplicationSet (or dropping an app from it)
  removes the Application objects but leaves the running workloads in place. The template
  sets no resources finalizer, so deleting one Application by hand does not cascade either.
"""

from __future__ import annotations

from typing import Any

from components.argocd import names
from components.argocd.projects import project_name
from components.config import StackConfig

GO_TEMPLATE_OPTIONS = ["missingkey=error"]
# Server-side diff: Argo CD compares the API server's dry-run of its apply with the live object, so
# fields the API server defaults (ExternalSecret remoteRef strategies, Service clusterIPs) or other
# field managers own (Reloader's pod-template annotation) never show as drift; with ServerSideApply
# alone such fields leave Applications OutOfSync forever (argoproj/argo-cd#22151).
COMPARE_OPTIONS = {"argocd.argoproj.io/compare-options": "ServerSideDiff=true"}
SYNC_OPTIONS = [
    "CreateNamespace=false",  # the program creates namespaces, with their labels and default-deny policy
    "ServerSideApply=true",  # no last-applied annotation size limit; fields other controllers own stay theirs
    "FailOnSharedResource=true",  # an app cannot take over an object another Application manages
    "PruneLast=true",  # prune after the new objects are healthy
    "PrunePropagationPolicy=foreground",
]
RETRY_LIMIT = 5
BACKOFF: dict[str, Any] = {"duration": "10s", "factor": 2, "maxDuration": "5m"}
REVISION_HISTORY = 10


def source_path(gitops_path: str, environment: str) -> str:
    """The overlay an app of the environment deploys (``{{.app}}`` is the generator's element)."""
    return f"{gitops_path}/apps/{{{{.app}}}}/overlays/{environment}"


def application_name(environment: str) -> str:
    """Application names are unique in the argocd namespace: prefix the environment."""
    return f"{environment}-{{{{.app}}}}"


def sync_policy(policy: str) -> dict[str, Any]:
    """The Applications' sync policy for an environment's ``syncPolicy`` (automated or manual)."""
    result: dict[str, Any] = {}
    if policy == "automated":
        result["automated"] = {"enabled": True, "prune": True, "selfHeal": True, "allowEmpty": False}
    elif policy != "manual":
        raise ValueError(f"unknown sync policy {policy!r}")
    result["syncOptions"] = list(SYNC_OPTIONS)
    result["retry"] = {"limit": RETRY_LIMIT, "backoff": dict(BACKOFF)}
    return result


def application_set(environment: str, settings: StackConfig) -> dict[str, Any]:
    """The ``argoproj.io/v1alpha1`` ApplicationSet of one environment."""
    env_cfg = settings.environments.get(environment)
    if env_cfg is None:
        raise ValueError(f"{environment!r} is not an environment of this stack")
    labels = {**names.MANAGED_LABELS, names.ENVIRONMENT_LABEL: environment}
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.APPLICATION_SET_KIND,
        "metadata": {"name": environment, "namespace": names.NAMESPACE, "labels": labels},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": list(GO_TEMPLATE_OPTIONS),
            "generators": [{"list": {"elements": [{"app": app.name} for app in env_cfg.apps]}}],
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {
                    "name": application_name(environment),
                    "annotations": dict(COMPARE_OPTIONS),
                    "labels": {
                        names.ENVIRONMENT_LABEL: environment,
                        "app.kubernetes.io/name": "{{.app}}",
                        "app.kubernetes.io/part-of": "secrets-platform",
                    },
                },
                "spec": {
                    "project": project_name(environment),
                    "source": {
                        "repoURL": settings.gitops.repo_url,
                        "targetRevision": env_cfg.revision or settings.gitops.revision,
                        "path": source_path(settings.gitops.path, environment),
                    },
                    "destination": {"server": names.IN_CLUSTER, "namespace": environment},
                    "syncPolicy": sync_policy(env_cfg.sync_policy),
                    "revisionHistoryLimit": REVISION_HISTORY,
                },
            },
        },
    }
