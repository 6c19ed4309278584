"""The stores' public output, token Role and labels stated literally (issue 19: mutation survivors)."""

from __future__ import annotations

from typing import Any

from components.external_secrets.stores import (
    StoreSpec,
    cluster_secret_store,
    service_account_manifest,
    store_specs,
    stores_by_scope,
    token_role_binding_manifest,
    token_role_manifest,
)

# --- External Secrets stores: the output and the identities ------------------------------------

def test_stores_output_maps_each_scope_and_backend_to_its_store() -> None:

    assert stores_by_scope(store_specs(["development", "staging"], ["vault", "aws"])) == {
        "development": {"vault": "development-vault", "aws": "development-aws"},
        "staging": {"vault": "staging-vault", "aws": "staging-aws"},
        "platform": {"vault": "platform-vault", "aws": "platform-aws"},
    }


def test_store_token_role_and_binding_name_the_same_role() -> None:

    role, binding = token_role_manifest(["eso-staging-aws"]), token_role_binding_manifest()
    assert (role["kind"], role["metadata"]["name"], role["metadata"]["namespace"]) == ("Role", "eso-store-tokens", "external-secrets")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "eso-store-tokens"}
    assert binding["metadata"]["namespace"] == "external-secrets"


def test_store_accounts_and_stores_carry_scope_and_backend_labels() -> None:

    spec = StoreSpec("staging", "aws")
    expected = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "secrets-platform",
                "platform.secrets/scope": "staging", "platform.secrets/backend": "aws"}
    assert service_account_manifest(spec, "arn:aws:iam::111111111111:role/r")["metadata"]["labels"] == expected
    assert cluster_secret_store(spec, region="eu-west-1")["metadata"]["labels"] == expected
    assert spec.principal == "system:serviceaccount:external-secrets:eso-staging-aws"


def test_store_builders_refuse_with_the_exact_reason() -> None:
    from components.external_secrets.stores import VaultEndpoint

    def reason(call: Any) -> str:
        try:
            call()
        except ValueError as refused:
            return str(refused)
        raise AssertionError("not refused")

    assert reason(lambda: VaultEndpoint(server="http://vault.vault.svc:8200", ca_config_map="vault-ca")) == (
        "the Vault server of a secret store must be an https:// address")
    assert reason(lambda: cluster_secret_store(StoreSpec("staging", "vault"), region="eu-west-1")) == (
        "the Vault store staging-vault needs the Vault endpoint")
    assert reason(lambda: service_account_manifest(StoreSpec("staging", "aws"))) == "the AWS store staging-aws needs its IRSA role ARN"
