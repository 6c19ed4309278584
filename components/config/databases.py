"""An app's database: the PostgreSQL connection Vault administers and the short-lived users it issues to the app.

Vault's database secrets engine holds one connection per declared database, logs in with
an admin user whose initial password it rotates at once (``rotate-root``), and creates a
user per lease with exactly the declared grant; the app never sees the admin credential.
The admin password comes from a secret config key (``source: config``) or its owner sets
it in Vault (``source: external``); it is never a literal here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from components.config.errors import ConfigIssue
from components.config.types import Cidr, ConfigKeyName, Duration, LeaseDuration, _Model, duration_seconds

# PostgreSQL identifiers the creation statements quote: lowercase, so they need no case folding.
PgIdentifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)]
HostName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]

# Bounds of a lease: Vault checks a lease at least every minute, and a credential that lives a
# week is no longer short-lived.
MIN_TTL_SECONDS = 5 * 60
MAX_TTL_SECONDS = 7 * 24 * 3600


class DatabaseAdmin(_Model):
    """The admin login Vault uses to create and drop the app's users; Vault rotates its password once configured."""

    username: PgIdentifier
    """The admin role's name in PostgreSQL (CREATEROLE, and GRANT OPTION on what the apps get)."""
    source: Literal["config", "external"]
    """`config`: a top-level secret config key holds its initial password; `external`: its owner writes the connection's password in Vault."""
    config_key: ConfigKeyName | None = None
    """Source config: the top-level secret config key holding the initial password."""


class DatabaseGrant(_Model):
    """What the app's users may do: read, or read and write, the tables of the named schemas."""

    access: Literal["readonly", "readwrite"]
    """`readonly`: SELECT; `readwrite`: SELECT, INSERT, UPDATE, DELETE."""
    schemas: Annotated[list[PgIdentifier], Field(min_length=1)]
    """The schemas whose tables the app reads (and writes)."""


class DatabaseConfig(_Model):
    """A PostgreSQL database an app uses through short-lived users Vault creates per lease."""

    engine: Literal["postgresql"] = "postgresql"
    """The database engine (PostgreSQL only)."""
    host: HostName
    """The database server's host name, as Vault's pods reach it."""
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    """The server's port."""
    cidrs: Annotated[list[Cidr], Field(min_length=1)]
    """The networks the server's addresses are in: Vault's pods may reach them, on `port` only."""
    name: PgIdentifier
    """The database (PostgreSQL `dbname`)."""
    ssl_mode: Literal["verify-full", "require"] = "verify-full"
    """TLS to the server: `verify-full` (its certificate chains to a CA Vault trusts and names the host) or `require`."""
    admin: DatabaseAdmin
    """The admin login Vault administers the app's users with."""
    grant: DatabaseGrant
    """The privileges of every user Vault issues to the app."""
    default_ttl: LeaseDuration = "1h"
    """Lease of a new user (5m to 7 days, at most maxTtl); ESO fetches a new user before it ends."""
    max_ttl: LeaseDuration = "24h"
    """Longest a user lives, renewals included (5m to 7 days)."""
    delivery: Literal["eso", "agent"] = "eso"
    """`eso`: a platform-owned VaultDynamicSecret generator fills the app's Secret; `agent`: the Vault Agent injector writes a file in the pod."""
    refresh_interval: Duration = "30m"
    """Delivery eso: how often ESO fetches a new user; at most half of defaultTtl, so pods roll before the old user expires."""


def database_issues(path: str, db: DatabaseConfig) -> list[ConfigIssue]:
    """The rules across one database's fields."""
    issues: list[ConfigIssue] = []
    ttl_fix = "use a whole number of s, m or h between 5m and 168h, defaultTtl at most maxTtl"
    default_ttl, max_ttl = duration_seconds(db.default_ttl), duration_seconds(db.max_ttl)
    for key, seconds in (("defaultTtl", default_ttl), ("maxTtl", max_ttl)):
        if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
            issues.append(ConfigIssue(f"{path}.{key}", "must be between 5m and 168h", ttl_fix))
    if default_ttl > max_ttl:
        issues.append(ConfigIssue(f"{path}.defaultTtl", "is longer than maxTtl", ttl_fix))
    if db.delivery == "eso" and duration_seconds(db.refresh_interval) * 2 > default_ttl:
        issues.append(ConfigIssue(
            f"{path}.refreshInterval",
            "is more than half of defaultTtl, so pods could still use a user after its lease ended",
            "set refreshInterval to at most half of defaultTtl, such as `30m` for `1h`",
        ))
    if db.admin.source == "config" and db.admin.config_key is None:
        issues.append(ConfigIssue(f"{path}.admin.configKey", "is required for source config",
                                  "name the top-level secret config key that holds the admin's initial password"))
    if db.admin.source != "config" and db.admin.config_key is not None:
        issues.append(ConfigIssue(f"{path}.admin.configKey", f"applies only to source config, not {db.admin.source}",
                                  "remove it"))
    if db.admin.username in db.grant.schemas:
        issues.append(ConfigIssue(f"{path}.admin.username", "is also a schema of the grant",
                                  "give Vault's admin login its own name, such as `vault_admin`"))
    if len(set(db.grant.schemas)) != len(db.grant.schemas):
        issues.append(ConfigIssue(f"{path}.grant.schemas", "lists a schema twice", "list each schema once"))
    return issues
