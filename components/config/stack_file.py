"""Rules on the stack file itself, before its `platform:` objects reach the model: the stack's name,
its namespaces and `pulumi:` keys, values YAML would retype, and secrets kept in plain text.

The planner reads the files (planner/stackfile.py) and asks these for the messages; nothing here
echoes a value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from components.config.errors import ConfigIssue
from components.config.types import PROJECT, STACK_NAME, STACK_NAME_RULE, did_you_mean

# The `pulumi:` keys a stack file of this project may hold, and the one it must.
DISABLE_DEFAULT_PROVIDERS = "disable-default-providers"
PULUMI_KEYS = (DISABLE_DEFAULT_PROVIDERS,)
# Top-level keys of a stack file the Pulumi CLI reads.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def stack_name_issue(name: str, known: Collection[str] = ()) -> ConfigIssue | None:
    """A stack name is a plain word (no path), checked before any path is built from it."""
    if STACK_NAME.fullmatch(name):
        return None
    return ConfigIssue("--stack", f"is not a stack name ({STACK_NAME_RULE})",
                       did_you_mean(name, known) + "name a stack with a Pulumi.<stack>.yaml file here, such as `dev`",
                       namespace="")


def missing_stack_issue(name: str, known: Collection[str]) -> ConfigIssue:
    return ConfigIssue("--stack", f"names no stack: Pulumi.{name}.yaml does not exist",
                       did_you_mean(name, known) + "use one of " + (", ".join(sorted(known)) or "the stacks you create with `pulumi stack init`"),
                       namespace="")


def namespace_issues(config: Mapping[str, Any], project: str = PROJECT) -> list[ConfigIssue]:
    """Every key is the project's or a known `pulumi:` key, and default providers are disabled.

    Provider namespaces (`aws:`, `kubernetes:`) are refused too: with default providers disabled,
    the program's explicit providers never read them, so a setting there is silently lost.
    """
    issues: list[ConfigIssue] = []
    for key in config:
        namespace, _, name = key.rpartition(":")
        if not namespace or namespace == project:
            continue
        if namespace == "pulumi":
            if name not in PULUMI_KEYS:
                issues.append(ConfigIssue(name, "is not a `pulumi:` setting this project uses",
                                          did_you_mean(name, PULUMI_KEYS) + "remove it", namespace="pulumi"))
            continue
        issues.append(ConfigIssue(
            name, f"is in the namespace `{namespace}`, which this project does not read",
            did_you_mean(namespace, (project, "pulumi")) + f"write it as `{project}:{name}` if it is a setting of this project, or remove it",
            namespace=namespace,
        ))
    if config.get(f"pulumi:{DISABLE_DEFAULT_PROVIDERS}") != ["*"]:
        issues.append(ConfigIssue(
            DISABLE_DEFAULT_PROVIDERS,
            "must be `[\"*\"]`, so that nothing reaches a cloud or cluster through an ambient default provider",
            f"add `pulumi:{DISABLE_DEFAULT_PROVIDERS}: [\"*\"]` under `config:`",
            namespace="pulumi",
        ))
    return issues


def is_secure_value(value: Any) -> bool:
    """A value the Pulumi CLI encrypted: `{secure: <ciphertext>}`."""
    return isinstance(value, Mapping) and set(value) == {"secure"} and isinstance(value["secure"], str)


def plaintext_secret_issues(config: Mapping[str, Any], declared_secret: Collection[str], project: str = PROJECT) -> list[ConfigIssue]:
    """A secret key holds a `secure:` value in the stack file, never plain text (the Pulumi CLI
    refuses it for a key declared secret: it must be encrypted)."""
    issues: list[ConfigIssue] = []
    for key, value in config.items():
        namespace, _, name = key.rpartition(":")
        full = key if namespace else f"{project}:{key}"
        if full in declared_secret and not is_secure_value(value):
            issues.append(ConfigIssue(
                full.partition(":")[2],
                "is a secret (an app's `configKey`, or declared `secret: true` in Pulumi.yaml)"
                + " but the stack file holds it in plain text (it must be encrypted)",
                f"run `pulumi config rm {name}` then `pulumi config set --secret {name} <value>`, and rotate the value, which Git has seen",
                namespace=full.partition(":")[0],
            ))
    return issues


def stack_file_key_issue(key: str, where: str) -> ConfigIssue:
    return ConfigIssue(where, f"`{key}` is not a key of a stack file",
                       did_you_mean(key, STACK_FILE_KEYS) + "put settings under `config:` and remove it", namespace="")


# What YAML makes of an unquoted scalar that is not plainly text, by kind.
_RETYPED = {
    "null": ("is empty: YAML reads an empty, `~` or `null` value as null", "give it a value, or remove the key"),
    "yes-no": ("is an unquoted yes, no, on or off: YAML 1.1 (this planner) reads it as a boolean, YAML 1.2 (the Pulumi CLI) as text",
               "write true or false for a switch, or quote the text"),
    "number-rewritten": ("is an unquoted number YAML rewrites (a leading zero, `0x`, `_`, `:` or `+` changes its digits)",
                         "quote it"),
    "float": ("is an unquoted number with a fraction, which YAML reads as a float (`1.30` becomes 1.3)", "quote it"),
    "date": ("is an unquoted date, which YAML reads as a date, not text", "quote it"),
    "number-text": ("is unquoted text that YAML 1.2 (the Pulumi CLI) reads as a number", "quote it"),
    "other": ("is an unquoted value YAML reads as something other than text", "quote it"),
}


def retyped_scalar_issue(namespace: str, path: str, kind: str, key: bool = False) -> ConfigIssue:
    """``path`` holds a plain scalar YAML retypes (``key``: the last segment of ``path`` is that key)."""
    if key:
        return ConfigIssue(path, "is an unquoted key that YAML reads as something other than text (a boolean, a number, a date or null)",
                           "quote the key", namespace=namespace)
    problem, fix = _RETYPED[kind]
    return ConfigIssue(path, problem, fix, namespace=namespace)


def duplicate_key_issue(namespace: str, path: str, first_line: int, line: int) -> ConfigIssue:
    return ConfigIssue(
        path,
        f"is written twice in one mapping (lines {first_line} and {line}); YAML would keep the last and drop the first silently",
        "keep one entry, merging what both say",
        namespace=namespace,
    )
