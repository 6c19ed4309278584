"""Custom resources at versions the pinned operators serve, and namespace-scoped cluster stores.

``SERVED`` is the one table of what the pinned operators serve (External Secrets Operator's
chart, Argo CD, Sealed Secrets); tests compare it with the CRDs under ``tests/upstream``.
``REMOVED_BUILTIN`` lists built-in Kubernetes API versions removed by 1.25-1.32.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from policies.rules.core import UNKNOWN, Config, ResourceView

# group -> version -> kinds served. A kind of a listed group at any other version is not served.
SERVED: Mapping[str, Mapping[str, frozenset[str]]] = {
    "external-secrets.io": {
        "v1": frozenset({"ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret"}),
        "v1alpha1": frozenset({"PushSecret"}),
    },
    "generators.external-secrets.io": {
        "v1alpha1": frozenset(
            {
                "ACRAccessToken", "BeyondtrustWorkloadCredentialsDynamicSecret", "CloudsmithAccessToken",
                "ClusterGenerator", "ECRAuthorizationToken", "Fake", "GCRAccessToken", "GeneratorState",
                "GithubAccessToken", "GitlabDeployToken", "Grafana", "MFA", "Password", "QuayAccessToken",
                "SSHKey", "STSSessionToken", "UUID", "VaultDynamicSecret", "Webhook",
            }
        ),
    },
    "argoproj.io": {
        "v1alpha1": frozenset({"Application", "ApplicationSet", "AppProject"}),
    },
    "bitnami.com": {
        "v1alpha1": frozenset({"SealedSecret"}),
    },
}
OPERATOR_OF_GROUP: Mapping[str, str] = {
    "external-secrets.io": "External Secrets Operator",
    "generators.external-secrets.io": "External Secrets Operator",
    "argoproj.io": "Argo CD",
    "bitnami.com": "Sealed Secrets",
}

# (group, version) -> the version to use instead, for built-in APIs gone from current clusters.
REMOVED_BUILTIN: Mapping[tuple[str, str], str] = {
    ("extensions", "v1beta1"): "apps/v1 or networking.k8s.io/v1",
    ("apps", "v1beta1"): "apps/v1",
    ("apps", "v1beta2"): "apps/v1",
    ("batch", "v1beta1"): "batch/v1",
    ("policy", "v1beta1"): "policy/v1",
    ("networking.k8s.io", "v1beta1"): "networking.k8s.io/v1",
    ("rbac.authorization.k8s.io", "v1beta1"): "rbac.authorization.k8s.io/v1",
    ("apiextensions.k8s.io", "v1beta1"): "apiextensions.k8s.io/v1",
    ("admissionregistration.k8s.io", "v1beta1"): "admissionregistration.k8s.io/v1",
    ("autoscaling", "v2beta1"): "autoscaling/v2",
    ("autoscaling", "v2beta2"): "autoscaling/v2",
    ("discovery.k8s.io", "v1beta1"): "discovery.k8s.io/v1",
    ("events.k8s.io", "v1beta1"): "events.k8s.io/v1",
    ("storage.k8s.io", "v1beta1"): "storage.k8s.io/v1",
    ("scheduling.k8s.io", "v1beta1"): "scheduling.k8s.io/v1",
    ("certificates.k8s.io", "v1beta1"): "certificates.k8s.io/v1",
    ("coordination.k8s.io", "v1beta1"): "coordination.k8s.io/v1",
    ("node.k8s.io", "v1beta1"): "node.k8s.io/v1",
    ("flowcontrol.apiserver.k8s.io", "v1beta1"): "flowcontrol.apiserver.k8s.io/v1",
    ("flowcontrol.apiserver.k8s.io", "v1beta2"): "flowcontrol.apiserver.k8s.io/v1",
}


def is_served(group: str, version: str, kind: str) -> bool | None:
    """True/False for groups in ``SERVED``; None for groups this table does not own."""
    versions = SERVED.get(group)
    if versions is None:
        return None
    return kind in versions.get(version, frozenset())


def _gvks(view: ResourceView) -> set[tuple[str, str, str]]:
    """(group, version, kind) from the type token and from ``apiVersion``/``kind`` inputs."""
    found: set[tuple[str, str, str]] = set()
    gvk = view.k8s
    if gvk:
        found.add(gvk)
    api_version, kind = view.props.get("apiVersion"), view.props.get("kind")
    if isinstance(api_version, str) and isinstance(kind, str) and UNKNOWN not in (api_version, kind):
        group, _, version = api_version.rpartition("/")
        found.add((group or "core", version, kind))
    return found


def served_api_versions(view: ResourceView, cfg: Config) -> list[str]:
    """Custom resources at versions the pinned operators serve; no removed built-in APIs."""
    messages: list[str] = []
    for group, version, kind in sorted(_gvks(view)):
        served = is_served(group, version, kind)
        if served is False:
            alternatives = sorted(v for v, kinds in SERVED[group].items() if kind in kinds)
            hint = f"; use {group}/{alternatives[0]}" if alternatives else f"; {kind} is not a {group} kind"
            messages.append(
                f"{group}/{version} {kind} is not served by the pinned {OPERATOR_OF_GROUP[group]}{hint}."
            )
        elif served is None and (group, version) in REMOVED_BUILTIN:
            messages.append(f"{group}/{version} {kind} is removed from Kubernetes; use {REMOVED_BUILTIN[(group, version)]}.")
    return messages


# --- cluster-secret-store-conditions ----------------------------------------------------------

_PROBE_NAMESPACES = ("kube-system", "default", "zz-unrelated-namespace-0")


def _condition_problems(i: int, cond: Any) -> list[str]:
    where = f"spec.conditions[{i}]"
    if not isinstance(cond, Mapping):
        return [f"{where} is not an object."]
    problems: list[str] = []
    names = cond.get("namespaces")
    selector = cond.get("namespaceSelector")
    regexes = cond.get("namespaceRegexes")
    if not names and selector is None and not regexes:
        problems.append(f"{where} names no namespaces, selector or regexes.")
    if isinstance(names, Sequence) and not isinstance(names, str) and any(isinstance(n, str) and "*" in n for n in names):
        problems.append(f"{where}.namespaces contains a wildcard.")
    if selector is not None:
        if not isinstance(selector, Mapping) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            problems.append(f"{where}.namespaceSelector is empty and matches every namespace.")
        else:
            exprs = selector.get("matchExpressions") or []
            if not selector.get("matchLabels") and exprs and all(
                isinstance(e, Mapping) and e.get("operator") in ("NotIn", "DoesNotExist") for e in exprs
            ):
                problems.append(f"{where}.namespaceSelector only excludes, so it matches almost every namespace.")
    if isinstance(regexes, Sequence) and not isinstance(regexes, str):
        for regex in regexes:
            if not isinstance(regex, str) or regex == UNKNOWN:
                continue
            try:
                compiled = re.compile(regex)
            except re.error:
                problems.append(f"{where}.namespaceRegexes has an invalid pattern.")
                continue
            if any(compiled.search(ns) for ns in _PROBE_NAMESPACES):
                problems.append(f"{where}.namespaceRegexes pattern {regex!r} matches unrelated namespaces.")
    return problems


def cluster_secret_store_conditions(view: ResourceView, cfg: Config) -> list[str]:
    """A ClusterSecretStore serves only the namespaces its ``spec.conditions`` name."""
    gvk = view.k8s
    if not gvk or gvk[0] != "external-secrets.io" or gvk[2] != "ClusterSecretStore":
        return []
    conditions = (view.props.get("spec") or {}).get("conditions") if isinstance(view.props.get("spec"), Mapping) else None
    if conditions == UNKNOWN:
        return []
    if not isinstance(conditions, Sequence) or isinstance(conditions, str) or not conditions:
        return ["spec.conditions is missing: every namespace of the cluster could read through this store."]
    messages: list[str] = []
    for i, cond in enumerate(conditions):
        messages.extend(_condition_problems(i, cond))
    return messages

