"""ExternalSecrets as the program registers it, for both stacks and both Vault phases:
releases, stores, identities, isolation, Reloader wiring, dependencies and schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.config import StackConfig
from components.external_secrets import names, values
from components.external_secrets.stores import StoreSpec, VaultEndpoint, cluster_secret_store
from components.naming import PLATFORM_SCOPE
from components.vault import names as vault_names
from components.versions import CHART_PINS
from planner.artifacts import kubernetes_manifest
from planner.run import Recording, run_program
from tests.conftest import STACKS, stack_config_objects, stack_input_from_objects, stack_settings
from tests.test_external_secrets import crd_errors

COMPONENT = "platform:eso:ExternalSecrets"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
NAMESPACE = "kubernetes:core/v1:Namespace"
IAM_ROLE = "aws:iam/role:Role"
PHASES = [(stack, phase) for stack in STACKS for phase in (1, 2)]
VAULT = VaultEndpoint(server=vault_names.ACTIVE_ADDRESS, ca_config_map=vault_names.CA_CONFIG_MAP, ca_key=vault_names.CA_KEY)


def environments(stack: str) -> list[str]:
    return list(stack_config_objects(stack)["platform:environments"])


def settings_for(stack: str, phase: int) -> StackConfig:
    return stack_settings(stack, vaultPhase=phase)


def mine(rec: Recording, type_token: str) -> list[dict[str, Any]]:
    """Resources of a type that the ExternalSecrets component registered."""
    return rec.children(COMPONENT, type_token)


def one(rec: Recording, type_token: str, name: str) -> dict[str, Any]:
    found = [r for r in mine(rec, type_token) if r["name"] == name]
    assert len(found) == 1, f"expected one {type_token} {name!r}, got {[r['name'] for r in mine(rec, type_token)]}"
    return found[0]


def urn_of(rec: Recording, type_token: str, name: str) -> str:
    (found,) = [r["urn"] for r in rec.by_type(type_token) if r["name"] == name]
    return found


def expected_stores(stack: str, phase: int) -> list[str]:
    backends = ("vault", "aws") if phase == 2 else ("aws",)
    return [f"{scope}-{b}" for scope in [*environments(stack), PLATFORM_SCOPE] for b in backends]


# --- component shape --------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_component_parents_its_children_and_uses_the_explicit_provider(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    urn = rec.component(COMPONENT)["urn"]
    assert urn.endswith("platform:core:Platform$platform:eso:ExternalSecrets::external-secrets")
    children = [r for r in rec.resources if r["parent"] == urn]
    assert len(children) >= 15
    for child in children:
        assert child["provider"] and "pulumi:providers:kubernetes" in child["provider"], child["urn"]


# --- releases --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_eso_release_is_the_pinned_chart_with_the_values_builder(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    release = one(rec, RELEASE, "external-secrets")
    inputs = release["inputs"]
    pin = CHART_PINS["external-secrets"]
    assert (inputs["name"], inputs["namespace"], inputs["chart"], inputs["version"]) == (
        "external-secrets", "external-secrets", "external-secrets", "2.9.0")
    assert inputs["repositoryOpts"] == {"repo": pin.repository}
    assert inputs["createNamespace"] is False
    settings = stack_settings(stack)
    assert inputs["values"] == values.eso_values(settings.external_secrets)
    assert inputs["values"]["replicaCount"] == settings.external_secrets.controller.replicas
    assert "[secret]" not in json.dumps(inputs["values"])
    assert urn_of(rec, NAMESPACE, "external-secrets") in release["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_reloader_release_watches_the_environments_and_waits_for_their_namespaces(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    inputs = one(rec, RELEASE, "reloader")["inputs"]
    assert (inputs["name"], inputs["namespace"], inputs["chart"], inputs["version"]) == ("reloader", "external-secrets", "reloader", "2.2.16")
    reloader = inputs["values"]["reloader"]
    assert reloader["namespaces"] == environments(stack)
    assert reloader["watchGlobally"] is False and reloader["reloadStrategy"] == "annotations"
    deps = one(rec, RELEASE, "reloader")["dependencies"]
    for ns in [*environments(stack), "external-secrets"]:
        assert urn_of(rec, NAMESPACE, ns) in deps, ns


@pytest.mark.parametrize("stack", STACKS)
def test_sealed_secrets_is_off_by_default(recording: Callable[..., Recording], stack: str) -> None:
    assert stack_config_objects(stack)["platform:externalSecrets"]["sealedSecrets"]["enabled"] is False
    assert [r["name"] for r in mine(recording(stack), RELEASE)] == ["external-secrets", "reloader"]


def test_sealed_secrets_release_when_enabled() -> None:
    objects = stack_config_objects("prod")
    objects["platform:externalSecrets"] = {**objects["platform:externalSecrets"], "sealedSecrets": {"enabled": True}}
    rec = run_program(stack_input_from_objects("prod", objects))
    release = one(rec, RELEASE, "sealed-secrets")["inputs"]
    assert (release["name"], release["namespace"], release["chart"], release["version"]) == (
        "sealed-secrets", "kube-system", "sealed-secrets", CHART_PINS["sealed-secrets"].version)
    assert release["values"] == values.sealed_secrets_values()


# --- stores, their identities and isolation ------------------------------------------------------------

@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_one_store_per_scope_and_backend_vault_only_in_phase_2(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    stores = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, STORE)}
    assert sorted(stores) == sorted(expected_stores(stack, phase))
    settings = settings_for(stack, phase)
    for name, store in stores.items():
        scope, backend = name.rsplit("-", 1)
        expected = cluster_secret_store(StoreSpec(scope, backend), region=settings.aws.region, vault=VAULT)  # type: ignore[arg-type]
        manifest = kubernetes_manifest(store)
        assert manifest["apiVersion"] == "external-secrets.io/v1" and manifest["kind"] == "ClusterSecretStore"
        assert manifest["spec"] == expected["spec"], store["urn"]
        assert crd_errors(manifest) == [], store["urn"]


@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_no_store_serves_another_environments_namespace(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    envs = environments(stack)
    for store in mine(recording(stack, phase), STORE):
        name = store["inputs"]["metadata"]["name"]
        scope = name.rsplit("-", 1)[0]
        conditions = store["inputs"]["spec"]["conditions"]
        served = {ns for c in conditions for ns in c.get("namespaces", [])}
        assert conditions == [{"namespaces": [scope if scope in envs else "argocd"]}], name
        assert not any("namespaceSelector" in c or "namespaceRegexes" in c for c in conditions)
        assert served.isdisjoint(set(envs) - {scope}), name


@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_store_identities_live_in_external_secrets_never_in_an_app_namespace(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    accounts = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, SERVICE_ACCOUNT)}
    assert sorted(accounts) == sorted(f"eso-{s}" for s in expected_stores(stack, phase))
    for account in accounts.values():
        assert account["inputs"]["metadata"]["namespace"] == "external-secrets"
        assert account["inputs"]["automountServiceAccountToken"] is False
    app_namespaces = set(environments(stack)) | {"argocd"}
    for sa in rec.by_type(SERVICE_ACCOUNT):
        if sa["inputs"]["metadata"].get("namespace") in app_namespaces:
            assert not sa["inputs"]["metadata"]["name"].startswith("eso-"), sa["urn"]
    for store in mine(rec, STORE):
        provider = store["inputs"]["spec"]["provider"]
        ref = (provider["vault"]["auth"]["kubernetes"]["serviceAccountRef"] if "vault" in provider
               else provider["aws"]["auth"]["jwt"]["serviceAccountRef"])
        assert ref["namespace"] == "external-secrets"
        assert ref["name"] == f"eso-{store['inputs']['metadata']['name']}"
        assert ref["name"] in accounts


@pytest.mark.parametrize("stack", STACKS)
def test_aws_store_accounts_carry_their_scopes_reader_role(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    account_id = stack_config_objects(stack)["platform:aws"]["accountId"]
    for scope in [*environments(stack), PLATFORM_SCOPE]:
        sa = one(rec, SERVICE_ACCOUNT, f"eso-{scope}-aws")
        (role,) = [r for r in rec.by_type(IAM_ROLE) if r["name"] == f"eso-{scope}-aws"]
        assert sa["inputs"]["metadata"]["annotations"] == {
            "eks.amazonaws.com/role-arn": f"arn:aws:iam::{account_id}:role/{role['inputs']['name']}"}
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        (subject,) = [v for k, v in trust["Statement"][0]["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subject == f"system:serviceaccount:external-secrets:eso-{scope}-aws"


@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_controller_may_mint_tokens_for_the_store_accounts_only(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    (rule,) = one(rec, ROLE, "eso-store-tokens")["inputs"]["rules"]
    assert rule == {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"],
                    "resourceNames": sorted(f"eso-{s}" for s in expected_stores(stack, phase))}
    binding = one(rec, ROLE_BINDING, "eso-store-tokens")["inputs"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}]
    assert one(rec, RELEASE, "external-secrets")["inputs"]["values"]["rbac"]["serviceAccountTokenCreate"] is False


# --- ordering for a first `pulumi up` -------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_every_custom_resource_waits_for_the_crd_release_and_what_it_uses(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    rec = recording(stack, phase)
    release = one(rec, RELEASE, "external-secrets")["urn"]
    binding = one(rec, ROLE_BINDING, "eso-store-tokens")["urn"]
    custom = [r for r in rec.resources if r["type"].startswith("kubernetes:external-secrets.io/")]
    stores = {r["inputs"]["metadata"]["name"]: r for r in custom if r["inputs"]["kind"] == "ClusterSecretStore"}
    assert sorted(stores) == sorted(expected_stores(stack, phase))
    for r in custom:
        assert release in r["dependencies"], r["urn"]
    for name, store in stores.items():
        deps = store["dependencies"]
        assert one(rec, SERVICE_ACCOUNT, f"eso-{name}")["urn"] in deps, store["urn"]
        assert binding in deps, store["urn"]
        if name.endswith("-aws"):
            assert urn_of(rec, IAM_ROLE, f"eso-{name}") in deps, store["urn"]
        else:
            assert urn_of(rec, RELEASE, "vault") in deps, store["urn"]
    # ExternalSecrets the program registers (Argo CD's own, in `argocd`) wait for the stores they read through.
    for r in (r for r in custom if r["inputs"]["kind"] == "ExternalSecret"):
        spec = r["inputs"]["spec"]
        used = {spec["secretStoreRef"]["name"]} | {
            d["sourceRef"]["storeRef"]["name"] for d in spec["data"] if "sourceRef" in d}
        for store_name in used:
            assert stores[store_name]["urn"] in r["dependencies"], f"{r['urn']} does not wait for {store_name}"


@pytest.mark.parametrize(("stack", "phase"), PHASES)
def test_every_eso_custom_resource_in_the_plan_validates_against_the_pinned_crds(
    recording: Callable[..., Recording], stack: str, phase: int
) -> None:
    custom = [r for r in recording(stack, phase).resources if r["type"].startswith("kubernetes:external-secrets.io/")]
    failures = [f"{r['urn']}: {e}" for r in custom for e in crd_errors(kubernetes_manifest(r))]
    assert custom and failures == []


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_are_registered_in_the_namespace(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    policies = {r["inputs"]["metadata"]["name"]: r for r in mine(rec, NETWORK_POLICY)}
    assert set(policies) == {"default-deny", "external-secrets-controller", "external-secrets-webhook",
                             "external-secrets-cert-controller", "reloader"}
    api_cidrs = stack_config_objects(stack)["platform:cluster"]["apiServerCidrs"]
    webhook = policies["external-secrets-webhook"]["inputs"]["spec"]
    assert webhook["ingress"][0] == {"from": [{"ipBlock": {"cidr": c}} for c in api_cidrs],
                                     "ports": [{"port": names.WEBHOOK_PORT, "protocol": "TCP"}]}
    for policy in policies.values():
        assert policy["inputs"]["metadata"]["namespace"] == "external-secrets"
        assert urn_of(rec, NAMESPACE, "external-secrets") in policy["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_vault_stores_trust_the_ca_vault_cluster_publishes_beside_them(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    published = [r for r in rec.by_type("kubernetes:core/v1:ConfigMap")
                 if r["inputs"]["metadata"] == {**r["inputs"]["metadata"], "name": "vault-ca", "namespace": "external-secrets"}]
    assert len(published) == 1 and "ca.crt" in published[0]["inputs"]["data"]
    for store in mine(rec, STORE):
        vault = store["inputs"]["spec"]["provider"].get("vault")
        if vault is None:
            continue
        assert vault["server"] == vault_names.ACTIVE_ADDRESS and vault["server"].startswith("https://")
        assert vault["caProvider"] == {"type": "ConfigMap", "name": "vault-ca", "key": "ca.crt", "namespace": "external-secrets"}
