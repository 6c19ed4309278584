"""The whole stack file: StackConfig, the rules that span its sections, and the entry points.

``parse_stack_config`` is the one way in: it validates raw Pulumi config into a frozen
StackConfig, or raises a ConfigError listing every problem at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pulumi
from pydantic import Field, ValidationError

from components.config.argocd import ArgoCdConfig, _argocd_issues
from components.config.aws import AwsConfig
from components.config.cluster import ClusterConfig
from components.config.environments import EnvironmentConfig, _domain_issues, _environment_issues, _git_trust_issues
from components.config.errors import _FIX_HINTS, ConfigError, ConfigIssue, _issue_from_pydantic
from components.config.external_secrets import ExternalSecretsConfig
from components.config.gitops import GitOpsConfig
from components.config.isolation import (
    alarm_recipient_issues,
    arn_issues,
    config_key_issues,
    default_service_account_issues,
    deployer_admin_issues,
    derived_name_issues,
    production_alone_issues,
    sibling_issues,
)
from components.config.limits import chart_override_issues, refresh_load_issues
from components.config.types import KNOWN_ENVIRONMENTS, PROJECT, _Model, did_you_mean, iam_role_identity
from components.config.vault import VaultConfig, _vault_issues
from components.versions import CHART_PINS

ChartVersion = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]


class StackConfig(_Model):
    """Everything a stack file says, validated."""

    cluster: ClusterConfig
    """The existing EKS cluster."""
    aws: AwsConfig
    """The AWS account and region."""
    gitops: GitOpsConfig
    """The GitOps repository."""
    environments: Annotated[dict[str, EnvironmentConfig], Field(min_length=1)]
    """Environments this stack hosts (`development`, `staging`, `production`)."""
    vault: VaultConfig = VaultConfig()
    """Vault cluster settings."""
    external_secrets: ExternalSecretsConfig = ExternalSecretsConfig()
    """External Secrets Operator, Reloader and Sealed Secrets settings."""
    argocd: ArgoCdConfig
    """Argo CD: availability, SSO, RBAC per environment, notifications, sync windows."""
    charts: dict[str, ChartVersion] = {}
    """Chart version overrides by chart key; pins live in components/versions.py."""
    vault_phase: Literal[1, 2] = 2
    """1: first run on an empty cluster; 2: Vault answers, configure it."""
    protect_stateful: bool = False
    """Protect KMS keys, buckets and the vault namespace from deletion (prod)."""

    @property
    def deployer_role_arns(self) -> list[str]:
        """The IAM roles bound to Vault's deployer login: `vault.deployerRoleArns`, else `aws.adminRoleArns`."""
        return sorted(self.vault.deployer_role_arns or self.aws.admin_role_arns)

    def chart_version(self, chart: str) -> str:
        """The stack's override of a pinned chart version, or the pin."""
        return self.charts.get(chart, CHART_PINS[chart].version)

    def config_secret_keys(self) -> list[str]:
        """Top-level secret config keys that secrets with source ``config`` and databases' admins read."""
        keys = {
            s.config_key
            for env in self.environments.values()
            for app in env.apps
            for s in app.secrets
            if s.source == "config" and s.config_key
        }
        keys |= {
            app.database.admin.config_key
            for env in self.environments.values()
            for app in env.apps
            if app.database is not None and app.database.admin.config_key
        }
        return sorted(keys)


# Top-level keys that are scalars in the stack file (Pulumi passes them as strings).
_SCALAR_KEYS: dict[str, Callable[[str], Any]] = {
    "vaultPhase": int,
    "protectStateful": lambda text: {"true": True, "false": False}[str(text).lower()],
}
_OBJECT_KEYS = tuple(
    (f.alias or name) for name, f in StackConfig.model_fields.items() if (f.alias or name) not in _SCALAR_KEYS
)


@dataclass(frozen=True)
class PlatformConfig:
    """The validated settings plus the secret values they reference, as secret Outputs."""

    stack: str
    settings: StackConfig
    secret_values: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)


def _semantic_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Rules that span fields: the ones a type cannot say."""
    issues: list[ConfigIssue] = []
    for env_name, env in cfg.environments.items():
        issues.extend(_environment_issues(f"environments.{env_name}", env))
    issues.extend(_domain_issues(dict(cfg.environments)))
    issues.extend(_git_trust_issues(dict(cfg.environments), cfg.gitops.revision, list(cfg.gitops.gpg_public_keys)))
    issues.extend(_vault_issues(cfg.vault))
    issues.extend(_database_login_issues(cfg))
    issues.extend(_cluster_issues(cfg))
    issues.extend(_deployer_issues(cfg))
    issues.extend(_preview_issues(cfg))
    issues.extend(_break_glass_issues(cfg))
    issues.extend(_argocd_issues(cfg.argocd, list(cfg.environments)))
    for rule in _ISOLATION_AND_LIMITS:
        issues.extend(rule(cfg))
    issues.extend(chart_override_issues(cfg.charts))
    return issues


# Rules of components/config/isolation.py and limits.py that read the whole validated config.
_ISOLATION_AND_LIMITS: tuple[Callable[[StackConfig], list[ConfigIssue]], ...] = (
    production_alone_issues,
    config_key_issues,
    derived_name_issues,
    default_service_account_issues,
    deployer_admin_issues,
    arn_issues,
    alarm_recipient_issues,
    refresh_load_issues,
)


def _database_login_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Each database connection has its own admin login: Vault rotates the admin's password
    (``rotate-root``), which would lock out every other connection sharing that login."""
    issues: list[ConfigIssue] = []
    seen: dict[tuple[str, int, str], str] = {}
    for env_name, env in cfg.environments.items():
        for i, app in enumerate(env.apps):
            if app.database is None:
                continue
            path = f"environments.{env_name}.apps[{i}].database.admin.username"
            login = (app.database.host, app.database.port, app.database.admin.username)
            if login in seen:
                issues.append(ConfigIssue(
                    path,
                    f"is also the admin of {seen[login]} on the same server, and Vault rotates each connection's admin password",
                    "give every database connection its own admin role, such as `vault_<app>_<environment>`",
                ))
            seen.setdefault(login, path.removesuffix(".admin.username"))
    return issues


def _cluster_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """The OIDC provider and issuer name one cluster, of the stack's account and region."""
    issues: list[ConfigIssue] = []
    cluster = cfg.cluster
    provider_host = cluster.oidc_provider_arn.split(":oidc-provider/", 1)[-1]
    if provider_host != cluster.oidc_issuer_host:
        issues.append(ConfigIssue("cluster.oidcProviderArn", "names a different OIDC issuer than cluster.oidcIssuerUrl",
                                  "use the provider ARN and issuer URL of the same cluster"))
    if cluster.oidc_provider_arn.split(":")[4] != cfg.aws.account_id:
        issues.append(ConfigIssue("cluster.oidcProviderArn", "belongs to another account than aws.accountId",
                                  "use the OIDC provider of the stack's account"))
    if f".{cfg.aws.region}." not in cluster.oidc_issuer_url:
        issues.append(ConfigIssue("cluster.oidcIssuerUrl", "is in another region than aws.region",
                                  "use the issuer of the cluster in the stack's region"))
    return issues


def _deployer_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Deployers belong to the stack's account: Vault binds them to its AWS auth role and resolves
    them with iam:GetRole through its own (same-account) IAM role."""
    key = "vault.deployerRoleArns" if cfg.vault.deployer_role_arns else "aws.adminRoleArns"
    arns = cfg.vault.deployer_role_arns or cfg.aws.admin_role_arns
    return [
        ConfigIssue(
            f"{key}[{i}]",
            "belongs to another account than aws.accountId, and Vault cannot resolve it for the deployer login"
            + ("" if cfg.vault.deployer_role_arns else " (administrators are the deployers while vault.deployerRoleArns is empty)"),
            "list in vault.deployerRoleArns the roles of the stack's account that run `pulumi up`",
        )
        for i, arn in enumerate(arns)
        if arn.split(":")[4] != cfg.aws.account_id
    ]


def _preview_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """A preview identity belongs to the stack's account and is never a deployer or an administrator."""
    issues: list[ConfigIssue] = []
    deployers = {iam_role_identity(arn) for arn in cfg.deployer_role_arns} - {None}
    admins = {iam_role_identity(arn) for arn in cfg.aws.admin_role_arns} - {None}
    own_role = "give previews their own read-only IAM role of the stack's account, such as `arn:aws:iam::<accountId>:role/platform-preview`"
    for i, arn in enumerate(cfg.vault.preview_role_arns):
        path = f"vault.previewRoleArns[{i}]"
        identity = iam_role_identity(arn)
        if arn.split(":")[4] != cfg.aws.account_id:
            issues.append(ConfigIssue(path, "belongs to another account than aws.accountId", own_role))
        elif identity in deployers:
            issues.append(ConfigIssue(
                path,
                "is also a deployer role (vault.deployerRoleArns, or aws.adminRoleArns when that is empty), "
                "and a preview identity must never write to Vault",
                own_role,
            ))
        elif identity in admins:
            issues.append(ConfigIssue(path, "is also in aws.adminRoleArns, which read every AWS secret", own_role))
    return issues


def _break_glass_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """A break-glass role is an administrator, never a deployer, and leaves at least one administrator out.

    Roles compare by partition, account and name (``iam_role_identity``), as for previews; an
    entry naming an administrator under another IAM path is refused too, since the alarm matches
    the session issuer ARN, which carries the role's path.
    """
    issues: list[ConfigIssue] = []
    break_glass = cfg.aws.break_glass_role_arns
    if not break_glass:
        return issues
    admins = {identity: arn for arn in cfg.aws.admin_role_arns if (identity := iam_role_identity(arn))}
    deployers = {iam_role_identity(arn) for arn in cfg.deployer_role_arns} - {None}
    for i, arn in enumerate(break_glass):
        path = f"aws.breakGlassRoleArns[{i}]"
        identity = iam_role_identity(arn)
        if identity not in admins:
            issues.append(ConfigIssue(
                path,
                "is not one of aws.adminRoleArns, so the secrets' resource policies already deny it every read",
                "list only administrators here, or add the role to aws.adminRoleArns first",
            ))
        elif admins[identity] != arn:
            issues.append(ConfigIssue(
                path,
                "names a role of aws.adminRoleArns under another IAM path, and the alarm matches the role's ARN with its path",
                "copy the ARN exactly as aws.adminRoleArns (and `aws iam get-role`) spell it",
            ))
        elif identity in deployers:
            issues.append(ConfigIssue(
                path,
                " ".join([
                    "is also a deployer role (vault.deployerRoleArns, or aws.adminRoleArns when that is empty),",
                    "so every `pulumi up` or refresh that reads a secret would raise the alarm",
                ]),
                " ".join([
                    "set vault.deployerRoleArns to the roles that run `pulumi up`, without the break-glass role,",
                    "or remove it from aws.breakGlassRoleArns",
                ]),
            ))
    if not set(admins) - {iam_role_identity(arn) for arn in break_glass}:
        issues.append(ConfigIssue(
            "aws.breakGlassRoleArns",
            "lists every role of aws.adminRoleArns, so no administrator would read secrets without raising the alarm",
            "keep the role that runs `pulumi up` in aws.adminRoleArns and out of aws.breakGlassRoleArns",
        ))
    return issues


def referenced_config_keys(environments: Any) -> set[str]:
    """The `configKey`s the environments name (app secrets and database admins), read leniently (before or without validation)."""
    if not isinstance(environments, Mapping):
        return set()
    keys: set[str] = set()
    for env in environments.values():
        apps = env.get("apps") if isinstance(env, Mapping) else None
        for app in apps if isinstance(apps, list) else ():
            if not isinstance(app, Mapping):
                continue
            secrets = app.get("secrets")
            database = app.get("database")
            admin = database.get("admin") if isinstance(database, Mapping) else None
            holders = [*(secrets if isinstance(secrets, list) else ()), admin]
            keys.update(h["configKey"] for h in holders if isinstance(h, Mapping) and isinstance(h.get("configKey"), str))
    return keys


def _unknown_name_issues(data: Mapping[str, Any]) -> list[ConfigIssue]:
    """Environment and chart names the platform does not know, read leniently so that they are
    reported even when other settings are invalid."""
    issues: list[ConfigIssue] = []
    for key, known, problem in (("environments", KNOWN_ENVIRONMENTS, "is not an environment this platform knows"),
                                ("charts", tuple(sorted(CHART_PINS)), "is not a chart this platform installs")):
        names = data.get(key)
        for name in names if isinstance(names, Mapping) else ():
            if name not in known:
                issues.append(ConfigIssue(f"{key}.{name}", problem, did_you_mean(str(name), known) + "use one of " + ", ".join(known)))
    return issues


def _unknown_top_level_issues(raw: Mapping[str, str], referenced: set[str]) -> list[ConfigIssue]:
    known = [*_OBJECT_KEYS, *_SCALAR_KEYS, *referenced]
    return [
        ConfigIssue(key, "is not a known setting and no secret of source config uses it",
                    did_you_mean(key, known) + "remove it, or reference it from a secret's `configKey`")
        for key in sorted(set(raw) - set(_OBJECT_KEYS) - set(_SCALAR_KEYS) - referenced)
    ]


def _without_repeats(prior: list[ConfigIssue], found: list[ConfigIssue]) -> list[ConfigIssue]:
    """Issues found while reading the file first; none the model finds again at the same key path."""
    seen = {(issue.namespace, issue.path) for issue in prior}
    return [*prior, *(issue for issue in found if (issue.namespace, issue.path) not in seen)]


def parse_stack_config(
    raw: Mapping[str, str],
    stack: str,
    secret_keys: Iterable[str] = (),
    prior: Iterable[ConfigIssue] = (),
    siblings: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackConfig:
    """Validate raw config (top-level key -> string as Pulumi passes it) into a StackConfig.

    ``secret_keys`` are the top-level keys Pulumi holds as secrets; every key a
    secret of source ``config`` names must be one of them. ``prior`` are problems found
    while reading the stack file (reported first, with these); ``siblings`` the other stack
    files' `platform:` objects by stack name, which must not share this stack's account,
    cluster, Vault or environments.
    """
    issues: list[ConfigIssue] = []
    prior_issues = list(prior)
    data: dict[str, Any] = {}
    secret_set = set(secret_keys)
    for key, text in sorted(raw.items()):
        if key in _SCALAR_KEYS:
            try:
                data[key] = _SCALAR_KEYS[key](text)
            except (ValueError, KeyError):
                issues.append(ConfigIssue(key, "has the wrong type", _FIX_HINTS.get(key, "see docs/configuration.md")))
        elif key in _OBJECT_KEYS:
            if key in secret_set:
                issues.append(ConfigIssue(key, "is stored as a secret, but it is settings, not a secret value",
                                          f"set it in plain text with `pulumi config set --path {key}...`"))
                continue
            try:
                data[key] = json.loads(text) if isinstance(text, str) else text
            except json.JSONDecodeError:
                issues.append(ConfigIssue(key, "must be an object", "write it as a YAML mapping in the stack file"))
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(_issue_from_pydantic(err, (), StackConfig) for err in exc.errors())
        issues.extend(_unknown_top_level_issues(raw, referenced_config_keys(data.get("environments"))))
        issues.extend(_unknown_name_issues(data))
        raise ConfigError(stack, _without_repeats(prior_issues, issues)) from None
    issues.extend(_unknown_name_issues(data))
    issues.extend(_semantic_issues(cfg))
    issues.extend(sibling_issues(cfg, siblings or {}))
    referenced = set(cfg.config_secret_keys())
    issues.extend(_unknown_top_level_issues(raw, referenced))
    for key in sorted(referenced):
        if key not in raw:
            issues.append(ConfigIssue(key, "is not set",
                                      f"run `pulumi config set --secret {key} <value>` (the value never goes in Git)"))
        elif key not in secret_set:
            issues.append(ConfigIssue(key, "is stored in plain text in the stack file",
                                      f"run `pulumi config rm {key}` then `pulumi config set --secret {key} <value>`, "
                                      "and rotate the value, which Git has seen"))
    issues = _without_repeats(prior_issues, issues)
    if issues:
        raise ConfigError(stack, issues)
    return cfg


def load_platform_config() -> PlatformConfig:
    """Read this stack's config from the Pulumi runtime; raise ConfigError on any problem."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    all_keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {
        k.removeprefix(prefix): runtime_config.get_config(k)
        for k in sorted(all_keys)
        if k.startswith(prefix)
    }
    secret_keys = [k.removeprefix(prefix) for k in raw_secret_keys(all_keys) if k.startswith(prefix)]
    stack = pulumi.get_stack()
    settings = parse_stack_config(raw, stack, secret_keys)
    reader = pulumi.Config(PROJECT)
    secrets = {key: reader.require_secret(key) for key in settings.config_secret_keys()}
    return PlatformConfig(stack=stack, settings=settings, secret_values=secrets)


def raw_secret_keys(keys: Iterable[str]) -> list[str]:
    """The full config keys (``project:key``) that Pulumi holds as secrets."""
    from pulumi.runtime import config as runtime_config

    return sorted(k for k in keys if runtime_config.is_config_secret(k))
