"""ClusterSecretStores and their identities, as pure functions.

One store per scope (an environment, or ``platform`` for Argo CD's own secrets) and
backend, named ``<scope>-<backend>``. Each store:

* serves exactly one namespace: ``spec.conditions: [{namespaces: [<env>]}]`` (the
  ``platform`` stores serve ``argocd``), so an ExternalSecret in ``staging`` that names
  ``production-vault`` is refused by ESO;
* authenticates as a service account of its own in ``external-secrets``
  (``eso-<scope>-<backend>``), never one in an application namespace where any pod could
  borrow it: ESO mints that account's token (TokenRequest) for each call;
* Vault: ``https://`` with the CA VaultCluster publishes in ``external-secrets``, KV v2 at
  mount ``kv``, Kubernetes auth with the scope's role ``eso-<scope>`` and the audience
  VaultConfig binds (``vault``);
* AWS Secrets Manager: the stack's region; IRSA through the account's
  ``eks.amazonaws.com/role-arn`` annotation (the scope's reader role from AwsSecrets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.external_secrets import names
from components.naming import ARGOCD_NAMESPACE, PLATFORM_SCOPE, Backend, eso_service_account, store_name
from components.vault_policies import AUDIENCE as VAULT_AUDIENCE
from components.vault_policies import KV_MOUNT

AWS_SERVICE = "SecretsManager"
VAULT_KV_VERSION = "v2"
VAULT_KUBERNETES_AUTH_PATH = "kubernetes"


@dataclass(frozen=True)
class VaultEndpoint:
    """How stores reach Vault: what VaultCluster and VaultConfig expose."""

    server: str  # https://<in-cluster service>:8200
    ca_config_map: str  # ConfigMap holding the CA, published in the external-secrets namespace
    ca_key: str = "ca.crt"
    auth_mount: str = VAULT_KUBERNETES_AUTH_PATH
    kv_mount: str = KV_MOUNT
    audience: str = VAULT_AUDIENCE

    def __post_init__(self) -> None:
        if not self.server.startswith("https://"):
            raise ValueError("the Vault server of a secret store must be an https:// address")


@dataclass(frozen=True)
class StoreSpec:
    """One ClusterSecretStore: its scope, backend, the namespace it serves and its identity."""

    scope: str
    backend: Backend

    @property
    def name(self) -> str:
        return store_name(self.scope, self.backend)

    @property
    def namespace(self) -> str:
        """The only namespace whose ExternalSecrets may use the store."""
        return ARGOCD_NAMESPACE if self.scope == PLATFORM_SCOPE else self.scope

    @property
    def service_account(self) -> str:
        return eso_service_account(self.scope, self.backend)

    @property
    def principal(self) -> str:
        """The identity as the access matrix names it."""
        return f"system:serviceaccount:{names.NAMESPACE}:{self.service_account}"

    @property
    def vault_role(self) -> str:
        """The Vault Kubernetes auth role VaultConfig creates for this scope's store."""
        return f"eso-{self.scope}"


def store_specs(environments: Sequence[str], backends: Sequence[Backend]) -> list[StoreSpec]:
    """Stores per scope (environments in order, then `platform`) and backend (in the given order)."""
    return [StoreSpec(scope, backend) for scope in names.scopes(tuple(environments)) for backend in backends]


def _labels(spec: StoreSpec) -> dict[str, str]:
    return {**names.MANAGED_LABELS, names.SCOPE_LABEL: spec.scope, names.BACKEND_LABEL: spec.backend}


def service_account_manifest(spec: StoreSpec, role_arn: Any = None) -> dict[str, Any]:
    """The store's identity; AWS ones carry the IRSA role. No pod mounts it: ESO requests its tokens."""
    metadata: dict[str, Any] = {"name": spec.service_account, "namespace": names.NAMESPACE, "labels": _labels(spec)}
    if spec.backend == "aws":
        if role_arn is None:
            raise ValueError(f"the AWS store {spec.name} needs its IRSA role ARN")
        metadata["annotations"] = {names.IRSA_ROLE_ANNOTATION: role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata, "automountServiceAccountToken": False}


def vault_provider(spec: StoreSpec, vault: VaultEndpoint) -> dict[str, Any]:
    return {
        "vault": {
            "server": vault.server,
            "path": vault.kv_mount,
            "version": VAULT_KV_VERSION,
            "caProvider": {"type": "ConfigMap", "name": vault.ca_config_map, "key": vault.ca_key, "namespace": names.NAMESPACE},
            "auth": {
                "kubernetes": {
                    "mountPath": vault.auth_mount,
                    "role": spec.vault_role,
                    "serviceAccountRef": {
                        "name": spec.service_account,
                        "namespace": names.NAMESPACE,
                        "audiences": [vault.audience],
                    },
                }
            },
        }
    }


def aws_provider(spec: StoreSpec, region: str) -> dict[str, Any]:
    return {
        "aws": {
            "service": AWS_SERVICE,
            "region": region,
            "auth": {"jwt": {"serviceAccountRef": {"name": spec.service_account, "namespace": names.NAMESPACE}}},
        }
    }


def cluster_secret_store(spec: StoreSpec, *, region: str, vault: VaultEndpoint | None = None) -> dict[str, Any]:
    """The ClusterSecretStore manifest of one scope and backend."""
    if spec.backend == "vault":
        if vault is None:
            raise ValueError(f"the Vault store {spec.name} needs the Vault endpoint")
        provider = vault_provider(spec, vault)
    else:
        provider = aws_provider(spec, region)
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.STORE_KIND,
        "metadata": {"name": spec.name, "labels": _labels(spec)},
        "spec": {"conditions": [{"namespaces": [spec.namespace]}], "provider": provider},
    }


def token_role_manifest(service_accounts: Sequence[str]) -> dict[str, Any]:
    """Lets the ESO controller mint tokens for the store accounts, and for no other account."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": names.STORE_TOKEN_ROLE, "namespace": names.NAMESPACE, "labels": dict(names.MANAGED_LABELS)},
        "rules": [
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "resourceNames": sorted(service_accounts), "verbs": ["create"]}
        ],
    }


def token_role_binding_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": names.STORE_TOKEN_ROLE, "namespace": names.NAMESPACE, "labels": dict(names.MANAGED_LABELS)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.STORE_TOKEN_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": names.CONTROLLER_SERVICE_ACCOUNT, "namespace": names.NAMESPACE}],
    }


def stores_by_scope(specs: Sequence[StoreSpec]) -> dict[str, dict[str, str]]:
    """scope -> backend -> store name (the component's public output)."""
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        out.setdefault(spec.scope, {})[spec.backend] = spec.name
    return out
