"""Typed stack configuration: the one place that reads Pulumi config.

Components receive these frozen objects and never call ``pulumi.Config``.
Every problem in the stack file is collected and reported at once, before any
resource is registered, as ``platform:<key path>: <what is wrong>. Fix: <what to
do>``. Messages never echo a value, since a misplaced secret could be one.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

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


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise PydanticCustomError("cidr", "is not a CIDR block (host bits must be zero)") from None
    return value


_CRON_FIELD = re.compile(r"^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$")


def _check_cron(value: str) -> str:
    parts = value.split()
    if len(parts) != 5 or not all(_CRON_FIELD.match(part) for part in parts):
        raise PydanticCustomError("cron", "is not a five-field numeric cron schedule")
    return value


_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")
_SESSION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<name>[\w+=,.@-]+)/[\w+=,.@-]+$"
)


def iam_role_identity(arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of an IAM role ARN or of an assumed-role session ARN; None otherwise.

    A role name is unique in its account whatever the role's path, and an assumed-role
    ARN drops the path, so these three name one role either way.
    """
    match = _ROLE_ARN.match(arn) or _SESSION_ARN.match(arn)
    return (match["partition"], match["account"], match["name"]) if match else None


def mebibytes(quantity: str) -> int:
    """`512Mi` -> 512, `2Gi` -> 2048 (the only units memory fields accept)."""
    return int(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1)


def _limit_covers_request(cls: type, value: str, info: ValidationInfo) -> str:
    """A `<x>memory_limit` field must be at least its `<x>memory_request` sibling."""
    request = info.data.get(str(info.field_name).replace("memory_limit", "memory_request"))
    if request is not None and mebibytes(value) < mebibytes(request):
        raise PydanticCustomError("memory_limit", "is below the memory request")
    return value


Cidr = Annotated[str, AfterValidator(_check_cidr)]
"""A network such as `10.0.0.0/16`."""
CronFields = Annotated[str, AfterValidator(_check_cron)]
"""Five numeric cron fields (no names such as MON)."""


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
    api_server_cidrs: Annotated[list[Cidr], Field(min_length=1)]
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


class VaultLoginConfig(_Model):
    """How the `vault` provider reaches and logs in to Vault in phase 2 (AWS auth; no token anywhere)."""

    ca_cert_file: Annotated[str, Field(min_length=1)] = "vault-ca.pem"
    """Local file with Vault's CA certificate (public): save it from the `vaultCaCertificate` stack output after phase 1."""
    role: DnsLabel = "deployer"
    """AWS auth role the bootstrap job created for the role that runs `pulumi up`."""
    preview_role: DnsLabel = "preview"
    """AWS auth role the bootstrap job binds to `vault.previewRoleArns`; the program logs in with it when it runs as one of them."""
    mount: DnsLabel = "aws"
    """Path of the AWS auth method."""
    iam_server_id_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]{1,253}$")] = "vault.platform.internal"
    """Value of X-Vault-AWS-IAM-Server-ID the AWS auth method requires (replay protection)."""

    @field_validator("preview_role")
    @classmethod
    def _preview_role_is_not_the_deployers(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("role"):
            raise PydanticCustomError("preview_role", "must differ from vault.login.role, or previews would log in as the deployer")
        return value


class VaultConfig(_Model):
    """Vault cluster: shape, API endpoint, TLS, storage, placement, resources, bootstrap and snapshots."""

    replicas: int = 3
    """Raft voters: odd, 3 to 7."""
    api_endpoint: Annotated[
        str, Field(pattern=r"^https://[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$", max_length=200)
    ] = "https://vault.vault.svc:8200"
    """HTTPS URL (no path) through which the deployer reaches Vault; its host is a certificate SAN (docs/bootstrap.md)."""
    deployer_role_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    ] = []
    """IAM roles of the stack's account that `pulumi up` runs as, bound to Vault's `deployer` AWS auth role (empty: `aws.adminRoleArns`)."""
    preview_role_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    ] = []
    """IAM roles of the stack's account that run `pulumi preview`, bound to the read-nothing `login.previewRole` (empty: no preview login)."""
    deployer_cidrs: list[Cidr] = []
    """Source CIDRs of the deployer's connections as Vault's pods see them (VPN pool, CI runners, load balancer subnets): allowed on 8200."""
    aws_endpoint_cidrs: Annotated[list[Cidr], Field(min_length=1)] = ["0.0.0.0/0"]
    """Where Vault and its jobs reach AWS APIs (KMS, STS, IAM, S3, Secrets Manager) on 443; narrow it to the VPC endpoints' subnets."""
    storage_class: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] = "vault-gp3"
    """Name of the encrypted gp3 StorageClass this component creates for Raft volumes (reclaim `Retain` when `protectStateful`)."""
    data_storage_size: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}Gi$")] = "10Gi"
    """Size of each Raft data volume (and the snapshot job's scratch space), such as `10Gi`."""
    audit_storage_size: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}Gi$")] = "10Gi"
    """Size of each audit volume (the file audit device; rotated at a quarter of it, 10 compressed files kept)."""
    ca_validity_hours: Annotated[int, Field(ge=8760, le=175200)] = 87600
    """Validity of the Vault CA (1 to 20 years); it is renewed once less than one server certificate lifetime remains."""
    tls_validity_hours: Annotated[int, Field(ge=720, le=17520)] = 8760
    """Validity of the server certificate (30 days to 2 years); at most half the CA's."""
    tls_early_renewal_hours: Annotated[int, Field(ge=24, le=8760)] = 720
    """A `pulumi up` this close to the server certificate's expiry issues a new one; shorter than `tlsValidityHours`."""
    anti_affinity: Literal["soft", "hard"] = "soft"
    """Vault pods on distinct nodes: `soft` (preferred) or `hard` (required: needs as many nodes as replicas)."""
    zone_spread: Literal["soft", "hard"] = "soft"
    """Vault pods spread over zones (max skew 1): `soft` (ScheduleAnyway) or `hard` (DoNotSchedule)."""
    server_cpu_request: Annotated[str, Field(pattern=r"^[1-9][0-9]*m$|^[1-9][0-9]*$")] = "250m"
    """CPU request of each Vault server, such as `250m` or `1`."""
    server_memory_request: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "256Mi"
    """Memory request of each Vault server, such as `256Mi`."""
    server_memory_limit: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "1Gi"
    """Memory limit of each Vault server; at least its request."""
    injector_cpu_request: Annotated[str, Field(pattern=r"^[1-9][0-9]*m$|^[1-9][0-9]*$")] = "50m"
    """CPU request of each Agent Injector replica."""
    injector_memory_request: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "64Mi"
    """Memory request of each Agent Injector replica."""
    injector_memory_limit: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "128Mi"
    """Memory limit of each Agent Injector replica; at least its request."""
    recovery_shares: Annotated[int, Field(ge=1, le=10)] = 5
    """Recovery key shares `vault operator init` creates (stored only in AWS Secrets Manager)."""
    recovery_threshold: Annotated[int, Field(ge=1, le=10)] = 3
    """Recovery key shares needed to make a root token (break-glass); 2 or more and at most `recoveryShares`."""
    snapshot_schedule: Annotated[CronFields, Field(max_length=100)] = "17 */6 * * *"
    """Cron schedule (UTC, five fields) of the Raft snapshot CronJob."""
    snapshot_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days a snapshot stays in the bucket before it expires (deleted versions stay 7 more days)."""

    @field_validator("tls_validity_hours")
    @classmethod
    def _tls_within_ca(cls, value: int, info: ValidationInfo) -> int:
        ca = info.data.get("ca_validity_hours")
        if ca is not None and value * 2 > ca:
            raise PydanticCustomError("tls_validity", "must be at most half of caValidityHours")
        return value

    @field_validator("tls_early_renewal_hours")
    @classmethod
    def _renewal_within_validity(cls, value: int, info: ValidationInfo) -> int:
        validity = info.data.get("tls_validity_hours")
        if validity is not None and value >= validity:
            raise PydanticCustomError("tls_renewal", "must be shorter than tlsValidityHours")
        return value

    _limits = field_validator("server_memory_limit", "injector_memory_limit")(_limit_covers_request)

    @field_validator("recovery_threshold")
    @classmethod
    def _threshold_within_shares(cls, value: int, info: ValidationInfo) -> int:
        shares = info.data.get("recovery_shares")
        if shares is not None and (value > shares or (shares > 1 and value < 2)):
            raise PydanticCustomError("recovery_threshold", "must be at least 2 and at most recoveryShares (1 only with a single share)")
        return value

    kv_max_versions: Annotated[int, Field(ge=1, le=100)] = 10
    """Versions KV v2 keeps per value (older ones are destroyed)."""
    token_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 900
    """TTL of tokens issued to apps, stores and snapshot jobs."""
    token_max_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600
    """Longest a token may be renewed to."""
    login: VaultLoginConfig = VaultLoginConfig()
    """Phase 2 provider login."""


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

    @property
    def service_account_name(self) -> str:
        return self.service_account or self.name

    @property
    def target_secret_name(self) -> str:
        """The Secret the app's generated ExternalSecret writes and its workloads reference."""
        return self.secret_name or f"{self.name}-secrets"


class EnvironmentConfig(_Model):
    """An environment hosted by this stack: one namespace, its apps and sync behaviour."""

    sync_policy: Literal["automated", "manual"]
    """Argo CD sync: `automated` (prune, self-heal) or `manual`."""
    refresh_interval: Duration = "1h"
    """How often ESO re-reads each secret (`15m`, `1h`)."""
    apps: Annotated[list[AppConfig], Field(min_length=1)]
    """The environment's applications."""


CpuQuantity = Annotated[str, Field(pattern=r"^[1-9][0-9]*m$|^[1-9][0-9]*$")]
MemoryQuantity = Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")]


class WorkloadSizing(_Model):
    """Replicas and resources of one Deployment of the External Secrets stack (an override sets all four keys)."""

    replicas: Annotated[int, Field(ge=1, le=5)]
    """Pods (1 to 5); the ESO controller, webhook and cert controller need at least 2."""
    cpu_request: CpuQuantity
    """CPU request of each pod, such as `50m` (no CPU limit: throttling a controller only slows syncs)."""
    memory_request: MemoryQuantity
    """Memory request of each pod, such as `128Mi`."""
    memory_limit: MemoryQuantity
    """Memory limit of each pod; at least its request."""

    _limits = field_validator("memory_limit")(_limit_covers_request)


class SealedSecretsConfig(_Model):
    """Sealed Secrets: an opt-in second source of truth for encrypted values kept in Git."""

    enabled: bool = False
    """Install the pinned sealed-secrets controller (in `kube-system`); back up its key (docs/external-secrets.md)."""


class ExternalSecretsConfig(_Model):
    """External Secrets Operator, Stakater Reloader and the optional Sealed Secrets controller."""

    controller: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="50m", memory_request="128Mi", memory_limit="512Mi")
    """ESO controller (leader election: extra replicas are standbys). Default: 2 replicas, `50m`, `128Mi`, limit `512Mi`."""
    webhook: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="20m", memory_request="64Mi", memory_limit="256Mi")
    """ESO admission webhook (the API server calls it for every ESO object). Default: 2, `20m`, `64Mi`, limit `256Mi`."""
    cert_controller: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="20m", memory_request="64Mi", memory_limit="256Mi")
    """ESO cert controller (renews the webhook's certificate). Default: 2, `20m`, `64Mi`, limit `256Mi`."""
    reloader: WorkloadSizing = WorkloadSizing(replicas=2, cpu_request="10m", memory_request="64Mi", memory_limit="256Mi")
    """Stakater Reloader: rolls opted-in workloads when their Secret changes (2+ replicas: leader election). Default: 2, `10m`, `64Mi`, `256Mi`."""
    aws_endpoint_cidrs: Annotated[list[Cidr], Field(min_length=1)] = ["0.0.0.0/0"]
    """Where the ESO controller reaches AWS (STS, Secrets Manager) on 443; narrow it to the VPC endpoints' subnets if the VPC has them."""
    metrics_namespaces: list[DnsLabel] = []
    """Namespaces whose pods may scrape the ESO and Reloader metrics ports (empty: none)."""
    sealed_secrets: SealedSecretsConfig = SealedSecretsConfig()
    """Sealed Secrets controller, off unless enabled."""

    @field_validator("controller", "webhook", "cert_controller")
    @classmethod
    def _highly_available(cls, value: WorkloadSizing) -> WorkloadSizing:
        if value.replicas < 2:
            raise PydanticCustomError("eso_replicas", "must run at least 2 replicas (its disruption budget keeps 1 available)")
        return value



EnvironmentName = Literal["development", "staging", "production"]
# Casbin's policy.csv is comma-separated: a group name never holds a comma, a space or a newline.
SsoGroup = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:/=+-]{0,254}$")]


class ArgoCdSyncWindow(_Model):
    """One sync window of an environment's Argo CD project (it applies to every app of the project)."""

    kind: Literal["allow", "deny"]
    """`allow`: automated and manual syncs only inside the window; `deny`: no syncs inside it."""
    schedule: Annotated[CronFields, Field(max_length=100)]
    """Cron schedule (five numeric fields) of each window start, in `timeZone`."""
    duration: Annotated[str, Field(pattern=r"^[1-9][0-9]*(m|h)$")]
    """How long the window stays open after each start, such as `2h` or `30m`."""
    time_zone: Annotated[str, Field(pattern=r"^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$", max_length=64)] = "UTC"
    """IANA time zone of `schedule`, such as `Europe/Paris`."""
    manual_sync: bool = False
    """Let people with sync rights sync by hand while the window blocks syncs (break-glass)."""
    description: Annotated[str, Field(pattern=r"^[^\n]{1,200}$")] | None = None
    """Why the window exists, shown in the Argo CD UI."""



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
    """How often ESO re-reads Argo CD's own secrets (repository credential, SSO client secret, notifications token)."""

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


def _argocd_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Argo CD settings may only name environments this stack hosts."""
    issues: list[ConfigIssue] = []
    for key, per_env in (("rbacGroups", cfg.argocd.rbac_groups), ("syncWindows", cfg.argocd.sync_windows)):
        for env in per_env:
            if env not in cfg.environments:
                issues.append(ConfigIssue(f"argocd.{key}.{env}", "names an environment this stack does not host",
                                          "use one of " + ", ".join(cfg.environments)))
    return issues


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
    "apiServerCidrs": "use networks such as `10.0.0.0/16` (host bits zero)",
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
    "duration": "use a whole number of m or h, such as `2h`",
    "timeZone": "use an IANA time zone such as `UTC` or `Europe/Paris`",
    "repoUsername": "use the user name that goes with the repository token, such as `git`",
    "secretRefreshInterval": "use a whole number of s, m or h, such as `1h`",
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
        seen_targets: dict[str, int] = {}
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
            target = app.target_secret_name
            if target in seen_targets:
                issues.append(ConfigIssue(
                    f"{app_path}.secretName",
                    f"names the same Secret as apps[{seen_targets[target]}], so two ExternalSecrets would fight over it",
                    "give every app of an environment its own secretName (default `<app>-secrets`)",
                ))
            seen_targets.setdefault(target, i)
            seen_keys: dict[str, int] = {}
            for j, secret in enumerate(app.secrets):
                spath = f"{app_path}.secrets[{j}]"
                if secret.key in seen_keys:
                    issues.append(ConfigIssue(f"{spath}.key", f"duplicates secrets[{seen_keys[secret.key]}]",
                                              "give every secret of an app its own key"))
                seen_keys.setdefault(secret.key, j)
                issues.extend(_source_issues(spath, secret))
    if cfg.vault.token_ttl_seconds > cfg.vault.token_max_ttl_seconds:
        issues.append(ConfigIssue("vault.tokenTtlSeconds", "is longer than vault.tokenMaxTtlSeconds",
                                  "make the TTL at most the maximum TTL"))
    replicas = cfg.vault.replicas
    if replicas < 3 or replicas % 2 == 0 or replicas > 7:
        issues.append(ConfigIssue(
            "vault.replicas",
            "breaks Raft quorum (an HA cluster needs an odd number of 3 to 7 voters)",
            "use 3 or 5",
        ))
    issues.extend(_cluster_issues(cfg))
    issues.extend(_preview_issues(cfg))
    issues.extend(_argocd_issues(cfg))
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
    return issues


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
