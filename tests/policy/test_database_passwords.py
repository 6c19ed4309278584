"""no-static-password-beside-dynamic-database: an app with Vault-issued database users keeps no static password."""

from __future__ import annotations

import pytest

from planner.run import run_program
from policies.rules.registry import RULES_BY_NAME
from policies.runner import view_from_plan
from tests.conftest import stack_input_from_objects

RULE = "no-static-password-beside-dynamic-database"
ROLE = "vault:database/secretBackendRole:SecretBackendRole"
KV = "vault:kv/secretV2:SecretV2"
AWS = "aws:secretsmanager/secret:Secret"


def _stack(f, *secrets: tuple[str, str]):
    role = f.view(ROLE, {"backend": "database", "name": "staging-payments", "dbName": "staging-payments"}, name="db-staging-payments")
    return [role, *(f.view(type_, {"name": name}, name=name.replace("/", "-")) for type_, name in secrets)]


@pytest.mark.parametrize(("type_", "name"), [(KV, "staging/payments/db-password"), (AWS, "staging/payments/DB_PASSWORD"),
                                             (KV, "staging/payments/postgres-passwd")])
def test_a_static_password_of_an_app_with_a_database_fails(f, type_: str, name: str) -> None:
    findings = f.check_stack(RULE, _stack(f, (type_, name)))
    assert len(findings) == 1
    urn, message = findings[0]
    assert urn is not None and urn.endswith(name.replace("/", "-"))
    assert "database/creds/staging-payments" in message and name.rsplit("/", 1)[1] in message


@pytest.mark.parametrize(("type_", "name"), [
    (KV, "staging/api/db-password"),  # another app, without a database
    (KV, "development/payments/db-password"),  # the same app in another environment, without a database there
    (KV, "staging/payments-admin/db-password"),  # a prefix-named sibling
    (AWS, "staging/payments/stripe-api-key"),  # not a password
    (AWS, "vault/platform-dev/recovery"),  # not an app's secret
])
def test_other_secrets_pass(f, type_: str, name: str) -> None:
    assert f.check_stack(RULE, _stack(f, (type_, name))) == []


def test_the_words_are_a_setting(f) -> None:
    stack = _stack(f, (KV, "staging/payments/dsn"))
    assert f.check_stack(RULE, stack) == []
    assert len(f.check_stack(RULE, stack, passwordKeyWords=["dsn"])) == 1


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_committed_stacks_pass(recording, stack: str) -> None:
    views = [view_from_plan(r) for r in recording(stack).resources]
    assert any(v.type == ROLE for v in views)
    spec = RULES_BY_NAME[RULE]
    assert spec.stack_fn is not None and spec.stack_fn(views, spec.effective_config(None)) == []


def test_a_stack_file_giving_such_an_app_a_static_password_fails(edited_config) -> None:
    """The plan of a stack file where an app with a database also declares `db-password`."""
    config = edited_config("dev")
    env, app = next((env, app) for env, cfg in config["platform:environments"].items() for app in cfg["apps"] if "database" in app)
    app["secrets"].append({"key": "db-password", "backend": "vault", "source": "random", "length": 32,
                           "charset": "alphanumeric", "rotation": "1"})
    views = [view_from_plan(r) for r in run_program(stack_input_from_objects("dev", config)).resources]
    spec = RULES_BY_NAME[RULE]
    assert spec.stack_fn is not None
    findings = spec.stack_fn(views, spec.effective_config(None))
    assert [message for _, message in findings] == [
        f"App '{app['name']}' of '{env}' gets database users from Vault (database/creds/{env}-{app['name']}) "
        "and also keeps the static password 'db-password'."]
