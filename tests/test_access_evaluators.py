"""The access evaluators answer from every document: AWS (identity, secret and key policies each
refuse alone) and Vault (path priority as Vault documents it). Issue 19: mutation survivors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from planner.iam_access import aws_access_matrix, can_read_secret
from planner.vault_access import allowed_capabilities, can_read, parse_policy

ACCOUNT = "111111111111"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-000000000001"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9"

# --- The AWS evaluator: each of the three documents can refuse on its own --------------------

SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:development/api/db-AbCdEf"
READER = f"arn:aws:iam::{ACCOUNT}:role/platform-dev-external-secrets-eso-development-aws"
READER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET},
    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN},
]}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
         "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
         "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:external-secrets:eso-development-aws"}}}]}


def _key_policy(via_region: str = "eu-west-1", secret: str = SECRET) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": READER}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{via_region}.amazonaws.com",
                                       "kms:EncryptionContext:SecretARN": secret, "kms:CallerAccount": ACCOUNT}}}]}


def _deny_all_but(principal: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": principal}}}]}


def _reads(secret_policy: dict[str, Any] | None, key_policy_doc: dict[str, Any], role_policies: list[Any] | None = None) -> bool:
    return can_read_secret(READER, TRUST, [READER_POLICY] if role_policies is None else role_policies,
                           SECRET, secret_policy, KEY_ARN, key_policy_doc)


def test_reader_reads_when_all_three_documents_agree() -> None:
    assert _reads(_deny_all_but(READER), _key_policy()) is True
    assert _reads(None, _key_policy()) is True


def test_the_secret_resource_policy_alone_stops_the_reader() -> None:
    assert _reads(_deny_all_but(OTHER), _key_policy()) is False


def test_the_key_policy_alone_stops_the_reader() -> None:
    assert _reads(None, _key_policy(via_region="us-east-1")) is False
    assert _reads(None, _key_policy(secret=SECRET + "x")) is False


def test_the_identity_policy_alone_stops_the_reader() -> None:
    only_decrypt = {"Version": "2012-10-17", "Statement": [READER_POLICY["Statement"][1]]}
    assert _reads(None, _key_policy(), [only_decrypt]) is False


def _resources(*, trust: dict[str, Any], secret_policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    name = READER.rsplit("/", 1)[1]
    found: list[dict[str, Any]] = [
        {"type": "aws:iam/role:Role", "inputs": {"name": name, "assumeRolePolicy": json.dumps(trust)}},
        {"type": "aws:iam/rolePolicy:RolePolicy", "inputs": {"role": name, "policy": json.dumps(READER_POLICY)}},
        {"type": "aws:secretsmanager/secret:Secret", "id": SECRET, "inputs": {"name": "development/api/db", "kmsKeyId": KEY_ARN}},
        {"type": "aws:kms/key:Key", "id": KEY_ARN.rsplit("/", 1)[1], "inputs": {"policy": json.dumps(_key_policy())}},
    ]
    if secret_policy is not None:
        found.append({"type": "aws:secretsmanager/secretPolicy:SecretPolicy",
                      "inputs": {"secretArn": SECRET, "policy": json.dumps(secret_policy)}})
    return found


def test_matrix_reads_every_document_of_the_plan() -> None:
    cells = aws_access_matrix(_resources(trust=TRUST, secret_policy=_deny_all_but(READER)))
    assert [(c.backend, c.principal, c.via, c.path, c.allowed) for c in cells] == [
        ("aws", "system:serviceaccount:external-secrets:eso-development-aws", READER.rsplit("/", 1)[1], "development/api/db", True)]
    denied = aws_access_matrix(_resources(trust=TRUST, secret_policy=_deny_all_but(OTHER)))
    assert [c.allowed for c in denied] == [False]


def test_matrix_goes_on_past_a_role_without_a_web_identity_trust() -> None:
    ec2_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": "ec2.amazonaws.com"}}]}
    ec2_role = {"type": "aws:iam/role:Role", "inputs": {"name": "node", "assumeRolePolicy": json.dumps(ec2_trust)}}
    cells = aws_access_matrix([ec2_role, *_resources(trust=TRUST, secret_policy=None)])
    assert [(c.via, c.allowed) for c in cells] == [(READER.rsplit("/", 1)[1], True)]


def test_matrix_skips_roles_without_a_web_identity_trust_and_plans_without_secrets() -> None:
    ec2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
           "Principal": {"Service": "ec2.amazonaws.com"}}]}
    assert aws_access_matrix(_resources(trust=ec2, secret_policy=None)) == []
    no_secrets = [r for r in _resources(trust=TRUST, secret_policy=None) if r["type"] != "aws:secretsmanager/secret:Secret"]
    assert aws_access_matrix(no_secrets) == []


# --- Vault's path priority -------------------------------------------------------------------

def test_the_earliest_wildcard_decides_priority_even_when_a_path_holds_both_plus_and_star() -> None:
    """Vault: the path whose first wildcard comes earlier loses. ``kv/data/+/a/bb*`` (first at 8)
    loses to ``kv/data/x/+/b*`` (first at 10), although its ``*`` comes later."""
    policies = [{"kv/data/+/a/bb*": frozenset({"deny"})}, {"kv/data/x/+/b*": frozenset({"read"})}]
    assert allowed_capabilities(policies, "kv/data/x/a/bb1") == frozenset({"read"})


@pytest.mark.parametrize(("winner", "loser", "request_path"), [
    ("kv/data/a/b", "kv/data/a/*", "kv/data/a/b"),               # no wildcard beats a later one
    ("kv/data/a/+", "kv/data/a/*", "kv/data/a/b"),               # same first wildcard: not ending in * wins
    ("kv/data/+/b/c", "kv/data/+/+/c", "kv/data/a/b/c"),         # fewer + segments win
    ("kv/data/+/bc*", "kv/data/+/b*", "kv/data/x/bcd"),          # then the longer path wins
    ("kv/data/+/b", "kv/data/+/a*", "kv/data/x/b"),              # no match for the loser: the winner decides
])
def test_vault_path_priority_rules(winner: str, loser: str, request_path: str) -> None:
    """Vault's documented priority, each rule on its own: the winner's capabilities apply, not the union."""
    policies = [{loser: frozenset({"deny"})}, {winner: frozenset({"read"})}]
    assert allowed_capabilities(policies, request_path) == frozenset({"read"})
    assert allowed_capabilities([{winner: frozenset({"deny"})}, {loser: frozenset({"read"})}], request_path) == frozenset()


def test_plus_matches_exactly_one_segment_and_an_exact_path_nothing_longer() -> None:
    rules = [{"kv/data/+/x": frozenset({"read"}), "kv/data/a": frozenset({"list"})}]
    assert allowed_capabilities(rules, "kv/data/a/x") == frozenset({"read"})
    assert allowed_capabilities(rules, "kv/data/a/b/x") == frozenset()
    assert allowed_capabilities(rules, "kv/data/ab") == frozenset()
    assert allowed_capabilities(rules, "kv/data/a") == frozenset({"list"})


def test_policies_merge_per_path_and_deny_wins() -> None:
    assert allowed_capabilities([{"kv/data/a": frozenset({"read"})}, {"kv/data/a": frozenset({"list"})}], "kv/data/a") == {"read", "list"}
    assert allowed_capabilities([{"kv/data/a": frozenset({"read"})}, {"kv/data/a": frozenset({"deny"})}], "kv/data/a") == frozenset()


def test_parse_policy_reads_quoted_paths_and_capabilities() -> None:
    text = 'path "kv/data/a/*" {\n  capabilities = ["read", "list"]\n}\npath "kv/data/a/*" { capabilities = ["deny"] }\n'
    assert parse_policy(text) == {"kv/data/a/*": frozenset({"read", "list", "deny"})}
    assert can_read([parse_policy('path "kv/data/development/api/*" { capabilities = ["read"] }')], "development/api/db") is True
    assert can_read([parse_policy('path "kv/data/development/api/*" { capabilities = ["list"] }')], "development/api/db") is False


def test_vault_matrix_joins_roles_to_their_policies_for_both_logins() -> None:
    from components.vault_policies import secret_paths
    from planner.vault_access import vault_access_matrix
    from tests.conftest import stack_settings

    settings = stack_settings("dev")
    readable = secret_paths(settings)[0]
    resources = [
        {"type": "vault:index/policy:Policy", "inputs": {"name": "one", "policy": f'path "kv/data/{readable}" {{ capabilities = ["read"] }}'}},
        {"type": "vault:index/policy:Policy",
         "inputs": {"name": "creds", "policy": 'path "database/creds/development-api" { capabilities = ["read"] }'}},
        {"type": "vault:kubernetes/authBackendRole:AuthBackendRole", "inputs": {
            "roleName": "reader", "boundServiceAccountNamespaces": ["development"], "boundServiceAccountNames": ["api", "worker"],
            "tokenPolicies": ["one", "not-registered"]}},
        {"type": "vault:aws/authBackendRole:AuthBackendRole", "inputs": {
            "role": "preview", "boundIamPrincipalArns": [OTHER], "tokenPolicies": ["creds"]}},
        {"type": "vault:database/secretBackendRole:SecretBackendRole", "inputs": {"backend": "database", "name": "development-api"}},
    ]
    cells = vault_access_matrix(resources, settings)
    paths = [*secret_paths(settings), "database/creds/development-api"]
    principals = {"system:serviceaccount:development:api": "reader", "system:serviceaccount:development:worker": "reader", OTHER: "preview"}
    assert len(cells) == len(paths) * len(principals)
    assert {(c.principal, c.via) for c in cells} == set(principals.items())
    assert {c.backend for c in cells} == {"vault"}
    assert sorted((c.principal, c.path) for c in cells if c.allowed) == [
        (OTHER, "database/creds/development-api"),
        ("system:serviceaccount:development:api", readable),
        ("system:serviceaccount:development:worker", readable),
    ]


@pytest.mark.parametrize(("text", "expected"), [('"kv/a"', "kv/a"), ("kv/a", "kv/a"), ('""', ""), ('"', '"'), ('"a', '"a'), ('a"', 'a"')])
def test_unquote_removes_one_pair_of_surrounding_quotes_only(text: str, expected: str) -> None:
    from planner.vault_access import _unquote

    assert _unquote(text) == expected


def test_a_trailing_glob_after_a_slash_does_not_reach_a_sibling_prefix() -> None:
    rules = [{"kv/data/a/*": frozenset({"read"})}]
    assert allowed_capabilities(rules, "kv/data/a/b") == frozenset({"read"})
    assert allowed_capabilities(rules, "kv/data/ab") == frozenset()


def test_a_wildcard_in_the_first_segment_ranks_lowest() -> None:
    """``+/data/x`` has its first wildcard at index 0, earlier than ``kv/+/x``'s: it loses."""
    policies = [{"+/data/x": frozenset({"deny"})}, {"kv/+/x": frozenset({"read"})}]
    assert allowed_capabilities(policies, "kv/data/x") == frozenset({"read"})


@pytest.mark.parametrize(("winner", "loser", "request_path"), [
    ("kv/data/+/c/d", "kv/data/+/c/d*", "kv/data/a/c/d"),        # the trailing glob loses though longer
    ("kv/data/+/b/c*", "kv/data/+/+/cd*", "kv/data/a/b/cde"),    # the extra + loses though longer
    ("kv/data/a/b*", "kv/data/+/b", "kv/data/a/b"),              # a later * beats an earlier +
])
def test_vault_priority_rules_beat_the_length_rule(winner: str, loser: str, request_path: str) -> None:
    assert allowed_capabilities([{loser: frozenset({"deny"})}, {winner: frozenset({"read"})}], request_path) == frozenset({"read"})
