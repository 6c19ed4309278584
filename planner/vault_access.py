"""Who can read which Vault path, evaluated from the registered policies and auth roles.

Two kinds of login reach Vault, both registered by VaultConfig: its Kubernetes auth roles
(one principal per bound service account) and its AWS auth roles (one principal per bound
IAM role ARN: the preview's). Each role's token policies are looked up by name among the
registered policies. The deployer's AWS auth role is not registered (the bootstrap Job
writes it) and is left out: it administers Vault and reads every path by design.

Policies are parsed with a real HCL parser (python-hcl2). Path matching follows
Vault's documented ACL rules: an exact path, a ``*`` glob only at the end (prefix
match), ``+`` for exactly one path segment; the policies of a token are merged
per path pattern (capabilities united, ``deny`` wins); a request is decided by
the single highest-priority pattern that matches it (Vault's priority order:
later first wildcard, no trailing glob, fewer ``+`` segments, longer, then
lexicographically greater). Not modelled: the ``default`` policy's own grants
(none under ``kv/``), parameter constraints, control groups and Sentinel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import hcl2

from components.config import StackConfig
from components.vault_policies import KV_MOUNT, secret_paths
from planner.access_cell import AccessCell

POLICY = "vault:index/policy:Policy"
DATABASE_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
AWS_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
Rules = dict[str, frozenset[str]]
# A token's policies merged: (pattern, capabilities) per path pattern, highest priority first,
# a denied pattern holding no capability.
MergedRules = tuple[tuple[re.Pattern[str], frozenset[str]], ...]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def parse_policy(text: str) -> Rules:
    """HCL policy text -> path pattern -> capabilities."""
    rules: dict[str, set[str]] = {}
    for block in hcl2.loads(text).get("path", []):
        for raw_path, body in block.items():
            caps = {_unquote(str(c)) for c in body.get("capabilities", [])}
            rules.setdefault(_unquote(raw_path), set()).update(caps)
    return {path: frozenset(caps) for path, caps in rules.items()}


@cache
def _pattern(path: str) -> re.Pattern[str]:
    glob = path.endswith("*")
    body = path[:-1] if glob else path
    parts = [("[^/]+" if segment == "+" else re.escape(segment)) for segment in body.split("/")]
    return re.compile("^" + "/".join(parts) + (".*" if glob else "$"))


def _priority(path: str) -> tuple[int, int, int, int, str]:
    wildcards = [i for i in (path.find("+"), path.find("*")) if i >= 0]
    first = min(wildcards) if wildcards else len(path) + 1
    return (first, 0 if path.endswith("*") else 1, -path.split("/").count("+"), len(path), path)


def merge_policies(policies: Iterable[Rules]) -> MergedRules:
    """A token's policies merged per path pattern (capabilities united, ``deny`` wins), highest priority first."""
    merged: dict[str, set[str]] = {}
    for rules in policies:
        for path, caps in rules.items():
            merged.setdefault(path, set()).update(caps)
    return tuple(
        (_pattern(path), frozenset() if "deny" in merged[path] else frozenset(merged[path]))
        for path in sorted(merged, key=_priority, reverse=True)
    )


def capabilities(merged: MergedRules, request_path: str) -> frozenset[str]:
    """What the single highest-priority pattern matching ``request_path`` grants (nothing if none matches)."""
    return next((caps for pattern, caps in merged if pattern.match(request_path)), frozenset())


def allowed_capabilities(policies: Iterable[Rules], request_path: str) -> frozenset[str]:
    """Capabilities a token holding ``policies`` has on ``request_path``."""
    return capabilities(merge_policies(policies), request_path)


def can_read(policies: Iterable[Rules], secret_path: str) -> bool:
    """Reading a KV v2 value is a read on ``<mount>/data/<path>``."""
    return "read" in allowed_capabilities(policies, f"{KV_MOUNT}/data/{secret_path}")


def _principals(role: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(auth role name, the principals that log in as it) of a registered Kubernetes or AWS auth role."""
    i = role["inputs"]
    if role["type"] == AWS_ROLE:
        return i["role"], list(i.get("boundIamPrincipalArns", []))
    return i["roleName"], [
        f"system:serviceaccount:{namespace}:{account}"
        for namespace in i.get("boundServiceAccountNamespaces", [])
        for account in i.get("boundServiceAccountNames", [])
    ]


def database_creds_paths(resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """`<mount>/creds/<role>` of every registered database role: reading it mints a user."""
    return [f"{r['inputs']['backend']}/creds/{r['inputs']['name']}" for r in resources if r["type"] == DATABASE_ROLE]


def vault_access_matrix(resources: Sequence[Mapping[str, Any]], settings: StackConfig) -> list[AccessCell]:
    """Every registered auth role's principals (service accounts, IAM roles) x every Vault-backed path of the stack.

    The paths are the KV values (`<scope>/<app>/<key>`, read at ``kv/data/...``) and every
    registered database role's ``database/creds/<role>``. Each role's policies are merged once
    and each path decided once per role, whatever the number of principals bound to it.
    """
    policies = {r["inputs"]["name"]: parse_policy(r["inputs"]["policy"]) for r in resources if r["type"] == POLICY}
    paths = [(path, f"{KV_MOUNT}/data/{path}") for path in secret_paths(settings)]
    paths += [(path, path) for path in database_creds_paths(resources)]
    cells = []
    for role in (r for r in resources if r["type"] in (ROLE, AWS_ROLE)):
        merged = merge_policies(policies[name] for name in role["inputs"].get("tokenPolicies", []) if name in policies)
        reads = [(path, "read" in capabilities(merged, request)) for path, request in paths]
        via, principals = _principals(role)
        cells += [AccessCell("vault", principal, via, path, allowed) for principal in principals for path, allowed in reads]
    return cells
