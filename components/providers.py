"""Explicit providers: the stack acts on its own AWS account and its own cluster only.

The AWS provider refuses any other account (``allowed_account_ids``); the
Kubernetes provider's kubeconfig is built from the configured EKS cluster's own
endpoint and CA with an ``aws eks get-token`` exec credential, so a ``prod`` run
cannot reach the ``dev`` cluster through a stray kubeconfig context. The stack
files also set ``pulumi:disable-default-providers`` so a resource that forgets
its provider fails instead of using ambient credentials.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws_context import AwsContext
from components.config import StackConfig


def eks_kubeconfig(*, cluster_name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    """Kubeconfig for one EKS cluster, authenticating with `aws eks get-token`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def _field(value: Any, name: str) -> Any:
    """Nested invoke results arrive as typed objects or as plain dicts depending on how the
    SDK resolved the output type; accept both rather than guess."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


def aws_provider(settings: StackConfig, parent: pulumi.Resource) -> aws.Provider:
    """AWS provider pinned to the stack's account and region, tagging what it creates."""
    return aws.Provider(
        "aws",
        region=settings.aws.region,
        allowed_account_ids=[settings.aws.account_id],
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={"managed-by": "pulumi", "platform-stack": pulumi.get_stack(), "platform-cluster": settings.cluster.name}
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def caller_arn(aws_prov: aws.Provider, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Who runs the program (an STS session ARN): the Vault login role follows it, as the AWS credentials do."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_prov, parent=parent)).arn


def aws_context(settings: StackConfig, aws_prov: aws.Provider, parent: pulumi.Resource) -> pulumi.Output[AwsContext]:
    """The stack's partition and DNS suffix (from the provider), region and account (from the settings), resolved once."""
    partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=aws_prov, parent=parent))
    return pulumi.Output.all(partition.partition, partition.dns_suffix).apply(
        lambda p: AwsContext(p[0], settings.aws.region, settings.aws.account_id, p[1])
    )


def kubernetes_provider(settings: StackConfig, aws_prov: aws.Provider, parent: pulumi.Resource) -> k8s.Provider:
    """Kubernetes provider bound to the configured EKS cluster."""
    cluster = aws.eks.get_cluster_output(
        name=settings.cluster.name, opts=pulumi.InvokeOutputOptions(provider=aws_prov, parent=parent)
    )
    kubeconfig = pulumi.Output.all(cluster.endpoint, cluster.certificate_authorities).apply(
        lambda args: json.dumps(
            eks_kubeconfig(
                cluster_name=settings.cluster.name,
                endpoint=args[0],
                ca_data=_field(args[1][0], "data"),
                region=settings.aws.region,
            ),
            sort_keys=True,
        )
    )
    return k8s.Provider(
        f"eks-{settings.cluster.name}",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        delete_unreachable=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
