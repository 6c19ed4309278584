"""Argo CD RBAC (``argocd-rbac-cm``) as a pure function of the config.

No default role (``policy.default`` empty): signing in through SSO grants nothing, so a
user sees only what a group of theirs is bound to. Each environment hosted by the stack gets
``role:<env>``, scoped to the objects of that environment's project (``<env>/*``) only: read,
sync, run resource actions (restart, scale...) and read logs. It cannot update or delete
applications (the ApplicationSet owns them), override their source or revision (argocd-cm's
``application.sync.requireOverridePrivilegeForRevisionSync``: syncing to another revision
needs ``override``, which only ``role:admin`` holds), or touch projects, repositories,
clusters, accounts or certificates. The config's ``rbacGroups`` bind SSO groups to those
roles and ``adminGroups`` to the built-in ``role:admin`` (the local admin user is disabled).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.config import ArgoCdConfig

NO_DEFAULT_ROLE = ""  # policy.default: an SSO user bound to no role sees nothing
ADMIN_ROLE = "role:admin"
# (resource, action) pairs an environment's role is allowed on `<env>/*`.
ENVIRONMENT_GRANTS: tuple[tuple[str, str], ...] = (
    ("applications", "get"),
    ("applications", "sync"),
    ("applications", "action/*"),
    ("applicationsets", "get"),
    ("logs", "get"),
)


def environment_role(environment: str) -> str:
    return f"role:{environment}"


def policy_lines(cfg: ArgoCdConfig, environments: Sequence[str]) -> list[str]:
    """policy.csv lines: `p` grants per environment role, then `g` group bindings."""
    lines: list[str] = []
    for env in environments:
        role = environment_role(env)
        lines += [f"p, {role}, {resource}, {action}, {env}/*, allow" for resource, action in ENVIRONMENT_GRANTS]
    groups: dict[str, list[str]] = {str(env): list(names) for env, names in cfg.rbac_groups.items()}
    for env in environments:
        lines += [f"g, {group}, {environment_role(env)}" for group in groups.get(env, [])]
    lines += [f"g, {group}, {ADMIN_ROLE}" for group in cfg.admin_groups]
    return lines


def policy_csv(cfg: ArgoCdConfig, environments: Sequence[str]) -> str:
    return "\n".join(policy_lines(cfg, environments)) + "\n"


def rbac_values(cfg: ArgoCdConfig, environments: Sequence[str]) -> dict[str, str]:
    """The chart's ``configs.rbac`` (copied into argocd-rbac-cm)."""
    return {
        "policy.default": NO_DEFAULT_ROLE,
        "policy.csv": policy_csv(cfg, environments),
        "policy.matchMode": "glob",
        "scopes": "[groups]",
    }
