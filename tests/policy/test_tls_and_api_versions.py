"""TLS rules (Vault release and stores) and served-API-version rules, with the upstream CRD check."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from policies.rules.api_versions import SERVED, is_served

HELM = "kubernetes:helm.sh/v3:Release"
CSS = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
UPSTREAM = Path(__file__).resolve().parents[1] / "upstream"


def _vault(f, values, chart: str = "vault"):
    return f.view(HELM, {"name": "vault", "chart": chart, "namespace": "vault", "values": values})


# --- vault-helm-tls ----------------------------------------------------------------------------


def test_vault_release_with_tls_passes(f) -> None:
    assert f.check("vault-helm-tls", _vault(f, f.vault_values())) == []
    assert f.check("vault-helm-tls", _vault(f, f.vault_values(), chart="hashicorp/vault")) == []


@pytest.mark.parametrize("tls_disable", [None, True, "true"])
def test_global_tls_disable_true_or_missing_fails(f, tls_disable) -> None:
    values = f.vault_values()
    if tls_disable is None:
        del values["global"]["tlsDisable"]
    else:
        values["global"]["tlsDisable"] = tls_disable
    msgs = f.check("vault-helm-tls", _vault(f, values))
    assert len(msgs) == 1 and msgs[0].startswith("values.global.tlsDisable is ")


@pytest.mark.parametrize("setting", ["tls_disable = 1", "tls_disable = true", 'tls_disable = "true"', 'tls_disable = "1"'])
def test_listener_tls_disable_in_hcl_fails(f, setting: str) -> None:
    values = f.vault_values()
    values["server"]["ha"]["raft"]["config"] = f.raft_config.replace('address = "[::]:8200"', f'address = "[::]:8200"\n  {setting}')
    assert f.check("vault-helm-tls", _vault(f, values)) == [
        "values.server.ha.raft.config has a listener with tls_disable set."
    ]


def test_listener_tls_disable_false_and_comments_pass(f) -> None:
    values = f.vault_values()
    values["server"]["ha"]["raft"]["config"] = f.raft_config.replace(
        'address = "[::]:8200"', 'address = "[::]:8200"\n  tls_disable = 0\n  # tls_disable = 1'
    )
    assert f.check("vault-helm-tls", _vault(f, values)) == []


def test_listener_tls_disable_in_json_config_and_standalone(f) -> None:
    values = f.vault_values()
    values["server"]["ha"] = {"enabled": False}
    values["server"]["standalone"] = {"config": json.dumps({"listener": {"tcp": {"address": "[::]:8200", "tls_disable": 1}}})}
    assert f.check("vault-helm-tls", _vault(f, values)) == [
        "values.server.standalone.config has a listener with tls_disable set."
    ]
    values["server"]["standalone"] = {"config": {"listener": [{"tcp": {"tls_disable": "true"}}]}}
    assert len(f.check("vault-helm-tls", _vault(f, values))) == 1


def test_missing_active_config_means_chart_default_tls_off(f) -> None:
    values = f.vault_values()
    del values["server"]["ha"]["raft"]["config"]
    assert f.check("vault-helm-tls", _vault(f, values)) == [
        "values.server.ha.raft.config is not set: the chart's default listener has tls_disable = 1."
    ]


def test_http_addresses_fail(f) -> None:
    values = f.vault_values()
    values["server"]["extraEnvironmentVars"]["VAULT_ADDR"] = "http://127.0.0.1:8200"
    values["server"]["ha"]["raft"]["config"] = f.raft_config.replace("https://vault-0", "http://vault-0")
    msgs = f.check("vault-helm-tls", _vault(f, values))
    assert msgs == ["values.server.extraEnvironmentVars.VAULT_ADDR contains an http:// address.",
                    "values.server.ha.raft.config contains an http:// address."]


def test_dev_mode_and_no_values_fail(f) -> None:
    values = f.vault_values()
    values["server"]["dev"] = {"enabled": True}
    assert "dev mode" in " ".join(f.check("vault-helm-tls", _vault(f, values)))
    assert f.check("vault-helm-tls", f.view(HELM, {"chart": "vault"})) == [
        "values are not set, so the chart defaults apply: global.tlsDisable is true."
    ]


def test_other_charts_are_not_vault(f) -> None:
    assert f.check("vault-helm-tls", f.view(HELM, {"chart": "external-secrets", "values": {"x": "http://a"}})) == []


# --- vault-secret-store-tls --------------------------------------------------------------------


def _store(server, ca: dict | None, kind: str = "ClusterSecretStore", version: str = "v1"):
    vault = {"server": server, "path": "kv", "version": "v2", **(ca or {})}
    return {"apiVersion": f"external-secrets.io/{version}", "kind": kind,
            "spec": {"conditions": [{"namespaces": ["development"]}], "provider": {"vault": vault}}}


def test_vault_store_tls(f) -> None:
    rule = "vault-secret-store-tls"
    ca = {"caProvider": {"type": "Secret", "name": "vault-tls", "namespace": "vault", "key": "ca.crt"}}
    assert f.check(rule, f.view(CSS, _store("https://vault.vault.svc:8200", ca))) == []
    assert f.check(rule, f.view(CSS, _store("https://vault.vault.svc:8200", {"caBundle": "[secret]"}))) == []
    assert f.check(rule, f.view(CSS, _store("http://vault.vault.svc:8200", ca))) == [
        "spec.provider.vault.server is an http:// address."
    ]
    assert f.check(rule, f.view("kubernetes:external-secrets.io/v1:SecretStore", _store("https://v:8200", None, "SecretStore"))) == [
        "spec.provider.vault has neither caBundle nor caProvider, so the server certificate is not pinned."
    ]
    assert f.check(rule, f.view(CSS, _store("vault.vault.svc:8200", ca))) == ["spec.provider.vault.server has no https:// scheme."]
    aws = {"spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}}
    assert f.check(rule, f.view(CSS, aws)) == []


# --- served-api-versions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("kubernetes:external-secrets.io/v1beta1:ExternalSecret",
         "external-secrets.io/v1beta1 ExternalSecret is not served by the pinned External Secrets Operator; use external-secrets.io/v1."),
        ("kubernetes:external-secrets.io/v1beta1:ClusterSecretStore", "use external-secrets.io/v1"),
        ("kubernetes:external-secrets.io/v1alpha1:SecretStore", "use external-secrets.io/v1"),
        ("kubernetes:external-secrets.io/v1:PushSecret", "use external-secrets.io/v1alpha1"),
        ("kubernetes:argoproj.io/v1beta1:Application", "use argoproj.io/v1alpha1"),
        ("kubernetes:external-secrets.io/v1:VaultThing", "VaultThing is not a external-secrets.io kind"),
        ("kubernetes:batch/v1beta1:CronJob", "batch/v1beta1 CronJob is removed from Kubernetes; use batch/v1."),
        ("kubernetes:policy/v1beta1:PodDisruptionBudget", "use policy/v1"),
    ],
)
def test_unserved_versions_fail(f, type_: str, expected: str) -> None:
    msgs = f.check("served-api-versions", f.view(type_, {"metadata": {"name": "x"}}))
    assert len(msgs) == 1 and expected in msgs[0]


def test_api_version_input_is_checked_too(f) -> None:
    view = f.view("kubernetes:apiextensions.k8s.io:CustomResource", {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret"})
    assert len(f.check("served-api-versions", view)) == 1


@pytest.mark.parametrize(
    "type_",
    ["kubernetes:external-secrets.io/v1:ExternalSecret", "kubernetes:external-secrets.io/v1:ClusterSecretStore",
     "kubernetes:external-secrets.io/v1alpha1:PushSecret", "kubernetes:generators.external-secrets.io/v1alpha1:Password",
     "kubernetes:argoproj.io/v1alpha1:ApplicationSet", "kubernetes:argoproj.io/v1alpha1:AppProject",
     "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
     "kubernetes:helm.sh/v3:Release", "aws:iam/role:Role", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"],
)
def test_served_versions_pass(f, type_: str) -> None:
    assert f.check("served-api-versions", f.view(type_, {})) == []


def _upstream_tables(operator: str) -> list[Path]:
    return sorted(UPSTREAM.glob(f"{operator}/*/crds/served.json"))


@pytest.mark.parametrize("operator", ["external-secrets", "argo-cd"])
def test_served_table_agrees_with_upstream_crds(operator: str) -> None:
    """SERVED must say exactly what the pinned operators' CRDs serve (tests/upstream/*/crds/served.json)."""
    tables = _upstream_tables(operator)
    if not tables:
        pytest.skip(f"no upstream CRD table for {operator}")
    for table in tables:
        upstream: dict[str, bool] = json.loads(table.read_text())
        groups = set()
        for key, served in upstream.items():
            group, version, kind = key.split("/")
            groups.add(group)
            assert is_served(group, version, kind) is served, f"{key} in {table}"
        ours = {f"{g}/{v}/{k}" for g in groups for v, kinds in SERVED[g].items() for k in kinds}
        assert ours == {k for k, served in upstream.items() if served}, f"SERVED has kinds {table} does not serve"


# --- cluster-secret-store-conditions -----------------------------------------------------------


def test_cluster_store_with_namespace_conditions_passes(f) -> None:
    ok = [{"namespaces": ["development"]}, {"namespaceSelector": {"matchLabels": {"platform/env": "development"}}},
          {"namespaceRegexes": ["^development$"]}]
    for cond in ok:
        assert f.check("cluster-secret-store-conditions", f.view(CSS, {"spec": {"conditions": [cond]}})) == [], cond


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (None, "spec.conditions is missing"),
        ([], "spec.conditions is missing"),
        ([{"namespaceSelector": {}}], "namespaceSelector is empty and matches every namespace"),
        ([{"namespaces": ["*"]}], "namespaces contains a wildcard"),
        ([{"namespaceRegexes": [".*"]}], "matches unrelated namespaces"),
        ([{"namespaceRegexes": ["("]}], "invalid pattern"),
        ([{}], "names no namespaces"),
        ([{"namespaceSelector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}}], "only excludes"),
        ([{"namespaces": ["development"]}, {"namespaceSelector": {}}], "conditions[1].namespaceSelector is empty"),
    ],
)
def test_cluster_store_without_conditions_fails(f, conditions, expected: str) -> None:
    spec = {"provider": {"vault": {}}}
    if conditions is not None:
        spec["conditions"] = copy.deepcopy(conditions)
    msgs = f.check("cluster-secret-store-conditions", f.view(CSS, {"spec": spec}))
    assert len(msgs) == 1 and expected in msgs[0]


def test_namespaced_store_needs_no_conditions(f) -> None:
    assert f.check("cluster-secret-store-conditions", f.view("kubernetes:external-secrets.io/v1:SecretStore", {"spec": {}})) == []
