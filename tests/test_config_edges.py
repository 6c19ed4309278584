"""Stack-file mistakes at the edges: wrong-typed scalars, a source's settings on another source, the
length bounds, an app without secrets. Issue 19: mutation survivors of components/config/."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from tests.conftest import raw_with_secrets, stack_config_objects

# --- Config: the survivors in stack.py and environments.py -------------------------------------

def _config_problems(edit: Any = None, **scalars: str) -> list[str]:
    """The ``  - <path>: <problem>`` lines parse_stack_config reports for the dev stack, edited."""

    config = stack_config_objects("dev")
    if edit is not None:
        edit(config)
    raw, keys = raw_with_secrets(config)
    try:
        parse_stack_config({**raw, **scalars}, "dev", keys)
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines() if line.startswith("  - ")]
    return []


@pytest.mark.parametrize(("key", "text"), [("vaultPhase", "two"), ("vaultPhase", "1.5"), ("protectStateful", "yes")])
def test_a_scalar_of_the_wrong_type_is_a_config_error_not_a_crash(key: str, text: str) -> None:
    problems = _config_problems(**{key: text})
    assert [p for p in problems if p.startswith(f"- platform:{key}: has the wrong type. Fix: ")], problems


def _first(source: str) -> tuple[str, int, int, dict[str, Any]]:
    """(environment, app index, secret index, secret) of the dev stack's first secret of ``source``."""
    for env, body in stack_config_objects("dev")["platform:environments"].items():
        for i, app in enumerate(body["apps"]):
            for j, secret in enumerate(app["secrets"]):
                if secret["source"] == source:
                    return env, i, j, secret
    raise AssertionError(f"the dev stack has no secret of source {source}")


def _edit_secret(source: str, **changes: Any) -> tuple[str, list[str]]:
    env, i, j, _ = _first(source)

    def edit(config: dict[str, Any]) -> None:
        secret = config["platform:environments"][env]["apps"][i]["secrets"][j]
        for key, value in changes.items():
            if value is None:
                secret.pop(key, None)
            else:
                secret[key] = value

    return f"platform:environments.{env}.apps[{i}].secrets[{j}]", _config_problems(edit)


@pytest.mark.parametrize(("setting", "value"), [("length", 32), ("charset", "alphanumeric"), ("rotation", "2026-11")])
def test_random_only_settings_on_a_config_secret_are_refused(setting: str, value: Any) -> None:
    path, problems = _edit_secret("config", **{setting: value})
    assert problems == [f"- {path}.{setting}: applies only to source random, not config. Fix: remove it."], problems


def test_config_key_on_a_random_secret_is_refused() -> None:
    path, problems = _edit_secret("random", configKey="someKey")
    assert [p for p in problems if p.startswith(f"- {path}.configKey: applies only to source config, not random.")], problems


def test_a_config_secret_needs_its_config_key() -> None:
    path, problems = _edit_secret("config", configKey=None)
    assert [p for p in problems if p.startswith(f"- {path}.configKey: is required for source config.")], problems


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True), (128, True), (129, False)])
def test_random_length_bounds_are_16_and_128_inclusive(length: int, accepted: bool) -> None:
    path, problems = _edit_secret("random", length=length)
    assert problems == ([] if accepted else [f"- {path}.length: must be between 16 and 128. Fix: set a length of 16 to 128."])


@pytest.mark.parametrize("setting", ["length", "charset", "rotation"])
def test_a_random_secret_needs_length_charset_and_rotation(setting: str) -> None:
    path, problems = _edit_secret("random", **{setting: None})
    assert [p for p in problems if p.startswith(f"- {path}.{setting}: is required for source random.")], problems


def test_an_app_with_no_secrets_is_refused() -> None:
    env, i, _, _ = _first("random")

    def edit(config: dict[str, Any]) -> None:
        config["platform:environments"][env]["apps"][i]["secrets"] = []

    problems = _config_problems(edit)
    assert [p for p in problems if p.startswith(f"- platform:environments.{env}.apps[{i}].secrets: ")], problems
