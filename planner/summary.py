"""summary.md: what the plan holds and what a first `pulumi up` will do."""

from __future__ import annotations

from components.config import StackConfig
from components.config.limits import refresh_reads_per_hour
from components.config.types import duration_seconds
from planner.artifacts import Resources, resource_counts

PHASE_NOTES = {
    1: (
        "Phase 1 (empty cluster): nothing that needs a configured Vault is registered; the bootstrap job "
        "initialises Vault (recovery keys to AWS Secrets Manager, AWS auth for the deployer) and the snapshot "
        "CronJob stays suspended; Vault's API admits only the bootstrap job, its peers and the deployer CIDRs, and "
        "the ApplicationSets wait for the bootstrap job. Phase 2 (`vaultPhase: 2`) adds Vault's own configuration "
        "through the `vault` provider (KV v2, audit devices, Kubernetes auth, policies and roles, including the "
        "snapshot job's `vault-snapshot` role), the Vault-backed secret stores, opens Vault's API to the ESO "
        "controller, the snapshot job and the pods of apps with `vaultAgent`, and resumes the snapshot CronJob."
    ),
    2: "Phase 2 (Vault answers): everything, including what needs a configured Vault (see docs/bootstrap.md).",
}


# AWS Secrets Manager list prices (us-east-1 and most regions, as AWS publishes them): check
# your region's price before budgeting; the plan only multiplies.
SECRET_MONTHLY_USD = 0.40
API_CALLS_USD_PER_10K = 0.05
HOURS_PER_MONTH = 730

SECRETS_MANAGER_SECRET = "aws:secretsmanager/secret:Secret"
RANDOM_TYPE = "random:index/randomPassword:RandomPassword"


seconds = duration_seconds  # `15m` -> 900


def cost_lines(settings: StackConfig, resources: Resources) -> list[str]:
    """Monthly Secrets Manager cost and the read rate refresh intervals imply, per backend."""
    secrets = sum(1 for r in resources if r["type"] == SECRETS_MANAGER_SECRET)
    # The load the config model bounds (components/config/limits.py).
    calls_per_hour = refresh_reads_per_hour(settings)
    aws_monthly_calls = calls_per_hour["aws"] * HOURS_PER_MONTH
    storage = secrets * SECRET_MONTHLY_USD
    api = aws_monthly_calls / 10_000 * API_CALLS_USD_PER_10K
    return [
        "## Cost and load",
        "",
        f"- AWS Secrets Manager: {secrets} secrets x ${SECRET_MONTHLY_USD:.2f} = ${storage:.2f} a month, plus "
        f"{calls_per_hour['aws']:.0f} GetSecretValue calls an hour from ESO refreshes "
        f"({aws_monthly_calls:,.0f} a month, ${api:.2f}): ${storage + api:.2f} a month in all "
        "(Argo CD's own ExternalSecrets and Pulumi refreshes not included).",
        f"- Vault: {calls_per_hour['vault']:.0f} KV reads an hour from ESO refreshes "
        "(plus one Kubernetes auth login per store token renewal).",
        "",
    ]


def rotation_lines(settings: StackConfig, resources: Resources) -> list[str]:
    """Which value each `rotation` keeper regenerates, read from the registered RandomPasswords' keepers."""
    keepers = {r["name"]: (r["inputs"].get("keepers") or {}).get("rotation") for r in resources if r["type"] == RANDOM_TYPE}
    lines = [
        "## What a change rotates",
        "",
        "Changing a secret's `rotation` keeper in the stack file makes `pulumi up` replace its RandomPassword: that one",
        "value gets a new version, ESO copies it within the environment's refresh interval, and Reloader rolls the",
        "workloads that opted in. `config` values rotate with `pulumi config set --secret`, `external` ones where their owner writes them.",
        "",
        "| value (path) | backend | keeper `rotation` now | reaches the pods within |",
        "|---|---|---|---|",
    ]
    pending = []
    for env_name, env in settings.environments.items():
        for app in env.apps:
            for spec in app.secrets:
                if spec.source != "random":
                    continue
                path = f"{env_name}/{app.name}/{spec.key}"
                name = f"{env_name}-{app.name}-{spec.key}"
                if name in keepers:
                    lines.append(f"| `{path}` | {spec.backend} | `{keepers[name]}` | {env.refresh_interval} |")
                else:
                    pending.append(f"`{path}`")
    if pending:
        lines += ["", f"Not registered in this phase (Vault is configured in phase 2): {', '.join(pending)}."]
    return [*lines, ""]


def render_summary(stack: str, settings: StackConfig, resources: Resources) -> str:
    per_component, per_type = resource_counts(resources)
    lines = [
        f"# Plan of stack `{stack}`, Vault phase {settings.vault_phase}",
        "",
        f"- Vault phase: {settings.vault_phase}. {PHASE_NOTES[settings.vault_phase]}",
        f"- Cluster: `{settings.cluster.name}` (Kubernetes {settings.cluster.kubernetes_version}), "
        f"account `{settings.aws.account_id}`, region `{settings.aws.region}`",
        f"- Registered: {len(resources)} resources, {sum(per_type.values())} of them cloud or cluster objects",
        "",
        "## Environments and apps",
        "",
        "| environment | sync | refresh | app | service account | secrets (backend/source) |",
        "|---|---|---|---|---|---|",
    ]
    for env_name, env in settings.environments.items():
        for app in env.apps:
            secrets = ", ".join(f"{s.key} ({s.backend}/{s.source})" for s in app.secrets)
            lines.append(
                f"| {env_name} | {env.sync_policy} | {env.refresh_interval} | {app.name} | "
                f"{app.service_account_name} | {secrets} |"
            )
    lines += _database_lines(settings)
    lines += ["", *rotation_lines(settings, resources)]
    lines += [*cost_lines(settings, resources)]
    lines += ["## Objects per component", "", "| component | objects |", "|---|---|"]
    lines += [f"| {c} | {n} |" for c, n in sorted(per_component.items())]
    lines += [
        "",
        "## A first `pulumi up` creates",
        "",
        "| type | count |",
        "|---|---|",
    ]
    lines += [f"| `{t}` | {n} |" for t, n in sorted(per_type.items())]
    return "\n".join(lines) + "\n"


def _database_lines(settings: StackConfig) -> list[str]:
    """The apps' databases: Vault issues each app short-lived users (docs/databases.md)."""
    rows = [
        f"| {env_name} | {app.name} | `{db.name}` on `{db.host}:{db.port}` | {db.grant.access} on {', '.join(db.grant.schemas)} "
        f"| {db.default_ttl} (max {db.max_ttl}) | {db.delivery} | `database/creds/{env_name}-{app.name}` |"
        for env_name, env in settings.environments.items()
        for app in env.apps
        if (db := app.database) is not None
    ]
    if not rows:
        return []
    return ["", "## Databases", "", "| environment | app | database | grant | lease | delivery | Vault path |",
            "|---|---|---|---|---|---|---|", *rows]
