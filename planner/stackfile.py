"""Read Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI hands config to a program.

Objects become JSON strings, scalars strings; keys without a namespace belong to
the project. Only the CLI can decrypt ``secure:`` values, so every key declared
``secret: true`` in Pulumi.yaml (set or not) and every ``secure:`` value gets a
placeholder that is registered as a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class StackFileError(Exception):
    """The stack or project file is missing or not valid YAML."""


@dataclass(frozen=True)
class StackInput:
    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]


def placeholder_for(key: str) -> str:
    """A recognisable stand-in for a secret the plan cannot decrypt."""
    return f"plan-placeholder-secret-for-{key.replace(':', '-')}"


def _as_config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise StackFileError(f"{path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StackFileError(f"{path} must be a YAML mapping")
    return data


def _qualify(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def read_stack(root: Path, stack: str, overrides: dict[str, str] | None = None) -> StackInput:
    """Config and secret keys for ``stack``, as the Pulumi CLI would pass them."""
    project_file = _load_yaml(root / "Pulumi.yaml")
    project = str(project_file.get("name", ""))
    stack_file = _load_yaml(root / f"Pulumi.{stack}.yaml")
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, decl in (project_file.get("config") or {}).items():
        full = _qualify(key, project)
        if isinstance(decl, dict) and decl.get("secret"):
            config[full] = placeholder_for(full)
            secret_keys.add(full)
        elif isinstance(decl, dict) and "default" in decl:
            config[full] = _as_config_string(decl["default"])
        elif not isinstance(decl, dict):
            config[full] = _as_config_string(decl)
    for key, value in (stack_file.get("config") or {}).items():
        full = _qualify(key, project)
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full] = placeholder_for(full)
            secret_keys.add(full)
        else:
            config[full] = _as_config_string(value)
    for key, value in (overrides or {}).items():
        config[_qualify(key, project)] = value
    return StackInput(project=project, stack=stack, config=config, secret_keys=sorted(secret_keys))
