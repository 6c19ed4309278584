"""IAM roles for service accounts (IRSA), built one way for every component.

A role trusts exactly one Kubernetes service account of one namespace through
the cluster's OIDC provider, with ``StringEquals`` on both ``sub`` and ``aud``:
a ``StringLike`` or a wildcard would let any service account borrow it.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ClusterConfig

STS_AUDIENCE = "sts.amazonaws.com"
IAM_ROLE_NAME_MAX = 64


def irsa_trust_policy(*, cluster: ClusterConfig, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust document allowing one service account, and nothing else, to assume the role."""
    issuer = cluster.oidc_issuer_host
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeFromOneServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": cluster.oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def irsa_role_name(cluster_name: str, namespace: str, service_account: str) -> str:
    """Readable, unique per cluster, within IAM's 64-character limit."""
    name = f"{cluster_name}-{namespace}-{service_account}"
    if len(name) > IAM_ROLE_NAME_MAX:
        raise ValueError(f"IAM role name {name!r} exceeds {IAM_ROLE_NAME_MAX} characters; shorten the service account name")
    return name


class IrsaRole(pulumi.ComponentResource):
    """A role bound to one service account, with one inline permission document.

    The document may be attached after construction (``attach_policy``): a KMS key
    policy must name roles that already exist, while the role's own policy names
    the key, so the order is role -> key -> role policy.
    """

    arn: pulumi.Output[str]
    role_name: str

    def __init__(
        self,
        name: str,
        *,
        cluster: ClusterConfig,
        namespace: str,
        service_account: str,
        aws_provider: aws.Provider,
        policy_document: pulumi.Input[dict[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:aws:IrsaRole", name, None, opts)
        self._name = name
        self._aws_provider = aws_provider
        self._policy: aws.iam.RolePolicy | None = None
        self.namespace = namespace
        self.service_account = service_account
        self.role_name = irsa_role_name(cluster.name, namespace, service_account)
        self.role = aws.iam.Role(
            name,
            name=self.role_name,
            assume_role_policy=json.dumps(
                irsa_trust_policy(cluster=cluster, namespace=namespace, service_account=service_account),
                sort_keys=True,
            ),
            max_session_duration=3600,
            tags={"kubernetes-namespace": namespace, "kubernetes-service-account": service_account},
            opts=pulumi.ResourceOptions(parent=self, provider=aws_provider),
        )
        self.arn = self.role.arn
        if policy_document is not None:
            self.attach_policy(policy_document)
        self.register_outputs({"arn": self.arn})

    def attach_policy(self, policy_document: pulumi.Input[dict[str, Any]]) -> aws.iam.RolePolicy:
        """The role's single inline policy; a second call is a programming error."""
        if self._policy is not None:
            raise ValueError(f"IRSA role {self._name} already has its policy")
        self._policy = aws.iam.RolePolicy(
            self._name,
            role=self.role.id,
            name=f"{self.role_name}-permissions",
            policy=pulumi.Output.from_input(policy_document).apply(lambda doc: json.dumps(doc, sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self, provider=self._aws_provider),
        )
        return self._policy
