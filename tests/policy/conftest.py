"""Builders for policy tests: resources in the shapes Pulumi sends, and a compliant plan.

Secret-looking strings (PEM keys, AWS key ids, tokens) are generated or concatenated at test
time, never written literally: tracked files are scanned for them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import pytest

from policies.rules.core import ResourceView
from policies.rules.registry import RULES_BY_NAME

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ACCOUNT = "111122223333"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
KMS_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

RAFT_CONFIG = """
ui = true
listener "tcp" {
  address = "[::]:8200"
  cluster_address = "[::]:8201"
  tls_cert_file = "/vault/userconfig/vault-tls/tls.crt"
  tls_key_file = "/vault/userconfig/vault-tls/tls.key"
  tls_client_ca_file = "/vault/userconfig/vault-tls/ca.crt"
}
storage "raft" {
  path = "/vault/data"
  retry_join {
    leader_api_addr = "https://vault-0.vault-internal:8200"
    leader_ca_cert_file = "/vault/userconfig/vault-tls/ca.crt"
  }
}
seal "awskms" {
  region = "eu-west-1"
  kms_key_id = "alias/vault-unseal"
}
service_registration "kubernetes" {}
"""


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::platform::{type_}::{name}"


@functools.lru_cache(maxsize=1)
def _pem_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Factory:
    """Test-time builders (a fixture, so test modules need not import conftest)."""

    issuer = ISSUER
    provider_arn = PROVIDER_ARN
    kms_arn = KMS_ARN
    raft_config = RAFT_CONFIG

    # -- secret-shaped strings, built at run time --
    @staticmethod
    def pem_private_key() -> str:
        return _pem_key()

    @staticmethod
    def aws_key_id() -> str:
        return "AK" + "IA" + "Z7EXAMPLE" + "Q2W3E4R"

    @staticmethod
    def vault_token() -> str:
        return "hv" + "s." + "CAESI" + "x" * 40

    @staticmethod
    def legacy_vault_token() -> str:
        return "s" + "." + "Ab3dEf6hIj9lMn2pQr5tUv8x"

    @staticmethod
    def github_token() -> str:
        return "gh" + "p_" + "a1B2c3D4" * 5

    @staticmethod
    def jwt() -> str:
        return "ey" + "JhbGciOiJSUzI1NiJ9" + "." + "ey" + "JzdWIiOiJ4In0abcdef" + "." + "c2lnbmF0dXJlLXNpZw"

    # -- resources --
    @staticmethod
    def resource(
        type_: str,
        name: str,
        inputs: Mapping[str, Any],
        *,
        stack: str = "dev",
        protect: bool = False,
        retain: bool = False,
        parent: str | None = None,
    ) -> dict[str, Any]:
        return {
            "type": type_,
            "name": name,
            "urn": urn(stack, type_, name),
            "parent": parent,
            "custom": not type_.startswith("platform:"),
            "dependencies": [],
            "protect": protect,
            "retainOnDelete": retain,
            "inputs": json.loads(json.dumps(inputs)),
        }

    @staticmethod
    def view(
        type_: str,
        inputs: Mapping[str, Any],
        *,
        name: str = "r",
        stack: str = "dev",
        protect: bool = False,
        retain: bool | None = None,
    ) -> ResourceView:
        return ResourceView(type=type_, name=name, urn=urn(stack, type_, name), props=inputs, protect=protect, retain_on_delete=retain)

    @staticmethod
    def check(rule: str, view: ResourceView, **settings: Any) -> list[str]:
        spec = RULES_BY_NAME[rule]
        assert spec.resource_fn is not None
        return spec.resource_fn(view, spec.effective_config(settings))

    @staticmethod
    def check_stack(rule: str, views: list[ResourceView], **settings: Any) -> list[tuple[str | None, str]]:
        spec = RULES_BY_NAME[rule]
        assert spec.stack_fn is not None
        return spec.stack_fn(views, spec.effective_config(settings))

    # -- documents --
    @staticmethod
    def trust(sub: Any = "system:serviceaccount:external-secrets:eso-development", aud: Any = "sts.amazonaws.com",
              operator: str = "StringEquals") -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": PROVIDER_ARN},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {operator: {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud}},
                    }
                ],
            }
        )

    @staticmethod
    def policy(*statements: Mapping[str, Any]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    @staticmethod
    def key_policy() -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Enable IAM User Permissions",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "AllowSecretsManagerUse",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/eso-development"},
                        "Action": ["kms:Decrypt", "kms:DescribeKey"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
                    },
                ],
            }
        )

    def vault_values(self) -> dict[str, Any]:
        return {
            "global": {"enabled": True, "tlsDisable": False},
            "injector": {"enabled": False},
            "server": {
                "extraEnvironmentVars": {"VAULT_ADDR": "https://127.0.0.1:8200", "VAULT_CACERT": "/vault/userconfig/vault-tls/ca.crt"},
                "volumes": [{"name": "vault-tls", "secret": {"secretName": "vault-tls"}}],
                "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                "ha": {"enabled": True, "replicas": 3, "raft": {"enabled": True, "config": RAFT_CONFIG}},
            },
        }

    def good_plan(self, stack: str = "dev") -> list[dict[str, Any]]:
        """A compliant plan touching every rule (both runs must pass)."""
        prod = stack == "prod"
        r = functools.partial(self.resource, stack=stack)
        env = "production" if prod else "development"
        return [
            r("platform:kubernetes:Namespaces", "namespaces", {}),
            r("kubernetes:core/v1:Namespace", "vault", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}},
              protect=prod),
            r("aws:kms/key:Key", "secrets", {"description": "Secrets Manager", "enableKeyRotation": True,
                                              "deletionWindowInDays": 30, "policy": self.key_policy()}, protect=prod),
            r("aws:secretsmanager/secret:Secret", "app-db", {"name": f"{env}/app/db", "kmsKeyId": KMS_ARN,
                                                               "recoveryWindowInDays": 30}),
            r("aws:secretsmanager/secretVersion:SecretVersion", "app-db", {"secretId": "[unknown]", "secretString": "[secret]"}),
            r("random:index/randomPassword:RandomPassword", "app-db", {"length": 32, "special": True}),
            r("aws:iam/role:Role", "eso-aws", {"name": f"eso-{env}", "assumeRolePolicy": self.trust(
                sub=f"system:serviceaccount:external-secrets:eso-{env}")}),
            r("aws:iam/rolePolicy:RolePolicy", "eso-aws", {"role": "[unknown]", "policy": self.policy(
                {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                 "Resource": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{env}/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KMS_ARN},
                {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"})}),
            r("kubernetes:core/v1:Secret", "vault-tls", {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                                        "metadata": {"name": "vault-tls", "namespace": "vault"},
                                                        "stringData": {"tls.crt": "[secret]", "tls.key": "[secret]",
                                                                       "ca.crt": "[secret]"}}),
            r("kubernetes:helm.sh/v3:Release", "vault", {"name": "vault", "chart": "vault", "version": "0.34.1",
                                                         "namespace": "vault",
                                                         "repositoryOpts": {"repo": "https://helm.releases.hashicorp.com"},
                                                         "values": self.vault_values()}),
            r("kubernetes:helm.sh/v3:Release", "external-secrets", {
                "name": "external-secrets", "chart": "external-secrets", "version": "2.9.0", "namespace": "external-secrets",
                "values": {"installCRDs": True, "serviceAccount": {"create": False, "name": "external-secrets"},
                           "resources": {"limits": {"memory": "256Mi"}}}}),
            r("vault:index/policy:Policy", "deployer", {"name": "deployer", "policy": (
                'path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }\n'
                'path "kv/data/*" { capabilities = ["create", "update", "read"] }\n')}),
            r("vault:index/policy:Policy", f"eso-{env}", {"name": f"eso-{env}", "policy": (
                f'# External Secrets reads {env}\n'
                f'path "kv/data/{env}/*" {{\n  capabilities = ["read"]\n}}\n'
                f'path "kv/metadata/{env}/*" {{\n  capabilities = ["read", "list"]\n}}\n')}),
            r("vault:index/policy:Policy", f"{env}-app", {"name": f"{env}-app", "policy": (
                f'path "kv/data/{env}/app/*" {{ capabilities = ["read"] }}\n'
                'path "kv/data/platform/ca" { capabilities = ["read"] }\n')}),
            r("vault:kubernetes/authBackendRole:AuthBackendRole", f"eso-{env}", {
                "roleName": f"eso-{env}", "backend": "kubernetes", "boundServiceAccountNames": [f"eso-{env}"],
                "boundServiceAccountNamespaces": ["external-secrets"], "tokenPolicies": [f"eso-{env}"],
                "audience": "vault"}),
            r("vault:kv/secretV2:SecretV2", "app-api", {"mount": "kv", "name": f"{env}/app/api", "dataJson": "[secret]"}),
            r("kubernetes:external-secrets.io/v1:ClusterSecretStore", f"vault-{env}", {
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": f"vault-{env}"},
                "spec": {"conditions": [{"namespaces": [env]}], "provider": {"vault": {
                    "server": "https://vault.vault.svc:8200", "path": "kv", "version": "v2",
                    "caProvider": {"type": "Secret", "name": "vault-tls", "namespace": "vault", "key": "ca.crt"},
                    "auth": {"kubernetes": {"mountPath": "kubernetes", "role": f"eso-{env}",
                                            "serviceAccountRef": {"name": f"eso-{env}", "namespace": "external-secrets"}}}}}}}),
            r("kubernetes:external-secrets.io/v1:ExternalSecret", "app", {
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "app", "namespace": env},
                "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": f"vault-{env}"},
                         "target": {"name": "app-secrets"},
                         "data": [{"secretKey": "password", "remoteRef": {"key": f"{env}/app/db", "property": "password"}}]}}),
            r("kubernetes:argoproj.io/v1alpha1:ApplicationSet", "apps", {
                "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "apps", "namespace": "argocd"},
                "spec": {"generators": [{"list": {"elements": [{"app": "app"}]}}], "template": {
                    "metadata": {"name": "{{app}}"}, "spec": {"project": env, "source": {
                        "repoURL": "https://git.example.com/gitops.git", "targetRevision": "main", "path": "apps/{{app}}",
                        "helm": {"parameters": [{"name": "auth.existingSecret", "value": "app-secrets"}],
                                 "valuesObject": {"auth": {"existingSecret": "app-secrets", "secretKeys": {
                                     "passwordKey": "password"}}},
                                 "values": "db:\n  passwordSecretRef:\n    name: app-secrets\n    key: password\n"}},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": env}}}}}),
            r("kubernetes:core/v1:ConfigMap", "app-config", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": env},
                "data": {"LOG_LEVEL": "info", "passwordSecretName": "app-secrets",
                         "app.properties": "db.host=db\ndb.password.file=/etc/secrets/password\n"}}),
            r("kubernetes:apps/v1:Deployment", "app", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": env},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [{
                    "name": "app", "image": "app:1",
                    "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "password"}}},
                            {"name": "VAULT_ADDR", "value": "https://vault.vault.svc:8200"},
                            {"name": "TOKEN_TTL", "value": "1h"}],
                    "resources": {"limits": {"memory": "128Mi"}}}]}}}}),
        ]


@pytest.fixture
def f() -> Factory:
    return Factory()
