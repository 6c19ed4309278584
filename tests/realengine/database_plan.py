"""Apply the plan's Vault database engine to a real OpenBao and PostgreSQL, as `pulumi up` would.

The recorded plan (resources.json's objects) is read, not rebuilt: each Vault resource's inputs
become the API write the provider makes for it (terraform-provider-vault: a connection's
`postgresql` block is flattened into the write's top level, `allowed_roles` a list; an
`Endpoint` writes its path). Only what a local server cannot be is translated: the connection
URL's host and port point at the local PostgreSQL and `sslmode` is `disable` (it serves no TLS),
and the admin's password is the value the operator set with `pulumi config set --secret` (the
plan holds "[secret]" there).

The DBA's part, which the platform does not do (docs/databases.md), is `prepare_database`: the
database, the admin login with its initial password, the schemas of the grant and one table each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.realengine.openbao import OpenBao
from tests.realengine.postgres import Postgres

MOUNT = "vault:index/mount:Mount"
POLICY = "vault:index/policy:Policy"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
ROLE = "vault:database/secretBackendRole:SecretBackendRole"
ENDPOINT = "vault:generic/endpoint:Endpoint"
SECRET = "[secret]"
OTHER_SCHEMA = "other_app"  # a schema of the same database that no grant names
_URL = re.compile(r"^(?P<head>postgresql://\{\{username\}\}:\{\{password\}\}@)[^/]+(?P<db>/[a-z0-9_]+)\?sslmode=[a-z-]+$")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class PlannedDatabase:
    """One planned connection and its role, read from the plan."""

    name: str  # connection and role, `<env>-<app>`
    database: str
    admin: str
    schemas: tuple[str, ...]
    connection: Mapping[str, Any]
    role: Mapping[str, Any]


def planned_databases(resources: Iterable[Mapping[str, Any]]) -> list[PlannedDatabase]:
    resources = list(resources)
    roles = {r["inputs"]["name"]: r["inputs"] for r in resources if r["type"] == ROLE}
    out = []
    for c in (r["inputs"] for r in resources if r["type"] == CONNECTION):
        url = _URL.match(c["postgresql"]["connectionUrl"])
        assert url is not None, c["postgresql"]["connectionUrl"]
        role = roles[c["name"]]
        schemas = tuple(sorted(set(re.findall(r'ON SCHEMA "([a-z0-9_]+)"', " ".join(role["creationStatements"])))))
        out.append(PlannedDatabase(c["name"], url["db"][1:], c["postgresql"]["username"], schemas, c, role))
    return out


def prepare_database(pg: Postgres, db: PlannedDatabase, initial_password: str) -> None:
    """What the database's owner does before the platform configures Vault (docs/databases.md)."""
    pg.admin(
        f'CREATE ROLE "{db.admin}" WITH LOGIN CREATEROLE PASSWORD \'{initial_password}\'',
        f'GRANT pg_signal_backend TO "{db.admin}"',  # revocation ends the user's sessions
        f'CREATE DATABASE "{db.database}"',
        f'REVOKE CONNECT ON DATABASE "{db.database}" FROM PUBLIC',  # only granted users connect
        f'GRANT CONNECT ON DATABASE "{db.database}" TO "{db.admin}" WITH GRANT OPTION',
    )
    statements = []
    for schema in (*db.schemas, OTHER_SCHEMA):
        statements += [f'CREATE SCHEMA "{schema}"', f'CREATE TABLE "{schema}".items (id serial PRIMARY KEY, label text)',
                       f"INSERT INTO \"{schema}\".items (label) VALUES ('seed')"]
    for schema in db.schemas:
        statements += [f'GRANT USAGE ON SCHEMA "{schema}" TO "{db.admin}" WITH GRANT OPTION',
                       f'GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA "{schema}" TO "{db.admin}" WITH GRANT OPTION',
                       f'GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{db.admin}" WITH GRANT OPTION']
    pg.admin(*statements, dbname=db.database)


def connection_write(connection: Mapping[str, Any], pg: Postgres, password: str | None) -> dict[str, Any]:
    """The provider's write of a connection; without `password` as on an update that does not change it,
    or when the plan has none (admin source external)."""
    body: dict[str, Any] = {_snake(k): v for k, v in connection.items() if k not in ("postgresql", "backend", "name")}
    for key, value in connection["postgresql"].items():
        body[_snake(key)] = value
    url = _URL.match(body["connection_url"])
    assert url is not None
    body["connection_url"] = f"{url['head']}127.0.0.1:{pg.port}{url['db']}?sslmode=disable"
    body.pop("password", None)
    if password is not None and "password" in connection["postgresql"]:  # source config; external: the owner writes it
        assert connection["postgresql"]["password"] == SECRET
        body["password"] = password
    return body


def apply_database_plan(bao: OpenBao, pg: Postgres, resources: Iterable[Mapping[str, Any]], admin_password: str,
                        token: str | None = None) -> None:
    """Every planned database resource and policy, in the plan's registration order (its dependency order),
    as ``token`` (the deployer's, as `pulumi up` logs in; the root token by default)."""
    token = token or bao.root_token
    for r in resources:
        i = r["inputs"]
        if r["type"] == MOUNT and i["type"] == "database":
            bao.request("POST", f"sys/mounts/{i['path']}", token=token, body={"type": "database", "description": i["description"]})
        elif r["type"] == POLICY:
            bao.request("PUT", f"sys/policies/acl/{i['name']}", token=token, body={"policy": i["policy"]})
        elif r["type"] == CONNECTION:
            bao.request("POST", f"{i['backend']}/config/{i['name']}", token=token, body=connection_write(i, pg, admin_password))
        elif r["type"] == ENDPOINT:
            assert i["disableRead"] and i["disableDelete"]
            bao.request("POST", i["path"], token=token, body={})
        elif r["type"] == ROLE:
            body = {_snake(k): v for k, v in i.items() if k not in ("backend", "name")}
            bao.request("POST", f"{i['backend']}/roles/{i['name']}", token=token, body=body)
