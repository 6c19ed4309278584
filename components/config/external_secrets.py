"""External Secrets Operator, Stakater Reloader and Sealed Secrets: sizing and reach."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from components.config.types import Cidr, DnsLabel, _limit_covers_request, _Model

CpuQuantity = Annotated[str, Field(pattern=r"^[1-9][0-9]*m$|^[1-9][0-9]*$")]
MemoryQuantity = Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")]


class WorkloadSizing(_Model):
    """Replicas and resources of one Deployment of the External Secrets stack (an override sets all four keys)."""

    replicas: Annotated[int, Field(ge=1, le=5)]
    """Pods (1 to 5); the ESO controller, webhook and cert controller need at least 2."""
    cpu_request: CpuQuantity
    """CPU request of each pod, such as `50m` (no CPU limit: throttling a controller only slows syncs)."""
    memory_request: MemoryQuantity
    """Memory request of each pod, such as `128Mi`."""
    memory_limit: MemoryQuantity
    """Memory limit of each pod; at least its request."""

    _limits = field_validator("memory_limit")(_limit_covers_request)


class SealedSecretsConfig(_Model):
    """Sealed Secrets: an opt-in second source of truth for encrypted values kept in Git."""

    enabled: bool = False
    """Install the pinned sealed-secrets controller (in `kube-system`); back up its key (docs/external-secrets.md)."""


class ExternalSecretsConfig(_Model):
    """External Secrets Operator, Stakater Reloader and the optional Sealed Secrets controller."""

    controller: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="50m", memory_request="128Mi", memory_limit="512Mi")
    """ESO controller (leader election: extra replicas are standbys). Default: 2 replicas, `50m`, `128Mi`, limit `512Mi`."""
    webhook: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="20m", memory_request="64Mi", memory_limit="256Mi")
    """ESO admission webhook (the API server calls it for every ESO object). Default: 2, `20m`, `64Mi`, limit `256Mi`."""
    cert_controller: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="20m", memory_request="64Mi", memory_limit="256Mi")
    """ESO cert controller (renews the webhook's certificate). Default: 2, `20m`, `64Mi`, limit `256Mi`."""
    reloader: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="10m", memory_request="64Mi", memory_limit="256Mi")
    """Stakater Reloader: rolls opted-in workloads when their Secret changes (2+ replicas: leader election). Default: 2, `10m`, `64Mi`, `256Mi`."""
    aws_endpoint_cidrs: Annotated[list[Cidr], Field(min_length=1)] = ["0.0.0.0/0"]
    """Where the ESO controller reaches AWS (STS, Secrets Manager) on 443; narrow it to the VPC endpoints' subnets if the VPC has them."""
    metrics_namespaces: list[DnsLabel] = []
    """Namespaces whose pods may scrape the ESO and Reloader metrics ports (empty: none)."""
    sealed_secrets: SealedSecretsConfig = SealedSecretsConfig()
    """Sealed Secrets controller, off unless enabled."""

    @field_validator("controller", "webhook", "cert_controller")
    @classmethod
    def _highly_available(cls, value: WorkloadSizing) -> WorkloadSizing:
        if value.replicas < 2:
            raise PydanticCustomError("eso_replicas", "must run at least 2 replicas (its disruption budget keeps 1 available)")
        return value
