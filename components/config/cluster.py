"""The stack's cluster: the existing EKS cluster the program targets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from components.config.types import NarrowCidr, _Model


class ClusterConfig(_Model):
    """The existing EKS cluster the stack targets (the program does not create it)."""

    name: Annotated[str, Field(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")]
    """EKS cluster name; the Kubernetes provider is built from its endpoint and CA."""
    oidc_provider_arn: Annotated[
        str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+$")
    ]
    """ARN of the cluster's IAM OIDC provider, trusted by every IRSA role."""
    oidc_issuer_url: Annotated[
        str, Field(pattern=r"^https://oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+$")
    ]
    """The cluster's OIDC issuer URL (`identity.oidc.issuer`); must match the provider ARN."""
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")]
    """Minor version (`1.33`): Pod Security labels and schema validation use it."""
    api_server_cidrs: Annotated[list[NarrowCidr], Field(min_length=1)]
    """CIDRs of the API server's endpoints (EKS: VPC addresses), for NetworkPolicies; none broader than /8 (IPv6: /32)."""

    @property
    def oidc_issuer_host(self) -> str:
        """Issuer without scheme: the prefix of IRSA condition keys."""
        return self.oidc_issuer_url.removeprefix("https://")
