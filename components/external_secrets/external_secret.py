"""ExternalSecret manifests, generated from the stack config (pure; no Pulumi).

Argo CD applies the apps' ExternalSecrets from the GitOps tree (``make gitops`` writes
them; see ``planner/gitops.py``); the program registers only the platform's own ones in
``argocd`` (ArgoCD issue), with the same builder.

Each app of an environment gets one ExternalSecret, ``<app>-secrets``, in the
environment's namespace, writing one Secret (``<app>-secrets`` unless the app sets
``secretName``) that holds one key per declared secret:

* the remote key is ``<env>/<app>/<key>``: the AWS secret name, or the Vault path below
  the ``kv`` mount with the value under property ``value``;
* every entry goes through that environment's store of the secret's backend only:
  ``spec.secretStoreRef`` names the store of the app's first secret's backend, and an
  entry in the other backend names its store in ``sourceRef.storeRef`` (ESO v1 reads
  each entry from its own store), so an app whose secrets live in both backends still
  gets one Secret, and ``creationPolicy: Owner`` stays unambiguous;
* ``creationPolicy: Owner`` (the Secret is garbage-collected with its ExternalSecret and
  nobody else writes it), ``deletionPolicy: Retain`` (a value deleted in the backend
  leaves the last synced value in place instead of breaking running pods);
* ``refreshInterval`` from the environment's config, refresh policy ``Periodic``;
* the Secret carries Reloader's ``match`` annotation: workloads that opt in with
  ``reloader.stakater.com/search: "true"`` roll when a value rotates;
* the Argo CD sync wave ``-1`` puts it before the workloads (wave 0); Argo CD's
  ExternalSecret health check holds the next wave until the Secret has synced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import AppConfig, EnvironmentConfig, StackConfig
from components.external_secrets import names
from components.naming import Backend, secret_path, store_name

VAULT_VALUE_PROPERTY = "value"  # VaultConfig writes each value as {"value": ...}


@dataclass(frozen=True)
class Entry:
    """One key of the target Secret and where its value lives."""

    secret_key: str
    backend: Backend
    remote_key: str  # `<scope>/<app>/<key>`

    def remote_ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"key": self.remote_key}
        if self.backend == "vault":
            ref["property"] = VAULT_VALUE_PROPERTY
        return ref


def external_secret(
    *,
    name: str,
    namespace: str,
    scope: str,
    entries: Sequence[Entry],
    target_name: str,
    refresh_interval: str,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    template_labels: Mapping[str, str] | None = None,
    template_annotations: Mapping[str, str] | None = None,
    template_data: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An ``external-secrets.io/v1`` ExternalSecret reading ``entries`` through ``scope``'s stores only.

    ``template_data`` (Go templates over the fetched keys) and ``template_labels`` serve
    Secrets that others read by convention, such as Argo CD's repository credentials.
    """
    if not entries:
        raise ValueError(f"ExternalSecret {namespace}/{name} has no entries")
    keys = [e.secret_key for e in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"ExternalSecret {namespace}/{name} maps a Secret key twice")
    for entry in entries:
        if not entry.remote_key.startswith(f"{scope}/"):
            raise ValueError(f"ExternalSecret {namespace}/{name} reads {entry.remote_key!r}, outside scope {scope!r}")
    primary = entries[0].backend
    data = []
    for entry in entries:
        item: dict[str, Any] = {"secretKey": entry.secret_key, "remoteRef": entry.remote_ref()}
        if entry.backend != primary:
            item["sourceRef"] = {"storeRef": {"kind": names.STORE_KIND, "name": store_name(scope, entry.backend)}}
        data.append(item)
    template: dict[str, Any] = {"engineVersion": "v2", "mergePolicy": "Replace"}
    metadata_template: dict[str, Any] = {}
    if template_annotations:
        metadata_template["annotations"] = dict(template_annotations)
    if template_labels:
        metadata_template["labels"] = dict(template_labels)
    if metadata_template:
        template["metadata"] = metadata_template
    if template_data:
        template["data"] = dict(template_data)
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.EXTERNAL_SECRET_KIND,
        "metadata": metadata,
        "spec": {
            "refreshInterval": refresh_interval,
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"kind": names.STORE_KIND, "name": store_name(scope, primary)},
            "target": {
                "name": target_name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": template,
            },
            "data": data,
        },
    }


def app_entries(env: str, app: AppConfig) -> list[Entry]:
    """One entry per declared secret, in declaration order."""
    return [Entry(s.key, s.backend, secret_path(env, app.name, s.key)) for s in app.secrets]


def external_secret_name(app: AppConfig) -> str:
    return f"{app.name}-secrets"


def app_external_secret(env: str, env_cfg: EnvironmentConfig, app: AppConfig) -> dict[str, Any]:
    """The ExternalSecret Argo CD applies for one app of one environment."""
    app_labels = {"app.kubernetes.io/name": app.name, "app.kubernetes.io/part-of": "secrets-platform"}
    return external_secret(
        name=external_secret_name(app),
        namespace=env,
        scope=env,
        entries=app_entries(env, app),
        target_name=app.target_secret_name,
        refresh_interval=env_cfg.refresh_interval,
        labels={**app_labels, "app.kubernetes.io/managed-by": "make-gitops"},
        annotations={names.SYNC_WAVE_ANNOTATION: names.EXTERNAL_SECRET_WAVE},
        template_labels=app_labels,
        template_annotations={names.RELOADER_MATCH_ANNOTATION: "true"},
    )


def stack_external_secrets(settings: StackConfig) -> dict[tuple[str, str], dict[str, Any]]:
    """(environment, app) -> its ExternalSecret, for every app of the stack, in config order."""
    return {
        (env, app.name): app_external_secret(env, env_cfg, app)
        for env, env_cfg in settings.environments.items()
        for app in env_cfg.apps
    }
