"""Vault ACL policies and Kubernetes auth roles, generated from the stack config, and the preview's policy.

One KV v2 mount, ``kv``, holds every value at ``<scope>/<app>/<key>``: a single
mount keeps one ``max_versions`` setting, one path layout shared with AWS
Secrets Manager, and one store path per ESO scope, while isolation comes from
the policies below (a mount per environment would add mounts to manage without
narrowing any policy). App paths always end in ``/`` before the glob, so
``staging/api/*`` can never reach ``staging/api-admin/...``.

Nothing here grants ``sudo``: reading a Raft snapshot (``sys/storage/raft/snapshot``)
is not a root-protected endpoint; only the deployer's bootstrap policy (it enables
audit devices and auth methods, whose ``sys/audit/*`` and ``sys/auth/*`` endpoints
are root-protected) needs it, and the bootstrap job writes that one.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import StackConfig
from components.naming import ESO_NAMESPACE, PLATFORM_SCOPE, eso_service_account
from components.vault_databases import DATABASE_MOUNT, app_database_rules

KV_MOUNT = "kv"
AUDIENCE = "vault"
SNAPSHOT_POLICY = "vault-snapshot"
PREVIEW_POLICY = "preview"
APP_POLICY_PREFIX = "app-"
ESO_POLICY_PREFIX = "eso-"
# VaultConfig's audit devices, by path: a file on Vault's audit volume and stdout.
AUDIT_DEVICE_PATHS = ("file", "stdout")
# Tokens of the preview's AWS auth role: a preview without refresh logs in once and ends within minutes.
PREVIEW_TOKEN_TTL_SECONDS = 15 * 60
PREVIEW_TOKEN_MAX_TTL_SECONDS = 60 * 60


@dataclass(frozen=True)
class PathRule:
    path: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class VaultPolicy:
    name: str
    rules: tuple[PathRule, ...]

    def hcl(self) -> str:
        """The policy as HCL text, in rule order."""
        blocks = []
        for rule in self.rules:
            caps = ", ".join(f'"{c}"' for c in rule.capabilities)
            blocks.append(f'path "{rule.path}" {{\n  capabilities = [{caps}]\n}}\n')
        return f"# {self.name}: generated from the stack config; do not edit in Vault.\n" + "\n".join(blocks)


@dataclass(frozen=True)
class KubernetesRole:
    """A Kubernetes auth role: one service account in one namespace, one policy."""

    name: str
    service_account: str
    namespace: str
    policy: str


def app_policy_name(env: str, app: str) -> str:
    return f"{APP_POLICY_PREFIX}{env}-{app}"


def eso_policy_name(scope: str) -> str:
    return f"{ESO_POLICY_PREFIX}{scope}"


def app_policy(env: str, app: str, database: bool = False) -> VaultPolicy:
    """Read exactly one app's values and list its own metadata; with a database, mint users of its own role only."""
    rules = [
        PathRule(f"{KV_MOUNT}/data/{env}/{app}/*", ("read",)),
        PathRule(f"{KV_MOUNT}/metadata/{env}/{app}/*", ("read", "list")),
    ]
    if database:
        rules += [PathRule(path, caps) for path, caps in app_database_rules(env, app)]
    return VaultPolicy(app_policy_name(env, app), tuple(rules))


def eso_policy(scope: str) -> VaultPolicy:
    """What one scope's ESO store reads: every value of that scope, nothing else, never a write."""
    return VaultPolicy(eso_policy_name(scope), (
        PathRule(f"{KV_MOUNT}/data/{scope}/*", ("read",)),
        PathRule(f"{KV_MOUNT}/metadata/{scope}/*", ("read", "list")),
    ))


def snapshot_policy() -> VaultPolicy:
    """Take Raft snapshots and nothing else (the endpoint is not root-protected: no sudo)."""
    return VaultPolicy(SNAPSHOT_POLICY, (PathRule("sys/storage/raft/snapshot", ("read",)),))


def preview_policy() -> VaultPolicy:
    """The preview's policy: nothing granted, the secrets and Vault's configuration denied.

    ``pulumi preview`` without refresh reads no Vault resource: once logged in, the provider
    looks up its own token (``auth/token/lookup-self``, granted by Vault's ``default``
    policy, which every token of the role also gets) and reads the version at
    ``sys/seal-status``, an unauthenticated endpoint; the diff compares inputs with the
    state. So this policy grants nothing. It denies the KV mount (values, metadata,
    versions) and ``sys/*`` (configuration, policies, audit devices, raw storage, Raft
    snapshots) in depth: Vault decides a request by the highest-priority matching pattern,
    and ``deny`` wins over every capability merged into that pattern, so a grant of
    ``kv/*`` or ``sys/*`` (or a shorter glob) later added to ``default`` or to this role
    cannot open them; ``database/*`` likewise keeps it from minting database users. A more
    specific grant would outrank these globs: the role stays bound to this policy alone.
    ``auth/``, ``identity/`` and ``cubbyhole/`` keep ``default``'s grants, which reach only
    the token itself.
    """
    return VaultPolicy(PREVIEW_POLICY, (
        PathRule(f"{KV_MOUNT}/*", ("deny",)), PathRule(f"{DATABASE_MOUNT}/*", ("deny",)), PathRule("sys/*", ("deny",)),
    ))


def stack_policies(settings: StackConfig) -> list[VaultPolicy]:
    """Every policy the stack's principals need, apps first, then stores, snapshots and previews.

    The preview's policy is written whether or not ``vault.previewRoleArns`` lists roles:
    it grants nothing, and only the preview's AWS auth role (absent without those roles)
    hands it out.
    """
    apps = [app_policy(env, app.name, app.database is not None) for env, cfg in settings.environments.items() for app in cfg.apps]
    stores = [eso_policy(scope) for scope in [*settings.environments, PLATFORM_SCOPE]]
    return [*apps, *stores, snapshot_policy(), preview_policy()]


def stack_roles(settings: StackConfig, snapshot_service_account: str, vault_namespace: str) -> list[KubernetesRole]:
    """One role per (env, app) for the injector, one per ESO store, one for snapshots."""
    roles = [
        KubernetesRole(f"{env}-{app.name}", app.service_account_name, env, app_policy_name(env, app.name))
        for env, cfg in settings.environments.items()
        for app in cfg.apps
    ]
    roles += [
        KubernetesRole(f"eso-{scope}", eso_service_account(scope, "vault"), ESO_NAMESPACE, eso_policy_name(scope))
        for scope in [*settings.environments, PLATFORM_SCOPE]
    ]
    roles.append(KubernetesRole(SNAPSHOT_POLICY, snapshot_service_account, vault_namespace, SNAPSHOT_POLICY))
    return roles


def secret_paths(settings: StackConfig) -> list[str]:
    """Every Vault-backed value's path below the mount, external ones included."""
    return [
        f"{env}/{app.name}/{spec.key}"
        for env, cfg in settings.environments.items()
        for app in cfg.apps
        for spec in app.secrets
        if spec.backend == "vault"
    ]
