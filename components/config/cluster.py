"""The stack's cluster: the existing EKS cluster the program targets."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from components.config.types import NarrowCidr, _Model

# The widest network accepted as the control plane's: EKS places the API server's ENIs in the
# cluster's control-plane subnets, which AWS sizes at /28 (dedicated, six free addresses at least).
# Anything wider than /24 is a node or pod subnet, or the VPC: every pod would pass for the API server.
API_SERVER_WIDEST_PREFIX = {4: 24, 6: 120}


def _control_plane_only(cidr: str) -> str:
    network = ipaddress.ip_network(cidr, strict=False)
    widest = API_SERVER_WIDEST_PREFIX[network.version]
    if network.prefixlen < widest:
        raise PydanticCustomError(
            "api_server_cidr",
            "is wider than /{widest}: that is a node or pod subnet or the VPC, so every pod would reach the webhooks",
            {"widest": widest},
        )
    return cidr


# A valid CIDR, never the Internet (NarrowCidr's message first), and no wider than a control-plane subnet.
ControlPlaneCidr = Annotated[NarrowCidr, AfterValidator(_control_plane_only)]


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
    api_server_cidrs: Annotated[list[ControlPlaneCidr], Field(min_length=1)]
    """The EKS control-plane subnets holding the API server's ENIs (/24 or narrower, never the VPC): only they reach the webhooks."""

    @property
    def oidc_issuer_host(self) -> str:
        """Issuer without scheme: the prefix of IRSA condition keys."""
        return self.oidc_issuer_url.removeprefix("https://")
