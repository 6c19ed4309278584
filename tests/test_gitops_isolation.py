"""The GitOps tree against the AppProjects' allowlist (issue 16, item 2).

Every overlay of every app of every environment is rendered as Argo CD renders it (the
``render`` fixture of tests/test_gitops_tree.py: ``kubectl kustomize``, skipped with a reason
when kubectl is missing) and the kinds it yields are compared with the projects'
``namespaceResourceWhitelist``: the list holds exactly what the tree needs, so an Ingress, a
ConfigMap or any later CRD stays refused until a reviewed change adds it.
"""

from __future__ import annotations

import pytest

from components.argocd.projects import ALLOWED_KINDS, DENIED_KINDS
from tests.test_gitops_tree import DEPLOYED, Deployed, Render, render  # noqa: F401  (the fixture)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def test_the_tree_renders_exactly_the_whitelisted_kinds(render: Render) -> None:  # noqa: F811
    rendered = {(_group(o["apiVersion"]), o["kind"]) for d in DEPLOYED for o in render(d)}
    assert rendered == {(k.group, k.kind) for k in ALLOWED_KINDS}


@pytest.mark.parametrize("deployed", DEPLOYED, ids=str)
def test_each_overlay_renders_only_whitelisted_kinds(render: Render, deployed: Deployed) -> None:  # noqa: F811
    allowed = {(k.group, k.kind) for k in ALLOWED_KINDS}
    outside = sorted({(_group(o["apiVersion"]), o["kind"]) for o in render(deployed)} - allowed)
    assert outside == [], f"{deployed}: kinds outside the AppProject whitelist: {outside}"


def test_no_whitelisted_kind_is_also_denied() -> None:
    denied = {(d.group, d.kind) for d in DENIED_KINDS}
    denied_groups = {d.group for d in DENIED_KINDS if d.kind == "*"}
    for kind in ALLOWED_KINDS:
        assert (kind.group, kind.kind) not in denied and kind.group not in denied_groups, kind
        assert kind.reason
