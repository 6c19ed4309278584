"""NetworkPolicies of the ``external-secrets`` namespace: deny by default, then exactly what each pod needs.

* Every pod: DNS (the default-deny policy keeps it), and the API server on 443 (watches,
  leader election, TokenRequest for the store accounts, Secret writes; Reloader patches
  workloads).
* The ESO controller (the only pod that talks to a backend): Vault's servers on 8200 and
  AWS (STS for IRSA, Secrets Manager) on 443.
* The webhook accepts its port (10250) from the API server's addresses only.
* Metrics ports (ESO 8080, Reloader 9090) accept the namespaces listed in
  ``externalSecrets.metricsNamespaces``; none by default, so the metrics Services exist
  but nothing outside can reach them until a scraper is named.

On EKS the API server's endpoints are VPC addresses (``cluster.apiServerCidrs``). AWS APIs
have no fixed addresses unless the VPC has interface endpoints, which is why
``externalSecrets.awsEndpointCidrs`` defaults to ``0.0.0.0/0`` on port 443 only (and for the
controller only): set it to the endpoints' subnets when they exist. Kubelet probes come
from the node and are always allowed by NetworkPolicy semantics. Policies act only where a
NetworkPolicy engine runs (on EKS: the VPC CNI's network policy agent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.external_secrets import names
from components.network_policy import DNS_EGRESS, Peer, Port, Rule, network_policy_manifest
from components.vault import names as vault_names

HTTPS = Port(443)
VAULT_SERVERS = Peer(namespace=vault_names.NAMESPACE, pod_labels=vault_names.SERVER_LABELS)


@dataclass(frozen=True)
class NetworkInputs:
    api_server_cidrs: Sequence[str]
    aws_endpoint_cidrs: Sequence[str]
    metrics_namespaces: Sequence[str]


def _cidrs(cidrs: Sequence[str]) -> tuple[Peer, ...]:
    return tuple(Peer(cidr=c) for c in cidrs)


def _metrics(inputs: NetworkInputs, port: int) -> list[Rule]:
    if not inputs.metrics_namespaces:
        return []
    return [Rule(peers=tuple(Peer(namespace=ns) for ns in inputs.metrics_namespaces), ports=(Port(port),))]


def network_policies(inputs: NetworkInputs) -> list[dict[str, Any]]:
    ns = names.NAMESPACE
    labels: Mapping[str, str] = names.MANAGED_LABELS
    to_api_server = Rule(peers=_cidrs(inputs.api_server_cidrs), ports=(HTTPS,))
    from_api_server = Rule(peers=_cidrs(inputs.api_server_cidrs), ports=(Port(names.WEBHOOK_PORT),))
    return [
        network_policy_manifest("default-deny", ns, ingress=[], egress=[DNS_EGRESS], labels=labels),
        network_policy_manifest(
            "external-secrets-controller", ns, pod_labels=names.CONTROLLER_LABELS, labels=labels,
            ingress=_metrics(inputs, names.METRICS_PORT),
            egress=[
                to_api_server,
                Rule(peers=(VAULT_SERVERS,), ports=(Port(vault_names.API_PORT),)),
                Rule(peers=_cidrs(inputs.aws_endpoint_cidrs), ports=(HTTPS,)),
            ],
        ),
        network_policy_manifest(
            "external-secrets-webhook", ns, pod_labels=names.WEBHOOK_LABELS, labels=labels,
            ingress=[from_api_server, *_metrics(inputs, names.METRICS_PORT)],
            egress=[to_api_server],
        ),
        network_policy_manifest(
            "external-secrets-cert-controller", ns, pod_labels=names.CERT_CONTROLLER_LABELS, labels=labels,
            ingress=_metrics(inputs, names.METRICS_PORT),
            egress=[to_api_server],
        ),
        network_policy_manifest(
            "reloader", ns, pod_labels=names.RELOADER_LABELS, labels=labels,
            ingress=_metrics(inputs, names.RELOADER_METRICS_PORT),
            egress=[to_api_server],
        ),
    ]
