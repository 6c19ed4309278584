"""Read Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI hands config to a program.

Objects become JSON strings, scalars strings; keys without a namespace belong to
the project. Only the CLI can decrypt ``secure:`` values, so every ``secure:`` value,
every key declared ``secret: true`` in Pulumi.yaml and every top-level key an app
secret of this stack names with ``configKey`` (set or not) gets a placeholder that is
registered as a secret. A stack file may hold what ``pulumi stack init
--secrets-provider`` writes beside ``config`` (``secretsprovider``, ``encryptedkey``,
``encryptionsalt``): the plan never decrypts, so it only checks their shape.
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
    check_secrets_provider(stack_file, root / f"Pulumi.{stack}.yaml")
    add_referenced_secret_keys(config, secret_keys, project)
    return StackInput(project=project, stack=stack, config=config, secret_keys=sorted(secret_keys))


# --- Per-stack secret keys and the secrets provider (what `pulumi stack init` and `config set --secret` write) ---

SECRETS_PROVIDER_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
"""Top-level stack-file keys the CLI writes beside ``config``: the provider URL (``awskms://...``),
the data key it encrypted with that provider, or the passphrase provider's salt."""


def check_secrets_provider(stack_file: dict[str, Any], path: Path) -> None:
    """The secrets provider's keys, when present, are the strings the CLI writes."""
    for key in SECRETS_PROVIDER_KEYS:
        if key in stack_file and not (isinstance(stack_file[key], str) and stack_file[key].strip()):
            raise StackFileError(f"{path}: {key} must be the string `pulumi stack init` wrote; "
                                 f"restore it from Git or re-run `pulumi stack change-secrets-provider`")


def referenced_config_keys(config: dict[str, str], project: str) -> list[str]:
    """Full keys (``project:key``) that this stack's app secrets of source ``config`` name with ``configKey``.

    Read from the raw environments, before validation: a malformed entry names nothing
    here, and the config model reports it with its key path.
    """
    try:
        environments = json.loads(config.get(f"{project}:environments", "{}"))
    except json.JSONDecodeError:
        return []
    keys: set[str] = set()
    for env in environments.values() if isinstance(environments, dict) else ():
        apps = env.get("apps") if isinstance(env, dict) else None
        for app in apps if isinstance(apps, list) else ():
            secrets = app.get("secrets") if isinstance(app, dict) else None
            for secret in secrets if isinstance(secrets, list) else ():
                if isinstance(secret, dict) and secret.get("source") == "config" and isinstance(secret.get("configKey"), str):
                    keys.add(_qualify(secret["configKey"], project))
    return sorted(keys)


def add_referenced_secret_keys(config: dict[str, str], secret_keys: set[str], project: str) -> None:
    """A key this stack's apps name that the stack file does not set becomes a secret placeholder.

    That is what the CLI would hand the program once `pulumi config set --secret` ran; a key
    set in plain text keeps its value and stays out of ``secret_keys``, so the config model
    refuses it. Keys other stacks name are not demanded here.
    """
    for full in referenced_config_keys(config, project):
        if full not in config:
            config[full] = placeholder_for(full)
            secret_keys.add(full)
