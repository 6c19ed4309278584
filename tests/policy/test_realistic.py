"""The realistic-value pass replaces each "[secret]" with a value of its kind."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from policies.realistic import RealisticValues, realize_plan
from policies.rules.heuristics import find_secret_material


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (("stringData", "tls.key"), "pem-private-key"),
        (("privateKeyPem",), "pem-private-key"),
        (("caPrivateKeyPem",), "pem-private-key"),
        (("values", "server", "tls", "private_key"), "pem-private-key"),
        (("stringData", "tls.crt"), "pem-certificate"),
        (("data", "ca.crt"), "pem-certificate"),
        (("token",), "vault-token"),
        (("env", 0, "VAULT_TOKEN"), "vault-token"),
        (("GITHUB_TOKEN",), "github-token"),
        (("tokenReviewerJwt",), "jwt"),
        (("accessKeyId",), "aws-access-key-id"),
        (("secretAccessKey",), "aws-secret-access-key"),
        (("secretString",), "credentials-json"),
        (("dataJson",), "credentials-json"),
        (("values", "auth", "password"), "password"),
        (("kubeconfig",), "password"),
    ],
)
def test_kind_by_position(path: tuple, kind: str) -> None:
    assert RealisticValues.kind_for(path) == kind


def test_generated_values_have_the_real_shape() -> None:
    values = RealisticValues()
    pem = values.private_key_pem()
    load_pem_private_key(pem.encode(), password=None)
    assert find_secret_material(pem) == ["PEM private key"]
    x509.load_pem_x509_certificate(values.certificate_pem().encode())
    assert find_secret_material(values.vault_token()) == ["Vault token"]
    assert find_secret_material(values.github_token()) == ["GitHub token"]
    assert find_secret_material(values.jwt()) == ["JWT"]
    assert find_secret_material(values.aws_access_key_id()) == ["AWS access key id"]
    assert json.loads(values.credentials_json())["password"]
    password = values.password()
    assert len(password) == 24 and find_secret_material(password) == []


def test_replace_by_kind_and_encoding(f) -> None:
    values = RealisticValues()
    tls = {"type": "kubernetes.io/tls", "metadata": {"name": "vault-tls"},
           "data": {"tls.key": "[secret]", "tls.crt": "[secret]"}}
    out = values.replace("kubernetes:core/v1:Secret", tls)
    key = base64.b64decode(out["data"]["tls.key"]).decode()
    assert key.startswith("-----BEGIN ") and "PRIVATE KEY" in key
    assert "CERTIFICATE" in base64.b64decode(out["data"]["tls.crt"]).decode()
    whole = values.replace("kubernetes:core/v1:Secret", {"type": "kubernetes.io/tls", "stringData": "[secret]"})
    assert set(whole["stringData"]) == {"tls.crt", "tls.key"} and "PRIVATE KEY" in whole["stringData"]["tls.key"]
    nested = values.replace("pulumi:providers:vault", {"token": "[secret]", "headers": [{"name": "x", "value": "[secret]"}],
                                                       "address": "https://v", "n": 3})
    assert nested["token"].startswith("hvs.") and nested["headers"][0]["value"] != "[secret]"
    assert nested["address"] == "https://v" and nested["n"] == 3
    assert values.counts == {"pem-private-key": 2, "pem-certificate": 2, "vault-token": 1, "password": 1}


def test_realize_plan_leaves_the_plan_untouched(f) -> None:
    plan = f.good_plan()
    before = copy.deepcopy(plan)
    realized = realize_plan(plan, RealisticValues())
    assert plan == before
    assert "[secret]" in json.dumps(plan) and "[secret]" not in json.dumps(realized)
    assert [r["urn"] for r in realized] == [r["urn"] for r in plan]
