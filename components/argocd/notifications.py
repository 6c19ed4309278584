"""Argo CD notifications: failed syncs and degraded health, to the stack's Slack channel.

The chart writes these into ``argocd-notifications-cm`` and must not create
``argocd-notifications-secret``: an ExternalSecret owns it (``creationPolicy: Owner``)
and fills its ``slack-token`` key from ``platform/argocd/notifications-token``. The
Slack service reads the token as ``$slack-token`` (a key of that Secret). One global
subscription sends both triggers for every application of every project.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.argocd import names
from components.config import ArgoCdConfig

APP_LINK = "{{.context.argocdUrl}}/applications/{{.app.metadata.namespace}}/{{.app.metadata.name}}"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)


def _message(*lines: str) -> str:
    """A notifications template with a ``message`` block (YAML literal style, one line each)."""
    return "message: |\n" + "".join(f"  {line}\n" for line in lines)


def templates() -> dict[str, str]:
    """Message templates (Go templates the notifications controller evaluates, not Helm)."""
    return {
        f"template.{names.TEMPLATE_SYNC_FAILED}": _message(
            "Sync of {{.app.metadata.name}} (project {{.app.spec.project}}) ended in {{.app.status.operationState.phase}}"
            " at {{.app.status.operationState.finishedAt}}: {{.app.status.operationState.message}}",
            APP_LINK + "?operation=true",
        ),
        f"template.{names.TEMPLATE_HEALTH_DEGRADED}": _message(
            "{{.app.metadata.name}} (project {{.app.spec.project}}) is Degraded at revision {{.app.status.sync.revision}}.",
            APP_LINK,
        ),
    }


def triggers() -> dict[str, str]:
    """When to send: a sync operation that failed, an application whose health is Degraded."""
    sync_failed = [{
        "description": "A sync operation ended in Error or Failed",
        "send": [names.TEMPLATE_SYNC_FAILED],
        "when": "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
    }]
    degraded = [{
        "description": "The application's health is Degraded",
        "send": [names.TEMPLATE_HEALTH_DEGRADED],
        "when": "app.status.health.status == 'Degraded'",
    }]
    return {
        f"trigger.{names.TRIGGER_SYNC_FAILED}": _dump(sync_failed),
        f"trigger.{names.TRIGGER_HEALTH_DEGRADED}": _dump(degraded),
    }


def notifications_values(cfg: ArgoCdConfig, *, resources: dict[str, Any], security: dict[str, Any]) -> dict[str, Any]:
    """The chart's ``notifications`` section."""
    return {
        "enabled": True,
        "argocdUrl": f"https://{cfg.domain}",
        # ESO creates and owns the Secret; the chart only names it.
        "secret": {"create": False, "name": names.NOTIFICATIONS_SECRET},
        "notifiers": {"service.slack": _dump({"token": f"${names.SLACK_TOKEN_KEY}"})},
        "templates": templates(),
        "triggers": triggers(),
        "subscriptions": [{
            "recipients": [f"slack:{cfg.slack_channel}"],
            "triggers": [names.TRIGGER_SYNC_FAILED, names.TRIGGER_HEALTH_DEGRADED],
        }],
        "resources": resources,
        "containerSecurityContext": security,
    }
