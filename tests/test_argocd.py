"""Argo CD builders, without the runtime: release values against the pinned chart, RBAC, notifications,
the platform's ExternalSecrets, AppProjects and ApplicationSets against the pinned CRD schemas, and the config rules."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.argocd import names
from components.argocd.applicationsets import GO_TEMPLATE_OPTIONS, SYNC_OPTIONS, application_set, source_path
from components.argocd.network import limit_range_manifest, redis_ha_network_policies
from components.argocd.notifications import templates, triggers
from components.argocd.projects import ALLOWED_KINDS, DENIED_KINDS, app_project
from components.argocd.rbac import ENVIRONMENT_GRANTS, policy_lines
from components.argocd.secrets import platform_external_secrets
from components.argocd.values import argocd_values
from components.charts import chart_spec
from components.config import ConfigError, StackConfig, parse_stack_config
from components.naming import PLATFORM_APP, PLATFORM_SCOPE, PLATFORM_SECRET_KEYS, secret_path
from components.versions import CHART_PINS
from policies.rules.heuristics import find_secret_material, literal_secret_findings
from tests.conftest import ROOT, STACKS, raw_with_secrets, stack_config_objects, stack_settings
from tests.test_external_secrets import ESO_DIR, assert_restricted, crd_errors, pod_errors, unknown_keys

UPSTREAM = ROOT / "tests" / "upstream"
CHART_DIR = UPSTREAM / "argo-cd-chart" / CHART_PINS["argo-cd"].version
APP_VERSION = re.findall(r"appVersion: (v[0-9.]+)", (CHART_DIR / "SOURCE.md").read_text())[0]
CRD_DIR = UPSTREAM / "argo-cd" / APP_VERSION / "crds"
ENV_STACKS = [(stack, env) for stack in STACKS for env in stack_config_objects(stack)["platform:environments"]]

# The chart copies every key of configs.cm into argocd-cm: below it the keys are Argo CD settings
# (checked against ARGOCD_CM_KEYS), not chart keys.
PASSTHROUGH: set[tuple[str, ...]] = {("configs", "cm")}
# argocd-cm keys this platform sets, each documented in Argo CD's argocd-cm.yaml reference.
ARGOCD_CM_KEYS = {"url", "admin.enabled", "exec.enabled", "users.anonymous.enabled", "oidc.config", "kustomize.buildOptions",
                  "application.sync.requireOverridePrivilegeForRevisionSync", "application.resourceTrackingMethod"}
# (section path, container-security key, pod-security key or None for global.securityContext)
WORKLOADS = (
    (("controller",), "containerSecurityContext", None),
    (("server",), "containerSecurityContext", None),
    (("repoServer",), "containerSecurityContext", None),
    (("applicationSet",), "containerSecurityContext", None),
    (("notifications",), "containerSecurityContext", None),
    (("redis",), "containerSecurityContext", "securityContext"),
    (("redisSecretInit",), "containerSecurityContext", "securityContext"),
)
# Chart keys that would put a credential into the release (and its stored manifest).
CREDENTIAL_KEYS = (
    ("configs", "secret", "argocdServerAdminPassword"), ("configs", "secret", "githubSecret"),
    ("configs", "secret", "gitlabSecret"), ("configs", "secret", "bitbucketServerSecret"),
    ("configs", "secret", "bitbucketUUID"), ("configs", "secret", "gogsSecret"), ("configs", "secret", "azureDevops"),
    ("configs", "secret", "extra"), ("configs", "repositories"), ("configs", "credentialTemplates"),
    ("configs", "clusterCredentials"), ("notifications", "secret", "items"), ("externalRedis", "password"),
    ("dex", "certificateSecret"), ("server", "certificateSecret"), ("repoServer", "certificateSecret"),
)


# --- pinned upstream data -------------------------------------------------------------------

@cache
def chart_values() -> dict[str, Any]:
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())


@cache
def argo_schema(kind: str) -> dict[str, Any]:
    return json.loads((CRD_DIR / f"{kind.lower()}_v1alpha1.json").read_text())


def argo_crd_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Strict validation of an Argo CD custom resource against the pinned CRD schema (draft-04)."""
    group, version = str(manifest["apiVersion"]).split("/")
    served = json.loads((CRD_DIR / "served.json").read_text())
    if not served.get(f"{group}/{version}/{manifest['kind']}"):
        return [f"{manifest['apiVersion']} {manifest['kind']} is not served by Argo CD {APP_VERSION}"]
    validator = jsonschema.Draft4Validator(argo_schema(str(manifest["kind"])))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(dict(manifest))]


def dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def has_path(data: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return False
        data = data[key]
    return True


def environments(stack: str) -> list[str]:
    return list(stack_config_objects(stack)["platform:environments"])


def apps(stack: str, env: str) -> list[str]:
    return [a["name"] for a in stack_config_objects(stack)["platform:environments"][env]["apps"]]


# --- the helpers themselves -------------------------------------------------------------------

def test_pinned_data_is_the_charts_app_version() -> None:
    assert CHART_PINS["argo-cd"].version == "10.1.1"
    assert APP_VERSION == "v3.4.4"
    assert "byte-for-byte" in (CHART_DIR / "SOURCE.md").read_text().lower()


def test_key_walk_and_crd_validation_catch_mistakes() -> None:
    upstream = chart_values()
    assert unknown_keys({"server": {"replica": 2}}, upstream, PASSTHROUGH) == ["server.replica"]
    assert unknown_keys({"configs": {"secret": {"create": False}}}, upstream, PASSTHROUGH) == ["configs.secret.create"]
    assert unknown_keys({"redis-ha": {"haproxy": {"replicas": 3}}}, upstream, PASSTHROUGH) == ["redis-ha.haproxy.replicas"]
    project = app_project("staging", stack_settings("dev"))
    project["spec"]["destination"] = project["spec"].pop("destinations")
    assert argo_crd_errors(project)
    appset = application_set("staging", stack_settings("dev"))
    appset["spec"]["syncPolicy"]["preserveResourcesOnDelete"] = True
    assert argo_crd_errors(appset)
    assert argo_crd_errors({**appset, "apiVersion": "argoproj.io/v1beta1"})


# --- release values -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_values_use_only_keys_of_the_pinned_chart(stack: str) -> None:
    values = argocd_values(stack_settings(stack))
    assert unknown_keys(values, chart_values(), PASSTHROUGH) == []
    assert set(values["configs"]["cm"]) <= ARGOCD_CM_KEYS
    assert all(isinstance(v, str) for v in values["configs"]["cm"].values())  # ConfigMap data


@pytest.mark.parametrize("stack", STACKS)
def test_release_is_the_pinned_chart_with_a_fixed_name_and_namespace(stack: str) -> None:
    spec = chart_spec("argo-cd", stack_settings(stack))
    assert (spec.chart, spec.version, spec.release, spec.namespace) == ("argo-cd", "10.1.1", "argocd", "argocd")
    assert spec.repository == "https://argoproj.github.io/argo-helm"
    values = argocd_values(stack_settings(stack))
    assert values["crds"] == {"install": True, "keep": True}


@pytest.mark.parametrize("stack", STACKS)
def test_ha_by_stack(stack: str) -> None:
    settings = stack_settings(stack)
    cfg = settings.argocd
    v = argocd_values(settings)
    assert cfg.ha is (stack == "prod")
    expected = cfg.replicas if cfg.ha else 1
    for section in ("server", "repoServer", "applicationSet"):
        assert v[section]["replicas"] == expected, section
        assert v[section]["pdb"] == ({"enabled": True, "minAvailable": 1} if cfg.ha else {"enabled": False}), section
    # One cluster is one shard: extra controller replicas would idle, not fail over.
    assert v["controller"]["replicas"] == 1
    assert "pdb" not in v["controller"]
    assert v["redis-ha"]["enabled"] is cfg.ha
    if stack == "prod":
        assert expected >= 2
        assert v["redis-ha"]["hardAntiAffinity"] is False and v["redis-ha"]["haproxy"]["hardAntiAffinity"] is False
        assert v["redis-ha"]["topologySpreadConstraints"]["enabled"] is True
        assert v["global"]["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    else:
        assert v["redis-ha"] == {"enabled": False}
        assert v["global"]["topologySpreadConstraints"] == []


def test_hard_redis_anti_affinity_is_a_choice() -> None:
    prod = stack_config_objects("prod")["platform:argocd"]
    settings = stack_settings("prod", argocd={**prod, "redisHaAntiAffinity": "hard"})
    v = argocd_values(settings)["redis-ha"]
    assert v["hardAntiAffinity"] is True and v["haproxy"]["hardAntiAffinity"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_admin_is_off_and_sign_in_is_sso_with_a_referenced_client_secret(stack: str) -> None:
    cfg = stack_settings(stack).argocd
    v = argocd_values(stack_settings(stack))
    cm = v["configs"]["cm"]
    assert cm["admin.enabled"] == "false"
    assert cm["kustomize.buildOptions"] == "--enable-helm"  # the payments overlay inflates its chart
    assert cm["users.anonymous.enabled"] == "false"
    assert cm["url"] == f"https://{cfg.domain}" == f"https://{v['global']['domain']}"
    assert v["dex"] == {"enabled": False}
    oidc = yaml.safe_load(cm["oidc.config"])
    assert oidc["issuer"] == cfg.sso_issuer_url
    assert oidc["clientID"] == cfg.sso_client_id
    assert oidc["clientSecret"] == f"${names.OIDC_SECRET}:{names.OIDC_CLIENT_SECRET_KEY}"
    assert "groups" in oidc["requestedScopes"]
    # The reference resolves: the ExternalSecret writes that key into that Secret, labelled for Argo CD.
    (oidc_es,) = [es for es in platform_external_secrets(stack_settings(stack)) if es["metadata"]["name"] == names.OIDC_SECRET]
    target = oidc_es["spec"]["target"]
    assert target["name"] == names.OIDC_SECRET
    assert [d["secretKey"] for d in oidc_es["spec"]["data"]] == [names.OIDC_CLIENT_SECRET_KEY]
    assert target["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"


@pytest.mark.parametrize("stack", STACKS)
def test_no_credential_passes_through_the_chart(stack: str) -> None:
    v = argocd_values(stack_settings(stack))
    assert v["configs"]["secret"] == {"createSecret": False}
    assert v["notifications"]["secret"]["create"] is False
    for path in CREDENTIAL_KEYS:
        assert not has_path(v, path), ".".join(path)
    assert literal_secret_findings(v, ("values",)) == []
    assert find_secret_material(json.dumps(v)) == []
    assert "[secret]" not in json.dumps(v)


def test_the_plaintext_check_would_catch_a_pasted_client_secret() -> None:
    v = argocd_values(stack_settings("dev"))
    v["configs"]["cm"]["oidc.config"] = v["configs"]["cm"]["oidc.config"].replace("$argocd-oidc:clientSecret", "s3cr3t-value")
    assert literal_secret_findings(v, ("values",))


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_is_restricted_with_a_memory_limit(stack: str) -> None:
    v = argocd_values(stack_settings(stack))
    for section, container_key, pod_key in WORKLOADS:
        part = dig(v, section)
        pod = part[pod_key] if pod_key else v["global"]["securityContext"]
        assert_restricted(pod, part[container_key])
        assert part["resources"]["limits"]["memory"], section
        assert "cpu" not in part["resources"]["limits"], section
        assert pod_errors(pod_security=pod, container_security=part[container_key], resources=part["resources"],
                          spread=v["global"]["topologySpreadConstraints"]) == [], section
    assert v["repoServer"]["copyutil"]["resources"]["limits"]["memory"]
    assert v["notifications"]["resources"]["limits"]["memory"]
    # Redis HA's containers (resources {} in the subchart) take the namespace's defaults.
    limit_range = limit_range_manifest(stack_settings(stack).argocd)
    (limits,) = limit_range["spec"]["limits"]
    assert limits["type"] == "Container" and limits["default"]["memory"] == stack_settings(stack).argocd.redis_memory_limit
    kubernetes_validate.validate(limit_range, "1.33", strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_are_one_consistent_set(stack: str) -> None:
    settings = stack_settings(stack)
    v = argocd_values(settings)
    assert v["global"]["networkPolicy"] == {"create": True, "defaultDenyIngress": True}
    policies = {p["metadata"]["name"]: p for p in redis_ha_network_policies(settings.argocd)}
    if not settings.argocd.ha:
        assert policies == {}  # the chart ships the single Redis's policy itself
        return
    assert set(policies) == {"argocd-redis-ha-haproxy", "argocd-redis-ha-server"}
    for policy in policies.values():
        kubernetes_validate.validate(policy, "1.33", strict=True)
        assert policy["metadata"]["namespace"] == "argocd"
        assert policy["spec"]["policyTypes"] == ["Ingress"]
    haproxy = policies["argocd-redis-ha-haproxy"]["spec"]
    assert haproxy["podSelector"]["matchLabels"] == {"app": "redis-ha-haproxy", "release": "argocd"}
    sources = [p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in haproxy["ingress"][0]["from"]]
    assert sources == ["argocd-server", "argocd-repo-server", "argocd-application-controller"]
    assert haproxy["ingress"][0]["ports"] == [{"port": 6379, "protocol": "TCP"}]
    server = policies["argocd-redis-ha-server"]["spec"]
    assert server["podSelector"]["matchLabels"] == {"app": "redis-ha", "release": "argocd"}
    assert [p["port"] for p in server["ingress"][0]["ports"]] == [6379, 26379]


def test_component_labels_match_the_chart_naming() -> None:
    assert chart_values()["nameOverride"] == names.NAME_OVERRIDE
    for key, name in names.COMPONENTS.items():
        assert chart_values()[key]["name"] == name, key
    assert chart_values()["redis-ha"]["haproxy"]["labels"] == {"app.kubernetes.io/name": "argocd-redis-ha-haproxy"}


# --- RBAC -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_rbac_has_no_default_role_and_one_role_per_environment(stack: str) -> None:
    settings = stack_settings(stack)
    rbac = argocd_values(settings)["configs"]["rbac"]
    assert rbac["policy.default"] == ""  # no default role: SSO users see only their groups' environments
    assert rbac["scopes"] == "[groups]"
    rows = [[cell.strip() for cell in row] for row in csv.reader(rbac["policy.csv"].splitlines()) if row]
    grants = [r for r in rows if r[0] == "p"]
    bindings = [r for r in rows if r[0] == "g"]
    assert len(rows) == len(grants) + len(bindings)
    envs = environments(stack)
    for env in envs:
        mine = [r for r in grants if r[1] == f"role:{env}"]
        assert {(r[2], r[3]) for r in mine} == set(ENVIRONMENT_GRANTS), env
        assert all(r[4] == f"{env}/*" and r[5] == "allow" for r in mine), env
    assert {r[1] for r in grants} == {f"role:{env}" for env in envs}  # no other role is granted anything
    assert not [r for r in grants if r[2] in ("projects", "repositories", "clusters", "accounts", "certificates", "gpgkeys")]
    assert not [r for r in grants if r[3] in ("*", "update", "delete", "override", "create")]
    expected = {(g, f"role:{env}") for env, groups in settings.argocd.rbac_groups.items() for g in groups}
    expected |= {(g, "role:admin") for g in settings.argocd.admin_groups}
    assert {(r[1], r[2]) for r in bindings} == expected
    assert expected  # both stacks bind someone


@pytest.mark.parametrize("stack", STACKS)
def test_syncing_another_revision_needs_override_which_no_environment_role_holds(stack: str) -> None:
    """Production's deployers sync only the Application's own revision (Argo CD 3.2+ setting)."""
    values = argocd_values(stack_settings(stack))
    assert values["configs"]["cm"]["application.sync.requireOverridePrivilegeForRevisionSync"] == "true"
    # Admission reads each object's Application from the tracking annotation Argo CD writes.
    assert values["configs"]["cm"]["application.resourceTrackingMethod"] == "annotation"
    rows = [[c.strip() for c in row] for row in csv.reader(values["configs"]["rbac"]["policy.csv"].splitlines()) if row]
    assert not [r for r in rows if r[0] == "p" and r[3] in ("override", "*")]
    assert {r[2] for r in rows if r[0] == "g" and r[1] in stack_settings(stack).argocd.admin_groups} == {"role:admin"}


@pytest.mark.parametrize("stack", STACKS)
def test_each_environments_groups_reach_only_their_environments_project(stack: str) -> None:
    """An SSO group bound to one environment gets no object of another (there is no default role to fall back on)."""
    settings = stack_settings(stack)
    rbac = argocd_values(settings)["configs"]["rbac"]
    rows = [[c.strip() for c in row] for row in csv.reader(rbac["policy.csv"].splitlines()) if row]
    for env, groups in settings.argocd.rbac_groups.items():
        for group in groups:
            roles = {r[2] for r in rows if r[0] == "g" and r[1] == group}
            objects = {r[4] for r in rows if r[0] == "p" and r[1] in roles}
            assert objects == {f"{env}/*"}, (group, objects)
    assert not rbac["policy.default"]


def test_policy_lines_give_an_unbound_environment_its_role_and_no_group() -> None:
    settings = stack_settings("dev")
    cfg = settings.argocd.model_copy(update={"rbac_groups": {}, "admin_groups": []})
    lines = policy_lines(cfg, ["development", "staging"])
    assert lines and all(line.startswith("p, role:") for line in lines)


# --- notifications ------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_notifications_on_sync_failure_and_degraded_health_without_a_chart_secret(stack: str) -> None:
    settings = stack_settings(stack)
    n = argocd_values(settings)["notifications"]
    assert n["enabled"] is True
    assert n["secret"] == {"create": False, "name": "argocd-notifications-secret"}
    assert n["argocdUrl"] == f"https://{settings.argocd.domain}"
    assert set(n["triggers"]) == {"trigger.on-sync-failed", "trigger.on-health-degraded"}
    assert set(n["templates"]) == {"template.app-sync-failed", "template.app-health-degraded"}
    for trigger in n["triggers"].values():
        for condition in yaml.safe_load(trigger):
            assert condition["when"]
            assert all(f"template.{t}" in n["templates"] for t in condition["send"])
    assert "Degraded" in yaml.safe_load(n["triggers"]["trigger.on-health-degraded"])[0]["when"]
    assert "'Failed'" in yaml.safe_load(n["triggers"]["trigger.on-sync-failed"])[0]["when"]
    for template in n["templates"].values():
        assert "{{.context.argocdUrl}}" in yaml.safe_load(template)["message"]
    assert n["subscriptions"] == [{"recipients": [f"slack:{settings.argocd.slack_channel}"],
                                   "triggers": ["on-sync-failed", "on-health-degraded"]}]
    # The Slack token is a key of the Secret ESO owns.
    assert yaml.safe_load(n["notifiers"]["service.slack"]) == {"token": "$slack-token"}
    (es,) = [e for e in platform_external_secrets(settings) if e["spec"]["target"]["name"] == n["secret"]["name"]]
    assert es["spec"]["target"]["creationPolicy"] == "Owner"
    assert [d["secretKey"] for d in es["spec"]["data"]] == ["slack-token"]


def test_templates_and_triggers_are_valid_yaml() -> None:
    for text in {**templates(), **triggers()}.values():
        assert yaml.safe_load(text)


# --- the platform's ExternalSecrets --------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_platform_external_secrets_read_the_platform_store_only_and_validate(stack: str) -> None:
    secrets = platform_external_secrets(stack_settings(stack))
    assert [s["metadata"]["name"] for s in secrets] == ["argocd-repo-gitops", "argocd-oidc", "argocd-notifications-secret"]
    remote = set()
    for es in secrets:
        assert crd_errors(es) == [], es["metadata"]["name"]
        assert es["apiVersion"] == "external-secrets.io/v1" and es["kind"] == "ExternalSecret"
        assert es["metadata"]["namespace"] == "argocd"
        assert es["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "platform-aws"}
        assert es["spec"]["target"]["creationPolicy"] == "Owner"
        assert all("sourceRef" not in d for d in es["spec"]["data"])
        remote |= {d["remoteRef"]["key"] for d in es["spec"]["data"]}
    assert remote == {secret_path(PLATFORM_SCOPE, PLATFORM_APP, k) for k in PLATFORM_SECRET_KEYS}
    assert ESO_DIR.name == CHART_PINS["external-secrets"].version


@pytest.mark.parametrize("stack", STACKS)
def test_repository_secret_is_labelled_for_argocd_and_templated(stack: str) -> None:
    settings = stack_settings(stack)
    (es,) = [e for e in platform_external_secrets(settings) if e["metadata"]["name"] == "argocd-repo-gitops"]
    template = es["spec"]["target"]["template"]
    assert template["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "repository"}
    assert template["data"] == {"type": "git", "url": settings.gitops.repo_url, "username": settings.argocd.repo_username,
                                "password": "{{ .credential }}"}
    assert [d["secretKey"] for d in es["spec"]["data"]] == ["credential"]


def test_an_ssh_repository_gets_the_credential_as_its_private_key() -> None:
    gitops = {**stack_config_objects("dev")["platform:gitops"], "repoUrl": "git@github.com:example-org/platform-gitops.git"}
    settings = stack_settings("dev", gitops=gitops)
    (es,) = [e for e in platform_external_secrets(settings) if e["metadata"]["name"] == "argocd-repo-gitops"]
    data = es["spec"]["target"]["template"]["data"]
    assert data == {"type": "git", "url": gitops["repoUrl"], "sshPrivateKey": "{{ .credential }}"}
    assert crd_errors(es) == []
    assert app_project("development", settings)["spec"]["sourceRepos"] == [gitops["repoUrl"]]


# --- AppProjects ----------------------------------------------------------------------------------

@cache
def eso_kinds() -> dict[tuple[str, str], str]:
    """(group, kind) -> scope of every CRD of the pinned ESO version."""
    found = {}
    for path in (ESO_DIR / "crds").glob("*_v*.json"):
        crd = json.loads(path.read_text())["x-crd"]
        found[(crd["group"], crd["kind"])] = crd["scope"]
    return found


def denies(blacklist: list[dict[str, str]], group: str, kind: str) -> bool:
    return any(item["group"] == group and item["kind"] in (kind, "*") for item in blacklist)


@pytest.mark.parametrize(("stack", "env"), ENV_STACKS)
def test_project_limits_sources_destinations_and_kinds(stack: str, env: str) -> None:
    settings = stack_settings(stack)
    project = app_project(env, settings)
    assert argo_crd_errors(project) == []
    assert project["metadata"]["name"] == env and project["metadata"]["namespace"] == "argocd"
    spec = project["spec"]
    assert spec["sourceRepos"] == [settings.gitops.repo_url]
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": env}]
    assert spec["clusterResourceWhitelist"] == []  # no cluster-scoped object at all
    assert spec["namespaceResourceWhitelist"] == [k.manifest() for k in ALLOWED_KINDS]
    assert "clusterResourceBlacklist" not in spec
    assert "sourceNamespaces" not in spec and "roles" not in spec
    blacklist = spec["namespaceResourceBlacklist"]
    for group, kind in [("external-secrets.io", "SecretStore"), ("external-secrets.io", "ClusterSecretStore"),
                        ("external-secrets.io", "PushSecret"), ("generators.external-secrets.io", "Password"),
                        ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
                        ("", "Secret"), ("argoproj.io", "Application")]:
        assert denies(blacklist, group, kind), (group, kind)
    assert {"group": "generators.external-secrets.io", "kind": "*"} in blacklist
    for group, kind in [("external-secrets.io", "ExternalSecret"), ("networking.k8s.io", "NetworkPolicy"),
                        ("apps", "Deployment"), ("", "Service"), ("", "ServiceAccount")]:
        assert not denies(blacklist, group, kind), (group, kind)
        assert {"group": group, "kind": kind} in spec["namespaceResourceWhitelist"], (group, kind)
    for group, kind in [("networking.k8s.io", "Ingress"), ("gateway.networking.k8s.io", "HTTPRoute"),
                        ("gateway.networking.k8s.io", "Gateway"), ("", "ConfigMap"), ("", "Secret"), ("", "Pod"),
                        ("example.com", "SomeFutureKind")]:
        assert {"group": group, "kind": kind} not in spec["namespaceResourceWhitelist"], (group, kind)
    assert not any("*" in (w["group"] + w["kind"]) for w in spec["namespaceResourceWhitelist"])
    assert spec["orphanedResources"]["warn"] is True
    # Every object the program itself puts in the namespace is known, so no Application warns about it.
    database_apps = [a.name for a in settings.environments[env].apps if a.database is not None and a.database.delivery == "eso"]
    database_objects = [{"group": "generators.external-secrets.io", "kind": "VaultDynamicSecret", "name": f"{app}-database"}
                        for app in database_apps]
    if database_apps:  # one token Role for the namespace's generators
        database_objects += [{"group": "rbac.authorization.k8s.io", "kind": kind, "name": "eso-database-tokens"} for kind in ("Role", "RoleBinding")]
    assert spec["orphanedResources"]["ignore"] == [{"group": "networking.k8s.io", "kind": "NetworkPolicy", "name": "default-deny"},
                                                   {"group": "", "kind": "ConfigMap", "name": "vault-ca"}, *database_objects]
    windows = {str(k): v for k, v in settings.argocd.sync_windows.items()}.get(env, [])
    assert len(spec.get("syncWindows", [])) == len(windows)
    for window, configured in zip(spec.get("syncWindows", []), windows, strict=True):
        assert (window["kind"], window["schedule"], window["duration"], window["timeZone"]) == (
            configured.kind, configured.schedule, configured.duration, configured.time_zone)
        assert window["applications"] == ["*"] and window["manualSync"] is configured.manual_sync


def test_every_namespaced_eso_kind_but_external_secret_is_denied() -> None:
    blacklist = [d.manifest() for d in DENIED_KINDS]
    kinds = eso_kinds()
    assert len(kinds) >= 20
    for (group, kind), scope in kinds.items():
        if kind == "ExternalSecret":
            assert not denies(blacklist, group, kind)
        elif scope == "Namespaced":
            assert denies(blacklist, group, kind), kind
        else:
            assert scope == "Cluster"  # refused by the empty cluster whitelist


def test_production_has_change_windows_and_dev_has_none() -> None:
    prod = app_project("production", stack_settings("prod"))["spec"]["syncWindows"]
    assert {w["kind"] for w in prod} == {"allow", "deny"}
    assert all(w["manualSync"] is False for w in prod)
    for env in environments("dev"):
        assert "syncWindows" not in app_project(env, stack_settings("dev"))["spec"]


def test_every_denied_kind_says_why() -> None:
    assert all(d.reason and d.kind for d in DENIED_KINDS)
    assert len({(d.group, d.kind) for d in DENIED_KINDS}) == len(DENIED_KINDS)


# --- ApplicationSets ----------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "env"), ENV_STACKS)
def test_application_set_lists_the_environments_apps_and_templates_one_application_each(stack: str, env: str) -> None:
    settings = stack_settings(stack)
    appset = application_set(env, settings)
    assert argo_crd_errors(appset) == []
    assert appset["metadata"] == {"name": env, "namespace": "argocd", "labels": appset["metadata"]["labels"]}
    spec = appset["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == GO_TEMPLATE_OPTIONS == ["missingkey=error"]
    assert spec["generators"] == [{"list": {"elements": [{"app": a} for a in apps(stack, env)]}}]
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    template = spec["template"]
    assert template["metadata"]["name"] == f"{env}-{{{{.app}}}}"
    # Argo CD settles: server-side diff, so API-server defaults and other managers' fields are no drift.
    assert template["metadata"]["annotations"] == {"argocd.argoproj.io/compare-options": "ServerSideDiff=true"}
    assert "ServerSideApply=true" in template["spec"]["syncPolicy"]["syncOptions"]
    app_spec = template["spec"]
    assert app_spec["project"] == env == app_project(env, settings)["metadata"]["name"]
    assert app_spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": env}
    revision = settings.environments[env].revision or settings.gitops.revision
    assert app_spec["source"] == {"repoURL": settings.gitops.repo_url, "targetRevision": revision,
                                  "path": f"{settings.gitops.path}/apps/{{{{.app}}}}/overlays/{env}"}
    assert "finalizers" not in template["metadata"]  # deleting one Application by hand never cascades


@pytest.mark.parametrize(("stack", "env"), ENV_STACKS)
def test_sync_policy_follows_the_environment(stack: str, env: str) -> None:
    configured = stack_config_objects(stack)["platform:environments"][env]["syncPolicy"]
    policy = application_set(env, stack_settings(stack))["spec"]["template"]["spec"]["syncPolicy"]
    if env == "production":
        assert configured == "manual"
    else:
        assert configured == "automated"
    if configured == "automated":
        assert policy["automated"] == {"enabled": True, "prune": True, "selfHeal": True, "allowEmpty": False}
    else:
        assert "automated" not in policy
    assert policy["syncOptions"] == SYNC_OPTIONS
    assert "CreateNamespace=false" in policy["syncOptions"] and "FailOnSharedResource=true" in policy["syncOptions"]
    assert policy["retry"]["limit"] >= 3
    assert set(policy["retry"]["backoff"]) == {"duration", "factor", "maxDuration"}


@pytest.mark.parametrize(("stack", "env"), ENV_STACKS)
def test_rendered_applications_use_only_the_generator_key_and_read_the_gitops_tree(stack: str, env: str) -> None:
    settings = stack_settings(stack)
    template = json.dumps(application_set(env, settings)["spec"]["template"])
    assert set(re.findall(r"\{\{[^}]*\}\}", template)) == {"{{.app}}"}  # missingkey=error cannot fire
    for app in apps(stack, env):
        rendered = json.loads(template.replace("{{.app}}", app))
        assert rendered["metadata"]["name"] == f"{env}-{app}"
        path = rendered["spec"]["source"]["path"]
        assert path == source_path(settings.gitops.path, env).replace("{{.app}}", app)
        # The layout planner/gitops.py writes (gitops.path is the tree's folder in this repository).
        assert (ROOT / path).is_dir(), path
        assert (ROOT / path / "externalsecret.yaml").is_file(), path


# --- config ---------------------------------------------------------------------------------------

def _problems(stack: str, edit: Callable[[dict[str, Any]], None]) -> list[str]:
    objects = stack_config_objects(stack)
    edit(objects)
    raw, secrets = raw_with_secrets(objects)
    with pytest.raises(ConfigError) as info:
        parse_stack_config(raw, stack, secrets)
    return [issue.render() for issue in info.value.issues]


def _argocd(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda objects: edit(objects["platform:argocd"])


BAD_ARGOCD: list[tuple[str, str, Callable[[dict[str, Any]], None], str, str]] = [
    ("missing section", "dev", lambda c: c.pop("platform:argocd"), "platform:argocd", "is required"),
    ("missing issuer", "dev", _argocd(lambda a: a.pop("ssoIssuerUrl")), "platform:argocd.ssoIssuerUrl", "is required"),
    ("http issuer", "dev", _argocd(lambda a: a.update(ssoIssuerUrl="http://login.example.com")),
     "platform:argocd.ssoIssuerUrl", "https:// issuer URL"),
    ("client secret pasted", "dev", _argocd(lambda a: a.update(secret="hunter2")),
     "platform:argocd.secret", "secret values never go in a config object"),
    ("group with a comma", "dev", _argocd(lambda a: a["rbacGroups"]["staging"].append("evil, role:admin")),
     "platform:argocd.rbacGroups.staging[2]", "without commas or spaces"),
    ("environment not hosted", "dev", _argocd(lambda a: a["rbacGroups"].update(production=["ops"])),
     "platform:argocd.rbacGroups.production", "does not host"),
    ("unknown environment", "dev", _argocd(lambda a: a["rbacGroups"].update(qa=["ops"])),
     "platform:argocd.rbacGroups.qa", "is not an environment this platform knows"),
    ("duplicate group", "dev", _argocd(lambda a: a["adminGroups"].append("platform-admins")),
     "platform:argocd.adminGroups", "lists a group twice"),
    ("window for a foreign environment", "prod", _argocd(lambda a: a["syncWindows"].update(staging=a["syncWindows"]["production"])),
     "platform:argocd.syncWindows.staging", "does not host"),
    ("window cron in words", "prod", _argocd(lambda a: a["syncWindows"]["production"][0].update(schedule="every monday")),
     "platform:argocd.syncWindows.production[0].schedule", "five numeric cron fields"),
    ("window kind unknown", "prod", _argocd(lambda a: a["syncWindows"]["production"][0].update(kind="block")),
     "platform:argocd.syncWindows.production[0].kind", "use `allow` or `deny`"),
    ("window duration in days", "prod", _argocd(lambda a: a["syncWindows"]["production"][1].update(duration="11d")),
     "platform:argocd.syncWindows.production[1].duration", "whole number of m or h"),
    ("one replica with ha", "prod", _argocd(lambda a: a.update(replicas=1)), "platform:argocd.replicas", "use 2 to 5"),
    ("controller starved", "prod", _argocd(lambda a: a.update(controllerMemoryLimit="256Mi")),
     "platform:argocd.controllerMemoryLimit", "below the minimum of 512Mi"),
    ("slack channel with hash", "dev", _argocd(lambda a: a.update(slackChannel="#deploys")),
     "platform:argocd.slackChannel", "without `#`"),
    ("anti-affinity word", "prod", _argocd(lambda a: a.update(redisHaAntiAffinity="strict")),
     "platform:argocd.redisHaAntiAffinity", "needs 3 schedulable nodes"),
]


@pytest.mark.parametrize(("stack", "edit", "path", "words"), [c[1:] for c in BAD_ARGOCD], ids=[c[0] for c in BAD_ARGOCD])
def test_bad_argocd_config_names_the_key_and_the_fix(stack: str, edit: Callable[[dict[str, Any]], None], path: str, words: str) -> None:
    problems = _problems(stack, edit)
    matching = [p for p in problems if p.startswith(f"{path}:")]
    assert matching, problems
    assert any(words in p and "Fix:" in p for p in matching), matching
    assert not any("hunter2" in p or "evil" in p for p in problems)


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_files_configure_argocd(stack: str) -> None:
    settings: StackConfig = stack_settings(stack)
    assert settings.argocd.domain.endswith(".example.com")
    assert set(settings.argocd.rbac_groups) == set(settings.environments)


def test_docs_cover_the_component() -> None:
    text = (ROOT / "docs" / "argocd.md").read_text()
    for word in ("createSecret", "redis-ha", "preserveResourcesOnDeletion", "policy.default: \"\"", "sync window",
                 "namespaceResourceBlacklist", "namespaceResourceWhitelist", "requireOverridePrivilegeForRevisionSync",
                 "platform/argocd/repo-credential", "items 5"):
        assert word in text, word
    assert "10.1.1" not in text  # versions live in components/versions.py only
    assert all(isinstance(p, Path) for p in [CHART_DIR, CRD_DIR])
