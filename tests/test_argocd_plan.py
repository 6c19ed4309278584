"""ArgoCD as the program registers it, for both stacks and both Vault phases: the component's shape and
outputs, the release, the platform's ExternalSecrets, AppProjects and ApplicationSets (schemas, contents)
and the order a first `pulumi up` needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.argocd import ArgoCD
from components.argocd.applicationsets import application_set
from components.argocd.projects import app_project
from components.argocd.secrets import platform_external_secrets
from components.argocd.values import argocd_values
from components.config import load_platform_config
from components.platform import Platform
from planner.artifacts import kubernetes_manifest
from planner.run import Recording, run_program
from planner.stackfile import read_stack
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings
from tests.test_argocd import argo_crd_errors
from tests.test_external_secrets import crd_errors

COMPONENT = "platform:argocd:ArgoCD"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
APPSET = "kubernetes:argoproj.io/v1alpha1:ApplicationSet"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
NAMESPACE = "kubernetes:core/v1:Namespace"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PHASES = [(stack, phase) for stack in STACKS for phase in (1, 2)]


def environments(stack: str) -> list[str]:
    return list(stack_config_objects(stack)["platform:environments"])


def mine(rec: Recording, type_token: str) -> list[dict[str, Any]]:
    return rec.children(COMPONENT, type_token)


def one(rec: Recording, type_token: str, name: str) -> dict[str, Any]:
    found = [r for r in rec.by_type(type_token) if r["name"] == name]
    assert len(found) == 1, f"expected one {type_token} {name!r}, got {[r['name'] for r in rec.by_type(type_token)]}"
    return found[0]


def position(rec: Recording, urn: str) -> int:
    return next(i for i, r in enumerate(rec.resources) if r["urn"] == urn)


# --- component shape ------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_component_parents_its_children_and_uses_the_explicit_provider(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    comp = rec.component(COMPONENT)
    assert comp["urn"].endswith("platform:core:Platform$platform:argocd:ArgoCD::argocd")
    children = [r for r in rec.resources if r["parent"] == comp["urn"]]
    envs = environments(stack)
    ha = stack == "prod"
    assert sorted(r["type"] for r in children) == sorted(
        [LIMIT_RANGE, RELEASE] + [EXTERNAL_SECRET] * 3 + [PROJECT, APPSET] * len(envs) + [NETWORK_POLICY] * (2 if ha else 0)
    )
    provider = one(rec, RELEASE, "external-secrets")["provider"]
    assert provider and "pulumi:providers:kubernetes" in provider
    for child in children:
        assert child["custom"] is True
        assert child["provider"] == provider, child["urn"]
    # No other component registers Argo CD objects.
    assert {r["parent"] for r in rec.by_type(PROJECT) + rec.by_type(APPSET)} == {comp["urn"]}


def test_outputs_are_attributes() -> None:
    captured: dict[str, Any] = {}

    def probe() -> None:
        captured["argocd"] = Platform("platform", load_platform_config()).argocd

    run_program(read_stack(ROOT, "prod"), program=probe)
    argocd = captured["argocd"]
    assert isinstance(argocd, ArgoCD)
    assert argocd.url == "https://argocd.platform-prod.example.com"
    assert argocd.release is not None
    assert sorted(argocd.projects) == sorted(argocd.application_sets) == sorted(stack_config_objects("prod")["platform:environments"])
    assert sorted(argocd.external_secrets) == ["argocd-notifications-secret", "argocd-oidc", "argocd-repo-gitops"]


# --- the release ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_release_is_pinned_named_and_receives_exactly_the_built_values(recording: Callable[..., Recording], stack: str) -> None:
    release = one(recording(stack), RELEASE, "argocd")
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["name"], inputs["namespace"]) == ("argo-cd", "10.1.1", "argocd", "argocd")
    assert inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert inputs["createNamespace"] is False
    assert inputs["values"] == json.loads(json.dumps(argocd_values(stack_settings(stack))))
    text = json.dumps(inputs)
    assert "[secret]" not in text and "[unknown]" not in text
    assert inputs["values"]["configs"]["cm"]["admin.enabled"] == "false"
    assert inputs["values"]["notifications"]["secret"]["create"] is False
    assert inputs["values"]["configs"]["secret"]["createSecret"] is False
    assert inputs["values"]["redis-ha"]["enabled"] is (stack == "prod")


# --- custom resources -----------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_every_argocd_custom_resource_validates_and_matches_its_builder(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    settings = stack_settings(stack, vaultPhase=phase)
    projects = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, PROJECT)}
    appsets = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, APPSET)}
    assert list(projects) == list(appsets) == environments(stack)
    for env in environments(stack):
        for registered, built in ((projects[env], app_project(env, settings)), (appsets[env], application_set(env, settings))):
            manifest = kubernetes_manifest(registered)
            assert argo_crd_errors(manifest) == [], registered["urn"]
            assert manifest["spec"] == json.loads(json.dumps(built["spec"])), registered["urn"]
            assert "[secret]" not in json.dumps(manifest)
    secrets = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, EXTERNAL_SECRET)}
    built_secrets = {es["metadata"]["name"]: es for es in platform_external_secrets(settings)}
    assert set(secrets) == set(built_secrets)
    for name, registered in secrets.items():
        manifest = kubernetes_manifest(registered)
        assert crd_errors(manifest) == [], registered["urn"]
        assert manifest["spec"] == json.loads(json.dumps(built_secrets[name]["spec"]))
        assert "[secret]" not in json.dumps(manifest)


@pytest.mark.parametrize("stack", STACKS)
def test_projects_and_application_sets_by_environment(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    settings = stack_settings(stack)
    for env in environments(stack):
        project = one(rec, PROJECT, f"argocd-project-{env}")["inputs"]["spec"]
        assert project["sourceRepos"] == [settings.gitops.repo_url]
        assert project["destinations"] == [{"namespace": env, "server": "https://kubernetes.default.svc"}]
        assert project["clusterResourceWhitelist"] == []
        appset = one(rec, APPSET, f"argocd-appset-{env}")["inputs"]["spec"]
        assert appset["generators"][0]["list"]["elements"] == [{"app": a.name} for a in settings.environments[env].apps]
        assert appset["goTemplateOptions"] == ["missingkey=error"]
        assert appset["syncPolicy"]["preserveResourcesOnDeletion"] is True
        policy = appset["template"]["spec"]["syncPolicy"]
        assert ("automated" in policy) is (settings.environments[env].sync_policy == "automated")
        assert ("automated" in policy) is (env != "production")


# --- order for a first `pulumi up` -----------------------------------------------------------------

@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_everything_waits_for_the_crds_and_what_it_uses(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    release = one(rec, RELEASE, "argocd")
    eso_release = one(rec, RELEASE, "external-secrets")["urn"]
    platform_store = one(rec, STORE, "store-platform-aws")["urn"]
    argocd_ns = one(rec, NAMESPACE, "argocd")["urn"]
    secrets = mine(rec, EXTERNAL_SECRET)
    for es in secrets:
        assert {eso_release, platform_store, argocd_ns} <= set(es["dependencies"]), es["urn"]
        assert position(rec, es["urn"]) < position(rec, release["urn"])
    # The release waits for its Secrets' ExternalSecrets, the namespace defaults and the Redis HA policies.
    before = {r["urn"] for r in secrets + mine(rec, LIMIT_RANGE) + mine(rec, NETWORK_POLICY)} | {argocd_ns}
    assert before <= set(release["dependencies"])
    backends = ("vault", "aws") if phase == 2 else ("aws",)
    for env in environments(stack):
        project = one(rec, PROJECT, f"argocd-project-{env}")
        appset = one(rec, APPSET, f"argocd-appset-{env}")
        env_ns = one(rec, NAMESPACE, env)["urn"]
        assert release["urn"] in project["dependencies"], project["urn"]
        stores = {one(rec, STORE, f"store-{env}-{b}")["urn"] for b in backends}
        assert {release["urn"], project["urn"], env_ns} | stores <= set(appset["dependencies"]), appset["urn"]
        other_stores = {r["urn"] for r in rec.by_type(STORE)} - stores
        assert not other_stores & set(appset["dependencies"]), appset["urn"]  # only its own environment's stores
        assert position(rec, project["urn"]) < position(rec, appset["urn"])
    if phase == 1:
        assert not [r for r in rec.by_type(STORE) if r["name"].endswith("-vault")]


@pytest.mark.parametrize("stack", STACKS)
def test_limit_range_and_policies_are_in_argocd(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    (limit_range,) = mine(rec, LIMIT_RANGE)
    assert limit_range["inputs"]["metadata"]["namespace"] == "argocd"
    limit = limit_range["inputs"]["spec"]["limits"][0]["default"]["memory"]
    assert limit == stack_settings(stack).argocd.redis_memory_limit
    policies = mine(rec, NETWORK_POLICY)
    assert len(policies) == (2 if stack == "prod" else 0)
    for policy in policies:
        assert policy["inputs"]["metadata"]["namespace"] == "argocd"
        assert one(rec, NAMESPACE, "argocd")["urn"] in policy["dependencies"]
