"""How config problems are reported: one ConfigIssue per problem, all raised at once as a ConfigError.

A pydantic error becomes an issue located by its camelCase key path, with the most specific fix
hint; messages never echo a value, since a misplaced secret could be one.
"""

from __future__ import annotations

import typing
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel

from components.config.types import KNOWN_ENVIRONMENTS, PROJECT, did_you_mean

# Keys whose presence inside a config object means someone pasted a secret value.
_SECRET_VALUE_KEYS = {"value", "password", "secret", "token", "data", "plaintext"}

# The fix to suggest for a key, by `parent.key` or `key` (the camelCase names of the stack file).
_FIX_HINTS = {
    "backend": "use `vault` or `aws`",
    "source": "use `random`, `config` or `external`",
    "syncPolicy": "use `automated` or `manual`",
    "charset": "use `alphanumeric` or `symbols`",
    "refreshInterval": "use a whole number of s, m or h from 1m to 24h, such as `1h`",
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
    "gitops.path": "use a folder inside the repository, such as `gitops`",
    "cluster.name": "use the EKS cluster's name as `aws eks list-clusters` shows it",
    "charts": "pin an exact chart version such as `1.2.3`",
    "environments": "write a mapping of environment name (development, staging, production) to its settings",
    "adminRoleArns": "list IAM role ARNs such as `arn:aws:iam::<account>:role/platform-deployer`",
    "breakGlassRoleArns": "list emergency roles of aws.adminRoleArns, such as `arn:aws:iam::<account>:role/platform-break-glass`",
    "apps": "list at least one app",
    "apiServerCidrs": "list the EKS control-plane subnets (`aws eks describe-cluster` resourcesVpcConfig.subnetIds), such as `10.10.255.0/28`",
    "secretRecoveryWindowDays": "use 7 to 30 days (prod: 30)",
    "alarmEmails": "list e-mail addresses such as `platform-oncall@example.com`",
    "apiEndpoint": "use an https:// URL without a path, such as `https://vault.platform-dev.example.com:8200`",
    "deployerRoleArns": "list IAM role ARNs of the stack's account, such as `arn:aws:iam::<account>:role/platform-deployer`",
    "previewRoleArns": "list IAM role ARNs of the stack's account, such as `arn:aws:iam::<account>:role/platform-preview`",
    "previewRole": "use a lowercase name other than vault.login.role, such as `preview`",
    "deployerCidrs": "list networks such as `10.0.0.0/24` (host bits zero)",
    "awsEndpointCidrs": "list networks such as `10.0.0.0/24`, or `0.0.0.0/0` without VPC endpoints",
    "storageClass": "use a lowercase Kubernetes name such as `vault-gp3`",
    "dataStorageSize": "use a whole number of Gi, such as `10Gi`",
    "auditStorageSize": "use a whole number of Gi, such as `10Gi`",
    "caValidityHours": "use 8760 to 175200 hours (1 to 20 years)",
    "tlsValidityHours": "use 720 to 17520 hours, at most half of caValidityHours",
    "tlsEarlyRenewalHours": "use fewer hours than tlsValidityHours, such as 720",
    "antiAffinity": "use `soft` (preferred) or `hard` (needs as many nodes as replicas)",
    "zoneSpread": "use `soft` or `hard`",
    "serverCpuRequest": "use millicores such as `250m`, or whole cores such as `1`",
    "injectorCpuRequest": "use millicores such as `50m`, or whole cores such as `1`",
    "serverMemoryRequest": "use Mi or Gi, such as `256Mi`",
    "serverMemoryLimit": "use Mi or Gi, at least the request, such as `1Gi`",
    "injectorMemoryRequest": "use Mi or Gi, such as `64Mi`",
    "injectorMemoryLimit": "use Mi or Gi, at least the request, such as `128Mi`",
    "recoveryShares": "use 1 to 10 (5 is usual)",
    "recoveryThreshold": "use 2 to recoveryShares (3 of 5 is usual)",
    "snapshotSchedule": "use five numeric cron fields, such as `17 */6 * * *`",
    "snapshotRetentionDays": "use 1 to 3650 days",
    "secretName": "use a lowercase Kubernetes name such as `api-secrets`",
    "approvers": "list GitHub users or teams such as `@example-org/production-approvers`",
    "signatureKeys": "list 16-digit GnuPG key IDs in capitals, such as `4AEE18F83AFDEB23`",
    "gpgPublicKeys": "map a 16-digit key ID to its `gpg --export --armor` block",
    "revision": "use a branch or tag name such as `production`",
    "expose": "use `NodePort` or `LoadBalancer`, or leave it out for a ClusterIP-only app",
    "domain": "use a lowercase DNS domain such as `staging.example.com`",
    "labelKey": "use a Kubernetes label key such as `platform.secrets/environment`",
    "labelValue": "use a Kubernetes label value such as `staging`",
    "externalSecrets.controller": "set replicas to 2 or more",
    "externalSecrets.webhook": "set replicas to 2 or more",
    "externalSecrets.certController": "set replicas to 2 or more",
    "controller.replicas": "use 2 to 5",
    "webhook.replicas": "use 2 to 5",
    "certController.replicas": "use 2 to 5",
    "reloader.replicas": "use 1 to 5 (2 or more run Reloader with leader election)",
    "cpuRequest": "use millicores such as `50m`, or whole cores such as `1`",
    "memoryRequest": "use Mi or Gi, such as `128Mi`",
    "memoryLimit": "use Mi or Gi, at least the request, such as `512Mi`",
    "metricsNamespaces": "list namespace names such as `monitoring`",
    "sealedSecrets.enabled": "use true or false",
    "argocd.domain": "use the host name Argo CD is served at, such as `argocd.platform-dev.example.com`",
    "argocd.replicas": "use 2 to 5",
    "redisHaAntiAffinity": "use `soft` (preferred) or `hard` (needs 3 schedulable nodes)",
    "controllerMemoryLimit": "use Mi or Gi, at least `512Mi`, such as `2Gi`",
    "repoServerMemoryLimit": "use Mi or Gi, at least `256Mi`, such as `1Gi`",
    "redisMemoryLimit": "use Mi or Gi, at least `128Mi`, such as `512Mi`",
    "ssoIssuerUrl": "use the identity provider's https:// issuer URL, such as `https://login.example.com`",
    "ssoClientId": "use the OIDC client ID registered for Argo CD (its secret goes in AWS Secrets Manager)",
    "ssoName": "use letters, digits, spaces, '.', '_' or '-'",
    "adminGroups": "list SSO group names without commas or spaces, each once",
    "rbacGroups": "map an environment of this stack to SSO group names without commas or spaces",
    "slackChannel": "use the channel name without `#`: lowercase letters, digits, '-' and '_'",
    "syncWindows": "map an environment of this stack to a list of windows with kind, schedule and duration",
    "kind": "use `allow` or `deny`",
    "schedule": "use five numeric cron fields, such as `0 8 * * 1-5`",
    "duration": "use a whole number of m or h up to 8760h, such as `2h`",
    "timeZone": "use an IANA time zone such as `UTC` or `Europe/Paris`",
    "repoUsername": "use the user name that goes with the repository token, such as `git`",
    "secretRefreshInterval": "use a whole number of s, m or h from 1m to 24h, such as `1h`",
    "database.engine": "use `postgresql`",
    "database.host": "use the database server's lowercase DNS name, such as `payments-db.example.internal`",
    "sslMode": "use `verify-full` or `require` (Vault's connection always uses TLS)",
    "database.cidrs": "list the database server's networks, such as `10.20.0.0/24` (host bits zero)",
    "database.port": "use a port from 1 to 65535, such as 5432",
    "database.name": "use a lowercase PostgreSQL name: letters, digits and '_', such as `payments`",
    "admin.username": "use a lowercase PostgreSQL role name: letters, digits and '_', such as `vault_admin`",
    "admin.source": "use `config` (with a configKey) or `external`; never the password itself",
    "grant.access": "use `readonly` or `readwrite`",
    "grant.schemas": "list lowercase PostgreSQL schema names: letters, digits and '_'",
    "defaultTtl": "use a whole number of s, m or h between 5m and 168h, such as `1h`",
    "maxTtl": "use a whole number of s, m or h between 5m and 168h, such as `24h`",
    "delivery": "use `eso` (a Secret ESO refreshes) or `agent` (the Vault Agent injector)",
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
    """One problem in the stack file, located by its config key path.

    ``namespace`` is the config namespace the path belongs to (another one for `pulumi:` keys or
    a misspelt namespace); empty for a place outside `config:` (then ``path`` names the file and line).
    """

    path: str
    problem: str
    fix: str
    namespace: str = PROJECT

    def render(self) -> str:
        where = f"{self.namespace}:{self.path}" if self.namespace else self.path
        return f"{where}: {self.problem}. Fix: {self.fix}."



class ConfigError(pulumi.RunError):
    """Invalid stack config. A RunError, so Pulumi prints it without a traceback."""

    def __init__(self, stack: str, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        lines = [f"Invalid configuration for stack '{stack}' ({len(issues)} problem(s)):"]
        lines.extend(f"  - {issue.render()}" for issue in issues)
        super().__init__("\n".join(lines))


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _strip(annotation: Any) -> Any:
    """The model, list, dict or Literal under Annotated and Optional wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is not None and type(None) in typing.get_args(annotation):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _annotation_at(model: type[BaseModel], loc: Iterable[Any]) -> Any:
    """The type the model declares at a pydantic error location (camelCase keys), or None."""
    current: Any = model
    for part in loc:
        current = _strip(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            current = next((f.annotation for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        elif origin is list and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict and isinstance(part, str):
            current = typing.get_args(current)[1]
        else:
            return None
    return _strip(current)


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    parent = _annotation_at(model, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return [f.alias or n for n, f in parent.model_fields.items()]
    return []


_YAML_TYPE = {bool: "a boolean", int: "a number", float: "a number"}


def _issue_from_pydantic(error: Mapping[str, Any], prefix: tuple[Any, ...], model: type[BaseModel] | None = None) -> ConfigIssue:
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
        suggestion = did_you_mean(str(last), _known_keys(model, loc)) if model is not None else ""
        return ConfigIssue(_path(loc), "is not a known setting",
                           f"{suggestion}remove it or correct its spelling (see docs/configuration.md)")
    given = _YAML_TYPE.get(type(error.get("input")))
    if kind == "string_type" and given:
        return ConfigIssue(_path(loc), f"must be text, but the stack file gives {given} (an unquoted YAML scalar)",
                           f"quote the value, such as `{last}: \"...\"`")
    if kind in ("int_type", "bool_type") and isinstance(error.get("input"), str):
        what = "an integer" if kind == "int_type" else "true or false"
        example = f"such as `{last}: {'3' if kind == 'int_type' else 'true'}`"
        return ConfigIssue(_path(loc), f"must be {what}, but the stack file gives quoted text",
                           f"{_hint(loc, example)}, written without quotes")
    if kind == "missing":
        return ConfigIssue(_path(loc), "is required", "add it (see docs/configuration.md)")
    if "[key]" in error["loc"]:
        return ConfigIssue(
            _path(loc),
            "is not an environment this platform knows",
            did_you_mean(str(last), KNOWN_ENVIRONMENTS) + "use one of " + ", ".join(KNOWN_ENVIRONMENTS),
        )
    problem = str(error["msg"]).replace("Input should be", "must be").replace("String should", "must")
    problem = problem.replace("Dictionary should", "must").replace("List should", "must")
    suggestion = ""
    if kind == "time_zone":
        suggestion = did_you_mean(str(error.get("input")), zoneinfo.available_timezones())
    literal = _annotation_at(model, error["loc"]) if model is not None and kind == "literal_error" else None
    if typing.get_origin(literal) is typing.Literal and isinstance(error.get("input"), str):
        suggestion = did_you_mean(error["input"], [str(a) for a in typing.get_args(literal)])
    return ConfigIssue(_path(loc), problem, suggestion + _hint(loc, "see docs/configuration.md"))
