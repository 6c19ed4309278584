"""The whole platform, wired in dependency order.

Namespaces -> AWS secrets and IRSA -> VaultCluster -> VaultConfig (phase 2)
-> ExternalSecrets -> ArgoCD. Each later stage lands with its own issue; this
component only passes typed settings and providers down.
"""

from __future__ import annotations

import pulumi

from components.aws_secrets import AwsSecrets
from components.config import PlatformConfig
from components.namespaces import Namespaces
from components.providers import aws_provider, kubernetes_provider


class Platform(pulumi.ComponentResource):
    """Root component: one per stack."""

    namespaces: list[str]

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:core:Platform", name, None, opts)
        settings = config.settings
        self.aws_provider = aws_provider(settings, parent=self)
        self.k8s_provider = kubernetes_provider(settings, self.aws_provider, parent=self)
        protected = ("vault",) if settings.protect_stateful else ()
        ns = Namespaces(
            "namespaces",
            settings=settings,
            provider=self.k8s_provider,
            protect=protected,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.aws_secrets = AwsSecrets(
            "aws-secrets",
            config=config,
            aws_provider=self.aws_provider,
            protect=settings.protect_stateful,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespaces = sorted(ns.by_name)
        self.register_outputs({"namespaces": self.namespaces})
