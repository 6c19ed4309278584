"""Advisory rules: reliability and recoverability, reported but never blocking by default.

The stack comes from the URN (``urn:pulumi:<stack>::...``), so "prod only" rules need no
stack config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.core import UNKNOWN, Config, ResourceView, containers_of, dig, pod_specs, truthy
from policies.rules.tls import is_vault_release

CONTROLLER_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet"})


def _in_stacks(view: ResourceView, stacks: Any) -> bool:
    """Empty/missing list means every stack."""
    wanted = [s for s in stacks or [] if isinstance(s, str)]
    return not wanted or view.stack in wanted


def _controller(view: ResourceView, kinds: frozenset[str]) -> bool:
    gvk = view.k8s
    return bool(gvk and gvk[0] in ("apps", "extensions") and gvk[2] in kinds)


def controller_memory_limits(view: ResourceView, cfg: Config) -> list[str]:
    """Every container of a controller (and the Vault server) sets a memory limit."""
    if not _in_stacks(view, cfg.get("stacks")):
        return []
    messages: list[str] = []
    if _controller(view, CONTROLLER_KINDS):
        for _path, pod_spec in pod_specs(view.props):
            for list_name, index, container in containers_of(pod_spec):
                if list_name != "containers":
                    continue
                if dig(container, "resources", "limits", "memory") is None:
                    cname = container.get("name") or index
                    messages.append(f"container {cname} has no resources.limits.memory.")
    elif is_vault_release(view, {"vaultChartNames": cfg.get("vaultChartNames") or ["vault"]}):
        values = view.props.get("values")
        if isinstance(values, Mapping) and dig(values, "server", "resources", "limits", "memory") is None:
            messages.append("values.server.resources.limits.memory is not set for the Vault server.")
    return messages


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def prod_controller_replicas(view: ResourceView, cfg: Config) -> list[str]:
    """In production stacks, controllers and the Vault server run more than one replica."""
    if view.stack not in set(cfg.get("prodStacks") or []):
        return []
    minimum = _int(cfg.get("minReplicas")) or 2
    if _controller(view, REPLICATED_KINDS):
        replicas = dig(view.props, "spec", "replicas")
        if replicas == UNKNOWN:
            return []
        count = 1 if replicas is None else _int(replicas)
        if count is not None and count < minimum:
            return [f"spec.replicas is {count} (fewer than {minimum}) in stack {view.stack}."]
        return []
    if is_vault_release(view, {"vaultChartNames": cfg.get("vaultChartNames") or ["vault"]}):
        values = view.props.get("values")
        if not isinstance(values, Mapping):
            return []
        if not truthy(dig(values, "server", "ha", "enabled")):
            return [f"Vault runs standalone (values.server.ha.enabled is not true) in stack {view.stack}."]
        vault_min = _int(cfg.get("minVaultReplicas")) or 3
        replicas = dig(values, "server", "ha", "replicas")
        count = 3 if replicas is None else _int(replicas)  # the chart's default is 3
        if count is not None and count < vault_min:
            return [f"values.server.ha.replicas is {count} (fewer than {vault_min}) in stack {view.stack}."]
    return []


def kms_key_rotation(view: ResourceView, cfg: Config) -> list[str]:
    """Symmetric KMS keys rotate automatically."""
    if view.type != "aws:kms/key:Key":
        return []
    spec = view.props.get("customerMasterKeySpec") or view.props.get("keySpec")
    if isinstance(spec, str) and spec not in ("SYMMETRIC_DEFAULT", UNKNOWN):
        return []  # asymmetric and HMAC keys cannot rotate
    rotation = view.props.get("enableKeyRotation")
    if rotation == UNKNOWN or rotation is True:
        return []
    return ["enableKeyRotation is not true."]


STATEFUL_TYPES = frozenset(
    {
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:storage.k8s.io/v1:StorageClass",
    }
)


def prod_deletion_protection(view: ResourceView, cfg: Config) -> list[str]:
    """Production stateful resources are protected (``protect`` or ``retainOnDelete``)."""
    if view.stack not in set(cfg.get("prodStacks") or []):
        return []
    stateful = view.type in STATEFUL_TYPES or view.type in set(cfg.get("extraTypes") or [])
    if view.type == "kubernetes:core/v1:Namespace":
        stateful = view.k8s_name in set(cfg.get("protectedNamespaces") or [])
    if not stateful or view.protect or view.retain_on_delete:
        return []
    return [f"{view.type} has neither protect nor retainOnDelete in stack {view.stack}."]
