"""TLS end to end: the Vault release serves HTTPS only, and every Vault secret store verifies it.

The Vault chart defaults ``global.tlsDisable`` to true and ships listener configs with
``tls_disable = 1``, so "not set" means TLS off: the rule asks for explicit settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules.core import (
    HELM_TYPES,
    SECRET,
    UNKNOWN,
    Config,
    ResourceView,
    chart_name,
    dig,
    falsy_explicit,
    render_path,
    truthy,
    walk_strings,
)
from policies.rules.documents import listener_blocks, tls_disable_values

VAULT_CONFIG_PATHS: tuple[tuple[str, ...], ...] = (
    ("server", "ha", "raft", "config"),
    ("server", "ha", "config"),
    ("server", "standalone", "config"),
)


def is_vault_release(view: ResourceView, cfg: Config) -> bool:
    return view.type in HELM_TYPES and chart_name(view) in set(cfg.get("vaultChartNames") or ["vault"])


def _active_config_path(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The server config the chart renders for these values (HA raft, HA, or standalone)."""
    if truthy(dig(values, "server", "ha", "enabled")):
        if truthy(dig(values, "server", "ha", "raft", "enabled")):
            return ("server", "ha", "raft", "config")
        return ("server", "ha", "config")
    return ("server", "standalone", "config")


def _listener_tls_disabled(config: Any) -> bool:
    if isinstance(config, str):
        return any(truthy(v) for v in tls_disable_values(config))
    if isinstance(config, Mapping):
        return any(truthy(body.get("tls_disable")) for body in listener_blocks(config))
    return False


def vault_helm_tls(view: ResourceView, cfg: Config) -> list[str]:
    """Vault release: ``global.tlsDisable: false``, no ``tls_disable`` listener, no http://."""
    if not is_vault_release(view, cfg):
        return []
    values = view.props.get("values")
    if not isinstance(values, Mapping):
        if values in (UNKNOWN, SECRET):
            return []
        return ["values are not set, so the chart defaults apply: global.tlsDisable is true."]
    messages: list[str] = []
    tls_disable = dig(values, "global", "tlsDisable")
    if tls_disable != UNKNOWN and not falsy_explicit(tls_disable):
        state = "missing (the chart default is true)" if tls_disable is None else "true"
        messages.append(f"values.global.tlsDisable is {state}.")
    if truthy(dig(values, "server", "dev", "enabled")):
        messages.append("values.server.dev.enabled runs Vault in dev mode, which serves plain HTTP.")
    active = _active_config_path(values)
    if dig(values, *active) is None and not truthy(dig(values, "server", "dev", "enabled")):
        messages.append(
            f"values.{'.'.join(active)} is not set: the chart's default listener has tls_disable = 1."
        )
    for config_path in VAULT_CONFIG_PATHS:
        if _listener_tls_disabled(dig(values, *config_path)):
            messages.append(f"values.{'.'.join(config_path)} has a listener with tls_disable set.")
    for path, text in walk_strings(values, ("values",)):
        if "http://" in text.lower():
            messages.append(f"{render_path(path)} contains an http:// address.")
    return messages


STORE_KINDS = frozenset({"SecretStore", "ClusterSecretStore"})


def vault_secret_store_tls(view: ResourceView, cfg: Config) -> list[str]:
    """A Vault-backed (Cluster)SecretStore talks https:// and pins a CA."""
    gvk = view.k8s
    if not gvk or gvk[0] != "external-secrets.io" or gvk[2] not in STORE_KINDS:
        return []
    vault = dig(view.props, "spec", "provider", "vault")
    if not isinstance(vault, Mapping):
        return []
    messages: list[str] = []
    server = vault.get("server")
    if isinstance(server, str) and server not in (UNKNOWN, SECRET):
        if server.lower().startswith("http://"):
            messages.append("spec.provider.vault.server is an http:// address.")
        elif not server.lower().startswith("https://"):
            messages.append("spec.provider.vault.server has no https:// scheme.")
    elif server is None:
        messages.append("spec.provider.vault.server is missing.")
    if not vault.get("caBundle") and not vault.get("caProvider"):
        messages.append("spec.provider.vault has neither caBundle nor caProvider, so the server certificate is not pinned.")
    return messages
