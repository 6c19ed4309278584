"""Who can read which Vault path, evaluated from the registered policies and auth roles.

Two kinds of login reach Vault: the Kubernetes auth roles VaultConfig registers, and
the AWS auth role the bootstrap Job writes for the preview IAM roles (its policy file in
the Job's ConfigMap, its name and bound ARNs in the Job's environment). The deployer's
AWS auth role is left out: it administers Vault and reads every path by design.

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
from components.vault import jobs, names
from components.vault_policies import KV_MOUNT, secret_paths
from planner.access_cell import AccessCell

POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
JOB = "kubernetes:batch/v1:Job"
CONFIGURE_CONTAINER = "configure"
Rules = dict[str, frozenset[str]]


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


def allowed_capabilities(policies: Iterable[Rules], request_path: str) -> frozenset[str]:
    """Capabilities a token holding ``policies`` has on ``request_path``."""
    merged: dict[str, set[str]] = {}
    for rules in policies:
        for path, caps in rules.items():
            merged.setdefault(path, set()).update(caps)
    matching = [p for p in merged if _pattern(p).match(request_path)]
    if not matching:
        return frozenset()
    winner = merged[max(matching, key=_priority)]
    return frozenset() if "deny" in winner else frozenset(winner)


def can_read(policies: Iterable[Rules], secret_path: str) -> bool:
    """Reading a KV v2 value is a read on ``<mount>/data/<path>``."""
    return "read" in allowed_capabilities(policies, f"{KV_MOUNT}/data/{secret_path}")


def _named(resources: Sequence[Mapping[str, Any]], type_token: str, name: str) -> Mapping[str, Any]:
    """The inputs of the one registered Kubernetes object of a type with that metadata.name."""
    [found] = [r["inputs"] for r in resources if r["type"] == type_token and r["inputs"]["metadata"]["name"] == name]
    return found


def _preview_access_cells(resources: Sequence[Mapping[str, Any]], paths: Sequence[str]) -> list[AccessCell]:
    """Each preview IAM role x every path, under the policy the bootstrap Job writes for the preview's AWS auth role."""
    scripts = _named(resources, CONFIG_MAP, jobs.SCRIPTS_CONFIG_MAP)
    job = _named(resources, JOB, names.BOOTSTRAP)
    [configure] = [c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == CONFIGURE_CONTAINER]
    env = {e["name"]: e["value"] for e in configure["env"]}
    policy = parse_policy(scripts["data"][jobs.PREVIEW_POLICY_FILE])
    arns = [arn for arn in env["PREVIEW_ROLE_ARNS"].split(",") if arn]
    return [AccessCell("vault", arn, env["PREVIEW_ROLE"], path, can_read([policy], path)) for arn in arns for path in paths]


def vault_access_matrix(resources: Sequence[Mapping[str, Any]], settings: StackConfig) -> list[AccessCell]:
    """Every Kubernetes auth role's service accounts and every preview IAM role x every Vault-backed path of the stack."""
    policies = {r["inputs"]["name"]: parse_policy(r["inputs"]["policy"]) for r in resources if r["type"] == POLICY}
    paths = secret_paths(settings)
    cells = _preview_access_cells(resources, paths)
    for role in (r for r in resources if r["type"] == ROLE):
        i = role["inputs"]
        held = [policies[name] for name in i.get("tokenPolicies", []) if name in policies]
        for namespace in i.get("boundServiceAccountNamespaces", []):
            for account in i.get("boundServiceAccountNames", []):
                principal = f"system:serviceaccount:{namespace}:{account}"
                cells += [AccessCell("vault", principal, i["roleName"], path, can_read(held, path)) for path in paths]
    return cells
