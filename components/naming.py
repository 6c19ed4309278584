"""Names that several components must agree on, derived in one place.

AWS Secrets Manager names and Vault KV paths share one layout, `<scope>/<app>/<key>`,
where the scope is an environment or `platform` (Argo CD's own secrets). ESO reads
each scope through its own store, whose identity is a service account in the
`external-secrets` namespace named after the scope and backend.
"""

from __future__ import annotations

from typing import Literal

Backend = Literal["vault", "aws"]

ESO_NAMESPACE = "external-secrets"
VAULT_NAMESPACE = "vault"
ARGOCD_NAMESPACE = "argocd"
PLATFORM_SCOPE = "platform"


def secret_path(scope: str, app: str, key: str) -> str:
    """`<scope>/<app>/<key>`: the AWS secret name and the Vault KV path below the mount."""
    return f"{scope}/{app}/{key}"


def eso_service_account(scope: str, backend: Backend) -> str:
    """The service account a ClusterSecretStore authenticates as, e.g. `eso-staging-aws`."""
    return f"eso-{scope}-{backend}"


def alarm_topic_name(cluster: str) -> str:
    """The secret-access alarm's SNS topic (AwsSecrets), which the Vault bootstrap also publishes an incident to."""
    return f"{cluster}-secret-access-alarm"


def store_name(scope: str, backend: Backend) -> str:
    """The ClusterSecretStore of one scope and backend, e.g. `staging-vault`."""
    return f"{scope}-{backend}"

# Argo CD's own secrets (app `argocd` of the `platform` scope), written by their owners.
PLATFORM_SECRET_KEYS = ("repo-credential", "sso-client-secret", "notifications-token")
PLATFORM_APP = "argocd"
