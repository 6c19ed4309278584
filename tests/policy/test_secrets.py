"""No-plaintext-secret rules: seeded violations fail, secret *names* and references pass."""

from __future__ import annotations

import base64

import pytest

from policies.rules.heuristics import find_secret_material, is_literal_secret_value, is_secret_key

HELM = "kubernetes:helm.sh/v3:Release"
CM = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
APP = "kubernetes:argoproj.io/v1alpha1:Application"
APPSET = "kubernetes:argoproj.io/v1alpha1:ApplicationSet"

SECRET_KEYS = [
    "password", "dbPassword", "DB_PASSWORD", "passwd", "clientSecret", "apiKey", "api_key", "APIKey",
    "privateKey", "private_key", "token", "GITHUB_TOKEN", "VAULT_TOKEN", "credentials", "secretKey",
    "AWS_SECRET_ACCESS_KEY", "tokenReviewerJwt", "token_reviewer_jwt", "admin.password", "argocdServerAdminPassword",
    "webhookSecret", "secretkey", "clientsecret", "secretId", "unsealKeys", "stripeApiKey", "accessToken", "secret",
]
NAME_KEYS = [
    "existingSecret", "secretName", "secretRef", "secretKeyRef", "tlsSecretName", "passwordSecretKey", "tokenSecretRef",
    "createSecret", "passwordSecretRef", "tokenTtl", "tokenPolicies", "passwordKey", "userPasswordKey",
    "existingSecretPasswordKey", "tlsSecret", "imagePullSecrets", "accessKeyId", "AWS_ACCESS_KEY_ID", "kmsKeyId",
    "VAULT_TOKEN_PATH", "POSTGRES_PASSWORD_FILE", "secretStoreRef", "secretsManager", "tls.key", "passwordPolicy",
    "tokenMaxTtl", "secretRefreshInterval", "credentialsSecret", "tokenSecretKey", "serviceAccountName", "tokenType",
    "secretPath", "passwordSecretName", "tokenAudience", "boundServiceAccountNames", "secretStoreName",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_like_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", NAME_KEYS)
def test_names_of_secrets_are_not_secrets(key: str) -> None:
    assert not is_secret_key(key)


def test_key_heuristic_config() -> None:
    assert is_secret_key("stripeSk", extra_words=["sk"])
    assert not is_secret_key("password", ignored=["password"])


@pytest.mark.parametrize(
    "value", ["hunter2-prod", "[secret]", "12345678", "s3cr3t value with spaces"]
)
def test_literal_values(value: str) -> None:
    assert is_literal_secret_value(value)


@pytest.mark.parametrize(
    "value",
    ["", "  ", "[unknown]", "${DB_PASSWORD}", "$(DB_PASSWORD)", "{{ .Values.password }}", "$oidc-secret:clientSecret",
     "arn:aws:secretsmanager:eu-west-1:111122223333:secret:dev/app", "/etc/secrets/password", "true", "false", True, 3, None],
)
def test_reference_values_are_not_literals(value: object) -> None:
    assert not is_literal_secret_value(value)


def test_content_patterns(f) -> None:
    assert find_secret_material(f.pem_private_key()) == ["PEM private key"]
    assert find_secret_material(f"key={f.aws_key_id()}") == ["AWS access key id"]
    assert find_secret_material(f.vault_token()) == ["Vault token"]
    assert find_secret_material(f"VAULT_TOKEN={f.legacy_vault_token()}") == ["legacy Vault token"]
    assert find_secret_material(f.github_token()) == ["GitHub token"]
    assert find_secret_material("github_pat_" + "A1b2C3d4E5" * 4) == ["GitHub token"]
    assert find_secret_material(f"Bearer {f.jwt()}") == ["JWT"]
    for harmless in ["metrics.k8s.io", "kv/data/s.abcdefghijklmnopqrstuvwx", "-----BEGIN CERTIFICATE-----",
                     "arn:aws:kms:eu-west-1:111122223333:key/abc", "vault-0.vault-internal", "hvs.short"]:
        assert find_secret_material(harmless) == [], harmless


# --- no-plaintext-secret-values ----------------------------------------------------------------


def test_helm_values_literal_secret_fails(f) -> None:
    view = f.view(HELM, {"chart": "argo-cd", "values": {"configs": {"secret": {"argocdServerAdminPassword": "p4ss"}},
                                                        "server": {"extraEnv": [{"name": "OIDC_CLIENT_SECRET", "value": "abc"}]}}})
    msgs = f.check("no-plaintext-secret-values", view)
    assert any("values.configs.secret.argocdServerAdminPassword" in m for m in msgs)
    assert any("OIDC_CLIENT_SECRET" in m for m in msgs)
    assert all("p4ss" not in m and "abc" not in m for m in msgs), "messages never echo values"


def test_helm_values_marked_secret_fails_even_under_neutral_key(f) -> None:
    view = f.view(HELM, {"chart": "x", "values": {"foo": {"bar": "[secret]"}}})
    assert f.check("no-plaintext-secret-values", view) == ["values.foo.bar holds a value the program marks secret."]


def test_helm_values_with_secret_names_pass(f) -> None:
    values = {
        "auth": {"existingSecret": "db-auth", "secretKeys": {"adminPasswordKey": "admin", "userPasswordKey": "user"},
                 "passwordSecretRef": {"name": "db", "key": "password"}, "createSecret": False},
        "tls": {"secretName": "vault-tls", "tlsSecret": "vault-tls"},
        "serviceAccount": {"create": False, "name": "eso", "automountServiceAccountToken": True},
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "token": {"ttl": "1h"}, "tokenTtl": "1h", "password": "",
        "extraSecretEnvironmentVars": [{"envName": "AWS_SECRET_ACCESS_KEY", "secretName": "aws", "secretKey": "key"}],
    }
    assert f.check("no-plaintext-secret-values", f.view(HELM, {"chart": "x", "values": values})) == []


def test_helm_embedded_config_text(f) -> None:
    bad = 'listener "tcp" {}\nseal "transit" {\n  address = "https://v"\n  token = "abcd1234"\n}\n'
    msgs = f.check("no-plaintext-secret-values", f.view(HELM, {"chart": "vault", "values": {"server": {"config": bad}}}))
    assert msgs == ["values.server.config embedded line sets secret-like key 'token' to a literal value."]
    assert f.check("no-plaintext-secret-values", f.view(HELM, {"chart": "vault", "values": f.vault_values()})) == []


def test_configmap_data(f) -> None:
    bad = f.view(CM, {"data": {"DB_PASSWORD": "hunter2", "app.yaml": "db:\n  password: hunter2\n",
                               "app.properties": "db.user=app\ndb.password=hunter2\n", "cert": "[secret]"}})
    msgs = f.check("no-plaintext-secret-values", bad)
    assert len(msgs) == 4
    assert any("data.DB_PASSWORD" in m for m in msgs)
    assert any('data["app.yaml"] embedded document' in m for m in msgs)
    assert any('data["app.properties"] embedded line' in m for m in msgs)
    assert any("data.cert holds a value the program marks secret" in m for m in msgs)
    good = f.view(CM, {"data": {"PASSWORD_FILE": "/etc/secrets/pw", "existingSecret": "db", "policy.csv": "p, role:x, *, get, */*, allow"}})
    assert f.check("no-plaintext-secret-values", good) == []


def test_argocd_application_helm(f) -> None:
    spec = {"source": {"helm": {"parameters": [{"name": "auth.password", "value": "pw"}, {"name": "auth.existingSecret", "value": "s"}],
                                "values": "auth:\n  clientSecret: abc\n  existingSecret: s\n",
                                "valuesObject": {"redis": {"password": "pw"}}}}}
    msgs = f.check("no-plaintext-secret-values", f.view(APP, {"spec": spec}))
    assert len(msgs) == 3
    assert any("spec.source.helm.parameters[0].value" in m for m in msgs)
    assert any("spec.source.helm.values (YAML) auth.clientSecret" in m for m in msgs)
    assert any("spec.source.helm.valuesObject.redis.password" in m for m in msgs)


def test_argocd_applicationset_multi_source_and_templated_values(f) -> None:
    spec = {"template": {"spec": {"sources": [
        {"helm": {"values": "image: {{ .image }}\napiKey: {{ .Values.key }}\ntoken: literal-token\n"}},
        {"helm": {"parameters": [{"name": "apiToken", "value": "[secret]"}]}},
    ]}}}
    msgs = f.check("no-plaintext-secret-values", f.view(APPSET, {"spec": spec}))
    assert any("sources[0].helm.values" in m and "'token'" in m for m in msgs)
    assert any("sources[1].helm.parameters[0].value" in m for m in msgs)
    assert not any("apiKey" in m for m in msgs), "templated values are references"


# --- env-secrets-from-refs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "wrap"),
    [
        ("kubernetes:apps/v1:Deployment", lambda pod: {"spec": {"template": {"spec": pod}}}),
        ("kubernetes:apps/v1:StatefulSet", lambda pod: {"spec": {"template": {"spec": pod}}}),
        ("kubernetes:apps/v1:DaemonSet", lambda pod: {"spec": {"template": {"spec": pod}}}),
        ("kubernetes:batch/v1:Job", lambda pod: {"spec": {"template": {"spec": pod}}}),
        ("kubernetes:batch/v1:CronJob", lambda pod: {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}),
        ("kubernetes:core/v1:Pod", lambda pod: {"spec": pod}),
    ],
)
def test_env_value_must_be_value_from(f, type_: str, wrap) -> None:
    bad_pod = {"initContainers": [{"name": "init", "env": [{"name": "VAULT_TOKEN", "value": "[secret]"}]}],
               "containers": [{"name": "app", "env": [{"name": "DB_PASSWORD", "value": "pw"}]}]}
    msgs = f.check("env-secrets-from-refs", f.view(type_, wrap(bad_pod)))
    assert len(msgs) == 2
    assert any("containers[0].env[0].value (env DB_PASSWORD)" in m for m in msgs)
    assert any("initContainers[0].env[0].value (env VAULT_TOKEN)" in m for m in msgs)
    good_pod = {"containers": [{"name": "app", "env": [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "DB_PASSWORD_FILE", "value": "/etc/secrets/pw"}, {"name": "VAULT_ADDR", "value": "https://vault:8200"},
        {"name": "PASSWORD", "value": "$(FROM_OTHER_VAR)"}, {"name": "TOKEN", "value": ""}]}]}
    assert f.check("env-secrets-from-refs", f.view(type_, wrap(good_pod))) == []


def test_command_line_secrets(f) -> None:
    pod = {"containers": [{"name": "a", "args": ["--password=pw", "--token", "tok", "--token-file=/x", "--password-file", "/y"],
                           "command": ["vault", "login", "-token=${TOKEN}"]}]}
    msgs = f.check("env-secrets-from-refs", f.view("kubernetes:core/v1:Pod", {"spec": pod}))
    assert len(msgs) == 2
    assert any("args[0]" in m for m in msgs) and any("args[1]" in m for m in msgs)


def test_env_rule_ignores_helm_releases(f) -> None:
    assert f.check("env-secrets-from-refs", f.view(HELM, {"values": {"containers": [{"env": [{"name": "PASSWORD", "value": "x"}]}]}})) == []


# --- no-unmanaged-kubernetes-secrets -----------------------------------------------------------


def test_only_allow_listed_tls_secret(f) -> None:
    tls = {"type": "kubernetes.io/tls", "metadata": {"name": "vault-tls", "namespace": "vault"},
           "data": {"tls.crt": "[secret]", "tls.key": "[secret]", "ca.crt": "[secret]"}}
    assert f.check("no-unmanaged-kubernetes-secrets", f.view(SECRET, tls)) == []
    other = {"type": "Opaque", "metadata": {"name": "argocd-repo", "namespace": "argocd"}, "stringData": {"password": "[secret]"}}
    assert f.check("no-unmanaged-kubernetes-secrets", f.view(SECRET, other)) == [
        "Kubernetes Secret argocd/argocd-repo is created by the program; only ['vault/vault-tls'] may be."
    ]
    auto_named = {"metadata": {"namespace": "vault"}, "stringData": {"x": "y"}}
    assert "auto-named" in f.check("no-unmanaged-kubernetes-secrets", f.view(SECRET, auto_named, name="vault-tls"))[0]
    stuffed = {**tls, "type": "Opaque", "data": {**tls["data"], "root-token": "[secret]"}}
    msgs = f.check("no-unmanaged-kubernetes-secrets", f.view(SECRET, stuffed))
    assert len(msgs) == 2 and "type 'Opaque'" in msgs[0] and "root-token" in msgs[1]
    assert f.check("no-unmanaged-kubernetes-secrets", f.view(SECRET, other), allowedSecrets=["argocd/argocd-repo"],
                   allowedSecretTypes=[]) == []


# --- no-secret-material-in-inputs --------------------------------------------------------------


def test_secret_material_anywhere(f) -> None:
    rule = "no-secret-material-in-inputs"
    cm = f.view(CM, {"data": {"key.pem": f.pem_private_key(), "note": f"id {f.aws_key_id()}"}})
    assert f.check(rule, cm) == ['data["key.pem"] contains a PEM private key.', "data.note contains a AWS access key id."]
    provider = f.view("pulumi:providers:vault", {"address": "https://vault:8200", "token": f.vault_token()})
    assert f.check(rule, provider) == ["token contains a Vault token."]
    appset = f.view(APPSET, {"spec": {"template": {"spec": {"source": {"repoURL": f"https://x:{f.github_token()}@github.com/o/r"}}}}})
    assert f.check(rule, appset) == ["spec.template.spec.source.repoURL contains a GitHub token."]
    role = f.view("vault:kubernetes/authBackendConfig:AuthBackendConfig", {"tokenReviewerJwt": f.jwt()})
    assert f.check(rule, role) == ["tokenReviewerJwt contains a JWT."]
    encoded = base64.b64encode(f.pem_private_key().encode()).decode()
    opaque = f.view(SECRET, {"metadata": {"name": "x", "namespace": "y"}, "data": {"k": encoded}})
    assert f.check(rule, opaque) == ["data.k contains a PEM private key."]


def test_secret_material_exemptions(f) -> None:
    rule = "no-secret-material-in-inputs"
    pem = f.pem_private_key()
    exempt = [
        f.view("aws:secretsmanager/secretVersion:SecretVersion", {"secretId": "x", "secretString": pem}),
        f.view("vault:kv/secretV2:SecretV2", {"mount": "kv", "dataJson": f'{{"token": "{f.vault_token()}"}}'}),
        f.view("tls:index/locallySignedCert:LocallySignedCert", {"caPrivateKeyPem": pem}),
        f.view("random:index/randomPassword:RandomPassword", {"length": 32}),
        f.view(SECRET, {"type": "kubernetes.io/tls", "metadata": {"name": "vault-tls", "namespace": "vault"},
                        "stringData": {"tls.key": pem}}),
    ]
    for view in exempt:
        assert f.check(rule, view) == [], view.type
    # The exemption is the field, not the resource: a token elsewhere in a SecretVersion still fails.
    other_field = f.view("aws:secretsmanager/secretVersion:SecretVersion", {"secretId": f.vault_token(), "secretString": "x"})
    assert f.check(rule, other_field) == ["secretId contains a Vault token."]
    # The same TLS Secret under another name is not exempt.
    renamed = f.view(SECRET, {"type": "kubernetes.io/tls", "metadata": {"name": "other", "namespace": "vault"},
                              "stringData": {"tls.key": pem}})
    assert f.check(rule, renamed) == ['stringData["tls.key"] contains a PEM private key.']


# --- secretsmanager-customer-managed-kms -------------------------------------------------------


@pytest.mark.parametrize("kms", [None, "", "alias/aws/secretsmanager",
                                 "arn:aws:kms:eu-west-1:111122223333:alias/aws/secretsmanager"])
def test_secretsmanager_without_customer_key_fails(f, kms: str | None) -> None:
    inputs = {"name": "development/app/db"} if kms is None else {"name": "development/app/db", "kmsKeyId": kms}
    assert f.check("secretsmanager-customer-managed-kms", f.view("aws:secretsmanager/secret:Secret", inputs)) == [
        "kmsKeyId is missing or the AWS-managed aws/secretsmanager key."
    ]


@pytest.mark.parametrize("kms", ["arn:aws:kms:eu-west-1:111122223333:key/abc", "alias/platform-secrets", "[unknown]"])
def test_secretsmanager_with_customer_key_passes(f, kms: str) -> None:
    view = f.view("aws:secretsmanager/secret:Secret", {"name": "x", "kmsKeyId": kms})
    assert f.check("secretsmanager-customer-managed-kms", view) == []


def test_secretsmanager_replica_keys(f) -> None:
    view = f.view("aws:secretsmanager/secret:Secret", {"kmsKeyId": f.kms_arn, "replicas": [{"region": "eu-central-1"}]})
    assert f.check("secretsmanager-customer-managed-kms", view) == [
        "replicas[0].kmsKeyId is missing or the AWS-managed aws/secretsmanager key."
    ]


def test_upstream_chart_defaults_hold_no_false_positives(f) -> None:
    """Real chart values files (tests/upstream) exercise the key heuristic on thousands of keys."""
    from pathlib import Path

    import yaml

    files = sorted((Path(__file__).resolve().parents[1] / "upstream").glob("*/*/values.yaml"))
    if not files:
        pytest.skip("no upstream chart values")
    found = {}
    for path in files:
        view = f.view(HELM, {"chart": path.parts[-3], "values": yaml.safe_load(path.read_text())})
        found[path.parts[-3]] = f.check("no-plaintext-secret-values", view) + f.check("no-secret-material-in-inputs", view)
    # The Vault chart's dev-mode root token default is the one literal secret the charts ship.
    assert {chart: msgs for chart, msgs in found.items() if msgs} in (
        {}, {"vault-helm": ["values.server.dev.devRootToken secret-like key 'devRootToken' holds a literal value."]}
    )


def test_credential_pairs_without_a_secret_reference_fail(f) -> None:
    values = {"s3": {"accessKey": "minio", "secretKey": "minio123"}}
    msgs = f.check("no-plaintext-secret-values", f.view(HELM, {"chart": "x", "values": values}))
    assert msgs == ["values.s3.accessKey secret-like key 'accessKey' holds a literal value.",
                    "values.s3.secretKey secret-like key 'secretKey' holds a literal value."]
