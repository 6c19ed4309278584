"""NetworkPolicies, written one way for every namespace the platform owns.

Rules are typed (peers and ports), the manifest is a pure function of them, and
an empty rule list means "deny all" in that direction. Policies only act where
a NetworkPolicy engine runs (on EKS: the VPC CNI's network policy agent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Peer:
    """Pods (by namespace and/or labels) or an IP block."""

    namespace: str | None = None
    pod_labels: Mapping[str, str] | None = None
    cidr: str | None = None

    def manifest(self) -> dict[str, Any]:
        if self.cidr is not None:
            if self.namespace is not None or self.pod_labels is not None:
                raise ValueError("a CIDR peer cannot also select namespaces or pods")
            return {"ipBlock": {"cidr": self.cidr}}
        peer: dict[str, Any] = {}
        if self.namespace is not None:
            peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}}
        if self.pod_labels is not None:
            peer["podSelector"] = {"matchLabels": dict(self.pod_labels)}
        if not peer:
            raise ValueError("a peer must name a namespace, pod labels or a CIDR")
        return peer


@dataclass(frozen=True)
class Port:
    port: int
    protocol: Literal["TCP", "UDP"] = "TCP"


@dataclass(frozen=True)
class Rule:
    """Traffic to/from any of ``peers`` on any of ``ports`` (no ports: all ports)."""

    peers: Sequence[Peer]
    ports: Sequence[Port] = field(default_factory=tuple)

    def manifest(self, direction: Literal["from", "to"]) -> dict[str, Any]:
        rule: dict[str, Any] = {direction: [p.manifest() for p in self.peers]}
        if self.ports:
            rule["ports"] = [{"port": p.port, "protocol": p.protocol} for p in self.ports]
        return rule


DNS_EGRESS = Rule(
    peers=(Peer(namespace="kube-system", pod_labels={"k8s-app": "kube-dns"}),),
    ports=(Port(53, "UDP"), Port(53, "TCP")),
)


def network_policy_manifest(
    name: str,
    namespace: str,
    *,
    pod_labels: Mapping[str, str] | None = None,
    ingress: Sequence[Rule] | None = None,
    egress: Sequence[Rule] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A networking.k8s.io/v1 NetworkPolicy. ``None`` leaves a direction open; ``[]`` denies it."""
    policy_types = []
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(pod_labels)} if pod_labels else {}}
    if ingress is not None:
        policy_types.append("Ingress")
        spec["ingress"] = [r.manifest("from") for r in ingress]
    if egress is not None:
        policy_types.append("Egress")
        spec["egress"] = [r.manifest("to") for r in egress]
    if not policy_types:
        raise ValueError(f"NetworkPolicy {namespace}/{name} restricts neither ingress nor egress")
    spec["policyTypes"] = policy_types
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def create_network_policy(
    resource_name: str,
    manifest: Mapping[str, Any],
    *,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.networking.v1.NetworkPolicy:
    """Register a manifest from ``network_policy_manifest``."""
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
