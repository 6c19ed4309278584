"""External Secrets builders, without the runtime: chart values against the pinned charts, stores,
ExternalSecrets and NetworkPolicies against the pinned schemas, and the config rules."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.config import ConfigError, ExternalSecretsConfig, StackConfig
from components.config.environments import EnvironmentConfig
from components.external_secrets import names, values
from components.external_secrets.external_secret import Entry, app_external_secret, external_secret, stack_external_secrets
from components.external_secrets.network import NetworkInputs, network_policies
from components.external_secrets.stores import (
    StoreSpec,
    VaultEndpoint,
    cluster_secret_store,
    service_account_manifest,
    store_specs,
    token_role_binding_manifest,
    token_role_manifest,
)
from components.versions import CHART_PINS
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings

UPSTREAM = ROOT / "tests" / "upstream"
ESO_DIR = UPSTREAM / "external-secrets" / CHART_PINS["external-secrets"].version
RELOADER_DIR = UPSTREAM / "reloader" / CHART_PINS["reloader"].version
SEALED_DIR = UPSTREAM / "sealed-secrets" / CHART_PINS["sealed-secrets"].version
KUBERNETES_VERSION = "1.33"
VAULT = VaultEndpoint(server="https://vault.vault.svc:8200", ca_config_map="vault-ca")

# Where a chart copies a map verbatim into a Kubernetes field (`omit . "enabled" | toYaml`):
# the keys below it are Kubernetes fields, checked against the Kubernetes schema instead.
ESO_PASSTHROUGH = {("podSecurityContext",), ("webhook", "podSecurityContext"), ("certController", "podSecurityContext")}
SEALED_PASSTHROUGH = {("podSecurityContext",), ("containerSecurityContext",)}


# --- pinned upstream data -------------------------------------------------------------------

@cache
def upstream_values(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "values.yaml").read_text())


@cache
def crd_schema(kind: str, version: str = "v1") -> dict[str, Any]:
    return json.loads((ESO_DIR / "crds" / f"{kind.lower()}_{version}.json").read_text())


def crd_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Strict validation of an ESO custom resource against the pinned CRD schema (draft-04)."""
    group, version = str(manifest["apiVersion"]).split("/")
    served = json.loads((ESO_DIR / "crds" / "served.json").read_text())
    if not served.get(f"{group}/{version}/{manifest['kind']}"):
        return [f"{manifest['apiVersion']} {manifest['kind']} is not served by ESO {CHART_PINS['external-secrets'].version}"]
    validator = jsonschema.Draft4Validator(crd_schema(str(manifest["kind"]), version))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(dict(manifest))]


def unknown_keys(ours: Mapping[str, Any], theirs: Any, passthrough: set[tuple[str, ...]], path: tuple[str, ...] = ()) -> list[str]:
    """Keys we set that the pinned values.yaml does not have.

    Below a key whose default is an empty map or null (``resources: {}``, ``annotations: {}``)
    the contents are free-form; a non-empty default map is walked strictly.
    """
    problems = []
    for key, value in ours.items():
        here = (*path, key)
        if not isinstance(theirs, Mapping) or key not in theirs:
            problems.append(".".join(here))
            continue
        default = theirs[key]
        if here in passthrough:
            continue
        if isinstance(value, Mapping) and isinstance(default, Mapping) and default:
            problems += unknown_keys(value, default, passthrough, here)
    return problems


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def dig(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    for key in path:
        data = data[key]
    return data


def pod_errors(*, pod_security: Mapping[str, Any], container_security: Mapping[str, Any],
               resources: Mapping[str, Any], spread: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """Validate chart-rendered pod fields (chart ``enabled`` switches removed) strictly as a Pod."""
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": names.NAMESPACE},
        "spec": {
            "securityContext": {k: v for k, v in pod_security.items() if k != "enabled"},
            "topologySpreadConstraints": list(spread),
            "containers": [{
                "name": "c", "image": "example.invalid/c:1",
                "securityContext": {k: v for k, v in container_security.items() if k != "enabled"},
                "resources": dict(resources),
            }],
        },
    }
    try:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc).splitlines()[0]]
    return []


def assert_restricted(pod_security: Mapping[str, Any], container_security: Mapping[str, Any]) -> None:
    """The restricted Pod Security Standard's checks that these pods can fail."""
    merged = {**{k: v for k, v in pod_security.items() if k in ("runAsNonRoot", "seccompProfile")}, **container_security}
    assert merged.get("runAsNonRoot") is True
    assert merged.get("seccompProfile") == {"type": "RuntimeDefault"}
    assert container_security.get("allowPrivilegeEscalation") is False
    assert container_security.get("capabilities") == {"drop": ["ALL"]}
    assert container_security.get("readOnlyRootFilesystem") is True


# --- the helpers themselves -------------------------------------------------------------------

def test_key_walk_catches_misspelled_and_invented_keys() -> None:
    upstream = upstream_values(ESO_DIR)
    assert unknown_keys({"replicaCount": 2, "resources": {"limits": {"memory": "1Gi"}}}, upstream, set()) == []
    assert unknown_keys({"replicas": 2}, upstream, set()) == ["replicas"]
    assert unknown_keys({"webhook": {"podDisruptionBudget": {"minAvaliable": 1}}}, upstream, set()) == [
        "webhook.podDisruptionBudget.minAvaliable"
    ]
    assert unknown_keys({"podSecurityContext": {"runAsNonRoot": True}}, upstream, set()) == ["podSecurityContext.runAsNonRoot"]


def test_pod_check_catches_an_invalid_security_context() -> None:
    assert pod_errors(pod_security={"runAsNonRoot": "yes"}, container_security={}, resources={})
    assert pod_errors(pod_security={}, container_security={"dropAll": True}, resources={})


# --- External Secrets Operator values -----------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_eso_values_use_only_keys_of_the_pinned_chart_and_validate(stack: str) -> None:
    ours = values.eso_values(stack_settings(stack).external_secrets)
    assert unknown_keys(ours, upstream_values(ESO_DIR), ESO_PASSTHROUGH) == []
    schema = json.loads((ESO_DIR / "values.schema.json").read_text())
    merged = deep_merge(upstream_values(ESO_DIR), ours)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(merged)]
    assert errors == []


def test_eso_chart_pin_matches_the_upstream_data() -> None:
    assert CHART_PINS["external-secrets"].version == "2.9.0"
    assert "Helm chart 2.9.0, app v2.9.0" in (ESO_DIR / "SOURCE.md").read_text()
    assert (CHART_PINS["external-secrets"].release, CHART_PINS["external-secrets"].namespace) == ("external-secrets", "external-secrets")


def test_eso_names_match_the_chart_defaults() -> None:
    upstream = upstream_values(ESO_DIR)
    assert names.WEBHOOK_PORT == upstream["webhook"]["port"] == 10250
    assert names.METRICS_PORT == upstream["metrics"]["listen"]["port"] == upstream["webhook"]["metrics"]["listen"]["port"]
    assert upstream["certController"]["metrics"]["listen"]["port"] == names.METRICS_PORT
    # selectorLabels derive app.kubernetes.io/name from nameOverride (unset) and instance from the release.
    assert upstream["nameOverride"] == "" and "nameOverride" not in values.eso_values(ExternalSecretsConfig())
    assert names.CONTROLLER_LABELS == {"app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "external-secrets"}


@pytest.mark.parametrize("stack", STACKS)
def test_eso_values_install_crds_run_ha_and_are_restricted(stack: str) -> None:
    cfg = stack_settings(stack).external_secrets
    v = values.eso_values(cfg)
    assert v["installCRDs"] is True
    assert all(v["crds"][k] is True for k in v["crds"] if k.startswith("create")), v["crds"]
    assert set(k for k in upstream_values(ESO_DIR)["crds"] if k.startswith("create")) <= set(v["crds"])
    assert v["crds"]["unsafeServeV1Beta1"] is False
    assert v["leaderElect"] is True
    assert v["replicaCount"] == cfg.controller.replicas >= 2
    assert v["webhook"]["replicaCount"] == cfg.webhook.replicas >= 2
    assert v["certController"]["replicaCount"] == cfg.cert_controller.replicas >= 2
    assert v["webhook"]["failurePolicy"] == "Fail"
    assert v["rbac"]["serviceAccountTokenCreate"] is False
    assert v["serviceAccount"] == {"create": True, "name": names.CONTROLLER_SERVICE_ACCOUNT}
    assert (v["processPushSecret"], v["processClusterPushSecret"]) == (False, False)
    for section, sizing, labels in (
        ((), cfg.controller, names.CONTROLLER_LABELS),
        (("webhook",), cfg.webhook, names.WEBHOOK_LABELS),
        (("certController",), cfg.cert_controller, names.CERT_CONTROLLER_LABELS),
    ):
        part = dig(v, section)
        assert part["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}, section
        assert part["resources"] == {
            "requests": {"cpu": sizing.cpu_request, "memory": sizing.memory_request},
            "limits": {"memory": sizing.memory_limit},
        }, section
        assert part["metrics"]["service"]["enabled"] is True, section
        assert_restricted(part["podSecurityContext"], part["securityContext"])
        assert part["podSecurityContext"]["enabled"] is True and part["securityContext"]["enabled"] is True
        assert all(c["labelSelector"]["matchLabels"] == labels for c in part["topologySpreadConstraints"])
        assert pod_errors(pod_security=part["podSecurityContext"], container_security=part["securityContext"],
                          resources=part["resources"], spread=part["topologySpreadConstraints"]) == [], section


# --- Reloader and Sealed Secrets values --------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_reloader_values_use_only_keys_of_the_pinned_chart_and_validate(stack: str) -> None:
    settings = stack_settings(stack)
    ours = values.reloader_values(settings.external_secrets, list(settings.environments))
    assert unknown_keys(ours, upstream_values(RELOADER_DIR), set()) == []
    schema = json.loads((RELOADER_DIR / "values.schema.json").read_text())
    merged = deep_merge(upstream_values(RELOADER_DIR), ours)
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(merged)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_reloader_watches_only_the_environments_with_the_gitops_strategy(stack: str) -> None:
    settings = stack_settings(stack)
    sizing = settings.external_secrets.reloader
    r = values.reloader_values(settings.external_secrets, list(settings.environments))["reloader"]
    assert r["watchGlobally"] is False
    assert r["namespaces"] == list(stack_config_objects(stack)["platform:environments"])
    assert r["reloadStrategy"] == "annotations"
    assert r["enableHA"] is (sizing.replicas > 1)
    assert r["deployment"]["replicas"] == sizing.replicas
    assert r["deployment"]["resources"]["limits"] == {"memory": sizing.memory_limit}
    assert r["readOnlyRootFileSystem"] is True
    assert_restricted(r["deployment"]["securityContext"], r["deployment"]["containerSecurityContext"])
    assert pod_errors(pod_security=r["deployment"]["securityContext"], container_security=r["deployment"]["containerSecurityContext"],
                      resources=r["deployment"]["resources"], spread=r["deployment"]["topologySpreadConstraints"]) == []


def test_reloader_annotations_are_the_ones_the_pinned_version_documents() -> None:
    assert CHART_PINS["reloader"].version == "2.2.16"
    assert upstream_values(RELOADER_DIR)["image"]["tag"] == "v1.4.21"
    assert names.RELOADER_SEARCH_ANNOTATION == "reloader.stakater.com/search"
    assert names.RELOADER_MATCH_ANNOTATION == "reloader.stakater.com/match"


def test_sealed_secrets_values_use_only_keys_of_the_pinned_chart_and_are_restricted() -> None:
    ours = values.sealed_secrets_values()
    assert unknown_keys(ours, upstream_values(SEALED_DIR), SEALED_PASSTHROUGH) == []
    assert ours["fullnameOverride"] == "sealed-secrets-controller"  # kubeseal's default --controller-name
    assert ours["secretName"] == upstream_values(SEALED_DIR)["secretName"]
    assert_restricted(ours["podSecurityContext"], ours["containerSecurityContext"])
    assert pod_errors(pod_security=ours["podSecurityContext"], container_security=ours["containerSecurityContext"],
                      resources=ours["resources"]) == []
    assert CHART_PINS["sealed-secrets"].namespace == "kube-system"


# --- stores ----------------------------------------------------------------------------------------

def test_vault_store_spec() -> None:
    manifest = cluster_secret_store(StoreSpec("staging", "vault"), region="eu-west-1", vault=VAULT)
    assert manifest == {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": "staging-vault", "labels": {
            "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform",
            "platform.secrets/scope": "staging", "platform.secrets/backend": "vault"}},
        "spec": {
            "conditions": [{"namespaces": ["staging"]}],
            "provider": {"vault": {
                "server": "https://vault.vault.svc:8200",
                "path": "kv",
                "version": "v2",
                "caProvider": {"type": "ConfigMap", "name": "vault-ca", "key": "ca.crt", "namespace": "external-secrets"},
                "auth": {"kubernetes": {
                    "mountPath": "kubernetes",
                    "role": "eso-staging",
                    "serviceAccountRef": {"name": "eso-staging-vault", "namespace": "external-secrets", "audiences": ["vault"]},
                }},
            }},
        },
    }
    assert crd_errors(manifest) == []


def test_aws_store_spec() -> None:
    manifest = cluster_secret_store(StoreSpec("production", "aws"), region="eu-west-1")
    assert manifest["spec"] == {
        "conditions": [{"namespaces": ["production"]}],
        "provider": {"aws": {
            "service": "SecretsManager",
            "region": "eu-west-1",
            "auth": {"jwt": {"serviceAccountRef": {"name": "eso-production-aws", "namespace": "external-secrets"}}},
        }},
    }
    assert crd_errors(manifest) == []


def test_platform_stores_serve_argocd_only() -> None:
    for backend in names.BACKENDS:
        manifest = cluster_secret_store(StoreSpec("platform", backend), region="eu-west-1", vault=VAULT)
        assert manifest["metadata"]["name"] == f"platform-{backend}"
        assert manifest["spec"]["conditions"] == [{"namespaces": ["argocd"]}]


@pytest.mark.parametrize("stack", STACKS)
def test_every_store_of_a_stack_serves_one_namespace_as_its_own_account(stack: str) -> None:
    settings = stack_settings(stack)
    specs = store_specs(list(settings.environments), names.BACKENDS)
    assert [s.name for s in specs] == [f"{scope}-{b}" for scope in [*settings.environments, "platform"] for b in ("vault", "aws")]
    for spec in specs:
        manifest = cluster_secret_store(spec, region=settings.aws.region, vault=VAULT)
        assert crd_errors(manifest) == [], spec.name
        (condition,) = manifest["spec"]["conditions"]
        assert condition == {"namespaces": [spec.namespace]}
        ref = (manifest["spec"]["provider"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"] if spec.backend == "vault"
               else manifest["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"])
        assert (ref["name"], ref["namespace"]) == (f"eso-{spec.scope}-{spec.backend}", "external-secrets")


def test_store_builders_refuse_what_would_break_isolation_or_tls() -> None:
    with pytest.raises(ValueError, match="https"):
        VaultEndpoint(server="http://vault.vault.svc:8200", ca_config_map="vault-ca")
    with pytest.raises(ValueError, match="Vault endpoint"):
        cluster_secret_store(StoreSpec("staging", "vault"), region="eu-west-1")
    with pytest.raises(ValueError, match="IRSA"):
        service_account_manifest(StoreSpec("staging", "aws"))


def test_store_accounts_carry_the_irsa_role_and_mount_no_token() -> None:
    aws = service_account_manifest(StoreSpec("staging", "aws"), "arn:aws:iam::111111111111:role/r")
    assert aws["metadata"]["namespace"] == "external-secrets"
    assert aws["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/r"}
    assert aws["automountServiceAccountToken"] is False
    vault = service_account_manifest(StoreSpec("staging", "vault"))
    assert "annotations" not in vault["metadata"]
    for manifest in (aws, vault):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_controller_mints_tokens_for_the_store_accounts_only() -> None:
    role = token_role_manifest(["eso-staging-vault", "eso-staging-aws"])
    assert role["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts/token"],
                              "resourceNames": ["eso-staging-aws", "eso-staging-vault"], "verbs": ["create"]}]
    binding = token_role_binding_manifest()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}]
    for manifest in (role, binding):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


# --- the ExternalSecret builder ------------------------------------------------------------------------

def test_app_external_secret_spec() -> None:
    """The builder's exact output for a given app (its own input, so the stack files may change freely)."""
    random = {"backend": "vault", "source": "random", "length": 32, "charset": "alphanumeric", "rotation": "r1"}
    env = EnvironmentConfig.model_validate({"syncPolicy": "automated", "refreshInterval": "30m", "apps": [
        {"name": "api", "secrets": [{"key": "db-password", **random}, {"key": "jwt-signing-key", **random}]}]})
    (api,) = env.apps
    manifest = app_external_secret("staging", env, api)
    assert manifest == {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {
            "name": "api-secrets", "namespace": "staging",
            "labels": {"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "secrets-platform",
                       "app.kubernetes.io/managed-by": "make-gitops"},
            "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
        },
        "spec": {
            "refreshInterval": "30m",
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "staging-vault"},
            "target": {
                "name": "api-secrets", "creationPolicy": "Owner", "deletionPolicy": "Retain",
                "template": {
                    "engineVersion": "v2", "mergePolicy": "Replace",
                    "metadata": {"annotations": {"reloader.stakater.com/match": "true"},
                                 "labels": {"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "secrets-platform"}},
                },
            },
            "data": [
                {"secretKey": "db-password", "remoteRef": {"key": "staging/api/db-password", "property": "value"}},
                {"secretKey": "jwt-signing-key", "remoteRef": {"key": "staging/api/jwt-signing-key", "property": "value"}},
            ],
        },
    }
    assert crd_errors(manifest) == []


def test_an_app_in_both_backends_gets_one_secret_with_each_entry_through_its_own_store() -> None:
    manifest = external_secret(
        name="mixed-secrets", namespace="staging", scope="staging", target_name="mixed-secrets", refresh_interval="1h",
        entries=[Entry("a", "aws", "staging/mixed/a"), Entry("b", "vault", "staging/mixed/b")],
    )
    assert manifest["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "staging-aws"}
    assert manifest["spec"]["data"] == [
        {"secretKey": "a", "remoteRef": {"key": "staging/mixed/a"}},
        {"secretKey": "b", "remoteRef": {"key": "staging/mixed/b", "property": "value"},
         "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "staging-vault"}}},
    ]
    assert crd_errors(manifest) == []


def test_builder_serves_argocd_style_secrets_too() -> None:
    """The ArgoCD issue's repository credential: labelled for Argo CD, rendered from templates."""
    manifest = external_secret(
        name="repo-credential", namespace="argocd", scope="platform", target_name="repo-credential", refresh_interval="1h",
        entries=[Entry("password", "aws", "platform/argocd/repo-credential")],
        template_labels={"argocd.argoproj.io/secret-type": "repository"},
        template_data={"url": "https://github.com/example-org/platform-gitops.git", "password": "{{ .password }}"},
    )
    assert manifest["spec"]["secretStoreRef"]["name"] == "platform-aws"
    assert manifest["spec"]["target"]["template"]["metadata"] == {"labels": {"argocd.argoproj.io/secret-type": "repository"}}
    assert crd_errors(manifest) == []


def test_builder_refuses_cross_scope_reads_and_duplicate_keys() -> None:
    common: dict[str, Any] = {"name": "x", "namespace": "staging", "scope": "staging", "target_name": "x", "refresh_interval": "1h"}
    with pytest.raises(ValueError, match="outside scope"):
        external_secret(entries=[Entry("a", "vault", "production/api/a")], **common)
    with pytest.raises(ValueError, match="outside scope"):
        external_secret(entries=[Entry("a", "vault", "stagingx/api/a")], **common)
    with pytest.raises(ValueError, match="twice"):
        external_secret(entries=[Entry("a", "vault", "staging/api/a"), Entry("a", "aws", "staging/api/a")], **common)
    with pytest.raises(ValueError, match="no entries"):
        external_secret(entries=[], **common)


def test_secret_name_override_and_crd_validation_catch_mistakes() -> None:
    objects = stack_config_objects("dev")
    envs = copy.deepcopy(objects["platform:environments"])
    env, spec = next(iter(envs.items()))
    app = spec["apps"][0]["name"]
    spec["apps"][0]["secretName"] = f"{app}-credentials"
    settings = stack_settings("dev", environments=envs)
    manifest = stack_external_secrets(settings)[(env, app)]
    assert manifest["metadata"]["name"] == f"{app}-secrets"
    assert manifest["spec"]["target"]["name"] == f"{app}-credentials"
    broken = copy.deepcopy(manifest)
    broken["spec"]["target"]["creationPolicy"] = "Owned"
    broken["spec"]["data"][0]["remoteRef"]["propery"] = "value"
    assert len(crd_errors(broken)) == 2
    assert crd_errors({**manifest, "apiVersion": "external-secrets.io/v1beta1"})


# --- NetworkPolicies ------------------------------------------------------------------------------------

def _policies(metrics: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    inputs = NetworkInputs(api_server_cidrs=["10.10.0.0/16"], aws_endpoint_cidrs=["0.0.0.0/0"], metrics_namespaces=list(metrics))
    return {p["metadata"]["name"]: p for p in network_policies(inputs)}


def test_network_policies_deny_by_default_and_open_only_what_each_pod_needs() -> None:
    policies = _policies()
    assert set(policies) == {"default-deny", "external-secrets-controller", "external-secrets-webhook",
                             "external-secrets-cert-controller", "reloader"}
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and deny["ingress"] == [] and deny["policyTypes"] == ["Ingress", "Egress"]
    assert deny["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    api = {"to": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    controller = policies["external-secrets-controller"]["spec"]
    assert controller["podSelector"] == {"matchLabels": names.CONTROLLER_LABELS}
    assert controller["ingress"] == []
    assert controller["egress"] == [
        api,
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vault"}},
                 "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault", "app.kubernetes.io/instance": "vault",
                                                 "component": "server"}}}],
         "ports": [{"port": 8200, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
    ]
    webhook = policies["external-secrets-webhook"]["spec"]
    assert webhook["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"port": 10250, "protocol": "TCP"}]}]
    for name in ("external-secrets-webhook", "external-secrets-cert-controller", "reloader"):
        assert policies[name]["spec"]["egress"] == [api], name
    assert policies["reloader"]["spec"]["podSelector"] == {"matchLabels": names.RELOADER_LABELS}
    for policy in policies.values():
        kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)


def test_metrics_open_only_to_the_configured_namespaces() -> None:
    policies = _policies(["monitoring"])
    scraper = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert policies["external-secrets-controller"]["spec"]["ingress"] == [{"from": scraper, "ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert policies["external-secrets-webhook"]["spec"]["ingress"][1] == {"from": scraper, "ports": [{"port": 8080, "protocol": "TCP"}]}
    assert policies["reloader"]["spec"]["ingress"] == [{"from": scraper, "ports": [{"port": 9090, "protocol": "TCP"}]}]


# --- config ----------------------------------------------------------------------------------------------

def test_defaults_run_every_eso_deployment_twice_and_leave_sealed_secrets_off() -> None:
    cfg = ExternalSecretsConfig()
    assert (cfg.controller.replicas, cfg.webhook.replicas, cfg.cert_controller.replicas) == (2, 2, 2)
    assert cfg.sealed_secrets.enabled is False
    assert cfg.metrics_namespaces == [] and cfg.aws_endpoint_cidrs == ["0.0.0.0/0"]
    assert "externalSecrets" in StackConfig.model_fields["external_secrets"].alias  # type: ignore[operator]


def _problems(**edits: Any) -> list[str]:
    with pytest.raises(ConfigError) as err:
        stack_settings("dev", **edits)
    return [issue.render() for issue in err.value.issues]


def test_a_single_eso_replica_is_refused_with_the_fix() -> None:
    sizing = {"replicas": 1, "cpuRequest": "50m", "memoryRequest": "64Mi", "memoryLimit": "128Mi"}
    assert _problems(externalSecrets={"webhook": sizing}) == [
        "platform:externalSecrets.webhook: must run at least 2 replicas (its disruption budget keeps 1 available). "
        "Fix: set replicas to 2 or more."
    ]


def test_sizing_and_network_mistakes_are_reported_with_their_paths() -> None:
    problems = _problems(externalSecrets={
        "reloader": {"replicas": 1, "cpuRequest": "10m", "memoryRequest": "256Mi", "memoryLimit": "128Mi"},
        "awsEndpointCidrs": ["10.0.0.1/16"],
        "metricsNamespaces": ["Monitoring"],
        "sealedSecrets": {"enabled": "yes"},
    })
    assert any(p.startswith("platform:externalSecrets.reloader.memoryLimit: is below the memory request") for p in problems)
    assert any(p.startswith("platform:externalSecrets.awsEndpointCidrs[0]: is not a CIDR block") for p in problems)
    assert any(p.startswith("platform:externalSecrets.metricsNamespaces[0]:") for p in problems)
    assert any(p.startswith("platform:externalSecrets.sealedSecrets.enabled:") and "Fix: use true or false" in p for p in problems)


def test_two_apps_writing_one_secret_are_refused() -> None:
    envs = copy.deepcopy(stack_config_objects("dev")["platform:environments"])
    env = next(e for e, spec in envs.items() if len(spec["apps"]) > 1)
    first = envs[env]["apps"][0]
    envs[env]["apps"][1]["secretName"] = first.get("secretName", f"{first['name']}-secrets")  # would overwrite apps[0]'s Secret
    assert _problems(environments=envs) == [
        f"platform:environments.{env}.apps[1].secretName: names the same Secret as apps[0], so two ExternalSecrets "
        "would fight over it. Fix: give every app of an environment its own secretName (default `<app>-secrets`)."
    ]
