"""Shared builders read as a spec: chart installer, IRSA role, KMS key, NetworkPolicy, namespaces."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.charts import ChartSpec, chart_spec, install_chart
from components.config import StackConfig
from components.irsa import IrsaRole, irsa_role_name, irsa_trust_policy
from components.kms import ADMIN_STATEMENT_SID, KEY_ADMIN_ACTIONS, KmsKey, key_policy
from components.namespaces import namespace_labels, namespace_specs
from components.network_policy import DNS_EGRESS, Peer, Port, Rule, network_policy_manifest
from components.providers import aws_provider, kubernetes_provider
from components.versions import CHART_PINS
from planner.run import run_program
from planner.stackfile import read_stack
from tests.conftest import ROOT, stack_settings

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9"


def _settings(stack: str = "dev", **edits: Any) -> StackConfig:
    return stack_settings(stack, **edits)


# --- IRSA -----------------------------------------------------------------

def test_irsa_trust_names_exactly_one_service_account_and_the_sts_audience() -> None:
    doc = irsa_trust_policy(cluster=_settings().cluster, namespace="external-secrets", service_account="eso-staging-aws")
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeFromOneServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::111111111111:oidc-provider/{ISSUER}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER}:sub": "system:serviceaccount:external-secrets:eso-staging-aws",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def test_irsa_role_name_is_bounded() -> None:
    assert irsa_role_name("platform-dev", "vault", "vault") == "platform-dev-vault-vault"
    with pytest.raises(ValueError, match="exceeds 64 characters"):
        irsa_role_name("platform-dev", "external-secrets", "x" * 40)


# --- KMS ------------------------------------------------------------------

def test_key_policy_always_starts_with_the_admin_statement_without_data_access() -> None:
    usage = {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/r"}, "Action": ["kms:Decrypt"], "Resource": "*"}
    doc = key_policy(admin_arns=["arn:aws:iam::1:role/b", "arn:aws:iam::1:role/a"], usage_statements=[usage])
    admin, rest = doc["Statement"][0], doc["Statement"][1:]
    assert admin["Sid"] == ADMIN_STATEMENT_SID
    assert admin["Principal"] == {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]}
    assert admin["Action"] == KEY_ADMIN_ACTIONS
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:*", "kms:GenerateDataKey*", "kms:ReEncrypt*"} & set(admin["Action"])
    assert rest == [usage]


def test_key_policy_refuses_no_admins_and_a_hijacked_admin_sid() -> None:
    with pytest.raises(ValueError, match="unmanageable"):
        key_policy(admin_arns=[], usage_statements=[])
    with pytest.raises(ValueError, match="may not reuse"):
        key_policy(admin_arns=["arn:aws:iam::1:role/a"], usage_statements=[{"Sid": ADMIN_STATEMENT_SID}])


# --- NetworkPolicy ----------------------------------------------------------

def test_empty_rule_list_denies_and_none_leaves_open() -> None:
    deny_in = network_policy_manifest("p", "ns", ingress=[])
    assert deny_in["spec"] == {"podSelector": {}, "ingress": [], "policyTypes": ["Ingress"]}
    with pytest.raises(ValueError, match="neither ingress nor egress"):
        network_policy_manifest("p", "ns")


def test_rules_render_peers_and_ports() -> None:
    rule = Rule(peers=(Peer(namespace="external-secrets"), Peer(cidr="10.0.0.0/16")), ports=(Port(8200),))
    doc = network_policy_manifest("vault", "vault", pod_labels={"app": "vault"}, ingress=[rule], egress=[DNS_EGRESS])
    assert doc["spec"]["podSelector"] == {"matchLabels": {"app": "vault"}}
    assert doc["spec"]["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "external-secrets"}}},
                 {"ipBlock": {"cidr": "10.0.0.0/16"}}],
        "ports": [{"port": 8200, "protocol": "TCP"}],
    }]
    assert doc["spec"]["egress"][0]["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }]
    assert doc["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_peer_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="CIDR peer"):
        Peer(namespace="x", cidr="10.0.0.0/8").manifest()
    with pytest.raises(ValueError, match="must name"):
        Peer().manifest()


# --- Charts -----------------------------------------------------------------

def test_chart_spec_uses_the_pin_unless_the_stack_overrides_it() -> None:
    assert chart_spec("vault", _settings()).version == CHART_PINS["vault"].version
    assert chart_spec("vault", _settings(charts={"vault": "0.35.0"})).version == "0.35.0"
    spec = chart_spec("external-secrets", _settings())
    assert (spec.repository, spec.chart, spec.release, spec.namespace) == (
        "https://charts.external-secrets.io", "external-secrets", "external-secrets", "external-secrets")


def test_release_names_respect_helms_limit() -> None:
    with pytest.raises(ValueError, match="longer than 53"):
        ChartSpec("https://x", "c", "1.0.0", "r" * 54, "ns")


def test_pins_are_exact_versions_and_fixed_release_names() -> None:
    for key, pin in CHART_PINS.items():
        assert pin.version.count(".") == 2 and all(p.isdigit() for p in pin.version.split(".")), key
        assert pin.repository.startswith("https://"), key


def _probe_builders() -> None:
    settings = _settings()
    root = pulumi.ComponentResource("platform:test:Probe", "probe")
    aws = aws_provider(settings, parent=root)
    k8s = kubernetes_provider(settings, aws, parent=root)
    values = {"server": {"ha": {"enabled": True, "replicas": 3}}, "injector": {"replicas": 2}}
    install_chart("vault", chart_spec("vault", settings, skip_await=True), values, provider=k8s, parent=root)
    IrsaRole("eso", cluster=settings.cluster, namespace="external-secrets", service_account="eso-staging-aws",
             policy_document={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                                      "Resource": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/*"}]},
             aws_provider=aws, opts=pulumi.ResourceOptions(parent=root))
    KmsKey("secrets", alias="platform-dev/secrets", description="Secrets Manager", aws_provider=aws, protect=True,
           policy=key_policy(admin_arns=settings.aws.admin_role_arns, usage_statements=[]),
           opts=pulumi.ResourceOptions(parent=root))


@pytest.fixture(scope="module")
def builders() -> Any:
    return run_program(read_stack(ROOT, "dev"), program=_probe_builders)


def test_install_chart_passes_values_through_unchanged(builders: Any) -> None:
    release = builders.one("kubernetes:helm.sh/v3:Release", "vault")
    i = release["inputs"]
    assert (i["name"], i["chart"], i["version"], i["namespace"]) == ("vault", "vault", "0.34.1", "vault")
    assert i["repositoryOpts"] == {"repo": "https://helm.releases.hashicorp.com"}
    assert i["values"] == {"server": {"ha": {"enabled": True, "replicas": 3}}, "injector": {"replicas": 2}}
    assert i["createNamespace"] is False and i["skipAwait"] is True
    assert release["provider"].endswith("pulumi:providers:kubernetes::eks-platform-dev")


def test_irsa_role_registers_trust_and_inline_policy(builders: Any) -> None:
    role = builders.one("aws:iam/role:Role", "eso")
    assert role["inputs"]["name"] == "platform-dev-external-secrets-eso-staging-aws"
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"] == "system:serviceaccount:external-secrets:eso-staging-aws"
    policy = builders.one("aws:iam/rolePolicy:RolePolicy", "eso")
    assert json.loads(policy["inputs"]["policy"])["Statement"][0]["Resource"] == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/*"
    assert policy["inputs"]["role"] == "platform-dev-external-secrets-eso-staging-aws"
    assert role["parent"].endswith("platform:aws:IrsaRole::eso")


def test_kms_key_has_rotation_window_policy_alias_and_protection(builders: Any) -> None:
    key = builders.one("aws:kms/key:Key", "secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["deletionWindowInDays"] == 30
    assert key["protect"] is True
    assert json.loads(key["inputs"]["policy"])["Statement"][0]["Sid"] == ADMIN_STATEMENT_SID
    alias = builders.one("aws:kms/alias:Alias", "secrets")
    assert alias["inputs"]["name"] == "alias/platform-dev/secrets"
    assert key["urn"] in alias["dependencies"]


# --- Namespaces ----------------------------------------------------------------

def test_namespace_labels_enforce_restricted_at_the_cluster_version() -> None:
    assert namespace_labels("staging", "1.33") == {
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "secrets-platform",
        "platform.secrets/environment": "staging",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.33",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.33",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.33",
    }


def test_namespace_specs_are_system_then_environments() -> None:
    assert [s.name for s in namespace_specs(_settings("prod"))] == ["vault", "argocd", "external-secrets", "production"]
    assert [s.environment for s in namespace_specs(_settings("dev"))] == ["platform", "platform", "platform", "development", "staging"]
