"""The GitOps tree against the AppProjects' allowlist and the admission policies (issue 16, items 1 and 2).

Every overlay of every app of every environment is rendered as Argo CD renders it (the
``render`` fixture of tests/test_gitops_tree.py: ``kubectl kustomize``, skipped with a reason
when kubectl is missing) and the kinds it yields are compared with the projects'
``namespaceResourceWhitelist``: the list holds exactly what the tree needs, so an Ingress, a
ConfigMap or any later CRD stays refused until a reviewed change adds it. Every rendered object,
as Argo CD applies it, and every pod its templates make pass the admission policies.
"""

from __future__ import annotations

import pytest

from components.admission.policies import admission_policies
from components.argocd.projects import ALLOWED_KINDS, DENIED_KINDS
from planner.admission import BoundPolicy, admission_denials
from tests.conftest import stack_settings
from tests.test_admission import tracked
from tests.test_gitops_tree import DEPLOYED, Deployed, Render, pod_templates, render  # noqa: F401  (the fixture)


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


@pytest.mark.parametrize("deployed", DEPLOYED, ids=str)
def test_everything_an_overlay_renders_passes_admission_as_argo_cd_applies_it(render: Render, deployed: Deployed) -> None:  # noqa: F811
    """The tree stays deployable: each object with its Application's tracking annotation, and each pod its templates make."""
    policies = [BoundPolicy(p.name, p.policy()["spec"], frozenset([deployed.env]))
                for p in admission_policies(stack_settings(deployed.stack))]
    objects = render(deployed)
    for obj in objects:
        applied = tracked(obj, deployed.env, deployed.app.name)
        assert admission_denials(policies, applied, deployed.env) == [], f"{deployed}: {obj['kind']}/{obj['metadata']['name']}"
    templates = pod_templates(objects)
    assert templates
    for name, template in templates:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": dict(template["metadata"]),
               "spec": {"serviceAccountName": "default", **template["spec"]}}  # the API server's default when unset
        assert admission_denials(policies, pod, deployed.env) == [], f"{deployed}: pods of {name}"
