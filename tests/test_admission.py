"""Tenant isolation inside an environment namespace (issue 16, items 1, 2 and 7), attacked for real.

There is no API server here: the ValidatingAdmissionPolicies the plan registers are evaluated
with cel-python (planner/admission.py), against what an attacker owning one app's folder could
make Argo CD apply, and against every object the GitOps tree renders (which must all pass).
Every app, sibling and environment comes from the stack files.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from components.admission.policies import admission_policies, cel
from components.config import StackConfig
from planner.access_matrix import write_access_matrix
from planner.admission import BINDING, POLICY, BoundPolicy, admission_denials, bound_policies, probe_pod, resource_of
from planner.run import Recording
from tests.conftest import STACKS, stack_config_objects, stack_settings


def _policies(settings: StackConfig) -> list[BoundPolicy]:
    envs = frozenset(settings.environments)
    return [BoundPolicy(p.name, p.policy()["spec"], envs) for p in admission_policies(settings)]


def _pairs() -> list[tuple[str, str, str, str]]:
    """(stack, env, app, sibling) for every ordered pair of apps of one environment."""
    out = []
    for stack in STACKS:
        for env, cfg in stack_settings(stack).environments.items():
            for app in cfg.apps:
                out += [(stack, env, app.name, other.name) for other in cfg.apps if other.name != app.name]
    return out


PAIRS = _pairs()
APPS = sorted({(stack, env, app) for stack, env, app, _ in PAIRS})


def _app(settings: StackConfig, env: str, name: str) -> Any:
    return next(a for a in settings.environments[env].apps if a.name == name)


def tracked(obj: dict[str, Any], env: str, app: str) -> dict[str, Any]:
    """``obj`` as Argo CD applies it for the Application of ``app``: its tracking annotation, over whatever the manifest said."""
    out = copy.deepcopy(obj)
    group = obj["apiVersion"].rpartition("/")[0]
    annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
    annotations["argocd.argoproj.io/tracking-id"] = f"{env}-{app}:{group}/{obj['kind']}:{env}/{obj['metadata']['name']}"
    return out


def deployment(app_label: str, service_account: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": app_label}},
        "template": {"metadata": {"labels": {"app.kubernetes.io/name": app_label}},
                     "spec": {"serviceAccountName": service_account, "containers": [{"name": "c", "image": "i"}]}}}}


# --- the plan registers exactly the builders' policies, valid for the cluster's version ------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_registers_every_policy_bound_to_the_environment_namespaces(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    settings = stack_settings(stack)
    registered = {p.name: p for p in bound_policies(rec.resources)}
    expected = {p.name: p.policy()["spec"] for p in admission_policies(settings)}
    assert {name: p.spec for name, p in registered.items()} == expected
    assert all(p.namespaces == frozenset(settings.environments) for p in registered.values())
    version = stack_config_objects(stack)["platform:cluster"]["kubernetesVersion"]
    for r in [*rec.by_type(POLICY), *rec.by_type(BINDING)]:
        kind = r["type"].rsplit(":", 1)[-1]
        kubernetes_validate.validate({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, **r["inputs"]}, version, strict=True)
    for binding in rec.by_type(BINDING):
        assert binding["inputs"]["spec"]["validationActions"] == ["Deny"]
        assert binding["inputs"]["spec"]["policyName"] in expected
    assert all(spec["failurePolicy"] == "Fail" for spec in expected.values())


@pytest.mark.parametrize("stack", STACKS)
def test_argo_cd_waits_for_the_policies(recording: Callable[..., Recording], stack: str) -> None:
    """No Application can sync before the API server enforces the policies (racing the first `pulumi up`)."""
    rec = recording(stack)
    bindings = {r["urn"] for r in rec.by_type(BINDING)}
    assert len(bindings) == len(admission_policies(stack_settings(stack)))
    for env in stack_settings(stack).environments:
        appset = rec.one("kubernetes:argoproj.io/v1alpha1:ApplicationSet", f"argocd-appset-{env}")
        assert bindings <= set(appset["dependencies"]), env


# --- pods: service account and Secrets ----------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "env", "app"), APPS)
def test_a_pod_of_an_app_runs_as_its_own_account_with_its_own_secret(stack: str, env: str, app: str) -> None:
    settings = stack_settings(stack)
    own = _app(settings, env, app)
    pod = probe_pod(app, own.service_account_name, own.target_secret_name)
    pod["spec"]["containers"][0]["env"] = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": own.target_secret_name, "key": "k"}}}]
    assert admission_denials(_policies(settings), pod, env) == []


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_a_pod_cannot_run_as_a_siblings_service_account(stack: str, env: str, app: str, sibling: str) -> None:
    settings = stack_settings(stack)
    other = _app(settings, env, sibling)
    assert admission_denials(_policies(settings), probe_pod(app, other.service_account_name), env) == [
        "platform-pod-identity: a pod runs as its own app's service account only"]


def _secret_references(secret: str) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Every way a pod spec can name a Secret, each as an edit of a probe pod."""
    container = {"name": "c", "image": "i"}
    return {
        "volume": lambda s: s.update(volumes=[{"name": "v", "secret": {"secretName": secret}}]),
        "projected volume": lambda s: s.update(volumes=[{"name": "v", "projected": {"sources": [{"secret": {"name": secret}}]}}]),
        "csi node publish secret": lambda s: s.update(volumes=[{"name": "v", "csi": {
            "driver": "secrets-store.csi.k8s.io", "nodePublishSecretRef": {"name": secret}}}]),
        "env secretKeyRef": lambda s: s.update(containers=[{**container, "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}]}]),
        "envFrom secretRef": lambda s: s.update(containers=[{**container, "envFrom": [{"secretRef": {"name": secret}}]}]),
        "init container": lambda s: s.update(initContainers=[{**container, "envFrom": [{"secretRef": {"name": secret}}]}]),
        "ephemeral container": lambda s: s.update(ephemeralContainers=[{**container, "envFrom": [{"secretRef": {"name": secret}}]}]),
        "imagePullSecrets": lambda s: s.update(imagePullSecrets=[{"name": secret}]),
    }


@pytest.mark.parametrize("how", sorted(_secret_references("x")))
@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_a_pod_cannot_reference_a_siblings_secret(stack: str, env: str, app: str, sibling: str, how: str) -> None:
    settings = stack_settings(stack)
    own, other = _app(settings, env, app), _app(settings, env, sibling)
    pod = probe_pod(app, own.service_account_name)
    _secret_references(other.target_secret_name)[how](pod["spec"])
    denials = admission_denials(_policies(settings), pod, env)
    assert len(denials) == 1 and denials[0].startswith("platform-pod-identity: "), (how, denials)
    pod = probe_pod(app, own.service_account_name)  # control: the same reference to its own Secret passes
    _secret_references(own.target_secret_name)[how](pod["spec"])
    assert admission_denials(_policies(settings), pod, env) == [], how


def test_prefix_siblings_exist_in_the_stack_files_and_stay_apart() -> None:
    """`api` and `api-admin`: names compare exactly, never as prefixes, in both directions."""
    prefixed = [(s, e, a, b) for s, e, a, b in PAIRS if b.startswith(a + "-")]
    assert prefixed, "the committed stacks keep a prefix-named pair of apps (api, api-admin)"
    for stack, env, short, long in prefixed:
        settings = stack_settings(stack)
        for app, other in ((short, long), (long, short)):
            mine, theirs = _app(settings, env, app), _app(settings, env, other)
            assert admission_denials(_policies(settings), probe_pod(app, theirs.service_account_name), env)
            assert admission_denials(_policies(settings), probe_pod(app, mine.service_account_name, theirs.target_secret_name), env)


@pytest.mark.parametrize("stack", STACKS)
def test_a_pod_without_an_app_label_or_as_the_default_account_is_refused(stack: str) -> None:
    settings = stack_settings(stack)
    env = next(iter(settings.environments))
    app = settings.environments[env].apps[0]
    unlabelled = probe_pod(app.name, app.service_account_name)
    del unlabelled["metadata"]["labels"]
    assert "platform-pod-identity: a pod here carries the label app.kubernetes.io/name naming one of the namespace's apps" in \
        admission_denials(_policies(settings), unlabelled, env)
    assert admission_denials(_policies(settings), probe_pod("not-an-app", app.service_account_name), env)
    assert admission_denials(_policies(settings), probe_pod(app.name, "default"), env)
    legacy = probe_pod(app.name, app.service_account_name)
    legacy["spec"]["serviceAccount"] = settings.environments[env].apps[1].service_account_name  # the deprecated alias
    assert admission_denials(_policies(settings), legacy, env)


@pytest.mark.parametrize("stack", STACKS)
def test_an_app_label_of_another_environment_is_no_app_here(stack: str) -> None:
    """The tables are keyed by namespace: an app known only in another environment is unknown here."""
    settings = stack_settings(stack)
    policies = _policies(settings)
    config = stack_config_objects(stack)
    envs = list(settings.environments)
    edited = copy.deepcopy(config)
    first = envs[0]
    edited["platform:environments"][first]["apps"].append({"name": "only-here", "secrets": [
        {"key": "k", "backend": "vault", "source": "external"}]})
    raw = {k.split(":", 1)[1]: v for k, v in edited.items() if k.startswith("platform:")}
    other_settings = stack_settings(stack, **raw)
    other_policies = _policies(other_settings)
    assert admission_denials(other_policies, probe_pod("only-here", "only-here"), first) == []
    for env in envs[1:]:
        assert admission_denials(other_policies, probe_pod("only-here", "only-here"), env)
    assert admission_denials(policies, probe_pod("only-here", "only-here"), first)


# --- what an Application may apply ------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_an_application_cannot_create_pods_labelled_as_a_sibling(stack: str, env: str, app: str, sibling: str) -> None:
    settings = stack_settings(stack)
    other = _app(settings, env, sibling)
    forged = tracked(deployment(sibling, other.service_account_name), env, app)
    assert admission_denials(_policies(settings), forged, env) == [
        "platform-tenant-ownership: a workload's pods carry the label app.kubernetes.io/name of the app whose Application applies it"]
    # The tracking annotation is Argo CD's: a manifest claiming the sibling's is overwritten with the real one.
    assert admission_denials(_policies(settings), tracked(deployment(sibling, other.service_account_name), env, sibling), env) == []


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_without_argo_cds_tracking_are_refused(stack: str) -> None:
    settings = stack_settings(stack)
    env = next(iter(settings.environments))
    app = settings.environments[env].apps[0]
    bare = deployment(app.name, app.service_account_name)
    assert admission_denials(_policies(settings), bare, env)
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"schedule": "* * * * *",
               "jobTemplate": {"spec": {"template": bare["spec"]["template"]}}}}
    assert admission_denials(_policies(settings), tracked(cronjob, env, app.name), env) == []
    other = settings.environments[env].apps[1]
    assert admission_denials(_policies(settings), tracked(cronjob, env, other.name), env)


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_an_application_cannot_claim_a_siblings_service_account(stack: str, env: str, app: str, sibling: str) -> None:
    settings = stack_settings(stack)
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": _app(settings, env, sibling).service_account_name}}
    assert admission_denials(_policies(settings), tracked(account, env, app), env) == [
        "platform-tenant-ownership: an app creates only its own service account"]
    own = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": _app(settings, env, app).service_account_name}}
    assert admission_denials(_policies(settings), tracked(own, env, app), env) == []
    default = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}  # the namespace controller's
    assert admission_denials(_policies(settings), default, env) == []


def _external_secret(env: str, app: Any) -> dict[str, Any]:
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": app.target_secret_name},
            "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": f"{env}-vault"},
                     "target": {"name": app.target_secret_name},
                     "data": [{"secretKey": s.key, "remoteRef": {"key": f"{env}/{app.name}/{s.key}"}} for s in app.secrets]}}


def _assert_each_attack_refused(policies: list[BoundPolicy], good: dict[str, Any], env: str, app: str,
                                attacks: dict[str, Callable[[dict[str, Any]], None]]) -> None:
    """Each attack, applied to a copy of ``good``'s spec by ``app``'s Application, is refused by admission."""
    for name, attack in attacks.items():
        bad = copy.deepcopy(good)
        attack(bad["spec"])
        assert admission_denials(policies, tracked(bad, env, app), env), name


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_an_external_secret_reads_only_its_apps_keys_into_its_apps_secret(stack: str, env: str, app: str, sibling: str) -> None:
    settings = stack_settings(stack)
    own, other = _app(settings, env, app), _app(settings, env, sibling)
    policies = _policies(settings)
    good = _external_secret(env, own)
    assert admission_denials(policies, tracked(good, env, app), env) == []
    attacks: dict[str, Callable[[dict[str, Any]], None]] = {
        "sibling's key": lambda s: s["data"].append({"secretKey": "x", "remoteRef": {"key": f"{env}/{sibling}/{other.secrets[0].key}"}}),
        "path traversal": lambda s: s["data"].append({"secretKey": "x", "remoteRef": {"key": f"{env}/{app}/../{sibling}/{other.secrets[0].key}"}}),
        "undeclared key of its own path": lambda s: s["data"].append({"secretKey": "x", "remoteRef": {"key": f"{env}/{app}/undeclared"}}),
        "sibling's Secret as target": lambda s: s["target"].update(name=other.target_secret_name),
        "dataFrom find": lambda s: s.update(dataFrom=[{"find": {"name": {"regexp": ".*"}}}]),
        "templateFrom a sibling's Secret": lambda s: s["target"].update(template={"templateFrom": [
            {"secret": {"name": other.target_secret_name, "items": [{"key": "k"}]}}]}),
        "generator": lambda s: s["data"][0].update(sourceRef={"generatorRef": {"apiVersion": "generators.external-secrets.io/v1alpha1",
                                                                             "kind": "Password", "name": "p"}}),
    }
    _assert_each_attack_refused(policies, good, env, app, attacks)


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), PAIRS)
def test_an_application_selects_only_its_own_pods(stack: str, env: str, app: str, sibling: str) -> None:
    """A Service, NetworkPolicy or disruption budget of app X selecting Y's pods (or every pod) is refused."""
    policies = _policies(stack_settings(stack))

    def objects(selected: dict[str, str]) -> list[dict[str, Any]]:
        return [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "selector": selected}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n"},
             "spec": {"podSelector": {"matchLabels": selected}, "ingress": [{}]}},
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
             "spec": {"maxUnavailable": 0, "selector": {"matchLabels": selected}}},
        ]

    for obj in objects({"app.kubernetes.io/name": app}):
        assert admission_denials(policies, tracked(obj, env, app), env) == [], obj["kind"]
    for selected in ({"app.kubernetes.io/name": sibling}, {}):
        for obj in objects(selected):
            assert admission_denials(policies, tracked(obj, env, app), env) == [
                "platform-tenant-ownership: a Service, NetworkPolicy or PodDisruptionBudget selects its own app's pods"
                " (app.kubernetes.io/name) only"], (obj["kind"], selected)


@pytest.mark.parametrize("stack", STACKS)
def test_what_the_program_itself_places_in_environment_namespaces_is_admitted(recording: Callable[..., Recording], stack: str) -> None:
    """`pulumi up` is not refused by its own policies: every object it registers in an environment namespace passes."""
    from planner.artifacts import is_kubernetes_object, kubernetes_manifest

    rec = recording(stack)
    policies = bound_policies(rec.resources)
    placed = [r for r in rec.resources if is_kubernetes_object(r)
              and (r["inputs"].get("metadata") or {}).get("namespace") in stack_settings(stack).environments]
    assert placed
    for r in placed:
        manifest = kubernetes_manifest(r)
        assert admission_denials(policies, manifest, manifest["metadata"]["namespace"]) == [], r["urn"]
    default_account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
    forged = tracked({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny"},
                      "spec": {"podSelector": {}, "ingress": [{}]}}, next(iter(stack_settings(stack).environments)),
                     stack_settings(stack).environments[next(iter(stack_settings(stack).environments))].apps[0].name)
    for env in stack_settings(stack).environments:
        assert admission_denials(policies, default_account, env) == []
    assert admission_denials(policies, forged, next(iter(stack_settings(stack).environments)))  # a tenant's "default-deny" opening all


# --- Services and routes ------------------------------------------------------------------------------------

def _service(kind: str | None = None, app: str = "", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ports": [{"port": 80}], "selector": {"app.kubernetes.io/name": app}, **spec}
    if kind:
        body["type"] = kind
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": body}


@pytest.mark.parametrize(("stack", "env", "app"), APPS)
def test_services_stay_cluster_ip_without_external_ips(stack: str, env: str, app: str) -> None:
    settings = stack_settings(stack)
    policies = _policies(settings)
    assert admission_denials(policies, tracked(_service(app=app), env, app), env) == []
    assert admission_denials(policies, tracked(_service("ClusterIP", app), env, app), env) == []
    assert admission_denials(policies, tracked(_service("ClusterIP", app, externalIPs=["203.0.113.7"]), env, app), env) == [
        "platform-service-exposure: a Service sets no externalIPs (they let it intercept any address of the cluster)"]
    for kind in ("NodePort", "LoadBalancer", "ExternalName"):
        assert _app(settings, env, app).expose is None  # the committed stacks expose nothing
        assert admission_denials(policies, tracked(_service(kind, app), env, app), env), kind


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_app_configured_to_expose_gets_its_service_type(stack: str) -> None:
    config = stack_config_objects(stack)
    env = next(iter(config["platform:environments"]))
    apps = config["platform:environments"][env]["apps"]
    apps[0]["expose"] = "LoadBalancer"
    settings = stack_settings(stack, environments=config["platform:environments"])
    policies = _policies(settings)
    exposed, other = apps[0]["name"], apps[1]["name"]
    assert admission_denials(policies, tracked(_service("LoadBalancer", exposed), env, exposed), env) == []
    assert admission_denials(policies, tracked(_service("NodePort", exposed), env, exposed), env)  # only the configured type
    assert admission_denials(policies, tracked(_service("LoadBalancer", other), env, other), env)
    assert admission_denials(policies, _service("LoadBalancer", exposed), env)  # untracked: no owner, no exposure
    # The exposed app's Service cannot front a sibling's pods.
    assert admission_denials(policies, tracked(_service("LoadBalancer", other), env, exposed), env)


def _ingress(*hosts: str, default_backend: bool = False) -> dict[str, Any]:
    backend = {"service": {"name": "s", "port": {"number": 80}}}
    spec: dict[str, Any] = {"rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
                                      for h in hosts]}
    if default_backend:
        spec["defaultBackend"] = backend
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}, "spec": spec}


def _route(*hosts: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"parentRefs": [{"name": "gw"}]}
    if hosts:
        spec["hostnames"] = list(hosts)
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": spec}


def test_routes_claim_only_hosts_of_their_environments_domain() -> None:
    config = stack_config_objects("dev")
    envs = config["platform:environments"]
    envs["development"]["domain"] = "dev.example.com"
    envs["staging"]["domain"] = "staging.example.com"
    policies = _policies(stack_settings("dev", environments=envs))
    assert admission_denials(policies, _ingress("api.dev.example.com", "dev.example.com"), "development") == []
    assert admission_denials(policies, _route("api.staging.example.com"), "staging") == []
    for attack, env in [(_ingress("api.staging.example.com"), "development"), (_route("api.staging.example.com"), "development"),
                        (_ingress("evil-dev.example.com"), "development"), (_ingress("*.example.com"), "development"),
                        (_ingress("api.dev.example.com", default_backend=True), "development"), (_route(), "staging"),
                        (_ingress(default_backend=True), "staging")]:
        assert admission_denials(policies, attack, env), (attack, env)
    no_domain = _policies(stack_settings("dev"))  # the committed stacks configure no domain: no route at all
    assert admission_denials(no_domain, _ingress("api.dev.example.com"), "development")


# --- node isolation (optional) ------------------------------------------------------------------------------

def test_without_node_isolation_no_policy_is_registered() -> None:
    assert "platform-node-isolation" not in {p.name for p in _policies(stack_settings("dev"))}


def test_node_isolation_pins_each_environments_pods_to_its_nodes() -> None:
    config = stack_config_objects("dev")
    envs = config["platform:environments"]
    for env in envs:
        envs[env]["nodeIsolation"] = {"labelKey": "platform.secrets/environment", "labelValue": env}
    settings = stack_settings("dev", environments=envs)
    policies = _policies(settings)
    for env, cfg in settings.environments.items():
        app = cfg.apps[0]
        pod = probe_pod(app.name, app.service_account_name)
        assert admission_denials(policies, pod, env), "a pod that omits the node selector"
        pod["spec"]["nodeSelector"] = {"platform.secrets/environment": env}
        pod["spec"]["tolerations"] = [{"key": "platform.secrets/environment", "operator": "Equal", "value": env, "effect": "NoSchedule"}]
        assert admission_denials(policies, pod, env) == []
        for other in settings.environments:
            if other != env:
                foreign = copy.deepcopy(pod)
                foreign["spec"]["tolerations"].append({"key": "platform.secrets/environment", "operator": "Exists"})
                assert admission_denials(policies, foreign, env), "tolerating every environment's nodes"
                moved = copy.deepcopy(pod)
                moved["spec"]["nodeSelector"] = {"platform.secrets/environment": other}
                assert admission_denials(policies, moved, env), "selecting another environment's nodes"
        everything = copy.deepcopy(pod)
        everything["spec"]["tolerations"].append({"operator": "Exists"})
        assert admission_denials(policies, everything, env), "a toleration of every taint"


def _eso_database(app: Any) -> bool:
    return app.database is not None and app.database.delivery == "eso"


# --- the access matrix --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_the_matrix_shows_each_apps_pods_become_their_own_app_only(recording: Callable[..., Recording], stack: str) -> None:
    settings = stack_settings(stack)
    rec = recording(stack)
    cells = [c for c in json.loads(write_access_matrix(rec.resources, settings)["access-matrix.json"]) if c["backend"] == "kubernetes"]
    for env, cfg in settings.environments.items():
        for app in cfg.apps:
            mine = [c for c in cells if c["principal"] == f"pods:{env}:{app.name}"]
            own_secrets = {app.target_secret_name} | ({f"{app.name}-database"} if _eso_database(app) else set())
            assert {c["path"] for c in mine if c["allowed"]} == {
                f"{env}/serviceaccount/{app.service_account_name}", *(f"{env}/secret/{s}" for s in own_secrets)}
            # every account (and `default`) and every Secret of the namespace (apps' and their database users')
            assert len(mine) == len(cfg.apps) * 2 + 1 + sum(1 for a in cfg.apps if _eso_database(a))


def test_cel_literals_are_exact() -> None:
    assert cel({"b": ["x", "y\"z"], "a": True}) == '{"a": true, "b": ["x", "y\\"z"]}'
    with pytest.raises(TypeError):
        cel(1.5)


# --- Argo CD settles (item 8) -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_object_the_program_puts_in_an_environment_namespace_is_known_to_its_project(
    recording: Callable[..., Recording], stack: str
) -> None:
    """No orphaned-resource warning for the program's own objects: each is in its project's ignore list."""
    from components.argocd.projects import app_project
    from planner.artifacts import is_kubernetes_object

    settings = stack_settings(stack)
    for env in settings.environments:
        placed = {(r["type"].split(":")[1].split("/")[0].replace("core", ""), r["type"].rsplit(":", 1)[-1], r["inputs"]["metadata"]["name"])
                  for r in recording(stack).resources
                  if is_kubernetes_object(r) and (r["inputs"].get("metadata") or {}).get("namespace") == env}
        ignored = {(i["group"], i["kind"], i["name"]) for i in app_project(env, settings)["spec"]["orphanedResources"]["ignore"]}
        assert placed == ignored, env


@pytest.mark.parametrize(("kind", "api_version", "resource"), [
    ("Pod", "v1", ("", "pods")), ("Ingress", "networking.k8s.io/v1", ("networking.k8s.io", "ingresses")),
    ("NetworkPolicy", "networking.k8s.io/v1", ("networking.k8s.io", "networkpolicies")),
    ("PodDisruptionBudget", "policy/v1", ("policy", "poddisruptionbudgets")),
    ("HTTPRoute", "gateway.networking.k8s.io/v1", ("gateway.networking.k8s.io", "httproutes")),
])
def test_objects_map_to_the_resources_admission_rules_name(kind: str, api_version: str, resource: tuple[str, str]) -> None:
    assert resource_of({"apiVersion": api_version, "kind": kind}) == resource


# --- an app's database users (ESO delivery): only its own generator, into its own Secret, mounted by its own pods ---

def _database_cases() -> list[tuple[str, str, str, str]]:
    """(stack, env, app whose database users ESO delivers, another app of the environment), from the stack files."""
    cases = []
    for stack in STACKS:
        settings = stack_settings(stack)
        for env, cfg in settings.environments.items():
            for app in cfg.apps:
                if app.database is not None and app.database.delivery == "eso":
                    cases += [(stack, env, app.name, other.name) for other in cfg.apps if other.name != app.name]
    return cases


DATABASE_CASES = _database_cases()


def test_the_committed_stacks_deliver_a_database_beside_another_app() -> None:
    assert DATABASE_CASES, "the stack files declare an ESO-delivered database in an environment with other apps"


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), DATABASE_CASES)
def test_a_database_external_secret_reads_only_its_apps_generator_into_its_apps_secret(
        stack: str, env: str, app: str, sibling: str) -> None:
    from components.external_secrets.database_secrets import stack_database_external_secrets

    settings = stack_settings(stack)
    policies = _policies(settings)
    own = stack_database_external_secrets(settings)[(env, app)]
    assert admission_denials(policies, tracked(own, env, app), env) == []
    # The sibling's Application applying the very same manifest (reading another app's database users).
    assert admission_denials(policies, tracked(own, env, sibling), env), "a sibling reads the app's database users"
    other = _app(settings, env, sibling)
    attacks: dict[str, Callable[[dict[str, Any]], None]] = {
        "sibling's Secret as target": lambda s: s["target"].update(name=other.target_secret_name),
        "another generator": lambda s: s["dataFrom"][0]["sourceRef"]["generatorRef"].update(name=f"{sibling}-database"),
        "another generator kind": lambda s: s["dataFrom"][0]["sourceRef"]["generatorRef"].update(kind="Password"),
        "a second source": lambda s: s["dataFrom"].append({"find": {"name": {"regexp": ".*"}}}),
        "static keys beside it": lambda s: s.update(data=[{"secretKey": "x", "remoteRef": {"key": f"{env}/{sibling}/{other.secrets[0].key}"}}]),
        "templateFrom a sibling's Secret": lambda s: s["target"].update(template={"templateFrom": [
            {"secret": {"name": other.target_secret_name, "items": [{"key": "k"}]}}]}),
    }
    _assert_each_attack_refused(policies, own, env, app, attacks)


@pytest.mark.parametrize(("stack", "env", "app", "sibling"), DATABASE_CASES)
def test_only_the_apps_pods_mount_its_database_secret(stack: str, env: str, app: str, sibling: str) -> None:
    settings = stack_settings(stack)
    policies = _policies(settings)
    secret = f"{app}-database"
    own_account, sibling_account = _app(settings, env, app).service_account_name, _app(settings, env, sibling).service_account_name
    assert admission_denials(policies, probe_pod(app, own_account, secret), env) == []
    assert admission_denials(policies, probe_pod(sibling, sibling_account, secret), env) == [
        "platform-pod-identity: a pod's secret, projected and CSI volumes reference its own app's Secret only"]
