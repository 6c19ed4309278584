"""Certificate names: every name and address Vault is reached by, and nothing else.

The server certificate lists names explicitly rather than ``*.vault-internal``: a
wildcard would also vouch for names no Vault pod serves, and scaling changes the
list (a new certificate in the same ``pulumi up``) anyway.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from components.vault import names

LOOPBACK_IPS = ("127.0.0.1",)
LOCALHOST = "localhost"
CA_ALLOWED_USES = ("cert_signing", "crl_signing", "digital_signature")
# ECDSA keys sign; they do not encipher keys, so no key_encipherment.
SERVER_ALLOWED_USES = ("digital_signature", "server_auth")
KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"


def endpoint_host(endpoint: str) -> str:
    """The host of an ``https://host[:port]`` URL."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError("the Vault API endpoint must be https://<host>[:port] without a path")
    return parts.hostname


def _service_names(service: str) -> list[str]:
    ns = names.NAMESPACE
    return [service, f"{service}.{ns}", f"{service}.{ns}.svc", f"{service}.{ns}.svc.{names.CLUSTER_DOMAIN}"]


def server_dns_names(replicas: int, api_endpoint: str) -> list[str]:
    """DNS SANs: the services, each pod through the headless service, localhost, the API endpoint's host."""
    dns: list[str] = []
    for service in (names.SERVICE, names.ACTIVE_SERVICE, names.STANDBY_SERVICE, names.INTERNAL_SERVICE, names.UI_SERVICE):
        dns += _service_names(service)
    for ordinal in range(replicas):
        dns += _service_names(names.pod_host(ordinal))
    dns.append(LOCALHOST)
    host = endpoint_host(api_endpoint)
    if host not in dns:
        dns.append(host)
    return dns


def ca_subject(cluster_name: str) -> dict[str, str]:
    return {"common_name": f"{cluster_name} Vault CA", "organization": "secrets-platform"}


def server_subject() -> dict[str, str]:
    return {"common_name": names.service_fqdn(names.SERVICE), "organization": "secrets-platform"}
