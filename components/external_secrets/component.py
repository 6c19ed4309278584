"""ExternalSecrets: the ESO release, one store per scope and backend, Reloader, optional Sealed Secrets.

Registration order follows what a first ``pulumi up`` on an empty cluster needs: the store
identities and the token Role, the NetworkPolicies, the ESO release (which installs the
CRDs), Reloader (and Sealed Secrets when enabled), then the ClusterSecretStores, each
depending on the release, its service account, the token RoleBinding, and what its
backend needs: the scope's IRSA role (AWS) or the Vault configuration (Vault, phase 2
only: the ``eso-<scope>`` roles exist once VaultConfig has run).

The apps' ExternalSecrets are not registered here: they live in the GitOps tree
(``make gitops``), where Argo CD orders them before the workloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.charts import chart_spec, install_chart
from components.config import StackConfig
from components.external_secrets import database_secrets, names, values
from components.external_secrets import stores as store_builders
from components.external_secrets.network import NetworkInputs, network_policies
from components.irsa import IrsaRole
from components.naming import Backend
from components.network_policy import create_network_policy


def store_backends(settings: StackConfig) -> tuple[Backend, ...]:
    """AWS stores in both phases; Vault stores only once Vault is configured (phase 2)."""
    return names.BACKENDS if settings.vault_phase == 2 else ("aws",)


class ExternalSecrets(pulumi.ComponentResource):
    """External Secrets Operator and everything that turns backend values into Kubernetes Secrets."""

    release: k8s.helm.v3.Release
    reloader_release: k8s.helm.v3.Release
    sealed_secrets_release: k8s.helm.v3.Release | None
    stores: dict[str, dict[str, str]]
    store_resources: dict[str, k8s.apiextensions.CustomResource]
    service_accounts: dict[str, k8s.core.v1.ServiceAccount]
    database_generators: list[str]  # `<env>/<app>-database`: the VaultDynamicSecret generators of database users

    def __init__(
        self,
        name: str,
        *,
        settings: StackConfig,
        k8s_provider: k8s.Provider,
        namespace: k8s.core.v1.Namespace,
        environment_namespaces: Mapping[str, k8s.core.v1.Namespace],
        aws_reader_roles: Mapping[str, IrsaRole],
        vault: store_builders.VaultEndpoint,
        vault_dependencies: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:eso:ExternalSecrets", name, None, opts)
        cfg = settings.external_secrets
        environments = list(settings.environments)
        missing = [env for env in environments if env not in environment_namespaces]
        specs = store_builders.store_specs(environments, store_backends(settings))
        missing += [s.scope for s in specs if s.backend == "aws" and s.scope not in aws_reader_roles]
        if missing:
            raise ValueError(f"ExternalSecrets needs the namespace or AWS reader role of: {', '.join(sorted(set(missing)))}")
        in_namespace = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[namespace])

        # --- Store identities, and the only tokens the controller may mint ----------------------
        self.service_accounts = {}
        for spec in specs:
            role_arn = aws_reader_roles[spec.scope].arn if spec.backend == "aws" else None
            manifest = store_builders.service_account_manifest(spec, role_arn)
            self.service_accounts[spec.name] = k8s.core.v1.ServiceAccount(
                spec.service_account,
                metadata=manifest["metadata"],
                automount_service_account_token=manifest["automountServiceAccountToken"],
                opts=in_namespace,
            )
        role_manifest = store_builders.token_role_manifest([s.service_account for s in specs])
        token_role = k8s.rbac.v1.Role(
            names.STORE_TOKEN_ROLE, metadata=role_manifest["metadata"], rules=role_manifest["rules"], opts=in_namespace
        )
        binding_manifest = store_builders.token_role_binding_manifest()
        token_binding = k8s.rbac.v1.RoleBinding(
            names.STORE_TOKEN_ROLE,
            metadata=binding_manifest["metadata"],
            role_ref=binding_manifest["roleRef"],
            subjects=binding_manifest["subjects"],
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[namespace, token_role]),
        )

        # --- NetworkPolicies before the pods they govern ----------------------------------------
        for manifest in network_policies(NetworkInputs(
            api_server_cidrs=settings.cluster.api_server_cidrs,
            aws_endpoint_cidrs=cfg.aws_endpoint_cidrs,
            metrics_namespaces=cfg.metrics_namespaces,
        )):
            create_network_policy(
                f"eso-netpol-{manifest['metadata']['name']}", manifest, provider=k8s_provider, parent=self, depends_on=[namespace]
            )

        # --- Releases ---------------------------------------------------------------------------
        self.release = install_chart(
            names.RELEASE, chart_spec("external-secrets", settings), values.eso_values(cfg),
            provider=k8s_provider, parent=self, depends_on=[namespace],
        )
        self.reloader_release = install_chart(
            names.RELOADER_RELEASE, chart_spec("reloader", settings), values.reloader_values(cfg, environments),
            provider=k8s_provider, parent=self,
            depends_on=[namespace, *(environment_namespaces[env] for env in environments)],
        )
        self.sealed_secrets_release = None
        if cfg.sealed_secrets.enabled:
            self.sealed_secrets_release = install_chart(
                names.SEALED_SECRETS_RELEASE, chart_spec("sealed-secrets", settings), values.sealed_secrets_values(),
                provider=k8s_provider, parent=self,
            )

        # --- Stores: after the CRDs, their identity and what their backend needs -------------------
        self.store_resources = {}
        for spec in specs:
            needs: list[pulumi.Resource] = [self.release, self.service_accounts[spec.name], token_binding]
            needs += [aws_reader_roles[spec.scope]] if spec.backend == "aws" else list(vault_dependencies)
            manifest = store_builders.cluster_secret_store(spec, region=settings.aws.region, vault=vault)
            self.store_resources[spec.name] = k8s.apiextensions.CustomResource(
                f"store-{spec.name}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=needs),
            )
        self.stores = store_builders.stores_by_scope(specs)
        self.database_generators = self._database_generators(
            settings, k8s_provider, environment_namespaces, vault, [self.release, *vault_dependencies]
        ) if "vault" in store_backends(settings) else []
        self.register_outputs({
            "stores": self.stores,
            "release": self.release.name,
            "reloaderRelease": self.reloader_release.name,
            "sealedSecretsRelease": self.sealed_secrets_release.name if self.sealed_secrets_release else None,
            "databaseGenerators": self.database_generators,
        })

    def _database_generators(
        self,
        settings: StackConfig,
        k8s_provider: k8s.Provider,
        environment_namespaces: Mapping[str, k8s.core.v1.Namespace],
        vault: store_builders.VaultEndpoint,
        needs: Sequence[pulumi.Resource],
    ) -> list[str]:
        """The platform-owned VaultDynamicSecret generators of the apps' database users (database_secrets.py),
        with the Role that lets the controller mint their service accounts' tokens. Phase 2: their Vault roles exist."""
        created: list[str] = []
        for env, apps in database_secrets.eso_database_apps(settings).items():
            in_env = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[environment_namespaces[env]])
            role = database_secrets.token_role_manifest(env, [app.service_account_name for app in apps])
            token_role = k8s.rbac.v1.Role(f"{env}-{database_secrets.TOKEN_ROLE}", metadata=role["metadata"], rules=role["rules"],
                                          opts=in_env)
            binding = database_secrets.token_role_binding_manifest(env)
            token_binding = k8s.rbac.v1.RoleBinding(
                f"{env}-{database_secrets.TOKEN_ROLE}", metadata=binding["metadata"], role_ref=binding["roleRef"],
                subjects=binding["subjects"],
                opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[environment_namespaces[env], token_role]),
            )
            for app in apps:
                manifest = database_secrets.vault_dynamic_secret(env, app, vault)
                k8s.apiextensions.CustomResource(
                    f"generator-{env}-{app.name}-database",
                    api_version=manifest["apiVersion"],
                    kind=manifest["kind"],
                    metadata=manifest["metadata"],
                    spec=manifest["spec"],
                    opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider,
                                                depends_on=[*needs, environment_namespaces[env], token_binding]),
                )
                created.append(f"{env}/{manifest['metadata']['name']}")
        return created
