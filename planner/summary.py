"""summary.md: what the plan holds and what a first `pulumi up` will do."""

from __future__ import annotations

from components.config import StackConfig
from planner.artifacts import Resources, resource_counts

PHASE_NOTES = {
    1: (
        "Phase 1 (empty cluster): nothing that needs a configured Vault is registered; the bootstrap job "
        "initialises Vault (recovery keys to AWS Secrets Manager, AWS auth for the deployer) and the snapshot "
        "CronJob stays suspended. Phase 2 (`vaultPhase: 2`) adds Vault's own configuration through the `vault` "
        "provider (KV v2, audit devices, Kubernetes auth, policies and roles, including the snapshot job's "
        "`vault-snapshot` role), the Vault-backed secret stores, and resumes the snapshot CronJob."
    ),
    2: "Phase 2 (Vault answers): everything, including what needs a configured Vault (see docs/bootstrap.md).",
}


def render_summary(stack: str, settings: StackConfig, resources: Resources) -> str:
    per_component, per_type = resource_counts(resources)
    lines = [
        f"# Plan of stack `{stack}`",
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
    lines += ["", "## Objects per component", "", "| component | objects |", "|---|---|"]
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
