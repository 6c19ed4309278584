"""What the chart leaves open in ``argocd``, closed by the component (pure).

The chart's NetworkPolicies (``global.networkPolicy.create``) select each Argo CD component
and, with ``defaultDenyIngress``, deny ingress to every other pod of the namespace. Redis HA
(a subchart) brings no policy through the argo-cd chart's values, so with ``ha`` it would be
unreachable; these two open exactly what it needs: HAProxy from the API server, repo server
and application controller, and the Redis/Sentinel pods from HAProxy and from each other.
Egress stays open, as the chart leaves it: the repo server reaches the Git host, the server
the OIDC issuer and the notifications controller Slack, by names a NetworkPolicy cannot express.

The LimitRange gives every container that the chart leaves without resources (Redis HA's
Redis, Sentinel, HAProxy and their init containers) a memory limit and requests.
"""

from __future__ import annotations

from typing import Any

from components.argocd import names
from components.config import ArgoCdConfig
from components.network_policy import Peer, Port, Rule, network_policy_manifest

LIMIT_RANGE = "argocd-container-defaults"
HAPROXY_POLICY = "argocd-redis-ha-haproxy"
REDIS_HA_POLICY = "argocd-redis-ha-server"
REDIS_CLIENTS = ("server", "repoServer", "controller")


def redis_ha_network_policies(cfg: ArgoCdConfig) -> list[dict[str, Any]]:
    """Ingress to Redis HA (only with ``ha``)."""
    if not cfg.ha:
        return []
    clients = tuple(Peer(pod_labels=names.component_labels(c)) for c in REDIS_CLIENTS)
    haproxy = network_policy_manifest(
        HAPROXY_POLICY, names.NAMESPACE, pod_labels=names.HAPROXY_LABELS,
        ingress=[Rule(peers=clients, ports=(Port(names.REDIS_PORT),))],
        labels=names.MANAGED_LABELS,
    )
    servers = network_policy_manifest(
        REDIS_HA_POLICY, names.NAMESPACE, pod_labels=names.REDIS_HA_LABELS,
        ingress=[Rule(
            peers=(Peer(pod_labels=names.HAPROXY_LABELS), Peer(pod_labels=names.REDIS_HA_LABELS)),
            ports=(Port(names.REDIS_PORT), Port(names.SENTINEL_PORT)),
        )],
        labels=names.MANAGED_LABELS,
    )
    return [haproxy, servers]


def limit_range_manifest(cfg: ArgoCdConfig) -> dict[str, Any]:
    """Defaults for containers without resources in ``argocd`` (explicit resources win)."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": LIMIT_RANGE, "namespace": names.NAMESPACE, "labels": dict(names.MANAGED_LABELS)},
        "spec": {
            "limits": [{
                "type": "Container",
                "default": {"memory": cfg.redis_memory_limit},
                "defaultRequest": {"cpu": "50m", "memory": "64Mi"},
            }]
        },
    }
