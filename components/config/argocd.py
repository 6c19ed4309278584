"""Argo CD: availability, SSO, RBAC per environment, notifications and sync windows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from components.config.errors import ConfigIssue
from components.config.types import CronFields, Duration, TimeZone, _Model, duration_seconds, mebibytes

EnvironmentName = Literal["development", "staging", "production"]
# Casbin's policy.csv is comma-separated: a group name never holds a comma, a space or a newline.
SsoGroup = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:/=+-]{0,254}$")]


class ArgoCdSyncWindow(_Model):
    """One sync window of an environment's Argo CD project (it applies to every app of the project)."""

    kind: Literal["allow", "deny"]
    """`allow`: automated and manual syncs only inside the window; `deny`: no syncs inside it."""
    schedule: Annotated[CronFields, Field(max_length=100)]
    """Cron schedule (five numeric fields) of each window start, in `timeZone`."""
    duration: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}(m|h)$")]
    """How long the window stays open after each start, such as `2h` or `30m`; at most a year (8760h)."""
    time_zone: Annotated[TimeZone, Field(pattern=r"^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$")] = "UTC"
    """IANA time zone of `schedule`, such as `Europe/Paris`."""
    manual_sync: bool = False
    """Let people with sync rights sync by hand while the window blocks syncs (break-glass)."""
    description: Annotated[str, Field(pattern=r"^[^\n]{1,200}$")] | None = None
    """Why the window exists, shown in the Argo CD UI."""

    @field_validator("duration")
    @classmethod
    def _at_most_a_year(cls, value: str) -> str:
        if duration_seconds(value) > 8760 * 3600:
            raise PydanticCustomError("window_duration", "is longer than a year (8760h)")
        return value


class ArgoCdConfig(_Model):
    """Argo CD: availability, sign-in (SSO only), who may act on which environment, notifications, sync windows."""

    domain: Annotated[
        str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$", max_length=253)
    ]
    """Host name Argo CD is served at: its URL is `https://<domain>` (SSO redirects and notification links)."""
    ha: bool = False
    """High availability: Redis HA (3 Redis with Sentinel, HAProxy), disruption budgets, and `replicas` of the scalable components."""
    replicas: Annotated[int, Field(ge=2, le=5)] = 2
    """With `ha`: replicas (2 to 5) of the API server, repo server and ApplicationSet controller; without `ha` they run 1 each."""
    redis_ha_anti_affinity: Literal["soft", "hard"] = "soft"
    """With `ha`: Redis and HAProxy pods on distinct nodes, `soft` (preferred) or `hard` (required: needs 3 schedulable nodes)."""
    controller_memory_limit: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "2Gi"
    """Memory limit of the application controller (it caches every managed resource), such as `2Gi`; at least `512Mi`."""
    repo_server_memory_limit: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "1Gi"
    """Memory limit of each repo server (it renders Kustomize and Helm), such as `1Gi`; at least `256Mi`."""
    redis_memory_limit: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "512Mi"
    """Memory limit of Redis and the `argocd` default for containers the chart leaves without one (Redis HA's), such as `512Mi`; at least `128Mi`."""
    sso_issuer_url: Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$", max_length=255)]
    """OIDC issuer URL of the identity provider (`https://`), exactly as its discovery document states it."""
    sso_client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,254}$")]
    """OIDC client ID registered for Argo CD (not secret); the client secret lives in AWS Secrets Manager as `platform/argocd/sso-client-secret`."""
    sso_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")] = "SSO"
    """Label of the login button."""
    admin_groups: list[SsoGroup] = []
    """SSO groups with Argo CD's built-in `role:admin` (break-glass; the local admin user is disabled)."""
    rbac_groups: dict[EnvironmentName, list[SsoGroup]] = {}
    """Environment -> SSO groups that may sync, run actions on and read logs of that environment's apps only (everyone signed in reads everything)."""
    slack_channel: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
    """Slack channel (without `#`) told about failed syncs and degraded apps; the bot token is `platform/argocd/notifications-token`."""
    sync_windows: dict[EnvironmentName, list[ArgoCdSyncWindow]] = {}
    """Environment -> sync windows of its project (production change windows)."""
    repo_username: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")] = "git"
    """User name that goes with the `platform/argocd/repo-credential` token for an https repository (for SSH the credential is the private key)."""
    secret_refresh_interval: Duration = "1h"
    """How often ESO re-reads Argo CD's own secrets (repository credential, SSO client secret, notifications token); 1m to 24h."""

    @field_validator("controller_memory_limit", "repo_server_memory_limit", "redis_memory_limit")
    @classmethod
    def _memory_floor(cls, value: str, info: ValidationInfo) -> str:
        floor = {"controller_memory_limit": 512, "repo_server_memory_limit": 256, "redis_memory_limit": 128}[str(info.field_name)]
        if mebibytes(value) < floor:
            raise PydanticCustomError("memory_floor", "is below the minimum of {floor}Mi", {"floor": floor})
        return value

    @field_validator("admin_groups")
    @classmethod
    def _unique_admins(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate_group", "lists a group twice")
        return value

    @field_validator("rbac_groups")
    @classmethod
    def _unique_groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(len(set(groups)) != len(groups) for groups in value.values()):
            raise PydanticCustomError("duplicate_group", "lists a group twice for one environment")
        return value


def _argocd_issues(argocd: ArgoCdConfig, hosted: Collection[str]) -> list[ConfigIssue]:
    """Argo CD settings may only name environments this stack hosts."""
    issues: list[ConfigIssue] = []
    for key, per_env in (("rbacGroups", argocd.rbac_groups), ("syncWindows", argocd.sync_windows)):
        for env in per_env:
            if env not in hosted:
                issues.append(ConfigIssue(f"argocd.{key}.{env}", "names an environment this stack does not host",
                                          "use one of " + ", ".join(hosted)))
    return issues
