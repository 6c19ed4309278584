"""An app's `database:` settings: every bad value stops the program with the key path and the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.config.types import duration_seconds
from tests.conftest import STACKS, secret_config, stack_config_objects, stack_settings

SECRET_LOOKING = "hunter2-" + "do-not-echo-me"


def _db_app(config: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """(environment, index, database) of the first app of the stack file that declares a database."""
    for env, env_cfg in config["platform:environments"].items():
        for i, app in enumerate(env_cfg["apps"]):
            if "database" in app:
                return env, i, app["database"]
    raise AssertionError("the dev stack declares no database")


def _problems(edit: Callable[[dict[str, Any]], None]) -> tuple[str, list[str]]:
    config = stack_config_objects("dev")
    env, i, _ = _db_app(config)
    edit(config)
    values, keys = secret_config("dev")
    raw = {k.split(":", 1)[1]: json.dumps(v) for k, v in config.items() if k.startswith("platform:")}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**raw, **values}, "dev", keys)
    assert SECRET_LOOKING not in str(caught.value)
    return f"platform:environments.{env}.apps[{i}].database", [issue.render() for issue in caught.value.issues]


def _set(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda config: _db_app(config)[2].update(changes)


def _without_vault_agent(config: dict[str, Any], **changes: Any) -> None:
    env, i, database = _db_app(config)
    config["platform:environments"][env]["apps"][i]["vaultAgent"] = False
    database.update(changes)


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("literal admin password", lambda c: _db_app(c)[2]["admin"].update(password=SECRET_LOOKING),
     ".admin.password", "secret values never go in a config object"),
    ("literal password at the database", _set(password=SECRET_LOOKING), ".password", "secret values never go in a config object"),
    ("unknown admin source", lambda c: _db_app(c)[2]["admin"].update(source="literal"), ".admin.source", "never the password itself"),
    ("config source without its key", lambda c: _db_app(c)[2]["admin"].pop("configKey"), ".admin.configKey",
     "is required for source config"),
    ("external source with a key", lambda c: _db_app(c)[2]["admin"].update(source="external"), ".admin.configKey",
     "applies only to source config, not external"),
    ("unknown grant", lambda c: _db_app(c)[2]["grant"].update(access="owner"), ".grant.access", "use `readonly` or `readwrite`"),
    ("no schema", lambda c: _db_app(c)[2]["grant"].update(schemas=[]), ".grant.schemas", "at least 1 item"),
    ("quoted schema name", lambda c: _db_app(c)[2]["grant"].update(schemas=['pay"; DROP ROLE x; --']), ".grant.schemas[0]",
     "lowercase PostgreSQL schema names"),
    ("schema twice", lambda c: _db_app(c)[2]["grant"].update(schemas=["payments", "payments"]), ".grant.schemas",
     "lists a schema twice"),
    ("default longer than max", _set(defaultTtl="2h", maxTtl="1h", refreshInterval="30m"), ".defaultTtl", "is longer than maxTtl"),
    ("lease too short", _set(defaultTtl="1m", refreshInterval="1m"), ".defaultTtl", "must be between 5m and 168h"),
    ("lease too long", _set(maxTtl="200h"), ".maxTtl", "must be between 5m and 168h"),
    ("refresh after half the lease", _set(defaultTtl="1h", refreshInterval="45m", delivery="eso"), ".refreshInterval",
     "more than half of defaultTtl"),
    ("port out of range", _set(port=70000), ".port", "use a port from 1 to 65535"),
    ("network with host bits", _set(cidrs=["10.30.0.1/24"]), ".cidrs[0]", "host bits zero"),
    ("no network", _set(cidrs=[]), ".cidrs", "at least 1 item"),
    ("database name with a dash", _set(name="payments-db"), ".name", "lowercase PostgreSQL name"),
    ("unknown delivery", _set(delivery="csi"), ".delivery", "use `eso`"),
    ("unknown engine", _set(engine="mysql"), ".engine", "use `postgresql`"),
    # The injector's delivery needs the app's pods to reach Vault, which only `vaultAgent` apps' pods do.
    ("agent delivery without vaultAgent", lambda c: _without_vault_agent(c, delivery="agent"), ".delivery", "set `vaultAgent: true` on the app"),
]


@pytest.mark.parametrize(("edit", "suffix", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_database_config_names_the_key_and_the_fix(edit: Callable[[dict[str, Any]], None], suffix: str, words: str) -> None:
    prefix, problems = _problems(edit)
    matching = [p for p in problems if p.startswith(f"platform:{prefix.removeprefix('platform:')}{suffix}: ")]
    assert matching, "\n".join(problems)
    assert any(words in p and ". Fix: " in p for p in matching), "\n".join(matching)


def test_two_connections_sharing_an_admin_login_are_refused() -> None:
    """Vault rotates each connection's admin password: a shared login would lock the other connection out."""

    def share(config: dict[str, Any]) -> None:
        env, _, db = _db_app(config)
        other = next(e for e in config["platform:environments"] if e != env)
        config["platform:environments"][other]["apps"][0]["database"] = json.loads(json.dumps(db))

    prefix, problems = _problems(share)
    assert any(".database.admin.username: is also the admin of " + prefix.removeprefix("platform:") in p for p in problems), problems


@pytest.mark.parametrize("stack", STACKS)
def test_admin_config_keys_are_secret_config_keys_of_the_stack(stack: str) -> None:
    settings = stack_settings(stack)
    admin_keys = {app.database.admin.config_key for env in settings.environments.values() for app in env.apps
                  if app.database is not None and app.database.admin.source == "config"}
    assert admin_keys and admin_keys <= set(settings.config_secret_keys())
    assert admin_keys <= set(secret_config(stack)[1])


def test_admin_password_stored_in_plain_text_is_refused() -> None:
    config = stack_config_objects("dev")
    key = _db_app(config)[2]["admin"]["configKey"]
    values, keys = secret_config("dev")
    raw = {k.split(":", 1)[1]: json.dumps(v) for k, v in config.items() if k.startswith("platform:")}
    with pytest.raises(ConfigError, match=rf"platform:{key}: is stored in plain text in the stack file"):
        parse_stack_config({**raw, **values}, "dev", [k for k in keys if k != key])


def test_dev_stack_declares_databases_each_with_its_own_database_and_login_and_both_deliveries() -> None:
    settings = stack_settings("dev")
    databases = [(env, app.database) for env, cfg in settings.environments.items() for app in cfg.apps if app.database]
    assert {env for env, _ in databases} == set(settings.environments)
    assert len({(d.host, d.name) for _, d in databases}) == len(databases)
    assert len({d.admin.username for _, d in databases}) == len(databases)
    assert {d.delivery for _, d in databases} == {"eso", "agent"}
    assert {d.grant.access for _, d in databases} == {"readonly", "readwrite"}


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("20m", 1200), ("24h", 86400)])
def test_duration_seconds(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def test_duration_seconds_refuses_other_units() -> None:
    with pytest.raises(ValueError):
        duration_seconds("1d")
