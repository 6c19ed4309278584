"""Shared fixtures: run the real program for a stack (or an edited config) under the plan's mocks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import StackConfig, parse_stack_config
from planner.run import Recording, run_program
from planner.stackfile import StackInput, read_stack

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "prod")


def stack_config_objects(stack: str) -> dict[str, Any]:
    """The stack file's config as YAML objects (not yet stringified), for editing in tests."""
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def stack_input_from_objects(stack: str, config: dict[str, Any], secret_keys: list[str] | None = None) -> StackInput:
    """Build the program's input from edited objects, exactly as read_stack would from a file."""
    base = read_stack(ROOT, stack)
    flat: dict[str, str] = {k: v for k, v in base.config.items() if k in base.secret_keys}
    for key, value in config.items():
        full = key if ":" in key else f"platform:{key}"
        if isinstance(value, (dict, list)):
            flat[full] = json.dumps(value, sort_keys=True)
        elif isinstance(value, bool):
            flat[full] = "true" if value else "false"
        else:
            flat[full] = str(value)
    keys = base.secret_keys if secret_keys is None else secret_keys
    return StackInput(project=base.project, stack=stack, config=flat, secret_keys=sorted(keys))


def secret_config(stack: str) -> tuple[dict[str, str], list[str]]:
    """Every secret config key Pulumi.yaml declares, each with a placeholder: (raw values, secret keys)."""
    keys = [k.split(":", 1)[1] for k in read_stack(ROOT, stack).secret_keys if k.startswith("platform:")]
    return {key: "placeholder" for key in keys}, keys


def stack_settings(stack: str, **edits: Any) -> StackConfig:
    """The stack file's validated settings, with top-level keys replaced by ``edits``."""
    raw = {k.split(":", 1)[1]: json.dumps(v) for k, v in stack_config_objects(stack).items() if k.startswith("platform:")}
    raw.update({k: json.dumps(v) for k, v in edits.items()})
    values, keys = secret_config(stack)
    return parse_stack_config({**raw, **values}, stack, keys)


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
