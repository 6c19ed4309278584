"""The Vault cluster's settings and the phase 2 provider's login, with the rules that span their fields."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from components.config.errors import ConfigIssue
from components.config.types import Cidr, CronFields, DnsLabel, NarrowCidr, _limit_covers_request, _Model


class VaultLoginConfig(_Model):
    """How the `vault` provider reaches and logs in to Vault in phase 2 (AWS auth; no token anywhere)."""

    ca_cert_file: Annotated[str, Field(min_length=1)] = "vault-ca.pem"
    """Local file with Vault's CA certificate (public): save it from the `vaultCaCertificate` stack output after phase 1."""
    role: DnsLabel = "deployer"
    """AWS auth role the bootstrap job created for the role that runs `pulumi up`."""
    preview_role: DnsLabel = "preview"
    """AWS auth role phase 2 (VaultConfig) binds to `vault.previewRoleArns`; the program logs in with it when it runs as one of them."""
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
    """HTTPS URL (no path, port 1 to 65535) through which the deployer reaches Vault; its host is a certificate SAN (docs/bootstrap.md)."""
    deployer_role_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    ] = []
    """IAM roles of `aws.adminRoleArns` that `pulumi up` runs as, bound to Vault's `deployer` AWS auth role (empty: `aws.adminRoleArns`)."""
    preview_role_arns: list[
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")]
    ] = []
    """IAM roles of the stack's account that run `pulumi preview`, bound to the read-nothing `login.previewRole` (empty: no preview login)."""
    deployer_cidrs: list[NarrowCidr] = []
    """Deployer source CIDRs as Vault's pods see them (VPN pool, CI runners, LB subnets): allowed on 8200; none broader than /8 (IPv6 /32)."""
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

    @field_validator("api_endpoint")
    @classmethod
    def _port_in_range(cls, value: str) -> str:
        host_port = value.removeprefix("https://")
        if ":" in host_port and not 1 <= int(host_port.rsplit(":", 1)[1]) <= 65535:
            raise PydanticCustomError("port", "has a port out of 1-65535")
        return value

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


def _vault_issues(vault: VaultConfig) -> list[ConfigIssue]:
    """Token lifetimes in order, and a Raft cluster that keeps quorum."""
    issues: list[ConfigIssue] = []
    if vault.token_ttl_seconds > vault.token_max_ttl_seconds:
        issues.append(ConfigIssue("vault.tokenTtlSeconds", "is longer than vault.tokenMaxTtlSeconds",
                                  "make the TTL at most the maximum TTL"))
    replicas = vault.replicas
    if replicas < 3 or replicas % 2 == 0 or replicas > 7:
        issues.append(ConfigIssue(
            "vault.replicas",
            "breaks Raft quorum (an HA cluster needs an odd number of 3 to 7 voters)",
            "use 3 or 5",
        ))
    return issues
