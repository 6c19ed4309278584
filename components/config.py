"""Typed stack configuration: the one place that reads Pulumi config.

Components receive these frozen objects and never call ``pulumi.Config``.
Every problem in the stack file is collected and reported at once, before any
resource is registered, as ``platform:<key path>: <what is wrong>. Fix: <what to
do>``. Messages never echo a value, since a misplaced secret could be one.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from components.versions import CHART_PINS

PROJECT = "platform"
KNOWN_ENVIRONMENTS = ("development", "staging", "production")
SYSTEM_NAMESPACES = ("vault", "argocd", "external-secrets")
# Keys whose presence inside a config object means someone pasted a secret value.
_SECRET_VALUE_KEYS = {"value", "password", "secret", "token", "data", "plaintext"}

DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
# App names stay short so that derived names (`<app>-secrets`, `<env>-<app>` Vault
# roles, `<env>/<app>/<key>` AWS names) stay within Kubernetes' 63-character limit.
AppName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)]
SecretKey = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
ConfigKeyName = Annotated[str, Field(pattern=r"^[a-z][A-Za-z0-9]*$", max_length=64)]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h)$")]
ChartVersion = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]


class _Model(BaseModel):
    """Strict, frozen, camelCase in the stack file, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


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
    api_server_cidrs: Annotated[list[str], Field(min_length=1)]
    """CIDRs of the API server's endpoints (EKS: VPC addresses), for NetworkPolicies."""

    @property
    def oidc_issuer_host(self) -> str:
        """Issuer without scheme: the prefix of IRSA condition keys."""
        return self.oidc_issuer_url.removeprefix("https://")


class AwsConfig(_Model):
    """The AWS account and region the stack may act on, and who administers keys."""

    account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    """The only account the AWS provider may act on."""
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")]
    """Region of the cluster and of every AWS resource."""
    admin_role_arns: Annotated[
        list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]],
        Field(min_length=1),
    ]
    """Roles that administer KMS keys and secrets; include the role that runs `pulumi up`."""
    secret_recovery_window_days: Annotated[int, Field(ge=7, le=30)] = 30
    """Days a deleted Secrets Manager secret stays recoverable (7 to 30)."""
    alarm_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    """Addresses subscribed to the alarm on unexpected secret reads."""


class GitOpsConfig(_Model):
    """The Git repository Argo CD reads."""

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)[^\s]+$")]
    """URL of the GitOps repository; the only source Argo CD projects allow."""
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=255)]
    """Branch, tag or commit Argo CD follows."""
    path: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")] = "gitops"
    """Folder of the GitOps tree inside the repository."""


class VaultConfig(_Model):
    """Vault cluster shape."""

    replicas: int = 3
    """Raft voters: odd, 3 to 7."""


class SecretSpec(_Model):
    """One secret an application consumes: where it lives and where its value comes from."""

    key: SecretKey
    """Key of the secret: a Kubernetes Secret key and the last segment of its Vault/AWS path."""
    backend: Literal["vault", "aws"]
    """Where the value lives: Vault KV v2 or AWS Secrets Manager."""
    source: Literal["random", "config", "external"]
    """Where the value comes from: `random`, a secret `config` key, or `external` (its owner writes it)."""
    length: int | None = None
    """Source random: length, 16 to 128."""
    charset: Literal["alphanumeric", "symbols"] | None = None
    """Source random: `alphanumeric`, or `symbols` (alphanumeric plus shell-safe symbols)."""
    rotation: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] | None = None
    """Source random: rotation keeper; change it to generate a new value."""
    config_key: ConfigKeyName | None = None
    """Source config: the top-level secret config key holding the value."""


class AppConfig(_Model):
    """An application of one environment and the secrets it reads."""

    name: AppName
    """App name (at most 40 characters): names its Vault role, AWS path and target Secret."""
    service_account: DnsLabel | None = None
    """The app's Kubernetes service account (default: the app name); unique per environment."""
    secrets: Annotated[list[SecretSpec], Field(min_length=1)]
    """The secrets the app reads."""

    @property
    def service_account_name(self) -> str:
        return self.service_account or self.name


class EnvironmentConfig(_Model):
    """An environment hosted by this stack: one namespace, its apps and sync behaviour."""

    sync_policy: Literal["automated", "manual"]
    """Argo CD sync: `automated` (prune, self-heal) or `manual`."""
    refresh_interval: Duration = "1h"
    """How often ESO re-reads each secret (`15m`, `1h`)."""
    apps: Annotated[list[AppConfig], Field(min_length=1)]
    """The environment's applications."""


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
    charts: dict[str, ChartVersion] = {}
    """Chart version overrides by chart key; pins live in components/versions.py."""
    vault_phase: Literal[1, 2] = 2
    """1: first run on an empty cluster; 2: Vault answers, configure it."""
    protect_stateful: bool = False
    """Protect KMS keys, buckets and the vault namespace from deletion (prod)."""

    def chart_version(self, chart: str) -> str:
        """The stack's override of a pinned chart version, or the pin."""
        return self.charts.get(chart, CHART_PINS[chart].version)

    def config_secret_keys(self) -> list[str]:
        """Top-level secret config keys that secrets with source ``config`` read."""
        keys = {
            s.config_key
            for env in self.environments.values()
            for app in env.apps
            for s in app.secrets
            if s.source == "config" and s.config_key
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

_FIX_HINTS = {
    "backend": "use `vault` or `aws`",
    "source": "use `random`, `config` or `external`",
    "syncPolicy": "use `automated` or `manual`",
    "charset": "use `alphanumeric` or `symbols`",
    "refreshInterval": "use a whole number of s, m or h, such as `1h`",
    "name": "use lowercase letters, digits and '-', starting and ending with a letter or digit",
    "serviceAccount": "use lowercase letters, digits and '-' (a Kubernetes name)",
    "key": "use lowercase letters, digits and '-' (it becomes a Vault path segment and a Secret key)",
    "configKey": "use a camelCase Pulumi config key such as `paymentsStripeApiKey`",
    "accountId": "use the 12-digit AWS account id",
    "region": "use an AWS region such as `eu-west-1`",
    "oidcProviderArn": "copy it from `aws eks describe-cluster` / the IAM OIDC provider list",
    "oidcIssuerUrl": "copy `identity.oidc.issuer` from `aws eks describe-cluster`",
    "kubernetesVersion": "use the cluster's minor version, such as `1.33`",
    "vaultPhase": "use 1 for the first run on an empty cluster, 2 once Vault answers",
    "replicas": "use an odd number of at least 3",
    "protectStateful": "use true (prod: KMS keys, buckets and the vault namespace survive a stray destroy) or false",
    "repoUrl": "use an https:// or ssh Git URL",
    "cluster.name": "use the EKS cluster's name as `aws eks list-clusters` shows it",
    "charts": "pin an exact chart version such as `1.2.3`",
    "environments": "write a mapping of environment name (development, staging, production) to its settings",
    "adminRoleArns": "list IAM role ARNs such as `arn:aws:iam::<account>:role/platform-deployer`",
    "apps": "list at least one app",
    "secretRecoveryWindowDays": "use 7 to 30 days (prod: 30)",
    "alarmEmails": "list e-mail addresses such as `platform-oncall@example.com`",
}


def _hint(loc: tuple[Any, ...], default: str) -> str:
    """Most specific hint: `parent.key`, then `key`, then `parent`."""
    names = [str(p) for p in loc if isinstance(p, str)]
    candidates = []
    if len(names) >= 2:
        candidates.append(f"{names[-2]}.{names[-1]}")
    candidates += names[-1:] + names[-2:-1]
    return next((_FIX_HINTS[c] for c in candidates if c in _FIX_HINTS), default)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the stack file, located by its config key path."""

    path: str
    problem: str
    fix: str

    def render(self) -> str:
        return f"{PROJECT}:{self.path}: {self.problem}. Fix: {self.fix}."


class ConfigError(pulumi.RunError):
    """Invalid stack config. A RunError, so Pulumi prints it without a traceback."""

    def __init__(self, stack: str, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        lines = [f"Invalid configuration for stack '{stack}' ({len(issues)} problem(s)):"]
        lines.extend(f"  - {issue.render()}" for issue in issues)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class PlatformConfig:
    """The validated settings plus the secret values they reference, as secret Outputs."""

    stack: str
    settings: StackConfig
    secret_values: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _issue_from_pydantic(error: Mapping[str, Any], prefix: tuple[Any, ...]) -> ConfigIssue:
    loc = tuple(prefix) + tuple(p for p in error["loc"] if p != "[key]")
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    kind = error["type"]
    if kind == "extra_forbidden":
        if str(last).lower() in _SECRET_VALUE_KEYS:
            return ConfigIssue(
                _path(loc),
                "secret values never go in a config object (it is stored in plain text)",
                "remove it; give the secret `source: config` with a `configKey` and run "
                "`pulumi config set --secret <configKey> <value>`",
            )
        return ConfigIssue(_path(loc), "is not a known setting", "remove it or correct its spelling (see docs/configuration.md)")
    if kind == "missing":
        return ConfigIssue(_path(loc), "is required", "add it (see docs/configuration.md)")
    if "[key]" in error["loc"]:
        return ConfigIssue(
            _path(loc),
            "is not an environment this platform knows",
            "use one of " + ", ".join(KNOWN_ENVIRONMENTS),
        )
    problem = str(error["msg"]).replace("Input should be", "must be").replace("String should", "must")
    problem = problem.replace("Dictionary should", "must").replace("List should", "must")
    return ConfigIssue(_path(loc), problem, _hint(loc, "see docs/configuration.md"))


def _semantic_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Rules that span fields: the ones a type cannot say."""
    issues: list[ConfigIssue] = []
    for env_name, env in cfg.environments.items():
        if env_name not in KNOWN_ENVIRONMENTS:
            issues.append(
                ConfigIssue(f"environments.{env_name}", "is not an environment this platform knows",
                            "use one of " + ", ".join(KNOWN_ENVIRONMENTS))
            )
        seen_apps: dict[str, int] = {}
        seen_accounts: dict[str, int] = {}
        for i, app in enumerate(env.apps):
            app_path = f"environments.{env_name}.apps[{i}]"
            if app.name in seen_apps:
                issues.append(ConfigIssue(f"{app_path}.name", f"duplicates apps[{seen_apps[app.name]}]",
                                          "give every app of an environment its own name"))
            seen_apps.setdefault(app.name, i)
            account = app.service_account_name
            if account in seen_accounts:
                issues.append(ConfigIssue(
                    f"{app_path}.serviceAccount",
                    f"is also the service account of apps[{seen_accounts[account]}], so each app could read the other's secrets",
                    "give every app of an environment its own service account",
                ))
            seen_accounts.setdefault(account, i)
            seen_keys: dict[str, int] = {}
            for j, secret in enumerate(app.secrets):
                spath = f"{app_path}.secrets[{j}]"
                if secret.key in seen_keys:
                    issues.append(ConfigIssue(f"{spath}.key", f"duplicates secrets[{seen_keys[secret.key]}]",
                                              "give every secret of an app its own key"))
                seen_keys.setdefault(secret.key, j)
                issues.extend(_source_issues(spath, secret))
    replicas = cfg.vault.replicas
    if replicas < 3 or replicas % 2 == 0 or replicas > 7:
        issues.append(ConfigIssue(
            "vault.replicas",
            "breaks Raft quorum (an HA cluster needs an odd number of 3 to 7 voters)",
            "use 3 or 5",
        ))
    issues.extend(_cluster_issues(cfg))
    for chart in cfg.charts:
        if chart not in CHART_PINS:
            issues.append(ConfigIssue(f"charts.{chart}", "is not a chart this platform installs",
                                      "use one of " + ", ".join(sorted(CHART_PINS))))
    return issues


def _source_issues(spath: str, secret: SecretSpec) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    random_only = {"length": secret.length, "charset": secret.charset, "rotation": secret.rotation}
    if secret.source == "random":
        if secret.length is None:
            issues.append(ConfigIssue(f"{spath}.length", "is required for source random", "set a length of 16 to 128"))
        elif not 16 <= secret.length <= 128:
            issues.append(ConfigIssue(f"{spath}.length", "must be between 16 and 128", "set a length of 16 to 128"))
        if secret.charset is None:
            issues.append(ConfigIssue(f"{spath}.charset", "is required for source random", _FIX_HINTS["charset"]))
        if secret.rotation is None:
            issues.append(ConfigIssue(f"{spath}.rotation", "is required for source random",
                                      "set a rotation keeper such as `2026-11`; change it to rotate the value"))
    else:
        for name, value in random_only.items():
            if value is not None:
                issues.append(ConfigIssue(f"{spath}.{name}", f"applies only to source random, not {secret.source}",
                                          "remove it"))
    if secret.source == "config" and secret.config_key is None:
        issues.append(ConfigIssue(f"{spath}.configKey", "is required for source config",
                                  "name the top-level secret config key that holds the value"))
    if secret.source != "config" and secret.config_key is not None:
        issues.append(ConfigIssue(f"{spath}.configKey", f"applies only to source config, not {secret.source}",
                                  "remove it"))
    return issues


def _cluster_issues(cfg: StackConfig) -> list[ConfigIssue]:
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
    for i, cidr in enumerate(cluster.api_server_cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            issues.append(ConfigIssue(f"cluster.apiServerCidrs[{i}]", "is not a CIDR block",
                                      "use a network such as `10.0.0.0/16` (host bits zero)"))
    return issues


def parse_stack_config(raw: Mapping[str, str], stack: str, secret_keys: Iterable[str] = ()) -> StackConfig:
    """Validate raw config (top-level key -> string as Pulumi passes it) into a StackConfig.

    ``secret_keys`` are the top-level keys Pulumi holds as secrets; every key a
    secret of source ``config`` names must be one of them.
    """
    issues: list[ConfigIssue] = []
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
        issues.extend(_issue_from_pydantic(err, ()) for err in exc.errors())
        raise ConfigError(stack, issues) from None
    issues.extend(_semantic_issues(cfg))
    referenced = set(cfg.config_secret_keys())
    for key in sorted(set(raw) - set(_OBJECT_KEYS) - set(_SCALAR_KEYS)):
        if key not in referenced:
            issues.append(ConfigIssue(key, "is not a known setting and no secret of source config uses it",
                                      "remove it, or reference it from a secret's `configKey`"))
    for key in sorted(referenced):
        if key not in raw:
            issues.append(ConfigIssue(key, "is not set",
                                      f"run `pulumi config set --secret {key} <value>` (the value never goes in Git)"))
        elif key not in secret_set:
            issues.append(ConfigIssue(key, "is stored in plain text in the stack file",
                                      f"run `pulumi config rm {key}` then `pulumi config set --secret {key} <value>`, "
                                      "and rotate the value, which Git has seen"))
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
