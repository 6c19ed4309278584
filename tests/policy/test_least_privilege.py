"""Least-privilege rules over IAM documents (JSON strings and dicts), IRSA trusts and Vault."""

from __future__ import annotations

import json

import pytest

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
KEY = "aws:kms/key:Key"
VAULT_POLICY = "vault:index/policy:Policy"
AUTH_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:development/*"


# --- iam-no-wildcard-actions -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["*", "secretsmanager:*", "kms:*", "iam:*", ["s3:GetObject", "sts:*"]])
def test_wildcard_actions_fail(f, action) -> None:
    doc = f.policy({"Effect": "Allow", "Action": action, "Resource": SECRET_ARN})
    msgs = f.check("iam-no-wildcard-actions", f.view(ROLE_POLICY, {"policy": doc}))
    assert len(msgs) == 1 and "Statement[0] allows wildcard actions" in msgs[0]


def test_wildcard_actions_in_dict_documents_and_single_statement(f) -> None:
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}
    assert f.check("iam-no-wildcard-actions", f.view(POLICY, {"policy": doc})) == [
        "policy Statement[0] allows wildcard actions ['kms:*']."
    ]


def test_scoped_and_deny_statements_pass(f) -> None:
    doc = f.policy(
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:Describe*"], "Resource": SECRET_ARN},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    assert f.check("iam-no-wildcard-actions", f.view(ROLE_POLICY, {"policy": doc})) == []


def test_not_action_fails(f) -> None:
    doc = f.policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert "NotAction" in f.check("iam-no-wildcard-actions", f.view(POLICY, {"policy": doc}))[0]


def test_role_inline_and_managed_policies(f) -> None:
    view = f.view(ROLE, {"assumeRolePolicy": f.trust(), "inlinePolicies": [{"name": "x", "policy": f.policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"})}],
        "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]})
    msgs = f.check("iam-no-wildcard-actions", view)
    assert "inlinePolicies[0].policy Statement[0] allows wildcard actions ['*']." in msgs
    assert "attaches the AWS-managed policy AdministratorAccess, which grants whole-service wildcards." in msgs
    assert len(msgs) == 2
    attachment = f.view("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/SecretsManagerReadWrite"})
    assert len(f.check("iam-no-wildcard-actions", attachment)) == 1


def test_kms_key_policy_admin_statement(f) -> None:
    """kms:* is the key administrator's statement: root principal or admin Sid only."""
    assert f.check("iam-no-wildcard-actions", f.view(KEY, {"policy": f.key_policy()})) == []
    admin_role = {"Sid": "KeyAdministration", "Effect": "Allow",
                  "Principal": {"AWS": "arn:aws:iam::111122223333:role/platform-admin"}, "Action": "kms:*", "Resource": "*"}
    assert f.check("iam-no-wildcard-actions", f.view(KEY, {"policy": f.policy(admin_role)})) == []
    user_role = {**admin_role, "Sid": "AppUse", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"}}
    assert len(f.check("iam-no-wildcard-actions", f.view(KEY, {"policy": f.policy(user_role)}))) == 1
    anyone = {**admin_role, "Principal": "*"}
    assert len(f.check("iam-no-wildcard-actions", f.view(KEY, {"policy": f.policy(anyone)}))) == 1
    root_iam = {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "iam:*", "Resource": "*"}
    assert len(f.check("iam-no-wildcard-actions", f.view(KEY, {"policy": f.policy(root_iam)}))) == 1


def test_unknown_or_secret_documents_are_skipped(f) -> None:
    for doc in ("[unknown]", "[secret]", "not json"):
        assert f.check("iam-no-wildcard-actions", f.view(ROLE_POLICY, {"policy": doc})) == []


# --- iam-no-sensitive-actions-on-all-resources -------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("secretsmanager:GetSecretValue", "*"),
        (["kms:Decrypt", "kms:GenerateDataKey"], ["*"]),
        ("secretsmanager:Get*", "*"),
        ("kms:Decrypt", "arn:aws:kms:*:*:key/*"),
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:*"),
        ("*", "*"),
    ],
)
def test_sensitive_actions_on_all_resources_fail(f, action, resource) -> None:
    doc = f.policy({"Effect": "Allow", "Action": action, "Resource": resource})
    msgs = f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc}))
    assert len(msgs) == 1 and msgs[0].startswith("policy Statement[0] allows")


def test_sensitive_actions_scoped_pass(f) -> None:
    doc = f.policy(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET_ARN},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f.kms_arn},
        {"Effect": "Allow", "Action": ["secretsmanager:ListSecrets", "kms:ListAliases"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
    )
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == []


def test_resource_star_in_key_and_secret_policies_means_this_resource(f) -> None:
    rule = "iam-no-sensitive-actions-on-all-resources"
    assert f.check(rule, f.view(KEY, {"policy": f.key_policy()})) == []
    secret_policy = f.policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/eso"},
                              "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert f.check(rule, f.view("aws:secretsmanager/secretPolicy:SecretPolicy", {"policy": secret_policy})) == []


# --- irsa-trust-scoped -------------------------------------------------------------------------


def test_irsa_trust_exact_passes(f) -> None:
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": f.trust()})) == []
    two_accounts = f.trust(sub=["system:serviceaccount:external-secrets:eso-a", "system:serviceaccount:external-secrets:eso-b"])
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": two_accounts})) == []


def test_irsa_trust_violations(f) -> None:
    rule = "irsa-trust-scoped"
    wildcard = f.check(rule, f.view(ROLE, {"assumeRolePolicy": f.trust(sub="system:serviceaccount:external-secrets:*")}))
    assert wildcard == ["assumeRolePolicy Statement[0] sub value is not one exact system:serviceaccount:<namespace>:<name> subject."]
    like = f.check(rule, f.view(ROLE, {"assumeRolePolicy": f.trust(operator="StringLike")}))
    assert any("no StringEquals condition on <issuer>:sub" in m for m in like)
    assert any("no StringEquals condition on <issuer>:aud" in m for m in like)
    assert any("matches <issuer>:sub with StringLike" in m for m in like)
    bad_aud = f.check(rule, f.view(ROLE, {"assumeRolePolicy": f.trust(aud="vault")}))
    assert bad_aud == ["assumeRolePolicy Statement[0] aud must be ['sts.amazonaws.com'], not another audience."]
    doc = json.loads(f.trust())
    del doc["Statement"][0]["Condition"]["StringEquals"][f"{f.issuer}:aud"]
    assert f.check(rule, f.view(ROLE, {"assumeRolePolicy": json.dumps(doc)})) == [
        "assumeRolePolicy Statement[0] has no StringEquals condition on <issuer>:aud."
    ]
    del doc["Statement"][0]["Condition"]
    assert len(f.check(rule, f.view(ROLE, {"assumeRolePolicy": doc}))) == 2  # dict document, no condition at all
    other_issuer = json.loads(f.trust())
    other_issuer["Statement"][0]["Principal"]["Federated"] = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.x/id/OTHER"
    assert f.check(rule, f.view(ROLE, {"assumeRolePolicy": other_issuer})) == [
        "assumeRolePolicy Statement[0] Federated principal is not the OIDC provider of the condition issuer."
    ]


def test_non_irsa_trust_is_not_checked(f) -> None:
    service = f.policy({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": service})) == []


# --- Vault policies ----------------------------------------------------------------------------


def _vault(f, name: str, hcl: str):
    return f.view(VAULT_POLICY, {"name": name, "policy": hcl}, name=name)


def test_vault_sudo_allow_list(f) -> None:
    hcl = 'path "sys/auth/*" {\n  capabilities = ["create", "sudo"]\n}\n'
    assert f.check("vault-policy-no-sudo", _vault(f, "deployer", hcl)) == []
    assert f.check("vault-policy-no-sudo", _vault(f, "eso-development", hcl)) == [
        "Vault policy 'eso-development' grants sudo on ['sys/auth/*']."
    ]
    assert f.check("vault-policy-no-sudo", _vault(f, "ops", hcl), sudoAllowedPolicies=["ops"]) == []
    commented = '# path "sys/*" { capabilities = ["sudo"] }\npath "kv/data/x" { capabilities = ["read"] }\n'
    assert f.check("vault-policy-no-sudo", _vault(f, "app", commented)) == []


def test_vault_sudo_in_json_and_unparseable_policies(f) -> None:
    as_json = json.dumps({"path": {"sys/mounts": {"capabilities": ["read", "sudo"]}}})
    assert len(f.check("vault-policy-no-sudo", _vault(f, "app", as_json))) == 1
    templated = 'path "sys/{{identity.entity.id}}" { capabilities = ["sudo"] }\npath "x" { capabilities = [\n'
    assert len(f.check("vault-policy-no-sudo", _vault(f, "app", templated))) == 1


@pytest.mark.parametrize(
    "path",
    ["kv/data/*", "kv/data/+/app/*", "kv/metadata/prod*", "kv/*", "kv/+/production/x", "*", "+/data/x", "kv/data/"],
)
def test_vault_paths_spanning_environments_fail(f, path: str) -> None:
    hcl = f'path "{path}" {{ capabilities = ["read"] }}'
    msgs = f.check("vault-policy-single-environment", _vault(f, "eso-development", hcl))
    assert msgs == [f"Vault policy 'eso-development' has paths that span environments: ['{path}']."]


def test_vault_policy_naming_two_environments_fails(f) -> None:
    hcl = 'path "kv/data/development/app/*" { capabilities = ["read"] }\npath "kv/metadata/staging/app/*" { capabilities = ["list"] }'
    assert f.check("vault-policy-single-environment", _vault(f, "app", hcl)) == [
        "Vault policy 'app' names several environments: ['development', 'staging']."
    ]


def test_vault_single_environment_passes(f) -> None:
    hcl = ('path "kv/data/development/app/*" { capabilities = ["read"] }\n'
           'path "kv/metadata/development/app/*" { capabilities = ["read", "list"] }\n'
           'path "kv/data/platform/ca" { capabilities = ["read"] }\n'
           'path "auth/token/lookup-self" { capabilities = ["read"] }\n')
    assert f.check("vault-policy-single-environment", _vault(f, "app", hcl)) == []
    assert f.check("vault-policy-single-environment", _vault(f, "deployer", 'path "kv/data/*" { capabilities = ["create"] }')) == []
    assert f.check("vault-policy-single-environment", _vault(f, "x", 'path "secret/data/*" { capabilities = ["read"] }'),
                   kvMount="secret") != []


def test_vault_denied_paths_reach_no_environment(f) -> None:
    """A deny grants nothing: the preview policy's `kv/*` deny passes; a grant beside a deny on the same glob fails."""
    preview = 'path "kv/*" { capabilities = ["deny"] }\npath "sys/*" { capabilities = ["deny"] }\n'
    assert f.check("vault-policy-single-environment", _vault(f, "preview", preview)) == []
    mixed = 'path "kv/*" { capabilities = ["deny"] }\npath "kv/data/*" { capabilities = ["read"] }\n'
    assert f.check("vault-policy-single-environment", _vault(f, "preview", mixed)) == [
        "Vault policy 'preview' has paths that span environments: ['kv/data/*']."
    ]
    denied_twice = ('path "kv/data/development/*" { capabilities = ["deny"] }\n'
                    'path "kv/data/staging/app/*" { capabilities = ["read"] }\n')
    assert f.check("vault-policy-single-environment", _vault(f, "app", denied_twice)) == []


def _role(f, name: str, policies: list[str], namespaces: list[str] | None = None):
    return f.view(AUTH_ROLE, {"roleName": name, "boundServiceAccountNames": [name],
                              "boundServiceAccountNamespaces": namespaces or ["external-secrets"], "tokenPolicies": policies},
                  name=name)


def test_eso_roles_read_only_joins_roles_to_policies(f) -> None:
    write = _vault(f, "eso-development", 'path "kv/data/development/*" { capabilities = ["read", "update"] }')
    read = _vault(f, "eso-staging", 'path "kv/data/staging/*" { capabilities = ["read"] }')
    app_write = _vault(f, "app-writer", 'path "kv/data/development/app/*" { capabilities = ["create"] }')
    views = [write, read, app_write,
             _role(f, "eso-development", ["eso-development"]), _role(f, "eso-staging", ["eso-staging", "default"]),
             _role(f, "app", ["app-writer"], namespaces=["development"])]
    findings = f.check_stack("vault-eso-roles-read-only", views)
    assert findings == [(write.urn, "Vault policy 'eso-development' is attached to External Secrets role 'eso-development' "
                                    "and grants write capabilities: [\"kv/data/development/* ['update']\"].")]


@pytest.mark.parametrize(
    ("names", "namespaces", "selector", "expected"),
    [
        (["*"], ["external-secrets"], None, "boundServiceAccountNames contains a wildcard."),
        (["eso"], ["*"], None, "boundServiceAccountNamespaces contains a wildcard."),
        (["eso-*"], ["external-secrets"], None, "boundServiceAccountNames contains a wildcard."),
        (["eso"], ["development", "staging"], None, "boundServiceAccountNamespaces lists 2 namespaces; bind exactly one."),
        (["eso"], None, '{"matchLabels":{"team":"a"}}', "boundServiceAccountNamespaceSelector admits namespaces by label"),
    ],
)
def test_k8s_auth_role_violations(f, names, namespaces, selector, expected) -> None:
    inputs = {"roleName": "r", "boundServiceAccountNames": names}
    if namespaces is not None:
        inputs["boundServiceAccountNamespaces"] = namespaces
    if selector is not None:
        inputs["boundServiceAccountNamespaceSelector"] = selector
    msgs = f.check("vault-k8s-auth-role-scoped", f.view(AUTH_ROLE, inputs))
    assert len(msgs) == 1 and msgs[0].startswith(expected)


def test_k8s_auth_role_scoped_passes(f) -> None:
    assert f.check("vault-k8s-auth-role-scoped", _role(f, "eso-development", ["eso-development"])) == []
