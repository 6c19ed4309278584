"""The GitOps tree's workloads (issue 9, items 5 and 6), rendered as Argo CD renders them.

Every app of every environment of every stack has ``gitops/apps/<app>/overlays/<env>/``: its base,
the ExternalSecret ``make gitops`` generates and nothing else. Each overlay is rendered with
``kubectl kustomize`` (Kustomize v5, as Argo CD does; the payments overlays' ``helmCharts`` through
``--enable-helm`` with the stand-in ``helm`` of tests/test_gitops_chart.py, or a real Helm named by
``GITOPS_TEST_HELM``), and the rendered objects are checked:

* every built-in object validates strictly against the cluster's Kubernetes version, every
  ExternalSecret against the pinned ESO CRD;
* the ExternalSecrets sync in a strictly earlier Argo CD wave than every other object;
* pods meet the ``restricted`` Pod Security Standard, have requests, a memory limit, a readiness
  probe and digest-pinned images, and run as the app's service account without an API token;
* every Secret a pod references (env, envFrom, volumes) is the one the environment's generated
  ExternalSecret writes, with the keys it declares; pods using the Vault Agent Injector log in with
  their (environment, app) role, with a projected token of audience ``vault``, and read only paths
  that role's policy allows (evaluated with the access matrix's Vault evaluator);
* NetworkPolicies open the app's port to its namespace and, for injected pods, Vault on 8200;
* no secret value appears anywhere under gitops/ (policy pack heuristics, patterns, randomness).

Without kubectl the rendering tests skip (the base files and the chart are still checked).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.config import AppConfig
from components.external_secrets.database_secrets import database_secret_name
from components.vault import names as vault_names
from components.vault.network import NetworkInputs, network_policies, vault_apps
from components.vault_policies import AUDIENCE, KV_MOUNT, app_policy, app_policy_name, stack_roles
from planner import gitops
from planner.vault_access import allowed_capabilities, can_read, parse_policy
from policies.rules.heuristics import find_secret_material, literal_secret_findings, parse_embedded
from tests.test_external_secrets import crd_errors
from tests.test_gitops_chart import overlay_helm_charts, render_chart

ROOT = Path(__file__).resolve().parent.parent
GITOPS = ROOT / "gitops"
APPS = GITOPS / "apps"
KUBECTL = shutil.which("kubectl")
WAVE = "argocd.argoproj.io/sync-wave"
RELOADER_SEARCH = "reloader.stakater.com/search"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
DIGEST_PINNED = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?/?[a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}$")

# The examples the tree must keep (issue 9, item 6).
INJECTOR_EXAMPLE = "api-admin"
HELM_EXAMPLE = "payments"


@dataclass(frozen=True)
class Deployed:
    """One app of one environment, as the stack config declares it."""

    stack: str
    env: str
    app: AppConfig
    kubernetes_version: str
    overlay: Path
    other_envs: tuple[str, ...]
    other_apps: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.app.name}/{self.env}"


def _deployed() -> list[Deployed]:
    out: list[Deployed] = []
    stacks = gitops.stacks(ROOT)
    all_envs = [env for stack in stacks for env in gitops.stack_settings(ROOT, stack).environments]
    for stack in stacks:
        settings = gitops.stack_settings(ROOT, stack)
        for env, cfg in settings.environments.items():
            for app in cfg.apps:
                out.append(Deployed(
                    stack, env, app, settings.cluster.kubernetes_version,
                    ROOT / gitops.overlay_dir(settings, app.name, env),
                    tuple(e for e in all_envs if e != env),
                    tuple(a.name for a in cfg.apps if a.name != app.name),
                ))
    return out


DEPLOYED = _deployed()


def _kustomization(directory: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((directory / "kustomization.yaml").read_text()) or {})


def _helm_entries(directory: Path) -> list[dict[str, Any]]:
    return list(_kustomization(directory).get("helmCharts") or [])


# --- rendering ----------------------------------------------------------------------------------------------

Render = Callable[[Deployed], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """render(deployed) -> the objects `kubectl kustomize <overlay>` prints (cached per session)."""
    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH: the overlays are rendered with `kubectl kustomize` (Kustomize v5, as Argo CD does)")
    helm = os.environ.get("GITOPS_TEST_HELM")
    if not helm:
        stand_in = tmp_path_factory.mktemp("helm") / "helm"
        stand_in.write_text(
            f"#!{sys.executable}\n"
            "# Stand-in helm for `kubectl kustomize --enable-helm` (see tests/test_gitops_chart.py).\n"
            "import sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.test_gitops_chart import helm_main\n"
            "sys.exit(helm_main(sys.argv[1:]))\n"
        )
        stand_in.chmod(0o755)
        helm = str(stand_in)
    cache: dict[Path, list[dict[str, Any]] | str] = {}

    def get(d: Deployed) -> list[dict[str, Any]]:
        if d.overlay not in cache:
            args = [str(KUBECTL), "kustomize", str(d.overlay)]
            if _helm_entries(d.overlay):
                args += ["--enable-helm", "--helm-command", helm]
            proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
            ok = proc.returncode == 0
            cache[d.overlay] = [doc for doc in yaml.safe_load_all(proc.stdout) if doc] if ok else proc.stderr
        found = cache[d.overlay]
        if isinstance(found, str):
            pytest.fail(f"kubectl kustomize {d.overlay.relative_to(ROOT)} failed:\n{found}")
        return found

    return get


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _of_kind(objects: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _external_secret(objects: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The generated ExternalSecret of the app's declared secrets (not the database users' one, from a generator)."""
    found = [o for o in _of_kind(objects, "ExternalSecret") if "dataFrom" not in o["spec"]]
    assert len(found) == 1, f"expected the one generated ExternalSecret, found {len(found)}"
    return found[0]


def _generated(d: Deployed) -> list[str]:
    """The files `make gitops` writes in the overlay: the ExternalSecret, and the database users' one if ESO delivers them."""
    database = d.app.database is not None and d.app.database.delivery == "eso"
    return [gitops.EXTERNAL_SECRET_FILE, *([gitops.DATABASE_SECRET_FILE] if database else [])]


def pod_templates(objects: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(workload name, pod template {metadata, spec}) of every workload."""
    out = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Pod":
            out.append((f"Pod/{name}", obj))
        elif kind == "CronJob":
            out.append((f"CronJob/{name}", obj["spec"]["jobTemplate"]["spec"]["template"]))
        elif kind in WORKLOAD_KINDS:
            out.append((f"{kind}/{name}", obj["spec"]["template"]))
    return out


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", []), *spec.get("ephemeralContainers", [])]


def _injected(template: Mapping[str, Any]) -> bool:
    return _annotations(template).get("vault.hashicorp.com/agent-inject") == "true"


# --- the Pod Security Standard, `restricted` profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/) ---

RESTRICTED_VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                          "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"})


def restricted_violations(spec: Mapping[str, Any]) -> list[str]:
    """What in a pod spec the `restricted` Pod Security Standard (baseline included) refuses."""
    problems = []
    pod_sc = spec.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problems.append(f"{host} is set")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']}: type {sorted(kinds - RESTRICTED_VOLUME_TYPES)} is not allowed")
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl['name']} is not allowed")
    if pod_sc.get("runAsUser") == 0:
        problems.append("the pod runs as user 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    for c in _containers(spec):
        sc, name = c.get("securityContext") or {}, c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if sc.get("runAsNonRoot") is False or not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot must be true (pod or container)")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runs as user 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost (pod or container), not {seccomp}")
        if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{name}: AppArmor Unconfined")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"{name}: hostProcess")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


# --- Secret references -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SecretRef:
    where: str
    name: str
    key: str | None  # None: the whole Secret (envFrom, a volume without items)
    optional: bool


def secret_references(spec: Mapping[str, Any]) -> list[SecretRef]:
    """Every Secret a pod spec reads: env secretKeyRef, envFrom secretRef, secret volumes, projected secrets."""
    refs = []
    for c in _containers(spec):
        for env in c.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                refs.append(SecretRef(f"{c['name']} env {env['name']}", ref["name"], ref["key"], bool(ref.get("optional"))))
        for source in c.get("envFrom", []):
            if "secretRef" in source:
                ref = source["secretRef"]
                refs.append(SecretRef(f"{c['name']} envFrom", ref["name"], None, bool(ref.get("optional"))))
    for volume in spec.get("volumes", []):
        sources = [volume["secret"] | {"name": volume["secret"].get("secretName")}] if "secret" in volume else []
        sources += [s["secret"] for s in (volume.get("projected") or {}).get("sources", []) if "secret" in s]
        for source in sources:
            where = f"volume {volume['name']}"
            items = source.get("items")
            for key in [i["key"] for i in items] if items else [None]:
                refs.append(SecretRef(where, source["name"], key, bool(source.get("optional"))))
    return refs


# --- the Vault Agent Injector ----------------------------------------------------------------------------------

VAULT_PREFIX = "vault.hashicorp.com/"
# Every annotation vault-k8s 1.7.6 (the pinned injector, components/vault/images.py) reads, from its
# agent-inject/agent/annotations.go; the second set takes a `-<name>` suffix (per secret or parameter).
INJECTOR_ANNOTATIONS = frozenset({
    "agent-inject-status", "agent-inject", "agent-inject-containers", "agent-inject-default-template", "agent-template-left-delim",
    "agent-template-right-delim", "agent-inject-token", "agent-image", "agent-request-namespace", "agent-init-first", "agent-pre-populate",
    "agent-pre-populate-only", "agent-configmap", "agent-extra-secret", "agent-limits-cpu", "agent-limits-mem", "agent-limits-ephemeral",
    "agent-requests-cpu", "agent-requests-mem", "agent-requests-ephemeral", "agent-revoke-on-shutdown", "agent-revoke-grace", "namespace",
    "agent-run-as-user", "agent-run-as-group", "agent-run-as-same-user", "agent-share-process-namespace", "agent-set-security-context",
    "agent-service-account-token-volume-name", "service", "proxy-address", "tls-skip-verify", "tls-secret", "tls-server-name", "ca-cert",
    "ca-key", "client-cert", "client-key", "client-max-retries", "client-timeout", "go-max-procs", "log-level", "log-format", "role",
    "auth-type", "auth-path", "secret-volume-path", "agent-cache-enable", "agent-cache-use-auto-auth-token", "agent-cache-listener-port",
    "agent-cache-exit-on-err", "agent-copy-volume-mounts", "template-config-exit-on-retry-failure", "template-static-secret-render-interval",
    "template-max-connections-per-host", "template-lease-renewal-threshold", "agent-enable-quit", "auth-min-backoff", "auth-max-backoff",
    "agent-disable-idle-connections", "agent-disable-keep-alives", "agent-json-patch", "agent-init-json-patch", "agent-auto-auth-exit-on-err",
    "error-on-missing-key"
})
INJECTOR_SUFFIXED = ("agent-inject-secret-", "agent-inject-template-file-", "agent-inject-template-", "agent-inject-file-",
                     "agent-inject-perms-", "agent-inject-command-", "preserve-secret-case-", "auth-config-", "agent-telemetry-")
_TEMPLATE = re.compile(r'^\{\{-? with secret "(?P<path>[^"]+)" -?\}\}\{\{ \.Data\.data\.value \}\}\{\{-? end -?\}\}$')


def unknown_injector_annotations(annotations: Mapping[str, str]) -> list[str]:
    unknown = []
    for key in annotations:
        if not key.startswith(VAULT_PREFIX):
            continue
        name = key.removeprefix(VAULT_PREFIX)
        if name not in INJECTOR_ANNOTATIONS and not any(name.startswith(p) and len(name) > len(p) for p in INJECTOR_SUFFIXED):
            unknown.append(key)
    return unknown


def injected_secrets(annotations: Mapping[str, str]) -> dict[str, str]:
    """Injected file name -> the Vault path its agent-inject-secret annotation names."""
    prefix = f"{VAULT_PREFIX}agent-inject-secret-"
    return {k.removeprefix(prefix): v for k, v in annotations.items() if k.startswith(prefix)}


def _app_role_reads(env: str, app: str, secret_path: str) -> bool:
    return can_read([parse_policy(app_policy(env, app).hcl())], secret_path)


# --- the tree's shape ------------------------------------------------------------------------------------------

def test_the_tree_has_an_overlay_per_declared_app_and_environment_and_a_base_per_app() -> None:
    found = {(p.parent.parent.name, p.name) for p in APPS.glob("*/overlays/*") if p.is_dir()}
    assert found == {(d.app.name, d.env) for d in DEPLOYED}
    for app in {d.app.name for d in DEPLOYED}:
        base = _kustomization(APPS / app / "base")
        assert base.get("resources"), f"{app}: base/kustomization.yaml lists the app's objects"
        for resource in base["resources"]:
            assert (APPS / app / "base" / resource).is_file(), f"{app}: base resource {resource} is a file of the base, not a remote"
        assert not set(base) & {"secretGenerator", "generators", "helmCharts", "namespace"}, f"{app}: base"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_each_overlay_is_exactly_its_base_and_the_generated_external_secret(d: Deployed) -> None:
    k = _kustomization(d.overlay)
    assert k.get("namespace") == d.env
    assert sorted(k.get("resources") or []) == sorted(["../../base", *_generated(d)]), (
        f"{d}: resources must be exactly ../../base and the generated {_generated(d)}"
    )
    refused = {"secretGenerator", "generators", "components", "transformers", "validators", "bases", "crds", "replacements"}
    assert not set(k) & refused, f"{d}: {sorted(set(k) & refused)}"
    for entry in _helm_entries(d.overlay):
        assert entry.get("namespace") == d.env and entry.get("releaseName"), f"{d}: helmCharts entry"
    for patch in k.get("patches") or []:
        assert "patch" in patch or (d.overlay / patch["path"]).is_file()


def test_the_tree_keeps_its_helm_and_injector_examples() -> None:
    apps = {d.app.name for d in DEPLOYED}
    assert {INJECTOR_EXAMPLE, HELM_EXAMPLE} <= apps
    for d in DEPLOYED:
        assert bool(_helm_entries(d.overlay)) == (d.app.name == HELM_EXAMPLE), f"{d}: only {HELM_EXAMPLE} is the Helm example"
    injector = yaml.safe_load((APPS / INJECTOR_EXAMPLE / "base" / "deployment.yaml").read_text())
    assert _injected(injector["spec"]["template"])


# --- rendered overlays -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_each_overlay_renders_its_workloads_and_exactly_the_generated_external_secret(render: Render, d: Deployed) -> None:
    objects = render(d)
    kinds = Counter(o["kind"] for o in objects)
    assert kinds["ExternalSecret"] == len(_generated(d)) and kinds["Deployment"] == 1, kinds
    assert {"ServiceAccount", "Service", "NetworkPolicy", "PodDisruptionBudget"} <= set(kinds), kinds
    assert kinds["Secret"] == 0, "no Secret from Git: ESO writes them"
    committed = yaml.safe_load((d.overlay / gitops.EXTERNAL_SECRET_FILE).read_text())
    assert _external_secret(objects) == committed, "the overlay must deliver the generated ExternalSecret unchanged"
    if gitops.DATABASE_SECRET_FILE in _generated(d):
        database = yaml.safe_load((d.overlay / gitops.DATABASE_SECRET_FILE).read_text())
        assert [o for o in _of_kind(objects, "ExternalSecret") if "dataFrom" in o["spec"]] == [database]
    for obj in objects:
        assert obj["metadata"].get("namespace") == d.env, f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_every_rendered_object_validates_strictly(render: Render, d: Deployed) -> None:
    failures = []
    for obj in render(d):
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("external-secrets.io/"):
            failures += [f"{label}: {e}" for e in crd_errors(obj)]
            continue
        try:
            kubernetes_validate.validate(obj, d.kubernetes_version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            failures.append(f"{label}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_external_secrets_sync_in_a_strictly_earlier_wave_than_every_workload(render: Render, d: Deployed) -> None:
    objects = render(d)
    waves: dict[str, int] = {}
    for obj in objects:
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        raw = _annotations(obj).get(WAVE)
        assert raw is not None and re.fullmatch(r"-?[0-9]+", raw), f"{label}: an explicit integer {WAVE} annotation"
        waves[label] = int(raw)
    secrets = {k: w for k, w in waves.items() if k.startswith("ExternalSecret/")}
    others = {k: w for k, w in waves.items() if not k.startswith("ExternalSecret/")}
    assert secrets and others
    assert all(w >= 0 for w in others.values()), f"workloads sync in wave 0 or later: {others}"
    assert max(secrets.values()) < min(others.values()), f"ExternalSecrets {secrets} must sync before {others}"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_pods_meet_the_restricted_pod_security_standard(render: Render, d: Deployed) -> None:
    templates = pod_templates(render(d))
    assert templates
    for label, template in templates:
        assert restricted_violations(template["spec"]) == [], label


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_containers_have_requests_a_memory_limit_a_readiness_probe_and_a_pinned_image(render: Render, d: Deployed) -> None:
    for label, template in pod_templates(render(d)):
        for c in _containers(template["spec"]):
            where = f"{label} {c['name']}"
            resources = c.get("resources") or {}
            assert {"cpu", "memory"} <= set(resources.get("requests") or {}), f"{where}: cpu and memory requests"
            assert "memory" in (resources.get("limits") or {}), f"{where}: a memory limit"
            assert c.get("readinessProbe"), f"{where}: a readiness probe"
            assert DIGEST_PINNED.match(c["image"]), f"{where}: image {c['image']} pinned by tag and digest"
            assert (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True, f"{where}: read-only root filesystem"
        if _injected(template):  # the injected agent containers' resources come from annotations
            ann = _annotations(template)
            for key in ("agent-requests-cpu", "agent-requests-mem", "agent-limits-mem"):
                assert ann.get(VAULT_PREFIX + key), f"{label}: {VAULT_PREFIX}{key}"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_workloads_run_as_the_apps_service_account_without_an_api_token(render: Render, d: Deployed) -> None:
    objects = render(d)
    accounts = _of_kind(objects, "ServiceAccount")
    assert [a["metadata"]["name"] for a in accounts] == [d.app.service_account_name]
    assert accounts[0].get("automountServiceAccountToken") is False
    for label, template in pod_templates(objects):
        spec = template["spec"]
        assert spec.get("serviceAccountName") == d.app.service_account_name, label
        assert spec.get("automountServiceAccountToken") is False, label


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_every_secret_a_workload_references_is_produced_by_the_generated_external_secret(render: Render, d: Deployed) -> None:
    objects = render(d)
    es = _external_secret(objects)
    assert es["metadata"]["namespace"] == d.env
    target = es["spec"]["target"]["name"]
    assert target == d.app.target_secret_name
    keys = {item["secretKey"] for item in es["spec"]["data"]}
    assert keys == {s.key for s in d.app.secrets}
    produced = {target: keys}
    if gitops.DATABASE_SECRET_FILE in _generated(d):  # the generator's Data: the user's name and password
        produced[database_secret_name(d.app.name)] = {"username", "password"}
    for label, template in pod_templates(objects):
        refs = secret_references(template["spec"])
        assert refs or _injected(template), f"{label}: reads its secrets from {target} or through the Vault Agent Injector"
        for ref in refs:
            where = f"{label} {ref.where}"
            assert ref.name in produced, f"{where}: Secret {ref.name!r} is not one {d.env}'s ExternalSecrets write ({sorted(produced)})"
            keys = produced[ref.name]
            assert ref.key is None or ref.key in keys, f"{where}: key {ref.key!r} is not among the generated keys {sorted(keys)}"
            assert not ref.optional, f"{where}: a required secret is not optional (the sync wave guarantees it exists)"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_vaults_phase_two_network_policy_admits_the_injected_pods(render: Render, d: Deployed) -> None:
    """Vault admits, per environment, the labelled pods of the apps with `vaultAgent` (the injected ones) and no other app's."""
    settings = gitops.stack_settings(ROOT, d.stack)
    [vault] = [p for p in network_policies(NetworkInputs(vault_apps(settings), [], [], [])) if p["metadata"]["name"] == "vault-server"]
    peers = vault["spec"]["ingress"][0]["from"]
    for label, template in pod_templates(render(d)):
        labels = template["metadata"].get("labels", {})
        admitted = any(p.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": d.env}
                       and p.get("podSelector", {}).get("matchLabels", {}).items() <= labels.items() for p in peers)
        assert admitted is _injected(template) is d.app.vault_agent, (label, admitted, d.app.vault_agent)


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_injected_pods_log_in_with_their_role_and_read_only_what_it_allows(render: Render, d: Deployed) -> None:
    templates = pod_templates(render(d))
    if d.app.name == INJECTOR_EXAMPLE:
        assert all(_injected(t) for _, t in templates), f"{d}: the injector example"
    for label, template in templates:
        ann, spec = _annotations(template), template["spec"]
        if not _injected(template):
            assert not [k for k in ann if k.startswith(VAULT_PREFIX)], f"{label}: Vault annotations without agent-inject"
            continue
        assert unknown_injector_annotations(ann) == [], f"{label}: annotations vault-k8s does not define"
        # the role: this app's, in this environment, bound to this pod's service account and namespace
        role_name = ann.get(VAULT_PREFIX + "role")
        assert role_name == f"{d.env}-{d.app.name}", label
        settings = gitops.stack_settings(ROOT, d.stack)
        roles = {r.name: r for r in stack_roles(settings, vault_names.SNAPSHOT, vault_names.NAMESPACE)}
        role = roles[role_name]
        assert (role.service_account, role.namespace, role.policy) == (spec["serviceAccountName"], d.env, app_policy_name(d.env, d.app.name))
        assert ann.get(VAULT_PREFIX + "auth-path") == f"auth/{vault_names.KUBERNETES_AUTH_PATH}", label
        assert ann.get(VAULT_PREFIX + "service") == vault_names.ACTIVE_ADDRESS, label
        assert ann.get(VAULT_PREFIX + "auth-type", "kubernetes") == "kubernetes", label
        # the login token: a projected service account token with the role's audience, for the agent only
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        token_volume = volumes[ann[VAULT_PREFIX + "agent-service-account-token-volume-name"]]
        tokens = [s["serviceAccountToken"] for s in token_volume["projected"]["sources"] if "serviceAccountToken" in s]
        assert len(tokens) == 1 and tokens[0]["audience"] == AUDIENCE and tokens[0]["path"], label
        mounted = {m["name"] for c in _containers(spec) for m in c.get("volumeMounts", [])}
        assert token_volume["name"] not in mounted, f"{label}: the Vault token is mounted in the agent containers only"
        # Vault's CA, from the ConfigMap the program publishes in the namespace, reaches the agent containers
        copied = {c["name"]: c for c in spec["containers"]}[ann[VAULT_PREFIX + "agent-copy-volume-mounts"]]
        ca_dir, ca_file = ann[VAULT_PREFIX + "ca-cert"].rsplit("/", 1)
        ca_mount = next(m for m in copied.get("volumeMounts", []) if m["mountPath"].rstrip("/") == ca_dir)
        ca_map = volumes[ca_mount["name"]]["configMap"]
        assert ca_map["name"] == vault_names.CA_CONFIG_MAP
        assert {"key": vault_names.CA_KEY, "path": ca_file} in ca_map.get("items", [{"key": ca_file, "path": ca_file}])
        # the secrets: every Vault-backed secret the app declares, at its own KV v2 path, readable by its role only
        injected = injected_secrets(ann)
        database = d.app.database is not None and d.app.database.delivery == "agent"
        assert set(injected) == {s.key for s in d.app.secrets if s.backend == "vault"} | ({AGENT_DATABASE_FILE} if database else set()), label
        if database:
            _check_injected_database_user(label, d, ann, injected.pop(AGENT_DATABASE_FILE))
        for name, path in injected.items():
            assert path == f"{KV_MOUNT}/data/{d.env}/{d.app.name}/{name}", f"{label}: {name} -> {path}"
            secret_path = path.removeprefix(f"{KV_MOUNT}/data/")
            assert _app_role_reads(d.env, d.app.name, secret_path), f"{role_name} cannot read {secret_path}"
            for env in d.other_envs:
                assert not _app_role_reads(env, d.app.name, secret_path), f"{env}-{d.app.name} could read {secret_path}"
            for other in d.other_apps:
                assert not _app_role_reads(d.env, other, secret_path), f"{d.env}-{other} could read {secret_path}"
            template_text = ann.get(f"{VAULT_PREFIX}agent-inject-template-{name}", "")
            m = _TEMPLATE.match(template_text.strip())
            assert m and m.group("path") == path, f"{label}: the template of {name} renders .Data.data.value of {path}"
        for key in ann:
            for prefix in ("agent-inject-template-", "agent-inject-perms-", "agent-inject-file-", "agent-inject-command-"):
                if key.startswith(VAULT_PREFIX + prefix):
                    assert key.removeprefix(VAULT_PREFIX + prefix) in {*injected, *([AGENT_DATABASE_FILE] if database else [])}, (
                        f"{label}: {key} names no injected secret")


AGENT_DATABASE_FILE = "database"  # /vault/secrets/database: the user's PGUSER and PGPASSWORD (docs/databases.md)
_DATABASE_TEMPLATE = re.compile(
    r'^\{\{- with secret "(?P<path>[^"]+)" -\}\}\nPGUSER=\{\{ \.Data\.username \}\}\nPGPASSWORD=\{\{ \.Data\.password \}\}\n\{\{- end -\}\}$'
)


def _check_injected_database_user(label: str, d: Deployed, ann: Mapping[str, str], path: str) -> None:
    """The agent reads this app's own role in this environment, which only this app's policy reaches."""
    assert path == f"database/creds/{d.env}-{d.app.name}", f"{label}: {path}"

    def reads(env: str, app: str) -> bool:
        return "read" in allowed_capabilities([parse_policy(app_policy(env, app, database=True).hcl())], path)

    assert reads(d.env, d.app.name)
    assert not any(reads(env, d.app.name) for env in d.other_envs), path
    assert not any(reads(d.env, other) for other in d.other_apps), path
    m = _DATABASE_TEMPLATE.match(ann[f"{VAULT_PREFIX}agent-inject-template-{AGENT_DATABASE_FILE}"])
    assert m and m.group("path") == path, f"{label}: the database template renders {path}"
    assert ann[f"{VAULT_PREFIX}agent-inject-perms-{AGENT_DATABASE_FILE}"] == "0400"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_network_policies_open_the_apps_port_to_its_namespace_and_only_vault_to_injected_pods(render: Render, d: Deployed) -> None:
    objects = render(d)
    policies = _of_kind(objects, "NetworkPolicy")
    vault_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": vault_names.NAMESPACE}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": vault_names.SERVER_LABELS["app.kubernetes.io/name"]}},
    }
    assert vault_peer["podSelector"]["matchLabels"].items() <= vault_names.SERVER_LABELS.items()
    assert not vault_peer["podSelector"]["matchLabels"].items() <= vault_names.INJECTOR_LABELS.items()
    for policy in policies:
        assert policy["metadata"]["name"] != "default-deny", "the namespace's default-deny belongs to the program"
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from") == [{"podSelector": {}}], f"{policy['metadata']['name']}: ingress from the namespace's pods only"
    for label, template in pod_templates(objects):
        labels = template["metadata"]["labels"]
        mine = [p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()]
        assert mine, f"{label}: no NetworkPolicy selects it"
        ports = {(p["containerPort"], p.get("protocol", "TCP")) for c in template["spec"]["containers"] for p in c.get("ports", [])}
        opened = {(port["port"], port.get("protocol", "TCP")) for p in mine for r in p["spec"].get("ingress", []) for port in r.get("ports", [])}
        assert ports and ports <= opened, f"{label}: container ports {ports} open to the namespace"
        egress = [r for p in mine if "Egress" in p["spec"].get("policyTypes", []) for r in p["spec"].get("egress", [])]
        if _injected(template):
            assert egress == [{"to": [vault_peer], "ports": [{"port": vault_names.API_PORT, "protocol": "TCP"}]}], label
        else:
            assert egress == [], f"{label}: calls nothing but DNS (the namespace default)"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_services_select_the_pods_and_target_a_named_container_port(render: Render, d: Deployed) -> None:
    objects = render(d)
    templates = pod_templates(objects)
    for service in _of_kind(objects, "Service"):
        selector = service["spec"]["selector"]
        selected = [t for _, t in templates if selector.items() <= t["metadata"]["labels"].items()]
        assert selected, f"Service/{service['metadata']['name']} selects no pod"
        names = {p["name"] for t in selected for c in t["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names, f"Service/{service['metadata']['name']}: targetPort {port['targetPort']}"


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_deployments_opt_into_rollouts_and_scale_by_environment(render: Render, d: Deployed) -> None:
    objects = render(d)
    for deployment in _of_kind(objects, "Deployment"):
        ann = _annotations(deployment)
        name = deployment["metadata"]["name"]
        assert ann.get(RELOADER_SEARCH) == "true", f"Deployment/{name}: the rollout opt-in docs/external-secrets.md describes"
        assert "reloader.stakater.com/auto" not in ann, "auto takes precedence over search"
        assert RELOADER_SEARCH not in _annotations(deployment["spec"]["template"]), "the opt-in goes on the Deployment, not the pod"
        replicas = deployment["spec"].get("replicas", 1)
        if d.env == "production":
            assert replicas >= 2, f"Deployment/{name}: production runs 2+ replicas"
        budgets = [b for b in _of_kind(objects, "PodDisruptionBudget")
                   if b["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()]
        assert budgets and all(b["spec"].get("maxUnavailable") == 1 for b in budgets), f"Deployment/{name}: a disruption budget"


# --- no secret value under gitops/ ------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX = re.compile(r"^[0-9a-f]{32,}$")
_KV_PATH = re.compile(rf"^{KV_MOUNT}/data/[a-z0-9-]+/[a-z0-9-]+/(?P<name>[a-z0-9-]+)$")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def random_looking(text: str) -> list[str]:
    """Substrings that look generated: long mixed-case alphanumeric runs of high entropy, or long hex outside a digest."""
    found = []
    for token in _TOKEN.findall(_DIGEST.sub("", text)):
        for part in token.split("/"):
            mixed = any(ch.islower() for ch in part) and any(ch.isupper() for ch in part) and any(ch.isdigit() for ch in part)
            if len(part) >= 20 and ((mixed and _entropy(part) >= 3.5) or _HEX.match(part)):
                found.append(part[:4] + "...")
    return found


def _value_at(doc: Any, path: Sequence[Any]) -> Any:
    node = doc
    for part in path:
        node = node[part]
    return node


def _allowed(doc: Any, path: Sequence[Any], value: Any) -> bool:
    """Secret-like keys whose literal values are names or metadata, each recognised by its exact shape."""
    key = str(path[-1])
    if key == "secretKey" and isinstance(doc, Mapping) and doc.get("kind") == "ExternalSecret" and path[:2] == ("spec", "data"):
        remote = _value_at(doc, (*path[:-1], "remoteRef", "key"))
        return isinstance(value, str) and str(remote).endswith(f"/{value}")  # the key named after its backend path
    name = key.removeprefix(VAULT_PREFIX)
    if name == f"agent-inject-secret-{AGENT_DATABASE_FILE}":  # a database role's creds path (a new user per read)
        return re.fullmatch(r"database/creds/[a-z]+-[a-z0-9-]+", str(value)) is not None
    if name.startswith("agent-inject-secret-"):
        m = _KV_PATH.match(str(value))
        return m is not None and m.group("name") == name.removeprefix("agent-inject-secret-")
    if name.startswith("agent-inject-perms-"):
        return re.fullmatch(r"0[0-7]{3}", str(value)) is not None
    return False


def _documents(obj: Any) -> Iterator[Any]:
    """A YAML document and every YAML document embedded in its multi-line strings (kustomize patches)."""
    yield obj
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and "\n" in node:
            embedded = parse_embedded(node)
            if embedded is not None:
                yield from _documents(embedded)


def secret_findings(text: str, yaml_text: bool = True) -> list[str]:
    """Why a file's text looks like it holds a secret value; [] when it does not."""
    found = [f"matches the {name} pattern" for name in find_secret_material(text)]
    found += [f"random-looking literal {r}" for r in random_looking(text)]
    if yaml_text:
        for doc in yaml.safe_load_all(text):
            for sub in _documents(doc):
                for path, why in literal_secret_findings(sub, (), scan_text=False):
                    if not _allowed(sub, path, _value_at(sub, path)):
                        found.append(f"{'.'.join(map(str, path))}: {why}")
                if isinstance(sub, Mapping) and sub.get("kind") == "Secret":
                    found.append("a Secret object")
                if isinstance(sub, Mapping) and sub.get("secretGenerator"):
                    found.append("a secretGenerator")
    return found


GITOPS_FILES = sorted(p for p in GITOPS.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", GITOPS_FILES, ids=lambda p: str(p.relative_to(GITOPS)))
def test_no_secret_value_in_any_file_under_gitops(path: Path) -> None:
    text = path.read_text()
    assert secret_findings(text, yaml_text=path.suffix in (".yaml", ".yml")) == [], path


def test_the_secret_scanner_finds_what_it_must() -> None:
    """Negative controls: each kind of leak is caught (values assembled here, so this file holds none)."""
    aws_key = "AKIA" + "Q" * 4 + "7" * 4 + "ZXCV" + "B" * 4
    pem = "-----BEGIN " + "PRIVATE KEY-----"
    generated = "q8Zr" + "T2mX" + "v9Lk" + "P4wN" + "s7Hd" + "J3fB"
    leaks = {
        "a literal under a secret-like env name": "env:\n- name: DB_PASSWORD\n  value: hunter2hunter2\n",
        "a literal under a secret-like key": "secrets:\n  apiKey: notarealkeybutliteral\n",
        "an AWS access key id": f"note: {aws_key}\n",
        "a PEM private key": f"data: |\n  {pem}\n",
        "a random token under a harmless key": f"description: {generated}\n",
        "a random token in a kustomize patch": f"patches:\n- patch: |-\n    metadata:\n      annotations:\n        x: {generated}\n",
        "a Vault path annotation holding a value": "vault.hashicorp.com/agent-inject-secret-db: s3cr3tvalue\n",
        "an ExternalSecret key that names nothing": (
            "kind: ExternalSecret\nspec:\n  data:\n  - secretKey: hunter2\n    remoteRef:\n      key: staging/api/db-password\n"),
        "a Secret object": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n",
    }
    for what, text in leaks.items():
        assert secret_findings(text), f"missed {what}"
    harmless = (
        "image: hashicorp/http-echo:1.0.0@sha256:" + "ab" * 32 + "\n"
        "vault.hashicorp.com/agent-inject-secret-db-password: kv/data/staging/api/db-password\n"
        "vault.hashicorp.com/agent-inject-perms-db-password: '0400'\n"
        "secretName: payments-secrets\n"
    )
    assert secret_findings(harmless) == []


# --- without kubectl: the bases and the chart on their own --------------------------------------------------------

def _base_objects(app: str, env: str) -> list[dict[str, Any]]:
    base = APPS / app / "base"
    objects = [doc for r in _kustomization(base)["resources"] for doc in yaml.safe_load_all((base / r).read_text()) if doc]
    for entry in overlay_helm_charts(APPS / app / "overlays" / env):
        objects += render_chart(entry["chartDir"], entry["releaseName"], env, [entry["values"]])
    for obj in objects:
        obj.setdefault("metadata", {})["namespace"] = env
    return objects


@pytest.mark.parametrize("d", DEPLOYED, ids=str)
def test_base_objects_validate_and_meet_the_restricted_standard_without_kustomize(d: Deployed) -> None:
    objects = _base_objects(d.app.name, d.env)
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, d.kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{d} {obj['kind']}/{obj['metadata']['name']}: {str(exc).splitlines()[0]}")
    templates = pod_templates(objects)
    assert templates
    for label, template in templates:
        assert restricted_violations(template["spec"]) == [], f"{d} {label}"
        for ref in secret_references(template["spec"]):
            assert ref.name == d.app.target_secret_name, f"{d} {label} {ref.where}"
