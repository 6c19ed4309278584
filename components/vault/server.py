"""The Vault server: its HCL config and the chart values, as pure functions of typed input.

Every key set here exists in the pinned chart's ``values.yaml`` (a test walks them).

Decisions, each with its reason:

* **TLS everywhere.** ``global.tlsDisable: false`` makes the chart render
  ``VAULT_ADDR=https://127.0.0.1:8200`` itself (``127.0.0.1`` is a certificate SAN), so
  only ``VAULT_CACERT`` is added: a second ``VAULT_ADDR`` entry would duplicate the
  chart's and shadow it. The listener states ``tls_disable = false`` explicitly and
  reads the pair and CA from the ``vault-tls`` Secret mounted at ``/vault/userconfig``.
* **Raft joins over https.** One ``retry_join`` block per replica, each naming the
  peer's headless-service address, the CA file and the TLS server name.
* **Auto-unseal** with the ``awskms`` seal and the customer-managed key of this
  component; Vault reaches KMS with its IRSA role (web identity credentials).
* **Audit** goes to two file devices that VaultConfig (phase 2) enables: one on
  stdout (the cluster's log collection ships it off the node, rotation is the
  kubelet's) and one on the audit volume (survives a log pipeline outage). Vault
  keeps serving while one device still writes. The audit file is rotated by the
  ``housekeeping`` sidecar: above a quarter of the volume it is renamed, Vault gets
  SIGHUP (it reopens audit files), the old file is compressed and only the newest
  ten are kept, so the volume cannot fill.
* **Certificate renewal reaches the pods** through the same sidecar: the kubelet
  refreshes the mounted Secret, the sidecar sees the certificate change and sends
  Vault SIGHUP, which reloads the listener's certificate (docs/vault-tls.md). Hence
  ``shareProcessNamespace`` (the sidecar runs as the same user as Vault).
* **Placement**: soft anti-affinity by default (the chart's hard default needs as many
  nodes as replicas), zone spread with max skew 1; both ``hard`` on request.
* **Upgrades** stay ``OnDelete`` (the chart's default): Raft members are restarted one
  at a time by hand, standbys first; ``includeConfigAnnotation`` marks pods whose
  config is stale. The disruption budget allows one voluntary eviction at a time.
* **Security contexts** pass the ``restricted`` Pod Security Standard the namespace
  enforces: non-root, RuntimeDefault seccomp, no privilege escalation, no
  capabilities (``disable_mlock``: Raft on Kubernetes needs no IPC_LOCK), read-only
  root filesystem with ``/tmp`` (the chart's start-up script writes its config copy
  there) as an emptyDir.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.vault import images, names

AUDIT_PATH = "/vault/audit"
AUDIT_FILE = f"{AUDIT_PATH}/vault-audit.log"
AUDIT_ROTATED_KEEP = 10
HOUSEKEEPING_INTERVAL_SECONDS = 60
TMP_VOLUME = "tmp"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
ZONE_TOPOLOGY = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class ServerSpec:
    """What the server's config and values depend on (plain values: tests build it directly)."""

    replicas: int
    cluster_name: str
    region: str
    storage_class: str
    data_storage_size: str
    audit_storage_size: str
    anti_affinity: Literal["soft", "hard"]
    zone_spread: Literal["soft", "hard"]
    server_cpu_request: str
    server_memory_request: str
    server_memory_limit: str
    injector_cpu_request: str
    injector_memory_request: str
    injector_memory_limit: str
    injector_namespaces: Sequence[str]


def _hcl_string(value: str) -> str:
    if any(c in value for c in '"\\\n$'):
        raise ValueError(f"refusing to embed {value!r} in HCL")
    return f'"{value}"'


def server_config(spec: ServerSpec, kms_key_id: str) -> str:
    """The Raft HA server config (HCL); the seal names the unseal key by its id."""
    joins = "\n".join(
        "\n".join([
            "  retry_join {",
            f"    leader_api_addr       = {_hcl_string(names.pod_address(i))}",
            f"    leader_ca_cert_file   = {_hcl_string(names.TLS_CA_FILE)}",
            f"    leader_tls_servername = {_hcl_string(names.pod_host(i))}",
            "  }",
        ])
        for i in range(spec.replicas)
    )
    text = f"""ui            = true
disable_mlock = true
cluster_name  = {_hcl_string(spec.cluster_name)}

listener "tcp" {{
  address            = "[::]:{names.API_PORT}"
  cluster_address    = "[::]:{names.CLUSTER_PORT}"
  tls_disable        = false
  tls_cert_file      = {_hcl_string(names.TLS_CERT_FILE)}
  tls_key_file       = {_hcl_string(names.TLS_KEY_FILE)}
  tls_client_ca_file = {_hcl_string(names.TLS_CA_FILE)}
  tls_min_version    = "tls12"
}}

storage "raft" {{
  path = {_hcl_string(names.DATA_PATH)}
{joins}
}}

seal "awskms" {{
  region     = {_hcl_string(spec.region)}
  kms_key_id = {_hcl_string(kms_key_id)}
}}

service_registration "kubernetes" {{}}
"""
    clashes = [p for p in names.CHART_CONFIG_PLACEHOLDERS if p in text]
    if clashes:
        raise ValueError(f"the server config contains {clashes}, which the chart's start-up script would rewrite")
    return text


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": names.VAULT_UID,
        "runAsGroup": names.VAULT_GID,
        "fsGroup": names.VAULT_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def anti_affinity(labels: Mapping[str, str], mode: Literal["soft", "hard"]) -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": dict(labels)}, "topologyKey": HOSTNAME_TOPOLOGY}
    if mode == "hard":
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}}


def zone_spread(labels: Mapping[str, str], mode: Literal["soft", "hard"]) -> list[dict[str, Any]]:
    return [{
        "maxSkew": 1,
        "topologyKey": ZONE_TOPOLOGY,
        "whenUnsatisfiable": "DoNotSchedule" if mode == "hard" else "ScheduleAnyway",
        "labelSelector": {"matchLabels": dict(labels)},
    }]


def audit_rotate_kib(audit_storage_size: str) -> int:
    """Rotate the audit file at a quarter of the volume (sizes are whole Gi)."""
    return int(audit_storage_size.removesuffix("Gi")) * 1024 * 1024 // 4


HOUSEKEEPING_SCRIPT = """set -u
sighup() {
  pid="$(pidof vault 2>/dev/null || true)"
  [ -n "$pid" ] && kill -HUP $pid
}
fingerprint() { sha256sum "$TLS_CERT_FILE" 2>/dev/null | cut -d' ' -f1; }
last="$(fingerprint)"
while sleep "$INTERVAL_SECONDS"; do
  now="$(fingerprint)"
  if [ -n "$now" ] && [ "$now" != "$last" ] && sighup; then
    last="$now"
    echo "tls: the mounted certificate changed; sent SIGHUP so Vault reloads it"
  fi
  if [ -f "$AUDIT_FILE" ] && [ "$(du -k "$AUDIT_FILE" | cut -f1)" -ge "$AUDIT_ROTATE_KIB" ]; then
    rotated="$AUDIT_FILE.$(date -u +%Y%m%dT%H%M%SZ)"
    if mv "$AUDIT_FILE" "$rotated" && sighup; then
      sleep 5
      gzip "$rotated" && echo "audit: rotated to $rotated.gz"
    fi
    ls -1t "$AUDIT_FILE".*.gz 2>/dev/null | tail -n +$((AUDIT_KEEP + 1)) | xargs -r rm -f
  fi
done
"""


def housekeeping_container(audit_storage_size: str) -> dict[str, Any]:
    """Sidecar: SIGHUP on a renewed certificate, and audit file rotation."""
    return {
        "name": "housekeeping",
        "image": images.VAULT.reference,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", HOUSEKEEPING_SCRIPT],
        "env": [
            {"name": "TLS_CERT_FILE", "value": names.TLS_CERT_FILE},
            {"name": "AUDIT_FILE", "value": AUDIT_FILE},
            {"name": "AUDIT_ROTATE_KIB", "value": str(audit_rotate_kib(audit_storage_size))},
            {"name": "AUDIT_KEEP", "value": str(AUDIT_ROTATED_KEEP)},
            {"name": "INTERVAL_SECONDS", "value": str(HOUSEKEEPING_INTERVAL_SECONDS)},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": names.TLS_SECRET, "mountPath": names.TLS_MOUNT, "readOnly": True},
            {"name": "audit", "mountPath": AUDIT_PATH},
        ],
    }


def helm_values(spec: ServerSpec, raft_config: Any) -> dict[str, Any]:
    """Values for the pinned ``hashicorp/vault`` chart; ``raft_config`` is ``server_config``'s text (or an Output of it)."""
    return {
        "global": {"enabled": True, "tlsDisable": False},
        "injector": _injector_values(spec),
        "server": {
            "image": {"repository": images.VAULT.repository, "tag": images.VAULT.chart_tag, "pullPolicy": "IfNotPresent"},
            "updateStrategyType": "OnDelete",
            "logLevel": "info",
            "logFormat": "json",
            "resources": {
                "requests": {"cpu": spec.server_cpu_request, "memory": spec.server_memory_request},
                "limits": {"memory": spec.server_memory_limit},
            },
            "authDelegator": {"enabled": True},  # system:auth-delegator: Kubernetes auth reviews tokens as Vault
            "extraEnvironmentVars": {"VAULT_CACERT": names.TLS_CA_FILE},
            "volumes": [
                {"name": names.TLS_SECRET, "secret": {"secretName": names.TLS_SECRET, "defaultMode": 0o440}},
                {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "64Mi"}},
            ],
            "volumeMounts": [
                {"name": names.TLS_SECRET, "mountPath": names.TLS_MOUNT, "readOnly": True},
                {"name": TMP_VOLUME, "mountPath": "/tmp"},
            ],
            "shareProcessNamespace": True,
            "extraContainers": [housekeeping_container(spec.audit_storage_size)],
            "affinity": anti_affinity(names.SERVER_LABELS, spec.anti_affinity),
            "topologySpreadConstraints": zone_spread(names.SERVER_LABELS, spec.zone_spread),
            "includeConfigAnnotation": True,
            "dataStorage": {
                "enabled": True,
                "size": spec.data_storage_size,
                "storageClass": spec.storage_class,
                "accessMode": "ReadWriteOnce",
            },
            "auditStorage": {
                "enabled": True,
                "size": spec.audit_storage_size,
                "storageClass": spec.storage_class,
                "accessMode": "ReadWriteOnce",
                "mountPath": AUDIT_PATH,
            },
            "ha": {
                "enabled": True,
                "replicas": spec.replicas,
                # Advertise each pod by its headless-service name (a certificate SAN), not its IP (the chart's
                # default, which no certificate names). The chart defines VAULT_K8S_POD_NAME before this variable.
                "apiAddr": f"https://$(VAULT_K8S_POD_NAME).{names.INTERNAL_SERVICE}:{names.API_PORT}",
                "raft": {"enabled": True, "setNodeId": True, "config": raft_config},
                "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
            },
            # The component creates the service account with its IRSA annotation, before the release.
            "serviceAccount": {"create": False, "name": names.SERVER_SERVICE_ACCOUNT, "serviceDiscovery": {"enabled": True}},
            "statefulSet": {"securityContext": {"pod": pod_security_context(), "container": container_security_context()}},
        },
        "ui": {"enabled": True, "serviceType": "ClusterIP"},
    }


def _injector_values(spec: ServerSpec) -> dict[str, Any]:
    return {
        "enabled": True,
        "replicas": 2,
        "leaderElector": {"enabled": True},
        "image": {"repository": images.VAULT_K8S.repository, "tag": images.VAULT_K8S.chart_tag, "pullPolicy": "IfNotPresent"},
        "agentImage": {"repository": images.VAULT.repository, "tag": images.VAULT.chart_tag},
        "logFormat": "json",
        "resources": {
            "requests": {"cpu": spec.injector_cpu_request, "memory": spec.injector_memory_request},
            "limits": {"memory": spec.injector_memory_limit},
        },
        "securityContext": {"pod": pod_security_context(), "container": container_security_context()},
        "affinity": anti_affinity(names.INJECTOR_LABELS, spec.anti_affinity),
        "podDisruptionBudget": {"maxUnavailable": 1},
        "webhook": {
            # Ignore: an injector outage must not block every pod of an environment; a pod that
            # needs injected secrets fails visibly without them.
            "failurePolicy": "Ignore",
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(spec.injector_namespaces)}
                ]
            },
        },
    }
