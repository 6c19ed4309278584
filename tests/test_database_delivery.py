"""Delivery of database users through ESO: the platform's generators, their token Role and the generated ExternalSecrets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.argocd.projects import DENIED_KINDS
from components.config import KNOWN_ENVIRONMENTS
from components.config.types import duration_seconds
from components.external_secrets import names
from components.external_secrets.database_secrets import (
    GENERATOR_API_VERSION,
    GENERATOR_KIND,
    TOKEN_ROLE,
    database_external_secret,
    eso_database_apps,
    stack_database_external_secrets,
)
from components.vault import names as vault_names
from planner import gitops
from planner.artifacts import kubernetes_manifest
from planner.run import Recording
from tests.conftest import ROOT, STACKS, stack_settings
from tests.test_external_secrets import crd_errors

GENERATOR = f"kubernetes:{GENERATOR_API_VERSION}:{GENERATOR_KIND}"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


@pytest.mark.parametrize("stack", STACKS)
def test_one_generator_per_eso_database_in_its_environment_reading_its_own_role(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    expected = {(env, app.name): app for env, apps in eso_database_apps(stack_settings(stack)).items() for app in apps}
    assert expected
    generators = rec.by_type(GENERATOR)
    assert {(g["inputs"]["metadata"]["namespace"], g["inputs"]["metadata"]["name"]) for g in generators} == {
        (env, f"{app}-database") for env, app in expected}
    release = rec.one("kubernetes:helm.sh/v3:Release", names.RELEASE)["urn"]
    for g in generators:
        env, name = g["inputs"]["metadata"]["namespace"], g["inputs"]["metadata"]["name"]
        app = expected[(env, name.removesuffix("-database"))]
        spec = g["inputs"]["spec"]
        assert spec["path"] == f"database/creds/{env}-{app.name}" and spec["method"] == "GET"
        assert spec["provider"]["server"] == vault_names.ACTIVE_ADDRESS
        assert spec["provider"]["caProvider"] == {"type": "ConfigMap", "name": vault_names.CA_CONFIG_MAP, "key": vault_names.CA_KEY}
        assert spec["provider"]["auth"]["kubernetes"] == {
            "mountPath": "kubernetes", "role": f"{env}-{app.name}",
            "serviceAccountRef": {"name": app.service_account_name, "audiences": ["vault"]},
        }
        assert release in g["dependencies"], "the generator waits for the CRDs"
        assert crd_errors(kubernetes_manifest(g)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_controller_mints_tokens_only_for_the_generators_service_accounts(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    for env, apps in eso_database_apps(stack_settings(stack)).items():
        role = rec.one(ROLE, f"{env}-{TOKEN_ROLE}")["inputs"]
        assert role["metadata"]["namespace"] == env
        assert role["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                                  "resourceNames": sorted(a.service_account_name for a in apps), "verbs": ["create"]}]
        binding = rec.one(BINDING, f"{env}-{TOKEN_ROLE}")["inputs"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": names.CONTROLLER_SERVICE_ACCOUNT, "namespace": names.NAMESPACE}]
        assert binding["roleRef"]["name"] == TOKEN_ROLE


def test_phase_one_has_no_generator(recording: Callable[..., Recording]) -> None:
    assert recording("dev", 1).by_type(GENERATOR) == []


@pytest.mark.parametrize("stack", STACKS)
def test_generated_database_external_secrets_refresh_within_the_lease_and_roll_the_pods(stack: str) -> None:
    settings = stack_settings(stack)
    manifests = stack_database_external_secrets(settings)
    assert manifests
    for (env, app_name), es in manifests.items():
        app = next(a for a in settings.environments[env].apps if a.name == app_name)
        assert app.database is not None
        assert crd_errors(es) == []
        spec = es["spec"]
        assert duration_seconds(spec["refreshInterval"]) * 2 <= duration_seconds(app.database.default_ttl)
        assert spec["dataFrom"] == [{"sourceRef": {"generatorRef": {
            "apiVersion": GENERATOR_API_VERSION, "kind": GENERATOR_KIND, "name": f"{app_name}-database"}}}]
        assert spec["target"]["name"] == f"{app_name}-database" and spec["target"]["creationPolicy"] == "Owner"
        assert spec["target"]["template"]["metadata"]["annotations"] == {names.RELOADER_MATCH_ANNOTATION: "true"}
        assert es["metadata"]["annotations"] == {names.SYNC_WAVE_ANNOTATION: names.EXTERNAL_SECRET_WAVE}
        assert "secretStoreRef" not in spec, "the generator, not a store, is the source"
        committed = (ROOT / gitops.overlay_dir(settings, app_name, env) / gitops.DATABASE_SECRET_FILE).read_text()
        assert committed == gitops.external_secret_file(stack, es)


def test_agent_delivery_gets_no_generator_and_no_external_secret() -> None:
    settings = stack_settings("dev")
    agent = [(env, app) for env, cfg in settings.environments.items() for app in cfg.apps
             if app.database is not None and app.database.delivery == "agent"]
    assert agent
    for env, app in agent:
        assert app not in eso_database_apps(settings).get(env, [])
        with pytest.raises(ValueError, match="no database delivered by ESO"):
            database_external_secret(env, app)


def test_tenants_cannot_create_generators() -> None:
    """Argo CD's app projects deny every generator kind, so only the program creates them."""
    assert any(d.group == GENERATOR_API_VERSION.split("/")[0] and d.kind == "*" for d in DENIED_KINDS)


@pytest.mark.parametrize("stack", STACKS)
def test_a_tenant_cannot_reach_another_environments_generator(recording: Callable[..., Recording], stack: str) -> None:
    """As the owner of one app's folder: a generatorRef has no namespace (the pinned CRD refuses one), and the
    only cluster-wide generator kind, ClusterGenerator, is one the platform never creates."""
    settings = stack_settings(stack)
    (env, app_name), es = next(iter(stack_database_external_secrets(settings).items()))
    other = next(e for e in KNOWN_ENVIRONMENTS if e != env)
    attack = {**es, "spec": {**es["spec"], "dataFrom": [{"sourceRef": {"generatorRef": {
        "apiVersion": GENERATOR_API_VERSION, "kind": GENERATOR_KIND, "name": f"{app_name}-database", "namespace": other}}}]}}
    assert any("namespace" in error for error in crd_errors(attack))
    assert not [r for r in recording(stack).resources if r["type"].endswith(":ClusterGenerator")]
    generators = recording(stack).by_type(GENERATOR)
    assert {g["inputs"]["metadata"]["namespace"] for g in generators} <= set(settings.environments)


@pytest.mark.parametrize("stack", STACKS)
def test_generators_wait_for_vaults_configuration(recording: Callable[..., Recording], stack: str) -> None:
    """Racing the first phase-2 `up`: a generator exists only after the Vault roles it logs in with."""
    rec = recording(stack)
    generators = rec.by_type(GENERATOR)
    assert generators
    for g in generators:
        role = g["inputs"]["spec"]["provider"]["auth"]["kubernetes"]["role"]
        assert rec.one("vault:kubernetes/authBackendRole:AuthBackendRole", role)["urn"] in g["dependencies"]
        creds_role = g["inputs"]["spec"]["path"].rsplit("/", 1)[1]
        assert rec.one("vault:database/secretBackendRole:SecretBackendRole", f"db-{creds_role}")["urn"] in g["dependencies"]
