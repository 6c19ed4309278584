"""Vault's own configuration (phase 2): KV v2, audit devices, Kubernetes auth, policies, roles, the preview login, values,
and the database engine of the apps' databases (components/vault_databases.py, docs/databases.md).

Registered only when ``vaultPhase`` is 2, through an explicit ``vault`` provider
that logs in with the AWS auth method the bootstrap job enabled (no token in
config or state; ``skip_child_token`` so the login token is used as is instead
of minting a child token, which would need ``auth/token/create``). The login role
follows who runs the program, as the AWS credentials do: a role of
``vault.previewRoleArns`` (the pull-request ``pulumi preview``) logs in as the preview
role, which reads nothing; anyone else as the deployer (Vault refuses any other role).

The preview login is managed here, declaratively, on the AWS auth mount the bootstrap
job enabled: the ``preview`` policy always, and the AWS auth role ``vault.login.previewRole``
bound to ``vault.previewRoleArns`` while that list is not empty. With an empty list no
role is registered, so Pulumi deletes one it created before. The deployer's policy allows
both writes (``sys/policies/acl/preview``, ``auth/<aws mount>/role/<previewRole>``) and no
other path of the AWS auth mount (components.vault.jobs.deployer_policy_rules): the first phase-2
``pulumi up`` as the deployer creates them, and previews of phase 2 can log in from then on.

Audit: two file devices, one on Vault's audit volume and one on stdout. Vault
refuses requests only when every enabled device fails, so a full audit volume
does not stop the platform while stdout still reaches the cluster's log
collection; the volume copy survives a log pipeline outage.

Kubernetes auth reviews tokens in-cluster: ``kubernetes_host`` is the in-cluster
API address and Vault uses its own service account (bound to
``system:auth-delegator`` by the chart), so no reviewer JWT, CA or issuer is passed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from components.config import PlatformConfig, iam_role_identity
from components.secret_values import managed_value
from components.vault_databases import (
    DATABASE_MOUNT,
    PASSWORD_AUTHENTICATION,
    PLUGIN,
    creation_statements,
    database_roles,
    revocation_statements,
)
from components.vault_policies import (
    AUDIENCE,
    AUDIT_DEVICE_PATHS,
    KV_MOUNT,
    PREVIEW_POLICY,
    PREVIEW_TOKEN_MAX_TTL_SECONDS,
    PREVIEW_TOKEN_TTL_SECONDS,
    stack_policies,
    stack_roles,
)

IN_CLUSTER_API = "https://kubernetes.default.svc"
KUBERNETES_AUTH_PATH = "kubernetes"


@dataclass(frozen=True)
class VaultAccess:
    """How the program reaches Vault and logs in, and what VaultCluster named for this component."""

    address: pulumi.Input[str]  # the API endpoint the deployer reaches (https)
    ca_cert_file: str  # the cluster CA (public), saved locally after phase 1
    login_role: str  # AWS auth role the bootstrap created for the deployer
    preview_login_role: str  # AWS auth role this component binds to preview_role_arns
    preview_role_arns: tuple[str, ...]  # IAM roles that log in as preview_login_role (empty: no such role)
    caller_arn: pulumi.Input[str]  # who runs the program (STS caller identity): picks the login role
    server_iam_policy: pulumi.Resource  # Vault's own IAM grants: an AWS auth role needs its iam:GetRole first
    login_mount: str  # the AWS auth mount the bootstrap enabled
    iam_server_id_header: str
    region: str
    sts_endpoint: pulumi.Input[str]  # the regional STS endpoint Vault verifies logins against
    audit_dir: str
    snapshot_service_account: str
    vault_namespace: str
    kv_max_versions: int
    token_ttl_seconds: int
    token_max_ttl_seconds: int


def login_role_for(caller_arn: str, preview_role_arns: Sequence[str], deployer_role: str, preview_role: str) -> str:
    """The AWS auth role to log in with: the preview role for a session of a preview IAM role, else the deployer's.

    Matches on partition, account and role name (an assumed-role ARN has no IAM path).
    Anyone else gets the deployer role, whose login Vault refuses unless they are one.
    """
    previews = {iam_role_identity(arn) for arn in preview_role_arns} - {None}
    return preview_role if iam_role_identity(caller_arn) in previews else deployer_role


class VaultConfig(pulumi.ComponentResource):
    """Everything inside Vault that the stack config describes."""

    policy_names: list[str]
    role_names: list[str]
    preview_role_name: str | None  # the preview's AWS auth role, None without vault.previewRoleArns
    database_roles: list[str]  # the database engine's roles (and connections), `<env>-<app>`

    def __init__(
        self,
        name: str,
        *,
        config: PlatformConfig,
        access: VaultAccess,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:vault:VaultConfig", name, None, opts)
        settings = config.settings
        login_role = pulumi.Output.from_input(access.caller_arn).apply(
            lambda arn: login_role_for(arn, access.preview_role_arns, access.login_role, access.preview_login_role)
        )
        provider = vault.Provider(
            "vault",
            address=access.address,
            ca_cert_file=access.ca_cert_file,
            skip_child_token=True,
            auth_login_aws=vault.ProviderAuthLoginAwsArgs(
                role=login_role,
                mount=access.login_mount,
                aws_region=access.region,
                aws_sts_endpoint=access.sts_endpoint,
                header_value=access.iam_server_id_header,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        # Disabling the mount deletes every secret in it: protected with `protectStateful`.
        mount = vault.Mount(
            "kv", path=KV_MOUNT, type="kv", options={"version": "2"},
            description="Platform secrets: <scope>/<app>/<key>",
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect),
        )
        vault.kv.SecretBackendV2("kv", mount=mount.path, max_versions=access.kv_max_versions, cas_required=False, opts=child)
        volume_device, stdout_device = AUDIT_DEVICE_PATHS
        vault.Audit("audit-file", type="file", path=volume_device,
                    options={"file_path": f"{access.audit_dir}/vault-audit.log", "mode": "0600"},
                    description="Audit log on Vault's audit volume", opts=child)
        vault.Audit("audit-stdout", type="file", path=stdout_device, options={"file_path": "stdout"},
                    description="Audit log on stdout for the cluster's log collection", opts=child)

        auth = vault.AuthBackend("kubernetes", type="kubernetes", path=KUBERNETES_AUTH_PATH,
                                 description="Service accounts of this cluster", opts=child)
        vault.kubernetes.AuthBackendConfig("kubernetes", backend=auth.path, kubernetes_host=IN_CLUSTER_API, opts=child)

        policies = {
            p.name: vault.Policy(p.name, name=p.name, policy=p.hcl(), opts=child)
            for p in stack_policies(settings)
        }
        self.policy_names = list(policies)
        roles = stack_roles(settings, access.snapshot_service_account, access.vault_namespace)
        for role in roles:
            vault.kubernetes.AuthBackendRole(
                role.name,
                backend=auth.path,
                role_name=role.name,
                bound_service_account_names=[role.service_account],
                bound_service_account_namespaces=[role.namespace],
                audience=AUDIENCE,
                token_policies=[role.policy],
                token_ttl=access.token_ttl_seconds,
                token_max_ttl=access.token_max_ttl_seconds,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[policies[role.policy]]),
            )
        self.role_names = [r.name for r in roles]

        # The preview's login (see the module docstring): without preview roles, no resource.
        self.preview_role_name = None
        if access.preview_role_arns:
            vault.aws.AuthBackendRole(
                "preview",
                backend=access.login_mount,
                role=access.preview_login_role,
                auth_type="iam",
                bound_iam_principal_arns=sorted(access.preview_role_arns),
                resolve_aws_unique_ids=True,
                token_policies=[PREVIEW_POLICY],
                token_ttl=PREVIEW_TOKEN_TTL_SECONDS,
                token_max_ttl=PREVIEW_TOKEN_MAX_TTL_SECONDS,
                # resolve_aws_unique_ids: Vault looks the roles up with iam:GetRole, which the same
                # `up` may just be granting it.
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, depends_on=[policies[PREVIEW_POLICY], access.server_iam_policy]
                ),
            )
            self.preview_role_name = access.preview_login_role

        for env, env_cfg in settings.environments.items():
            for app in env_cfg.apps:
                for spec in app.secrets:
                    if spec.backend != "vault":
                        continue
                    resource_name = f"{env}-{app.name}-{spec.key}"
                    value = managed_value(resource_name, spec, config, parent=self)
                    if value is None:  # external: the owner's path; no resource whose refresh would read it
                        continue
                    vault.kv.SecretV2(
                        resource_name,
                        mount=mount.path,
                        name=f"{env}/{app.name}/{spec.key}",
                        data_json=value.apply(lambda v: json.dumps({"value": v})),
                        opts=child,
                    )
        self.database_roles = self._databases(config, child)
        self.register_outputs({"policies": self.policy_names, "roles": self.role_names, "previewRole": self.preview_role_name,
                               "databaseRoles": self.database_roles})

    def _databases(self, config: PlatformConfig, child: pulumi.ResourceOptions) -> list[str]:
        """The database engine (components/vault_databases.py): a mount, and per declared database a
        connection, its root rotation and its one dynamic role. No mount without a database."""
        declared = database_roles(config.settings)
        if not declared:
            return []
        mount = vault.Mount("database", path=DATABASE_MOUNT, type="database",
                            description="Short-lived PostgreSQL users: creds/<env>-<app>", opts=child)
        for db in declared:
            admin = db.database.admin
            # source external: no password here; its owner writes it into the connection (docs/databases.md).
            password = config.secret_values[admin.config_key] if admin.config_key else None
            connection = vault.database.SecretBackendConnection(
                f"db-{db.name}",
                backend=mount.path,
                name=db.name,
                plugin_name=PLUGIN,
                allowed_roles=[db.name],
                verify_connection=admin.source == "config",
                postgresql=vault.database.SecretBackendConnectionPostgresqlArgs(
                    connection_url=db.connection_url,
                    username=admin.username,
                    password=password,
                    password_authentication=PASSWORD_AUTHENTICATION,
                ),
                opts=child,
            )
            if password is not None:
                # Vault replaces the admin's initial password with one only it knows. Replaced (so
                # rotating again) whenever the connection is, or the config's password changes.
                vault.generic.Endpoint(
                    f"db-{db.name}-rotate-root",
                    path=db.rotate_root_path,
                    data_json="{}",
                    disable_read=True,
                    disable_delete=True,
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                        depends_on=[connection], replace_with=[connection], replacement_trigger=password,
                    )),
                )
            vault.database.SecretBackendRole(
                f"db-{db.name}",
                backend=mount.path,
                name=db.name,
                db_name=connection.name,
                creation_statements=creation_statements(db.database),
                revocation_statements=revocation_statements(db.database),
                default_ttl=db.default_ttl_seconds,
                max_ttl=db.max_ttl_seconds,
                opts=child,
            )
        return [db.name for db in declared]
