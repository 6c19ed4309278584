"""The whole platform, wired in dependency order.

Namespaces -> VaultCluster -> VaultConfig (phase 2) -> AWS secrets and IRSA (whose
alarm watches VaultCluster's recovery secret) -> ExternalSecrets -> ArgoCD. Each later
stage lands with its own issue; this component only passes typed settings and providers down.
"""

from __future__ import annotations

import pulumi

from components.admission import TenantAdmission
from components.argocd import ArgoCD
from components.aws_secrets import AwsSecrets
from components.config import PlatformConfig
from components.external_secrets import ExternalSecrets, VaultEndpoint
from components.namespaces import Namespaces
from components.naming import ARGOCD_NAMESPACE, ESO_NAMESPACE
from components.providers import aws_context, aws_provider, caller_arn, kubernetes_provider
from components.vault import VaultCluster
from components.vault_config import VaultAccess, VaultConfig


class Platform(pulumi.ComponentResource):
    """Root component: one per stack."""

    namespaces: list[str]

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:core:Platform", name, None, opts)
        settings = config.settings
        self.aws_provider = aws_provider(settings, parent=self)
        self.k8s_provider = kubernetes_provider(settings, self.aws_provider, parent=self)
        # Partition, region, account and DNS suffix: resolved once here, passed to the components that build ARNs.
        self.aws_context = aws_context(settings, self.aws_provider, parent=self)
        protected = ("vault",) if settings.protect_stateful else ()
        ns = Namespaces(
            "namespaces",
            settings=settings,
            provider=self.k8s_provider,
            protect=protected,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Both phases: nothing in VaultCluster needs a configured Vault; its snapshot CronJob is
        # suspended while settings.vault_phase == 1 (the job's Vault role arrives with phase 2).
        self.vault = VaultCluster(
            "vault",
            settings=settings,
            aws_provider=self.aws_provider,
            aws_context=self.aws_context,
            k8s_provider=self.k8s_provider,
            namespace=ns.by_name["vault"],
            client_namespaces={name: resource for name, resource in ns.by_name.items() if name != "vault"},
            protect=settings.protect_stateful,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vault_config: VaultConfig | None = None
        if settings.vault_phase == 2:
            v = settings.vault
            self.vault_config = VaultConfig(
                "vault-config",
                config=config,
                access=VaultAccess(
                    address=self.vault.api_endpoint,
                    ca_cert_file=v.login.ca_cert_file,
                    login_role=self.vault.deployer_auth_role,
                    preview_login_role=self.vault.preview_auth_role,
                    preview_role_arns=tuple(self.vault.preview_role_arns),
                    caller_arn=caller_arn(self.aws_provider, parent=self),
                    server_iam_policy=self.vault.server_iam_policy,
                    login_mount=self.vault.aws_auth_mount,
                    iam_server_id_header=self.vault.iam_server_id_header,
                    region=self.vault.sts_region,
                    sts_endpoint=self.vault.sts_endpoint,
                    audit_dir=self.vault.audit_dir,
                    snapshot_service_account=self.vault.snapshot_service_account,
                    vault_namespace=self.vault.vault_namespace,
                    kv_max_versions=v.kv_max_versions,
                    token_ttl_seconds=v.token_ttl_seconds,
                    token_max_ttl_seconds=v.token_max_ttl_seconds,
                ),
                protect=settings.protect_stateful,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.vault.bootstrap_job]),
            )
        self.aws_secrets = AwsSecrets(
            "aws-secrets",
            config=config,
            aws_provider=self.aws_provider,
            aws_context=self.aws_context,
            # The alarm pages on every read of Vault's recovery secret.
            recovery_secret_name=self.vault.recovery_secret_name,
            recovery_secret_arn=self.vault.recovery_secret_arn,
            # The bootstrap job publishes an incident to the alarm topic (a Vault initialised without its material).
            incident_publisher_arn=self.vault.bootstrap_role_arn,
            protect=settings.protect_stateful,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # ESO release, Reloader, one ClusterSecretStore per scope and backend (Vault ones in phase 2
        # only, after Vault is configured); the apps' ExternalSecrets live in gitops/ (`make gitops`).
        self.external_secrets = ExternalSecrets(
            "external-secrets",
            settings=settings,
            k8s_provider=self.k8s_provider,
            namespace=ns.by_name[ESO_NAMESPACE],
            environment_namespaces={env: ns.by_name[env] for env in settings.environments},
            aws_reader_roles=self.aws_secrets.reader_roles,
            vault=VaultEndpoint(
                # The active node only: the `vault` Service also routes to sealed (not ready) pods.
                server=self.vault.active_address,
                ca_config_map=self.vault.ca_config_map,
                ca_key=self.vault.ca_config_map_key,
                auth_mount=self.vault.kubernetes_auth_path,
            ),
            # Vault stores authenticate with VaultConfig's `eso-<scope>` roles (phase 2 only).
            vault_dependencies=[self.vault.release, *([self.vault_config] if self.vault_config else [])],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Admission policies binding every tenant object to its own app, in force before Argo CD syncs anything.
        self.admission = TenantAdmission(
            "tenant-admission",
            settings=settings,
            k8s_provider=self.k8s_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Argo CD: the pinned release, its own secrets through the `platform-aws` store, one AppProject
        # and ApplicationSet per environment reading <gitops.path>/apps/<app>/overlays/<env>.
        self.argocd = ArgoCD(
            "argocd",
            settings=settings,
            k8s_provider=self.k8s_provider,
            namespace=ns.by_name[ARGOCD_NAMESPACE],
            environment_namespaces={env: ns.by_name[env] for env in settings.environments},
            eso_release=self.external_secrets.release,
            stores=self.external_secrets.store_resources,
            # Tenant workloads only once Vault is initialised by the platform (docs/bootstrap.md, "Phase 1 perimeter")
            # and the API server enforces the tenant admission policies.
            workloads_after=[self.vault.bootstrap_job, self.admission],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespaces = sorted(ns.by_name)
        self.register_outputs({"namespaces": self.namespaces})
