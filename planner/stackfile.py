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
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import PROJECT, ConfigIssue, StackConfig, parse_stack_config, referenced_config_keys
from components.config.stack_file import (
    STACK_FILE_KEYS,
    duplicate_key_issue,
    namespace_issues,
    plaintext_secret_issues,
    retyped_scalar_issue,
    stack_file_key_issue,
    stack_name_issue,
)
from components.config.types import STACK_NAME


class StackFileError(Exception):
    """The stack or project file is missing or not valid YAML."""


@dataclass(frozen=True)
class StackInput:
    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    # Problems found while reading the files (strict YAML, namespaces, plaintext secrets): the
    # planner reports them with the model's (parse_stack_config's ``prior``).
    issues: tuple[ConfigIssue, ...] = ()


def placeholder_for(key: str) -> str:
    """A recognisable stand-in for a secret the plan cannot decrypt."""
    return f"plan-placeholder-secret-for-{key.replace(':', '-')}"


def _as_config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


_TAG = "tag:yaml.org,2002:"
_PLAIN_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)$")
# What YAML 1.2's core schema (the Pulumi CLI's YAML) reads as a number.
_YAML12_NUMBER = re.compile(
    r"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$"
)
Locate = Callable[[list[str | int], int], tuple[str, str]]


def _retyped_kind(node: yaml.ScalarNode) -> str | None:
    """How YAML retypes a plain scalar, or None when it means what it says (text, a decimal, true/false)."""
    if node.style is not None:
        return None
    kind = node.tag.removeprefix(_TAG)
    text = node.value
    if kind == "str":
        return "number-text" if _YAML12_NUMBER.match(text) else None
    if kind == "bool":
        return None if text.lower() in ("true", "false") else "yes-no"
    if kind == "int":
        return None if _PLAIN_DECIMAL.match(text) else "number-rewritten"
    return {"null": "null", "float": "float", "timestamp": "date"}.get(kind, "other")


def _scan(node: yaml.Node, parts: list[str | int], locate: Locate, issues: list[ConfigIssue], seen: set[int]) -> None:
    """Issues for duplicate keys and retyped plain scalars; retyped scalars become their text, so that
    the model goes on and reports the rest."""
    if id(node) in seen:  # an alias: scanned where its anchor is
        return
    seen.add(id(node))
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            kind = _retyped_kind(key_node)
            if kind is not None and kind != "number-text":
                issues.append(retyped_scalar_issue(*locate([*parts, key], key_node.start_mark.line + 1), kind, key=True))
            key_node.tag = f"{_TAG}str"
            if key in first_line:
                issues.append(duplicate_key_issue(*locate([*parts, key], key_node.start_mark.line + 1),
                                                  first_line[key], key_node.start_mark.line + 1))
            first_line.setdefault(key, key_node.start_mark.line + 1)
            _scan(value_node, [*parts, key], locate, issues, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _scan(item, [*parts, i], locate, issues, seen)
    elif isinstance(node, yaml.ScalarNode) and (kind := _retyped_kind(node)) is not None:
        issues.append(retyped_scalar_issue(*locate(parts, line), kind))
        node.tag = f"{_TAG}str"


def _key_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def _stack_locator(file_name: str, project: str) -> Locate:
    """`config` / `<ns>:<key>` / ... -> (namespace, key path); elsewhere the file and line."""
    def locate(parts: list[str | int], line: int) -> tuple[str, str]:
        if len(parts) >= 2 and parts[0] == "config" and isinstance(parts[1], str):
            namespace, _, key = parts[1].rpartition(":")
            return namespace or project, _key_path([key, *parts[2:]])
        return "", f"{file_name} line {line}"
    return locate


def load_strict(path: Path, locate: Locate | None = None) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """A YAML mapping read as strictly as the Pulumi CLI reads it, and more: duplicate keys and plain
    scalars YAML retypes (dates, `1.30`, `yes`, `0755`, empty values) are issues, never silent."""
    if not path.is_file():
        raise StackFileError(f"{path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{path} cannot be read as UTF-8 text: {type(exc).__name__}") from None
    loader = yaml.SafeLoader(text)
    issues: list[ConfigIssue] = []
    try:
        node = loader.get_single_node()
        if node is not None:
            _scan(node, [], locate or (lambda parts, line: ("", f"{path.name} line {line}")), issues, set())
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:  # the problem and place only: the line could hold a secret
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise StackFileError(f"{path} is not valid YAML{where}: {exc.problem}. Fix: correct the YAML there "
                             "(quote a value holding `: `, ` #` or a leading special character)") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path} is not valid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise StackFileError(f"{path} must be a YAML mapping")
    return data, issues


def _load_yaml(path: Path) -> dict[str, Any]:
    data, issues = load_strict(path)
    if issues:
        raise StackFileError("\n".join(issue.render() for issue in issues))
    return data


def stack_names(root: Path) -> list[str]:
    """The stacks with a stack file in ``root`` (names that pass the stack-name check), sorted."""
    names = (p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))
    return sorted(name for name in names if STACK_NAME.fullmatch(name))


def sibling_objects(root: Path, stack: str) -> dict[str, dict[str, Any]]:
    """Other stacks' `platform:` objects (key without namespace), read leniently: a sibling that
    cannot be read is left to its own plan."""
    siblings: dict[str, dict[str, Any]] = {}
    for name in stack_names(root):
        if name == stack:
            continue
        try:
            data = yaml.safe_load((root / f"Pulumi.{name}.yaml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        config = data.get("config") if isinstance(data, dict) else None
        if isinstance(config, dict):
            siblings[name] = {str(k).partition(":")[2]: v for k, v in config.items() if str(k).startswith(f"{PROJECT}:")}
    return siblings


def _qualify(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def read_stack(root: Path, stack: str, overrides: dict[str, str] | None = None) -> StackInput:
    """Config and secret keys for ``stack``, as the Pulumi CLI would pass them."""
    if (bad_name := stack_name_issue(stack)) is not None:
        raise StackFileError(bad_name.render())
    project_file = _load_yaml(root / "Pulumi.yaml")
    project = str(project_file.get("name", ""))
    stack_file, issues = load_strict(root / f"Pulumi.{stack}.yaml", _stack_locator(f"Pulumi.{stack}.yaml", project))
    issues += stack_file_issues(project_file, stack_file, project, f"Pulumi.{stack}.yaml")
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
    stack_config = stack_file.get("config")
    if not isinstance(stack_config, dict):
        stack_config = {}
    for key, value in stack_config.items():
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
    return StackInput(project=project, stack=stack, config=config, secret_keys=sorted(secret_keys), issues=tuple(issues))


def stack_file_issues(project_file: dict[str, Any], stack_file: dict[str, Any], project: str, file_name: str) -> list[ConfigIssue]:
    """The stack file's keys, namespaces and `pulumi:` settings, and no plain text for a secret key (declared
    `secret: true` in Pulumi.yaml, or named by an app's `configKey`)."""
    issues = [stack_file_key_issue(str(key), file_name) for key in stack_file if key not in STACK_FILE_KEYS]
    config = stack_file.get("config")
    config = {} if config is None else config
    if not isinstance(config, dict):
        return [*issues, ConfigIssue(file_name, "`config` is not a mapping", "write one `<namespace>:<key>: <value>` per line under `config:`",
                                     namespace="")]
    declared = project_file.get("config") or {}
    declared_secret = {_qualify(k, project) for k, d in declared.items() if isinstance(d, dict) and d.get("secret")}
    declared_secret |= {_qualify(k, project) for k in referenced_config_keys(config.get(f"{project}:environments"))}
    return [*issues, *namespace_issues(config, project), *plaintext_secret_issues(config, declared_secret, project)]


def stack_settings(root: Path, stack: str, overrides: dict[str, str] | None = None) -> tuple[StackInput, StackConfig]:
    """The stack's input and validated settings: every problem of the files, the model and the sibling
    stack files, raised at once as a ConfigError."""
    stack_input = read_stack(root, stack, overrides)
    prefix = f"{stack_input.project}:"
    raw = {k.removeprefix(prefix): v for k, v in stack_input.config.items() if k.startswith(prefix)}
    secret_keys = [k.removeprefix(prefix) for k in stack_input.secret_keys if k.startswith(prefix)]
    settings = parse_stack_config(raw, stack, secret_keys, prior=stack_input.issues, siblings=sibling_objects(root, stack))
    return stack_input, settings


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


def add_referenced_secret_keys(config: dict[str, str], secret_keys: set[str], project: str) -> None:
    """A key this stack's apps name that the stack file does not set becomes a secret placeholder.

    That is what the CLI would hand the program once `pulumi config set --secret` ran; a key
    set in plain text keeps its value and stays out of ``secret_keys``, so the config model
    refuses it. Keys other stacks name are not demanded here.
    """
    try:
        environments = json.loads(config.get(f"{project}:environments", "{}"))
    except json.JSONDecodeError:
        return
    for full in sorted(_qualify(key, project) for key in referenced_config_keys(environments)):
        if full not in config:
            config[full] = placeholder_for(full)
            secret_keys.add(full)
