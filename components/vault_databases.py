"""Vault's database secrets engine for the apps' PostgreSQL databases, as pure builders (no Pulumi).

One ``database`` mount per stack; per declared database (one per (environment, app)):

* a connection ``<env>-<app>`` logging in as the database's admin, whose initial password
  Vault replaces at once (``database/rotate-root/<env>-<app>``), so neither the stack's
  config nor its state keeps a working admin credential;
* a dynamic role ``<env>-<app>``, the only role the connection allows, whose creation
  statements create a login valid until the lease's expiration with exactly the declared
  grant (CONNECT on the database, USAGE on the schemas, SELECT, or SELECT, INSERT, UPDATE
  and DELETE on their tables, and USAGE on their sequences for writes), and whose
  revocation statements end the user's sessions, revoke the grant and drop the user.

The app's policy reads ``database/creds/<env>-<app>`` and nothing else of the mount
(``app_database_rules``); the deployer's policy administers the mount's connections and roles
but never reads a credential (``DEPLOYER_DATABASE_RULES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import StackConfig
from components.config.databases import DatabaseConfig
from components.config.types import duration_seconds

DATABASE_MOUNT = "database"
PLUGIN = "postgresql-database-plugin"
# Vault hashes a user's password before sending it, so the clear password never reaches the server's logs.
PASSWORD_AUTHENTICATION = "scram-sha-256"
_PRIVILEGES = {"readonly": "SELECT", "readwrite": "SELECT, INSERT, UPDATE, DELETE"}

# What `pulumi up` (the deployer) does on the mount. The bootstrap job writes the deployer's
# policy once, before any app declares a database, so the connection and role paths end in a
# glob: it reaches the mount's connections, roles and root rotations only, never
# `database/creds/*` (the deployer mints no user) nor static roles (tests/test_vault_databases.py).
DEPLOYER_DATABASE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (f"sys/mounts/{DATABASE_MOUNT}", ("create", "read", "update", "delete")),
    (f"sys/mounts/{DATABASE_MOUNT}/tune", ("read", "update")),
    (f"{DATABASE_MOUNT}/config/*", ("create", "read", "update", "delete", "list")),
    (f"{DATABASE_MOUNT}/roles/*", ("create", "read", "update", "delete", "list")),
    (f"{DATABASE_MOUNT}/rotate-root/*", ("update",)),
)


@dataclass(frozen=True)
class DatabaseRole:
    """One (environment, app)'s connection and dynamic role, named alike."""

    env: str
    app: str
    database: DatabaseConfig

    @property
    def name(self) -> str:
        """The connection's and the role's name, `<env>-<app>` (an app name never holds `/`)."""
        return f"{self.env}-{self.app}"

    @property
    def creds_path(self) -> str:
        return f"{DATABASE_MOUNT}/creds/{self.name}"

    @property
    def rotate_root_path(self) -> str:
        return f"{DATABASE_MOUNT}/rotate-root/{self.name}"

    @property
    def connection_url(self) -> str:
        """The URL Vault fills with the admin's username and password (both escaped by Vault)."""
        db = self.database
        return f"postgresql://{{{{username}}}}:{{{{password}}}}@{db.host}:{db.port}/{db.name}?sslmode={db.ssl_mode}"

    @property
    def default_ttl_seconds(self) -> int:
        return duration_seconds(self.database.default_ttl)

    @property
    def max_ttl_seconds(self) -> int:
        return duration_seconds(self.database.max_ttl)


def database_roles(settings: StackConfig) -> list[DatabaseRole]:
    """Every declared database of the stack, in config order."""
    return [
        DatabaseRole(env, app.name, app.database)
        for env, cfg in settings.environments.items()
        for app in cfg.apps
        if app.database is not None
    ]


def _quote(identifier: str) -> str:
    """A PostgreSQL identifier, quoted (config allows only [a-z0-9_], so no quote to escape)."""
    return f'"{identifier}"'


def creation_statements(db: DatabaseConfig) -> list[str]:
    """A login valid until the lease ends, with exactly the declared grant."""
    statements = [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        f'GRANT CONNECT ON DATABASE {_quote(db.name)} TO "{{{{name}}}}";',
    ]
    for schema in db.grant.schemas:
        statements += [
            f'GRANT USAGE ON SCHEMA {_quote(schema)} TO "{{{{name}}}}";',
            f'GRANT {_PRIVILEGES[db.grant.access]} ON ALL TABLES IN SCHEMA {_quote(schema)} TO "{{{{name}}}}";',
        ]
        if db.grant.access == "readwrite":  # inserts into identity/serial columns draw from sequences
            statements.append(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA {_quote(schema)} TO "{{{{name}}}}";')
    return statements


def revocation_statements(db: DatabaseConfig) -> list[str]:
    """End the user's sessions, revoke what creation granted and drop the user."""
    statements = ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';"]
    for schema in db.grant.schemas:
        statements += [
            f'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {_quote(schema)} FROM "{{{{name}}}}";',
            f'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA {_quote(schema)} FROM "{{{{name}}}}";',
            f'REVOKE USAGE ON SCHEMA {_quote(schema)} FROM "{{{{name}}}}";',
        ]
    statements += [
        f'REVOKE CONNECT ON DATABASE {_quote(db.name)} FROM "{{{{name}}}}";',
        'DROP ROLE IF EXISTS "{{name}}";',
    ]
    return statements


def app_database_rules(env: str, app: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The app's grant on the mount: read (a new user) on its own role's creds, an exact path."""
    return ((f"{DATABASE_MOUNT}/creds/{env}-{app}", ("read",)),)
