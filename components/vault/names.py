"""Names, ports, paths and labels of the Vault installation, in one place.

The chart derives every object name from its release name (``vault``, which
contains the chart name, so the chart's "fullname" is just ``vault``). Services,
pods, Secrets, Vault mounts and roles that other components or the docs refer to
are spelled here once.
"""

from __future__ import annotations

from components.naming import VAULT_NAMESPACE
from components.vault_policies import AUDIENCE, SNAPSHOT_POLICY
from components.vault_policies import KV_MOUNT as KV_MOUNT  # re-exported: one KV mount name
from components.versions import CHART_PINS

NAMESPACE = VAULT_NAMESPACE
RELEASE = CHART_PINS["vault"].release
CLUSTER_DOMAIN = "cluster.local"

# Services the chart creates (templates/server-*.yaml, ui-service.yaml).
SERVICE = RELEASE
ACTIVE_SERVICE = f"{RELEASE}-active"
STANDBY_SERVICE = f"{RELEASE}-standby"
INTERNAL_SERVICE = f"{RELEASE}-internal"  # headless: one DNS name per pod
UI_SERVICE = f"{RELEASE}-ui"

API_PORT = 8200
CLUSTER_PORT = 8201
INJECTOR_PORT = 8080  # the chart's injector.port; its Service maps 443 to it
KUBERNETES_API_PORT = 443
AWS_API_PORT = 443

# The chart's pod labels (server StatefulSet and injector Deployment).
SERVER_LABELS = {"app.kubernetes.io/name": RELEASE, "app.kubernetes.io/instance": RELEASE, "component": "server"}
INJECTOR_LABELS = {
    "app.kubernetes.io/name": f"{RELEASE}-agent-injector",
    "app.kubernetes.io/instance": RELEASE,
    "component": "webhook",
}

# The official image's user and group.
VAULT_UID = 100
VAULT_GID = 1000

SERVER_SERVICE_ACCOUNT = RELEASE
BOOTSTRAP = f"{RELEASE}-bootstrap"
SNAPSHOT = f"{RELEASE}-snapshot"
BOOTSTRAP_LABELS = {"app.kubernetes.io/name": BOOTSTRAP}
SNAPSHOT_LABELS = {"app.kubernetes.io/name": SNAPSHOT}

TLS_SECRET = f"{RELEASE}-tls"
CA_CONFIG_MAP = f"{RELEASE}-ca"
CA_KEY = "ca.crt"
TLS_MOUNT = f"/vault/userconfig/{TLS_SECRET}"
TLS_CERT_FILE = f"{TLS_MOUNT}/tls.crt"
TLS_KEY_FILE = f"{TLS_MOUNT}/tls.key"
TLS_CA_FILE = f"{TLS_MOUNT}/{CA_KEY}"
DATA_PATH = "/vault/data"

# Vault mounts and identities. VaultConfig (phase 2) creates the KV mount, the Kubernetes
# auth mount, the snapshot role and policy under these names, and the preview's AWS auth
# role and policy; the bootstrap job creates the AWS auth mount and the deployer's role
# (both named by `vault.login` in the stack config, which the phase 2 provider logs in
# with) and the deployer's policy.
KUBERNETES_AUTH_PATH = "kubernetes"
DEPLOYER_POLICY = "deployer"
DEPLOYER_TOKEN_TTL = "1h"
DEPLOYER_TOKEN_MAX_TTL = "2h"
SNAPSHOT_ROLE = SNAPSHOT_POLICY  # VaultConfig names the Kubernetes auth role after its policy
SNAPSHOT_TOKEN_AUDIENCE = AUDIENCE  # the audience every Kubernetes auth role requires
SNAPSHOT_PREFIX = "raft-snapshots"

# Strings the chart's start-up script rewrites in the server config (`sed s|HOSTNAME|...|`).
CHART_CONFIG_PLACEHOLDERS = ("HOST_IP", "POD_IP", "HOSTNAME", "API_ADDR", "TRANSIT_ADDR", "RAFT_ADDR", "VAULT_REDUNDANCY_ZONE")


def service_fqdn(service: str) -> str:
    return f"{service}.{NAMESPACE}.svc"


def pod_host(ordinal: int) -> str:
    """A server pod's name through the headless service, e.g. ``vault-0.vault-internal``."""
    return f"{RELEASE}-{ordinal}.{INTERNAL_SERVICE}"


def pod_address(ordinal: int) -> str:
    return f"https://{pod_host(ordinal)}:{API_PORT}"


INTERNAL_ADDRESS = f"https://{service_fqdn(SERVICE)}:{API_PORT}"
ACTIVE_ADDRESS = f"https://{service_fqdn(ACTIVE_SERVICE)}:{API_PORT}"
