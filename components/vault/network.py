"""NetworkPolicies of the ``vault`` namespace: deny by default, then exactly the flows Vault needs.

* Vault servers accept 8200, in phase 1, from the bootstrap job, the deployer's CIDRs and
  each other only: until phase 2 has configured Vault, nothing else can reach an
  uninitialised Vault's ``sys/init`` (a tenant's pod that got there first would hold the
  root token and the recovery keys). In phase 2 they also accept the ESO controller's pods
  (the only ESO pods that log in to Vault: the webhook, cert controller and anything else
  in ``external-secrets`` are not admitted), the snapshot job, and in each environment the
  pods of the apps with ``vaultAgent`` (label ``app.kubernetes.io/name: <app>``, where the
  injected Vault Agents run); no other pod of an environment. Admission holds an Application's
  pods to its own app label (components/admission/), so this narrows the reach, while Kubernetes
  auth (each role bound to one service account) decides what a pod may read. 8201 (Raft, request
  forwarding) is open between the servers only. They reach the API server on 443 (token reviews
  for Kubernetes auth, service registration labels), AWS on 443 (KMS unseal, STS for
  IRSA, IAM for AWS auth) and each other.
* The Agent Injector accepts its webhook port from the API server only and reaches the
  API server.
* The jobs accept nothing and reach Vault and AWS.

On EKS the API server's endpoints are VPC addresses (``cluster.apiServerCidrs``). AWS
APIs have no fixed addresses unless the VPC has interface endpoints, which is why
``vault.awsEndpointCidrs`` defaults to ``0.0.0.0/0`` on 443 only: set it to the
endpoints' subnets when they exist. Policies act only where a NetworkPolicy engine runs
(on EKS: the VPC CNI's network policy agent, ``enableNetworkPolicy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import StackConfig
from components.external_secrets import names as eso_names
from components.namespaces import MANAGED_BY
from components.network_policy import DNS_EGRESS, Peer, Port, Rule, network_policy_manifest
from components.vault import names

API = Port(names.API_PORT)
CLUSTER = Port(names.CLUSTER_PORT)
HTTPS = Port(443)

SERVERS = Peer(namespace=names.NAMESPACE, pod_labels=names.SERVER_LABELS)
BOOTSTRAP_PODS = Peer(namespace=names.NAMESPACE, pod_labels=names.BOOTSTRAP_LABELS)
SNAPSHOT_PODS = Peer(namespace=names.NAMESPACE, pod_labels=names.SNAPSHOT_LABELS)
ESO_CONTROLLER = Peer(namespace=eso_names.NAMESPACE, pod_labels=eso_names.CONTROLLER_LABELS)


APP_LABEL = "app.kubernetes.io/name"  # the label the GitOps bases put on an app's pods (docs/gitops.md)


@dataclass(frozen=True)
class NetworkInputs:
    vault_apps: Mapping[str, Sequence[str]]  # environment -> apps whose pods log in to Vault (`vaultAgent`)
    api_server_cidrs: Sequence[str]
    deployer_cidrs: Sequence[str]
    aws_endpoint_cidrs: Sequence[str]
    phase: int = 2  # 1: Vault not configured yet, only the bootstrap reaches it
    # (networks, port) of each database Vault's database engine administers (components/vault_databases.py).
    databases: Sequence[tuple[Sequence[str], int]] = ()


def _cidrs(cidrs: Sequence[str]) -> tuple[Peer, ...]:
    return tuple(Peer(cidr=c) for c in cidrs)


def vault_apps(settings: StackConfig) -> dict[str, list[str]]:
    """Per environment, the apps whose pods read from Vault themselves (`vaultAgent`, the injector): the only tenant
    pods that reach Vault. Every other app's values come through ESO, whose controller is Vault's client."""
    return {env: [app.name for app in cfg.apps if app.vault_agent] for env, cfg in settings.environments.items()}


def vault_client_peers(inputs: NetworkInputs) -> tuple[Peer, ...]:
    """Who may call Vault's API (besides Vault's own pods): the bootstrap and deployers only in phase 1."""
    if inputs.phase == 1:
        return (BOOTSTRAP_PODS, *_cidrs(inputs.deployer_cidrs))
    apps = tuple(Peer(namespace=env, pod_labels={APP_LABEL: app}) for env, env_apps in inputs.vault_apps.items() for app in env_apps)
    return (ESO_CONTROLLER, *apps, BOOTSTRAP_PODS, SNAPSHOT_PODS, *_cidrs(inputs.deployer_cidrs))


def network_policies(inputs: NetworkInputs) -> list[dict[str, Any]]:
    ns = names.NAMESPACE
    to_api_server = Rule(peers=_cidrs(inputs.api_server_cidrs), ports=(HTTPS,))
    to_aws = Rule(peers=_cidrs(inputs.aws_endpoint_cidrs), ports=(HTTPS,))
    to_vault = Rule(peers=(SERVERS,), ports=(API,))
    return [
        network_policy_manifest("default-deny", ns, ingress=[], egress=[DNS_EGRESS], labels=MANAGED_BY),
        network_policy_manifest(
            "vault-server", ns, pod_labels=names.SERVER_LABELS, labels=MANAGED_BY,
            ingress=[
                Rule(peers=vault_client_peers(inputs), ports=(API,)),
                Rule(peers=(SERVERS,), ports=(API, CLUSTER)),
            ],
            egress=[to_api_server, to_aws, Rule(peers=(SERVERS,), ports=(API, CLUSTER)),
                    *(Rule(peers=_cidrs(cidrs), ports=(Port(port),)) for cidrs, port in inputs.databases)],
        ),
        network_policy_manifest(
            "vault-agent-injector", ns, pod_labels=names.INJECTOR_LABELS, labels=MANAGED_BY,
            ingress=[Rule(peers=_cidrs(inputs.api_server_cidrs), ports=(Port(names.INJECTOR_PORT),))],
            egress=[to_api_server],
        ),
        network_policy_manifest(
            "vault-bootstrap", ns, pod_labels=names.BOOTSTRAP_LABELS, labels=MANAGED_BY,
            ingress=[], egress=[to_vault, to_aws],
        ),
        network_policy_manifest(
            "vault-snapshot", ns, pod_labels=names.SNAPSHOT_LABELS, labels=MANAGED_BY,
            ingress=[], egress=[to_vault, to_aws],
        ),
    ]
