"""The environments a stack hosts, their apps and the secrets each app reads, with the rules within one environment."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Annotated, Literal

from pydantic import Field

from components.config.databases import DatabaseConfig, database_issues
from components.config.errors import _FIX_HINTS, ConfigIssue
from components.config.types import ConfigKeyName, DnsLabel, DnsName, Duration, _Model

# App names stay short so that derived names (`<app>-secrets`, `<env>-<app>` Vault
# roles, `<env>/<app>/<key>` AWS names) stay within Kubernetes' 63-character limit.
AppName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)]
SecretKey = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


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
    secret_name: DnsLabel | None = None
    """Name of the Kubernetes Secret ESO writes for the app in its namespace (default `<app>-secrets`); unique per environment."""
    secrets: Annotated[list[SecretSpec], Field(min_length=1)]
    """The secrets the app reads."""
    expose: Literal["NodePort", "LoadBalancer"] | None = None
    """Service type the app may use beyond `ClusterIP` (`NodePort` or `LoadBalancer`); admission refuses any other app's."""
    database: DatabaseConfig | None = None
    """A PostgreSQL database the app reaches with short-lived users Vault issues (docs/databases.md)."""
    vault_agent: bool = False
    """The app's pods read from Vault themselves, through the Vault Agent injector: only such apps' pods reach Vault's API."""

    @property
    def service_account_name(self) -> str:
        return self.service_account or self.name

    @property
    def target_secret_name(self) -> str:
        """The Secret the app's generated ExternalSecret writes and its workloads reference."""
        return self.secret_name or f"{self.name}-secrets"


CodeOwner = Annotated[str, Field(pattern=r"^@[A-Za-z0-9](-?[A-Za-z0-9])*(/[A-Za-z0-9._-]+)?$", max_length=140)]
GpgKeyId = Annotated[str, Field(pattern=r"^[0-9A-F]{16}$")]
_LABEL_PREFIX = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
LabelKey = Annotated[str, Field(pattern="^" + _LABEL_PREFIX + r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", max_length=316)]
LabelValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", max_length=63)]


class NodeIsolation(_Model):
    """Nodes reserved for one environment of a shared cluster: labelled and tainted `<labelKey>=<labelValue>:NoSchedule`."""

    label_key: LabelKey
    """Node label and taint key marking the environment's nodes, such as `platform.secrets/environment`."""
    label_value: LabelValue
    """Its value on the environment's nodes, such as `staging`."""


class EnvironmentConfig(_Model):
    """An environment hosted by this stack: one namespace, its apps and sync behaviour."""

    sync_policy: Literal["automated", "manual"]
    """Argo CD sync: `automated` (prune, self-heal) or `manual`."""
    refresh_interval: Duration = "1h"
    """How often ESO re-reads each secret (`15m`, `1h`): 1m to 24h, and the stack's reads stay under 36,000 an hour per backend."""
    apps: Annotated[list[AppConfig], Field(min_length=1)]
    """The environment's applications."""
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=255)] | None = None
    """Branch or tag the environment's Applications follow (default `gitops.revision`); production must name its own."""
    approvers: list[CodeOwner] = []
    """GitHub users or teams (`@org/team`) that own the environment's overlay folders in the generated CODEOWNERS."""
    signature_keys: list[GpgKeyId] = []
    """GnuPG key IDs (16 hex digits) of `gitops.gpgPublicKeys`: the environment's AppProject syncs only commits signed by one of them."""
    node_isolation: NodeIsolation | None = None
    """Run the environment's pods only on its own nodes (admission requires the node selector and toleration)."""
    domain: DnsName | None = None
    """DNS domain of the environment's routes: Ingress and Gateway API route hosts must be it or below it (none: no route admitted)."""


# What must be unique per app within an environment: (config key, the app's value, why, fix).
_UNIQUE_PER_APP: tuple[tuple[str, Callable[[AppConfig], str], str, str], ...] = (
    ("name", lambda app: app.name, "duplicates apps[{i}]", "give every app of an environment its own name"),
    ("serviceAccount", lambda app: app.service_account_name,
     "is also the service account of apps[{i}], so each app could read the other's secrets",
     "give every app of an environment its own service account"),
    ("secretName", lambda app: app.target_secret_name,
     "names the same Secret as apps[{i}], so two ExternalSecrets would fight over it",
     "give every app of an environment its own secretName (default `<app>-secrets`)"),
)


def _environment_issues(env_path: str, env: EnvironmentConfig) -> list[ConfigIssue]:
    """Within one environment: every app has its own name, service account and target Secret."""
    issues: list[ConfigIssue] = []
    seen: dict[str, dict[str, int]] = {key: {} for key, *_ in _UNIQUE_PER_APP}
    for i, app in enumerate(env.apps):
        app_path = f"{env_path}.apps[{i}]"
        for key, value_of, problem, fix in _UNIQUE_PER_APP:
            value = value_of(app)
            if value in seen[key]:
                issues.append(ConfigIssue(f"{app_path}.{key}", problem.format(i=seen[key][value]), fix))
            seen[key].setdefault(value, i)
        issues.extend(_app_issues(app_path, app))
    return issues


def _app_issues(app_path: str, app: AppConfig) -> list[ConfigIssue]:
    """Within one app: every secret has its own key, and the settings its source needs."""
    issues: list[ConfigIssue] = []
    seen_keys: dict[str, int] = {}
    for j, secret in enumerate(app.secrets):
        spath = f"{app_path}.secrets[{j}]"
        if secret.key in seen_keys:
            issues.append(ConfigIssue(f"{spath}.key", f"duplicates secrets[{seen_keys[secret.key]}]",
                                      "give every secret of an app its own key"))
        seen_keys.setdefault(secret.key, j)
        issues.extend(_source_issues(spath, secret))
    if app.database is not None:
        issues.extend(database_issues(f"{app_path}.database", app.database))
        if app.database.delivery == "agent" and not app.vault_agent:
            issues.append(ConfigIssue(f"{app_path}.database.delivery", "is `agent`, but the app's pods may not reach Vault",
                                      "set `vaultAgent: true` on the app (its pods then reach Vault's API), or deliver through `eso`"))
    return issues


def _source_issues(spath: str, secret: SecretSpec) -> list[ConfigIssue]:
    """The settings a secret's source needs, and none that only another source takes."""
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


def _domain_issues(environments: dict[str, EnvironmentConfig]) -> list[ConfigIssue]:
    """Environments of one cluster never share routes: no domain equals, or lies below, another's."""
    issues: list[ConfigIssue] = []
    domains = {env: cfg.domain for env, cfg in environments.items() if cfg.domain}
    for env, domain in domains.items():
        for other, other_domain in domains.items():
            if other != env and (domain == other_domain or domain.endswith("." + other_domain)):
                issues.append(ConfigIssue(
                    f"environments.{env}.domain",
                    f"is {'the domain' if domain == other_domain else 'below the domain'} of {other}, so {other}'s routes could claim its hosts",
                    "give every environment of the stack its own domain, none below another's (e.g. dev.example.com and staging.example.com)",
                ))
    return issues


PRODUCTION = "production"


def _git_trust_issues(environments: dict[str, EnvironmentConfig], default_revision: str, gpg_keys: Collection[str]) -> list[ConfigIssue]:
    """Production follows a revision of its own; an environment verifies only keys Argo CD holds."""
    issues: list[ConfigIssue] = []
    production = environments.get(PRODUCTION)
    if production is not None and (production.revision or default_revision) == default_revision:
        issues.append(ConfigIssue(
            f"environments.{PRODUCTION}.revision",
            "is not set apart from gitops.revision, so every merge to the shared branch reaches production",
            "name production's own protected branch or release tag, such as `production`",
        ))
    for env, cfg in environments.items():
        for i, key in enumerate(cfg.signature_keys):
            if key not in gpg_keys:
                issues.append(ConfigIssue(f"environments.{env}.signatureKeys[{i}]", "is not a key of gitops.gpgPublicKeys",
                                          "add the key's public block to gitops.gpgPublicKeys (`gpg --export --armor <key id>`)"))
    return issues
