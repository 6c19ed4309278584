"""Shared fixtures: run the real program for a stack (or an edited config) under the plan's mocks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import StackConfig, parse_stack_config, referenced_config_keys
from planner.run import Recording, run_program
from planner.stackfile import StackInput, add_referenced_secret_keys, placeholder_for, read_stack

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "prod")


def stack_config_objects(stack: str) -> dict[str, Any]:
    """The stack file's config as YAML objects (not yet stringified), for editing in tests."""
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def _flatten(config: dict[str, Any]) -> dict[str, str]:
    """Stack-file objects -> full key -> the string Pulumi hands the program."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        full = key if ":" in key else f"platform:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            flat[full] = placeholder_for(full)
        elif isinstance(value, (dict, list)):
            flat[full] = json.dumps(value, sort_keys=True)
        elif isinstance(value, bool):
            flat[full] = "true" if value else "false"
        else:
            flat[full] = str(value)
    return flat


def stack_input_from_objects(stack: str, config: dict[str, Any], secret_keys: list[str] | None = None) -> StackInput:
    """Build the program's input from edited objects, exactly as read_stack would from a file."""
    base = read_stack(ROOT, stack)
    flat = _flatten(config)
    found = {k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}}
    add_referenced_secret_keys(flat, found, base.project)
    keys = sorted(found) if secret_keys is None else secret_keys
    return StackInput(project=base.project, stack=stack, config=flat, secret_keys=sorted(keys))


def config_secret_keys(config: dict[str, Any]) -> list[str]:
    """The top-level keys (without the project) that the config's apps name with ``configKey``."""
    return sorted(referenced_config_keys(config.get("platform:environments")))


def raw_with_secrets(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """What parse_stack_config gets for these objects: (top-level key -> string, secret keys), every
    named config key set as a secret (as after `pulumi config set --secret`)."""
    flat = _flatten(config)
    raw = {k.split(":", 1)[1]: v for k, v in flat.items() if k.startswith("platform:")}
    secure = [k.split(":", 1)[1] for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}]
    secrets = sorted({*config_secret_keys(config), *secure})
    raw.update({k: raw.get(k, placeholder_for(f"platform:{k}")) for k in secrets})
    return raw, secrets


def secret_config(stack: str) -> tuple[dict[str, str], list[str]]:
    """The stack's secret config keys, each with a placeholder: (raw values, secret keys)."""
    raw, secrets = raw_with_secrets(stack_config_objects(stack))
    return {key: raw[key] for key in secrets}, secrets


def stack_settings(stack: str, **edits: Any) -> StackConfig:
    """The stack file's validated settings, with top-level keys replaced by ``edits``."""
    config = stack_config_objects(stack)
    config.update({f"platform:{k}": v for k, v in edits.items()})
    raw, secrets = raw_with_secrets(config)
    return parse_stack_config(raw, stack, secrets)


_CACHE: dict[tuple[str, str], Recording] = {}


@pytest.fixture(scope="session")
def recording() -> Callable[..., Recording]:
    """recording("dev") -> the program's registrations for that stack file (cached per session)."""

    def get(stack: str, phase: int | None = None) -> Recording:
        key = (stack, str(phase))
        if key not in _CACHE:
            overrides = {"platform:vaultPhase": str(phase)} if phase else None
            _CACHE[key] = run_program(read_stack(ROOT, stack, overrides))
        return _CACHE[key]

    return get


@pytest.fixture
def edited_config() -> Callable[[str], dict[str, Any]]:
    """A deep copy of a stack's config objects, for one test to edit."""
    return lambda stack: copy.deepcopy(stack_config_objects(stack))



@pytest.fixture(scope="session")
def vault_recording(recording: Callable[..., Recording]) -> Callable[[str], Recording]:
    """The phase-2 program, where VaultConfig registers Vault's own configuration."""
    return lambda stack: recording(stack)
