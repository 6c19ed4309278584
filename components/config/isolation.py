"""Isolation rules across sections and across stack files: what keeps one environment, app or stack
from reaching another's secrets, and the identities that may act on a stack.

Each rule returns the issues it finds (never a value in a message: only key paths and derived names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from components.config.errors import ConfigIssue
from components.config.types import iam_role_identity

if TYPE_CHECKING:
    from components.config.stack import StackConfig

PRODUCTION = "production"


def region_partition(region: str) -> str:
    """The AWS partition a region belongs to (`cn-north-1` -> `aws-cn`, `us-gov-west-1` -> `aws-us-gov`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    segment = region.split("-")[1]
    if segment == "gov":
        return "aws-us-gov"
    if segment.startswith("iso"):
        return "aws-iso" + (f"-{segment[3:]}" if segment[3:] else "")
    return "aws"


def production_alone_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """A stack that hosts production hosts nothing else: its cluster, Vault and ESO are production's alone."""
    others = sorted(env for env in cfg.environments if env != PRODUCTION)
    if PRODUCTION not in cfg.environments or not others:
        return []
    return [ConfigIssue(
        f"environments.{env}",
        "shares a stack (cluster, Vault, ESO controller, AWS account) with production",
        "host production alone in its own stack (such as Pulumi.prod.yaml) and move this environment to another stack",
    ) for env in others]


def config_key_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """A secret config key feeds one environment only: two environments never read one value (an app
    secret's or a database admin's initial password)."""
    issues: list[ConfigIssue] = []
    owner: dict[str, tuple[str, str]] = {}
    for env_name, env in cfg.environments.items():
        for i, app in enumerate(env.apps):
            holders = [(f"secrets[{j}]", s.config_key) for j, s in enumerate(app.secrets) if s.source == "config"]
            if app.database is not None and app.database.admin.source == "config":
                holders.append(("database.admin", app.database.admin.config_key))
            for where, key in holders:
                if key is None:
                    continue
                path = f"environments.{env_name}.apps[{i}].{where}"
                first_env, first_path = owner.setdefault(key, (env_name, path))
                if first_env != env_name:
                    issues.append(ConfigIssue(
                        f"{path}.configKey",
                        f"is also read by {first_path}, so {env_name} would hold {first_env}'s value",
                        f"give {env_name} a secret config key of its own, set it with `pulumi config set --secret <key> <value>`"
                        + ", and name it here",
                    ))
    return issues


def derived_name_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Names built by joining app and key with '-' (`<env>-<app>-<key>`: the Vault and AWS secrets'
    resource names) never collide, as `api-admin` + `session-secret` and `api-admin-session` + `secret` would."""
    issues: list[ConfigIssue] = []
    for env_name, env in cfg.environments.items():
        seen: dict[str, str] = {}
        for i, app in enumerate(env.apps):
            for j, secret in enumerate(app.secrets):
                path = f"environments.{env_name}.apps[{i}].secrets[{j}]"
                derived = f"{env_name}-{app.name}-{secret.key}"
                first = seen.setdefault(derived, path)
                if first != path and not first.startswith(f"environments.{env_name}.apps[{i}]."):
                    issues.append(ConfigIssue(
                        f"{path}.key",
                        f"derives the resource name `{derived}` that {first} derives too (app and key are joined with '-')",
                        "rename the app or the key so that `<app>-<key>` differs from every other secret's",
                    ))
    return issues


def default_service_account_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """No app runs as its namespace's `default` service account: every pod without one would read its secrets."""
    issues: list[ConfigIssue] = []
    for env_name, env in cfg.environments.items():
        for i, app in enumerate(env.apps):
            if app.service_account_name == "default":
                key = "serviceAccount" if app.service_account else "name"
                issues.append(ConfigIssue(
                    f"environments.{env_name}.apps[{i}].{key}",
                    "makes the app's service account `default`, which every pod of the namespace without its own runs as",
                    "give the app its own service account (`serviceAccount: <app>-sa`)",
                ))
    return issues


def deployer_admin_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """A deployer (`vault.deployerRoleArns`) is an administrator: it creates the keys and secrets that
    only administrators may manage."""
    admins = {iam_role_identity(arn) for arn in cfg.aws.admin_role_arns}
    return [
        ConfigIssue(
            f"vault.deployerRoleArns[{i}]",
            "is not one of aws.adminRoleArns, and the role that runs `pulumi up` administers the stack's keys and secrets",
            "add the role to aws.adminRoleArns (exactly as spelt here), or remove it from vault.deployerRoleArns",
        )
        for i, arn in enumerate(cfg.vault.deployer_role_arns)
        if iam_role_identity(arn) not in admins
    ]


def _stack_arns(cfg: StackConfig) -> Iterable[tuple[str, str]]:
    yield "cluster.oidcProviderArn", cfg.cluster.oidc_provider_arn
    for key, arns in (("aws.adminRoleArns", cfg.aws.admin_role_arns), ("aws.breakGlassRoleArns", cfg.aws.break_glass_role_arns),
                      ("vault.deployerRoleArns", cfg.vault.deployer_role_arns), ("vault.previewRoleArns", cfg.vault.preview_role_arns)):
        for i, arn in enumerate(arns):
            yield f"{key}[{i}]", arn


def arn_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Every ARN is in the stack's partition; administrators and break-glass roles in its account too
    (the other ARNs' accounts are checked by the rules that use them)."""
    issues: list[ConfigIssue] = []
    partition = region_partition(cfg.aws.region)
    for path, arn in _stack_arns(cfg):
        if arn.split(":")[1] != partition:
            issues.append(ConfigIssue(path, f"is not in the partition of aws.region (`{partition}`)",
                                      f"use an ARN of the stack's partition, `arn:{partition}:...`"))
        elif path.startswith(("aws.adminRoleArns", "aws.breakGlassRoleArns")) and arn.split(":")[4] != cfg.aws.account_id:
            if path.startswith("aws.adminRoleArns") and not cfg.vault.deployer_role_arns:
                continue  # reported as a deployer of another account
            issues.append(ConfigIssue(path, "belongs to another account than aws.accountId",
                                      "list roles of the stack's account only (a role of another account cannot hold its keys' grants)"))
    return issues


def alarm_recipient_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Production's secret-access alarm reaches someone."""
    if PRODUCTION in cfg.environments and not cfg.aws.alarm_emails:
        return [ConfigIssue("aws.alarmEmails", "is empty in a stack that hosts production, so its secret-access alarm reaches nobody",
                            "list the on-call addresses, such as `platform-oncall@example.com`")]
    return []


# Vault's in-cluster service name is the same string in every cluster: it names no shared endpoint.
_CLUSTER_LOCAL = (".svc", ".svc.cluster.local")


def _get(objects: Mapping[str, Any], *keys: str) -> Any:
    value: Any = objects
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _vault_host(endpoint: Any) -> str | None:
    """`host:port` of an endpoint outside any one cluster; None for an in-cluster name or what is no URL
    (a sibling's value is unvalidated)."""
    try:
        parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
        host, port = (parts.hostname, parts.port) if parts is not None else (None, None)
    except ValueError:
        return None
    return None if host is None or host.endswith(_CLUSTER_LOCAL) else f"{host}:{port or 443}"


def sibling_issues(cfg: StackConfig, siblings: Mapping[str, Mapping[str, Any]]) -> list[ConfigIssue]:
    """Two stack files never share an account, a cluster, an OIDC provider, a Vault endpoint or an environment.

    ``siblings`` maps another stack's name to its `platform:` config objects (key without namespace).
    """
    issues: list[ConfigIssue] = []
    mine = {
        "aws.accountId": cfg.aws.account_id,
        "cluster.oidcProviderArn": cfg.cluster.oidc_provider_arn,
        "cluster.oidcIssuerUrl": cfg.cluster.oidc_issuer_url,
        "cluster.name": (cfg.aws.account_id, cfg.aws.region, cfg.cluster.name),
        "vault.apiEndpoint": _vault_host(cfg.vault.api_endpoint),
    }
    what = {"aws.accountId": "AWS account", "cluster.oidcProviderArn": "OIDC provider", "cluster.oidcIssuerUrl": "OIDC issuer",
            "cluster.name": "cluster", "vault.apiEndpoint": "Vault endpoint"}
    for name, objects in sorted(siblings.items()):
        theirs = {
            "aws.accountId": str(_get(objects, "aws", "accountId")),
            "cluster.oidcProviderArn": _get(objects, "cluster", "oidcProviderArn"),
            "cluster.oidcIssuerUrl": _get(objects, "cluster", "oidcIssuerUrl"),
            "cluster.name": (str(_get(objects, "aws", "accountId")), _get(objects, "aws", "region"), _get(objects, "cluster", "name")),
            "vault.apiEndpoint": _vault_host(_get(objects, "vault", "apiEndpoint")),
        }
        for path, value in mine.items():
            if value is not None and value == theirs[path]:
                issues.append(ConfigIssue(path, f"names the {what[path]} of stack `{name}` (Pulumi.{name}.yaml) too",
                                          f"give every stack its own {what[path]}"))
        environments = _get(objects, "environments")
        for env in cfg.environments:
            if isinstance(environments, Mapping) and env in environments:
                issues.append(ConfigIssue(f"environments.{env}", f"is hosted by stack `{name}` (Pulumi.{name}.yaml) too",
                                          "host every environment in one stack only"))
    return issues
