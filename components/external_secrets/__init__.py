"""External Secrets: the ExternalSecrets component and its pure builders (names, values, stores, ExternalSecrets, network)."""

from components.external_secrets.component import ExternalSecrets
from components.external_secrets.stores import VaultEndpoint

__all__ = ["ExternalSecrets", "VaultEndpoint"]
