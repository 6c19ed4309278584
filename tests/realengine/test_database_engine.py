"""The dev plan's database engine, applied to a real OpenBao and a real PostgreSQL: what each lease's user can do.

The plan is applied with a token of the deployer's policy (the bootstrap job's), so the deployer's
database part is proved sufficient as well.

One PostgreSQL and one OpenBao serve the module; every test takes its own leases.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.config.databases import DatabaseConfig
from components.vault import jobs
from components.vault import names as vault_names
from components.vault_databases import database_roles
from components.vault_policies import app_policy_name, eso_policy_name
from planner.run import Recording, run_program
from tests.conftest import stack_input_from_objects, stack_settings
from tests.realengine.database_plan import (
    CONNECTION,
    ENDPOINT,
    OTHER_SCHEMA,
    ROLE,
    PlannedDatabase,
    apply_database_plan,
    connection_write,
    planned_databases,
    prepare_database,
)
from tests.realengine.openbao import BaoError, OpenBao
from tests.realengine.postgres import Postgres

STACK = "dev"


@dataclass
class Engine:
    bao: OpenBao
    pg: Postgres
    admin_password: str  # what `pulumi config set --secret <admin.configKey>` held
    planned: dict[str, PlannedDatabase]  # by `<env>-<app>`
    declared: dict[str, DatabaseConfig]  # the stack file's, by `<env>-<app>`
    deployer_token: str  # what applied the plan

    def lease(self, role: str, token: str | None = None) -> dict[str, Any]:
        return self.bao.request("GET", f"database/creds/{role}", token=token or self.bao.root_token)

    def login(self, role: str, creds: dict[str, Any]) -> psycopg.Connection[Any]:
        return self.pg.connect(creds["data"]["username"], creds["data"]["password"], self.planned[role].database)

    def token(self, policy: str) -> str:
        created = self.bao.request("POST", "auth/token/create", token=self.bao.root_token,
                                   body={"policies": [policy], "no_default_policy": True, "ttl": "5m"})
        return str(created["auth"]["client_token"])

    def role_of(self, access: str) -> str:
        return next(name for name, db in self.declared.items() if db.grant.access == access)


@pytest.fixture(scope="module")
def engine(recording: Callable[..., Recording], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    resources = recording(STACK).resources
    planned = {db.name: db for db in planned_databases(resources)}
    declared = {db.name: db.database for db in database_roles(stack_settings(STACK))}
    assert set(planned) == set(declared) and planned
    admin_password = secrets.token_urlsafe(24)
    pg = Postgres()
    bao = OpenBao(Path(tmp_path_factory.mktemp("openbao")))
    try:
        pg.start()
        bao.dev()
        for db in planned.values():
            prepare_database(pg, db, admin_password)
        # As `pulumi up` runs it: a token of the deployer's policy, as the bootstrap job writes it.
        scripts = next(r for r in resources if r["type"] == "kubernetes:core/v1:ConfigMap" and r["name"] == "vault-bootstrap-scripts")
        bao.request("PUT", f"sys/policies/acl/{vault_names.DEPLOYER_POLICY}", token=bao.root_token,
                    body={"policy": scripts["inputs"]["data"][jobs.DEPLOYER_POLICY_FILE]})
        deployer = bao.request("POST", "auth/token/create", token=bao.root_token,
                               body={"policies": [vault_names.DEPLOYER_POLICY], "no_default_policy": True, "ttl": "10m"})
        apply_database_plan(bao, pg, resources, admin_password, token=deployer["auth"]["client_token"])
        yield Engine(bao, pg, admin_password, planned, declared, deployer["auth"]["client_token"])
    finally:
        bao.stop()
        pg.stop()


def _refused(conn: psycopg.Connection[Any], statement: str) -> bool:
    try:
        conn.execute(statement)  # type: ignore[arg-type]  # the tests' own literal SQL
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_a_readwrite_lease_reads_and_writes_its_schemas_and_nothing_else(engine: Engine) -> None:
    role = engine.role_of("readwrite")
    creds = engine.lease(role)
    assert creds["lease_duration"] == engine.planned[role].role["defaultTtl"]
    with engine.login(role, creds) as conn:
        for schema in engine.declared[role].grant.schemas:
            assert conn.execute(f'SELECT count(*) FROM "{schema}".items').fetchone() == (1,)
            conn.execute(f"INSERT INTO \"{schema}\".items (label) VALUES ('by-the-app')")
            conn.execute(f"UPDATE \"{schema}\".items SET label = 'updated' WHERE label = 'by-the-app'")
            conn.execute(f"DELETE FROM \"{schema}\".items WHERE label = 'updated'")
            assert _refused(conn, f'CREATE TABLE "{schema}".intruder (id int)')
            assert _refused(conn, f'TRUNCATE "{schema}".items')
        assert _refused(conn, f'SELECT * FROM "{OTHER_SCHEMA}".items')
        assert _refused(conn, f"INSERT INTO \"{OTHER_SCHEMA}\".items (label) VALUES ('x')")
        assert _refused(conn, "CREATE ROLE intruder")


def test_a_readonly_lease_reads_but_every_write_fails(engine: Engine) -> None:
    role = engine.role_of("readonly")
    with engine.login(role, engine.lease(role)) as conn:
        for schema in engine.declared[role].grant.schemas:
            assert conn.execute(f'SELECT label FROM "{schema}".items').fetchall() == [("seed",)]
            assert _refused(conn, f"INSERT INTO \"{schema}\".items (label) VALUES ('x')")
            assert _refused(conn, f"UPDATE \"{schema}\".items SET label = 'x'")
            assert _refused(conn, f'DELETE FROM "{schema}".items')
        assert _refused(conn, f'SELECT * FROM "{OTHER_SCHEMA}".items')


def test_a_lease_user_cannot_connect_to_another_apps_database(engine: Engine) -> None:
    role = engine.role_of("readwrite")
    creds = engine.lease(role)
    for other in (db for name, db in engine.planned.items() if db.database != engine.planned[role].database):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            engine.pg.connect(creds["data"]["username"], creds["data"]["password"], other.database)


def test_revoking_the_lease_ends_the_session_and_drops_the_user(engine: Engine) -> None:
    role = engine.role_of("readwrite")
    creds = engine.lease(role)
    conn = engine.login(role, creds)
    assert conn.execute("SELECT current_user").fetchone() == (creds["data"]["username"],)
    engine.bao.request("PUT", "sys/leases/revoke", token=engine.bao.root_token, body={"lease_id": creds["lease_id"]})
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        engine.login(role, creds)
    engine.pg.admin(f"DO $$ BEGIN ASSERT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{creds['data']['username']}'); END $$")


def test_the_lease_ttl_ends_the_login(engine: Engine) -> None:
    """The planned role's statements under a 2 s lease (a copy named `<role>-ttl`: the plan's TTLs are minutes)."""
    role = engine.role_of("readonly")
    planned = engine.planned[role]
    short = f"{role}-ttl"
    # An update of the connection without its password, as the provider sends once the password is
    # unchanged: Vault keeps the credential rotate-root set, so the connection keeps working.
    body = connection_write(planned.connection, engine.pg, None)
    body["allowed_roles"] = [role, short]
    engine.bao.request("POST", f"database/config/{planned.name}", token=engine.bao.root_token, body=body)
    engine.bao.request("POST", f"database/roles/{short}", token=engine.bao.root_token, body={
        "db_name": planned.role["dbName"], "creation_statements": planned.role["creationStatements"],
        "revocation_statements": planned.role["revocationStatements"], "default_ttl": 2, "max_ttl": 2,
    })
    creds = engine.lease(short)
    conn = engine.login(role, creds)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            conn.execute("SELECT 1")
        except psycopg.OperationalError:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the session outlived its lease")
    conn.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        engine.login(role, creds)


def test_the_admins_initial_password_no_longer_works_after_rotate_root(engine: Engine) -> None:
    for db in engine.planned.values():
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            engine.pg.connect(db.admin, engine.admin_password, db.database)
        # Vault still logs in with the password only it knows: it issues users.
        assert engine.lease(db.name)["data"]["username"].startswith("v-")


def test_only_the_apps_own_token_reads_its_role(engine: Engine) -> None:
    """Each app's policy (from the plan) mints its own role's users; other apps, environments and stores get 403."""
    for name in engine.planned:
        env, app = name.split("-", 1)
        token = engine.token(app_policy_name(env, app))
        assert engine.lease(name, token)["data"]["username"]
        for other in set(engine.planned) - {name}:
            with pytest.raises(BaoError) as denied:
                engine.lease(other, token)
            assert denied.value.status == 403, other
        for call in (("GET", f"database/roles/{name}"), ("GET", f"database/config/{name}"), ("POST", f"database/rotate-root/{name}")):
            with pytest.raises(BaoError) as denied:
                engine.bao.request(*call, token=token)
            assert denied.value.status == 403, call
        for other_token in (engine.token(eso_policy_name(env)), engine.deployer_token):  # a store; the deployer mints no user
            with pytest.raises(BaoError) as denied:
                engine.lease(name, other_token)
            assert denied.value.status == 403


def test_an_external_admin_password_is_written_by_its_owner_then_rotated(
    edited_config: Callable[[str], dict[str, Any]], tmp_path: Path
) -> None:
    """Admin source `external`: the plan holds no password and verifies nothing; the owner's two writes
    (docs/databases.md) make the connection work, and rotate-root ends the password they used."""
    config = edited_config(STACK)
    env, app = next((env, app) for env, cfg in config["platform:environments"].items() for app in cfg["apps"] if "database" in app)
    app["database"]["admin"] = {"username": app["database"]["admin"]["username"], "source": "external"}
    name = f"{env}-{app['name']}"
    resources = [r for r in run_program(stack_input_from_objects(STACK, config)).resources  # this database's, and the mount
                 if r["type"] not in (CONNECTION, ROLE, ENDPOINT)
                 or name in (r["inputs"].get("name"), r["inputs"].get("path", "").rsplit("/", 1)[-1])]
    [planned] = planned_databases(resources)
    assert planned.connection["verifyConnection"] is False and "password" not in planned.connection["postgresql"]
    assert not [r for r in resources if r["type"] == ENDPOINT], "nothing to rotate before the owner writes the password"
    owners_password = secrets.token_urlsafe(24)
    pg, bao = Postgres(), OpenBao(tmp_path / "openbao")
    try:
        pg.start()
        bao.dev()
        prepare_database(pg, planned, owners_password)
        apply_database_plan(bao, pg, resources, "not-sent")
        with pytest.raises(BaoError):
            bao.request("GET", f"database/creds/{name}", token=bao.root_token)
        bao.request("POST", f"database/config/{name}", token=bao.root_token, body={"password": owners_password})
        assert bao.request("GET", f"database/creds/{name}", token=bao.root_token)["data"]["username"]
        bao.request("POST", f"database/rotate-root/{name}", token=bao.root_token, body={})
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            pg.connect(planned.admin, owners_password, planned.database)
        assert bao.request("GET", f"database/creds/{name}", token=bao.root_token)["data"]["username"]
    finally:
        bao.stop()
        pg.stop()


def test_postgres_stop_leaves_no_process_and_no_data_behind() -> None:
    pg = Postgres().start()
    assert pg.process is not None and pg.workdir is not None
    pid, workdir = pg.process.pid, pg.workdir
    pg.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not workdir.exists()
