"""Delivery of an app's database users through ESO, as pure manifest builders (docs/databases.md).

For every app whose database is delivered by ``eso``:

* the program creates a ``VaultDynamicSecret`` generator ``<app>-database`` in the environment's
  namespace: it reads ``database/creds/<env>-<app>`` (a new user per call) logging in with the
  app's own Kubernetes auth role ``<env>-<app>`` and a token of the app's service account
  (audience ``vault``). Tenants cannot create or change it: their Argo CD projects deny every
  ``generators.external-secrets.io`` kind. A generator is namespaced and referenced without a
  namespace, so no ExternalSecret of another environment can reach it; inside the namespace,
  admission (components/admission/) lets only the app's own ExternalSecret name it and only
  the app's pods mount its Secret (access-matrix.md);
* a Role in that namespace lets the ESO controller mint tokens for those service accounts only
  (the chart's ``serviceAccountTokenCreate`` stays off);
* ``make gitops`` writes an ExternalSecret ``<app>-database`` (``dataFrom`` the generator) that
  writes Secret ``<app>-database`` with keys ``username`` and ``password``. ESO fetches a new user
  every ``refreshInterval`` (at most half the lease, checked by the config), the Secret carries
  Reloader's match annotation, so the app's pods roll onto the new user while the old one is
  still valid; Vault drops the old user when its lease ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.config import AppConfig, StackConfig
from components.external_secrets import names
from components.external_secrets.stores import VaultEndpoint
from components.vault_databases import DATABASE_MOUNT

GENERATOR_API_VERSION = "generators.external-secrets.io/v1alpha1"
GENERATOR_KIND = "VaultDynamicSecret"
TOKEN_ROLE = "eso-database-tokens"


def database_secret_name(app: str) -> str:
    """The generator, the ExternalSecret and the Secret of an app's database users: `<app>-database`."""
    return f"{app}-database"


def eso_database_apps(settings: StackConfig) -> dict[str, list[AppConfig]]:
    """environment -> its apps whose database users ESO delivers (environments without any left out)."""
    out: dict[str, list[AppConfig]] = {}
    for env, cfg in settings.environments.items():
        apps = [app for app in cfg.apps if app.database is not None and app.database.delivery == "eso"]
        if apps:
            out[env] = apps
    return out


def _labels(app: str) -> dict[str, str]:
    return {**names.MANAGED_LABELS, "app.kubernetes.io/name": app}


def vault_dynamic_secret(env: str, app: AppConfig, vault: VaultEndpoint) -> dict[str, Any]:
    """The generator of one app's database users, in the environment's namespace."""
    return {
        "apiVersion": GENERATOR_API_VERSION,
        "kind": GENERATOR_KIND,
        "metadata": {"name": database_secret_name(app.name), "namespace": env, "labels": _labels(app.name)},
        "spec": {
            "method": "GET",
            "path": f"{DATABASE_MOUNT}/creds/{env}-{app.name}",
            "resultType": "Data",
            "provider": {
                "server": vault.server,
                # The CA ConfigMap VaultCluster publishes in every environment namespace.
                "caProvider": {"type": "ConfigMap", "name": vault.ca_config_map, "key": vault.ca_key},
                "auth": {
                    "kubernetes": {
                        "mountPath": vault.auth_mount,
                        "role": f"{env}-{app.name}",
                        "serviceAccountRef": {"name": app.service_account_name, "audiences": [vault.audience]},
                    }
                },
            },
        },
    }


def token_role_manifest(env: str, service_accounts: Sequence[str]) -> dict[str, Any]:
    """Lets the ESO controller mint tokens for these apps' service accounts of one namespace, and no other."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": TOKEN_ROLE, "namespace": env, "labels": dict(names.MANAGED_LABELS)},
        "rules": [
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "resourceNames": sorted(service_accounts), "verbs": ["create"]}
        ],
    }


def token_role_binding_manifest(env: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": TOKEN_ROLE, "namespace": env, "labels": dict(names.MANAGED_LABELS)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TOKEN_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": names.CONTROLLER_SERVICE_ACCOUNT, "namespace": names.NAMESPACE}],
    }


def database_external_secret(env: str, app: AppConfig) -> dict[str, Any]:
    """The ExternalSecret `make gitops` writes: a new user from the app's generator every refreshInterval."""
    if app.database is None or app.database.delivery != "eso":
        raise ValueError(f"{env}/{app.name} has no database delivered by ESO")
    name = database_secret_name(app.name)
    app_labels = {"app.kubernetes.io/name": app.name, "app.kubernetes.io/part-of": "secrets-platform"}
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.EXTERNAL_SECRET_KIND,
        "metadata": {
            "name": name,
            "namespace": env,
            "labels": {**app_labels, "app.kubernetes.io/managed-by": "make-gitops"},
            "annotations": {names.SYNC_WAVE_ANNOTATION: names.EXTERNAL_SECRET_WAVE},
        },
        "spec": {
            "refreshInterval": app.database.refresh_interval,
            "refreshPolicy": "Periodic",
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": {
                    "engineVersion": "v2",
                    "mergePolicy": "Replace",
                    "metadata": {"annotations": {names.RELOADER_MATCH_ANNOTATION: "true"}, "labels": app_labels},
                },
            },
            "dataFrom": [{"sourceRef": {"generatorRef": {"apiVersion": GENERATOR_API_VERSION, "kind": GENERATOR_KIND, "name": name}}}],
        },
    }


def stack_database_external_secrets(settings: StackConfig) -> dict[tuple[str, str], dict[str, Any]]:
    """(environment, app) -> its database ExternalSecret, for every app whose database ESO delivers."""
    return {(env, app.name): database_external_secret(env, app) for env, apps in eso_database_apps(settings).items() for app in apps}
