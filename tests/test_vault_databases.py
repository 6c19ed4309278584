"""Vault's database engine: the builders as a spec, and what the plan registers for every declared database."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from components.config.databases import DatabaseAdmin, DatabaseConfig, DatabaseGrant
from components.vault import jobs
from components.vault_databases import (
    DEPLOYER_DATABASE_RULES,
    creation_statements,
    database_roles,
    revocation_statements,
)
from components.vault_policies import app_policy, eso_policy, preview_policy
from planner.run import Recording, run_program
from planner.vault_access import allowed_capabilities, parse_policy
from tests.conftest import STACKS, stack_input_from_objects, stack_settings

SECRET = "[secret]"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
ROLE = "vault:database/secretBackendRole:SecretBackendRole"
ENDPOINT = "vault:generic/endpoint:Endpoint"
MOUNT = "vault:index/mount:Mount"


def _db(access: str = "readonly", schemas: tuple[str, ...] = ("payments",)) -> DatabaseConfig:
    return DatabaseConfig(host="db.example.internal", name="payments_staging", cidrs=["10.30.0.0/24"],
                          admin=DatabaseAdmin(username="vault_admin", source="external"),
                          grant=DatabaseGrant(access=access, schemas=list(schemas)))


# --- statements -------------------------------------------------------------------------------

def test_readonly_creation_grants_connect_usage_and_select_only() -> None:
    assert creation_statements(_db("readonly", ("payments", "ledger"))) == [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
        'GRANT CONNECT ON DATABASE "payments_staging" TO "{{name}}";',
        'GRANT USAGE ON SCHEMA "payments" TO "{{name}}";',
        'GRANT SELECT ON ALL TABLES IN SCHEMA "payments" TO "{{name}}";',
        'GRANT USAGE ON SCHEMA "ledger" TO "{{name}}";',
        'GRANT SELECT ON ALL TABLES IN SCHEMA "ledger" TO "{{name}}";',
    ]


def test_readwrite_creation_adds_writes_and_sequences_but_never_ddl() -> None:
    statements = creation_statements(_db("readwrite"))
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "payments" TO "{{name}}";' in statements
    assert 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "payments" TO "{{name}}";' in statements
    text = " ".join(statements).upper()
    for never in ("CREATE ON", "TRUNCATE", "REFERENCES", "TRIGGER", "ALL PRIVILEGES", "SUPERUSER;", " CREATEROLE "):
        assert never not in text, never


def test_revocation_ends_sessions_revokes_and_drops_the_user() -> None:
    statements = revocation_statements(_db("readwrite"))
    assert statements[0] == "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';"
    assert statements[-1] == 'DROP ROLE IF EXISTS "{{name}}";'
    assert 'REVOKE CONNECT ON DATABASE "payments_staging" FROM "{{name}}";' in statements


# --- policies ---------------------------------------------------------------------------------

def test_an_apps_policy_mints_users_of_its_own_role_only() -> None:
    rules = parse_policy(app_policy("staging", "payments", database=True).hcl())
    assert allowed_capabilities([rules], "database/creds/staging-payments") == {"read"}
    for other in ("database/creds/staging-payments-admin", "database/creds/production-payments",
                  "database/creds/staging-api", "database/roles/staging-payments", "database/config/staging-payments",
                  "database/rotate-root/staging-payments"):
        assert allowed_capabilities([rules], other) == frozenset(), other
    assert "database/" not in app_policy("staging", "api").hcl()


def test_stores_and_previews_mint_no_database_user() -> None:
    for policy in (eso_policy("staging"), preview_policy()):
        assert allowed_capabilities([parse_policy(policy.hcl())], "database/creds/staging-payments") == frozenset()


def test_the_deployers_database_part_administers_the_mount_but_mints_no_user() -> None:
    """The globs' reach: connections, roles, root rotations of the `database` mount; nothing else."""
    rules = parse_policy(jobs.deployer_policy_hcl("kubernetes", "aws", "preview"))
    assert {path: rules[path] for path, _ in DEPLOYER_DATABASE_RULES} == {p: frozenset(c) for p, c in DEPLOYER_DATABASE_RULES}
    reach = {
        "database/config/staging-payments": {"create", "read", "update", "delete", "list"},
        "database/roles/staging-payments": {"create", "read", "update", "delete", "list"},
        "database/rotate-root/staging-payments": {"update"},
        "database/creds/staging-payments": set(),
        "database/static-roles/x": set(),
        "database/static-creds/x": set(),
        "database/rotate-role/x": set(),
        "database/reset/staging-payments": set(),
    }
    only_database = {p: c for p, c in rules.items() if p.startswith("database/")}
    for path, expected in reach.items():
        assert allowed_capabilities([only_database], path) == expected, path


# --- the plan -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_one_connection_rotation_and_role_per_declared_database(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    declared = database_roles(stack_settings(stack))
    assert declared
    [mount] = [m for m in rec.by_type(MOUNT) if m["inputs"]["type"] == "database"]
    assert mount["inputs"]["path"] == "database"
    assert sorted(c["inputs"]["name"] for c in rec.by_type(CONNECTION)) == sorted(d.name for d in declared)
    for db in declared:
        connection = rec.one(CONNECTION, f"db-{db.name}")
        i = connection["inputs"]
        assert i["allowedRoles"] == [db.name] and i["backend"] == "database"
        assert i["pluginName"] == "postgresql-database-plugin" and i["verifyConnection"] is True
        pg = i["postgresql"]
        assert pg["connectionUrl"] == (f"postgresql://{{{{username}}}}:{{{{password}}}}@{db.database.host}:{db.database.port}/"
                                       f"{db.database.name}?sslmode=verify-full")
        assert pg["username"] == db.database.admin.username
        assert pg["password"] == SECRET, "the admin's initial password must be a secret in state"
        assert pg["passwordAuthentication"] == "scram-sha-256"
        rotate = rec.one(ENDPOINT, f"db-{db.name}-rotate-root")
        assert rotate["inputs"]["path"] == f"database/rotate-root/{db.name}"
        assert rotate["inputs"]["disableRead"] is True and rotate["inputs"]["disableDelete"] is True
        assert connection["urn"] in rotate["dependencies"], "rotate-root must run after the connection exists"
        role = rec.one(ROLE, f"db-{db.name}")["inputs"]
        assert role["name"] == db.name and role["dbName"] == db.name
        assert role["creationStatements"] == creation_statements(db.database)
        assert role["revocationStatements"] == revocation_statements(db.database)
        assert (role["defaultTtl"], role["maxTtl"]) == (db.default_ttl_seconds, db.max_ttl_seconds)


def test_phase_one_registers_no_database_engine(recording: Callable[..., Recording]) -> None:
    rec = recording("dev", 1)
    assert not rec.by_type(CONNECTION) and not rec.by_type(ROLE)


def test_a_stack_without_databases_has_no_database_mount(edited_config: Callable[[str], dict[str, Any]]) -> None:
    config = edited_config("dev")
    for env in config["platform:environments"].values():
        for app in env["apps"]:
            app.pop("database", None)
    stack_input = stack_input_from_objects("dev", config)
    unused = {f"platform:{db.database.admin.config_key}" for db in database_roles(stack_settings("dev"))}
    stack_input = dataclasses.replace(stack_input, config={k: v for k, v in stack_input.config.items() if k not in unused},
                                      secret_keys=[k for k in stack_input.secret_keys if k not in unused])
    rec = run_program(stack_input)
    assert [m["inputs"]["type"] for m in rec.by_type(MOUNT)] == ["kv"]
    assert not rec.by_type(CONNECTION) and not rec.by_type(ROLE) and not rec.by_type(ENDPOINT)


def test_vault_servers_reach_each_database_network_on_its_port_only() -> None:
    from components.vault.network import NetworkInputs, network_policies

    inputs = NetworkInputs({"staging": ["payments"]}, ["10.10.0.0/16"], ["10.250.0.0/24"], ["0.0.0.0/0"],
                           databases=[(("10.30.0.0/24",), 5432), (("10.31.0.0/24", "10.31.1.0/24"), 6432)])
    server = next(p for p in network_policies(inputs) if p["metadata"]["name"] == "vault-server")
    database_rules = [r for r in server["spec"]["egress"] if any("ipBlock" in peer and peer["ipBlock"]["cidr"].startswith("10.3")
                                                                for peer in r["to"])]
    assert database_rules == [
        {"to": [{"ipBlock": {"cidr": "10.30.0.0/24"}}], "ports": [{"port": 5432, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "10.31.0.0/24"}}, {"ipBlock": {"cidr": "10.31.1.0/24"}}], "ports": [{"port": 6432, "protocol": "TCP"}]},
    ]
    others = [p for p in network_policies(inputs) if p["metadata"]["name"] != "vault-server"]
    assert "10.30.0.0/24" not in str(others), "only the servers (the database engine) reach the databases"


@pytest.mark.parametrize("stack", STACKS)
def test_the_summary_lists_every_declared_database(recording: Callable[..., Recording], stack: str) -> None:
    from planner.summary import _database_lines

    lines = _database_lines(stack_settings(stack))
    declared = database_roles(stack_settings(stack))
    assert lines[1] == "## Databases" and len(lines) == 5 + len(declared)
    for db, line in zip(declared, lines[5:], strict=True):
        assert line.startswith(f"| {db.env} | {db.app} | `{db.database.name}`") and line.endswith(f"| `{db.creds_path}` |")
