"""Edge cases of the least-privilege and secret rules that mutation testing showed untested (issue 19).

Each test states the exact findings a reviewer expects for a document built to sit on one edge.
"""

from __future__ import annotations

import json

import pytest

from tests.policy.conftest import _pem_key

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OTHER_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/OTHER"
SUB = "system:serviceaccount:external-secrets:eso-development"


def _trust(f, **changes) -> dict:
    doc = json.loads(f.trust())
    doc["Statement"][0].update(changes)
    return doc


def test_a_federated_wildcard_trust_is_flagged(f) -> None:
    doc = _trust(f, Principal={"Federated": "*"})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == [
        "assumeRolePolicy Statement[0] Federated principal is not the OIDC provider of the condition issuer."]


def test_a_web_identity_action_among_others_is_still_checked(f) -> None:
    doc = _trust(f, Action=["sts:TagSession", "sts:AssumeRoleWithWebIdentity"], Condition={})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == [
        "assumeRolePolicy Statement[0] has no StringEquals condition on <issuer>:sub.",
        "assumeRolePolicy Statement[0] has no StringEquals condition on <issuer>:aud.",
    ]


def test_a_denying_web_identity_statement_is_not_a_grant(f) -> None:
    doc = _trust(f, Effect="Deny", Condition={})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == []


def test_sub_and_aud_of_different_issuers_are_flagged(f) -> None:
    doc = _trust(f, Condition={"StringEquals": {f"{ISSUER}:sub": SUB, f"{OTHER_ISSUER}:aud": "sts.amazonaws.com"}})
    assert "assumeRolePolicy Statement[0] sub and aud conditions name different issuers." in f.check(
        "irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc}))


def test_a_wildcard_issuer_is_flagged(f) -> None:
    doc = _trust(f, Principal={"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.*"},
                 Condition={"StringEquals": {"oidc.eks.*:sub": SUB, "oidc.eks.*:aud": "sts.amazonaws.com"}})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == [
        "assumeRolePolicy Statement[0] condition issuer contains a wildcard."]


def test_only_the_trust_of_a_role_is_checked_for_irsa(f) -> None:
    assert f.check("irsa-trust-scoped", f.view(ROLE_POLICY, {"policy": f.trust(sub="*")})) == []


@pytest.mark.parametrize("type_", ["aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy", "aws:kms/replicaKey:ReplicaKey"])
def test_key_policies_of_every_kind_are_checked_for_wildcard_actions(f, type_: str) -> None:
    doc = f.policy({"Sid": "AppUse", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                    "Action": "kms:*", "Resource": "*"})
    assert f.check("iam-no-wildcard-actions", f.view(type_, {"policy": doc})) == [
        "policy Statement[0] (Sid AppUse) allows wildcard actions ['kms:*']."]


def test_bucket_and_secret_policies_are_checked_for_wildcard_actions(f) -> None:
    doc = f.policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"}, "Action": "s3:*",
                    "Resource": "arn:aws:s3:::b/*"})
    assert f.check("iam-no-wildcard-actions", f.view("aws:s3/bucketPolicy:BucketPolicy", {"policy": doc})) == [
        "policy Statement[0] allows wildcard actions ['s3:*']."]
    secret = f.policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                       "Action": "secretsmanager:*", "Resource": "*"})
    assert f.check("iam-no-wildcard-actions", f.view("aws:secretsmanager/secretPolicy:SecretPolicy", {"policy": secret})) == [
        "policy Statement[0] allows wildcard actions ['secretsmanager:*']."]


def test_a_bucket_policy_granting_secrets_on_every_resource_is_flagged(f) -> None:
    doc = f.policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                    "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view("aws:s3/bucketPolicy:BucketPolicy", {"policy": doc})) == [
        "policy Statement[0] allows ['secretsmanager:GetSecretValue'] on ['*']."]


def test_not_action_on_every_resource_reaches_secrets_and_is_flagged(f) -> None:
    doc = f.policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[0] allows ['NotAction'] on ['*']."]


def test_not_resource_is_broad(f) -> None:
    doc = f.policy({"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": "arn:aws:kms:eu-west-1:111122223333:key/x"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[0] allows ['kms:Decrypt'] on ['NotResource']."]


def test_unscoped_actions_setting_lets_listing_through_and_nothing_else(f) -> None:
    doc = f.policy({"Effect": "Allow", "Action": ["secretsmanager:ListSecrets", "kms:Decrypt"], "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[0] allows ['kms:Decrypt'] on ['*']."]


# --- secrets rules ----------------------------------------------------------------------------

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
LITERAL = "Zx81-qq0-77ab"


def _deployment(f, **container):
    return f.view(DEPLOYMENT, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "development"},
                               "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1", **container}]}}}})


def test_a_secret_value_passed_as_a_bare_container_argument_is_flagged(f) -> None:
    for field in ("args", "command"):
        assert f.check("env-secrets-from-refs", _deployment(f, **{field: ["serve", "[secret]"]})) == [
            f"spec.template.spec.containers[0].{field}[1] passes a value the program marks secret on the command line."]


def test_extra_secret_key_words_and_ignored_keys_settings_take_effect(f) -> None:
    pin = _deployment(f, env=[{"name": "LICENSE_PIN", "value": LITERAL}])
    assert f.check("env-secrets-from-refs", pin) == []
    assert f.check("env-secrets-from-refs", pin, extraSecretKeyWords=["pin"]) == [
        "spec.template.spec.containers[0].env[0].value (env LICENSE_PIN) is a literal value for a secret-like variable."]
    password = _deployment(f, env=[{"name": "DB_PASSWORD", "value": LITERAL}])
    assert len(f.check("env-secrets-from-refs", password)) == 1
    assert f.check("env-secrets-from-refs", password, ignoredKeys=["DB_PASSWORD"]) == []


def test_a_secret_patch_is_a_program_made_secret(f) -> None:
    patch = f.view("kubernetes:core/v1:SecretPatch", {"metadata": {"name": "db", "namespace": "development"}, "stringData": {"p": "x"}})
    assert f.check("no-unmanaged-kubernetes-secrets", patch) == [
        "Kubernetes Secret development/db is created by the program; only ['vault/vault-tls'] may be."]


def test_a_config_map_patch_is_checked_for_literal_secrets(f) -> None:
    patch = f.view("kubernetes:core/v1:ConfigMapPatch", {"metadata": {"name": "c", "namespace": "development"},
                                                        "data": {"password": LITERAL}})
    assert f.check("no-plaintext-secret-values", patch) == ["data.password secret-like key 'password' holds a literal value."]


@pytest.mark.parametrize("type_", ["aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
                                   "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"])
def test_every_kind_of_identity_policy_is_checked(f, type_: str) -> None:
    doc = f.policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(type_, {"policy": doc})) == [
        "policy Statement[0] allows ['secretsmanager:GetSecretValue'] on ['*']."]


@pytest.mark.parametrize("type_", ["aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                   "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                                   "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                                   "aws:iam/policyAttachment:PolicyAttachment"])
def test_every_kind_of_attachment_of_an_admin_managed_policy_is_flagged(f, type_: str) -> None:
    view = f.view(type_, {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert f.check("iam-no-wildcard-actions", view) == [
        "attaches the AWS-managed policy AdministratorAccess, which grants whole-service wildcards."]




@pytest.mark.parametrize(("type_", "field"), [
    ("aws:secretsmanager/secretVersion:SecretVersion", "secretString"),
    ("aws:secretsmanager/secretVersion:SecretVersion", "secretBinary"),
    ("aws:secretsmanager/secretVersion:SecretVersion", "secretStringWo"),
    ("vault:kv/secretV2:SecretV2", "dataJson"),
    ("vault:kv/secretV2:SecretV2", "dataJsonWo"),
    ("vault:kv/secret:Secret", "dataJson"),
    ("vault:generic/secret:Secret", "dataJson"),
    ("vault:generic/secret:Secret", "dataJsonWo"),
])
def test_secret_material_is_allowed_only_in_the_fields_built_to_carry_it(f, type_: str, field: str) -> None:
    pem = _pem_key()  # generated per run: no key committed
    assert f.check("no-secret-material-in-inputs", f.view(type_, {field: pem})) == []
    found = f.check("no-secret-material-in-inputs", f.view(type_, {"description": pem}))
    assert len(found) == 1 and found[0].startswith("description contains a ")


def test_every_statement_is_checked_past_denies_and_scoped_ones(f) -> None:
    doc = f.policy({"Effect": "Deny", "Action": "*", "Resource": "*"},
                   {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                   {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    assert f.check("iam-no-wildcard-actions", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[2] allows wildcard actions ['iam:*']."]


def test_the_key_admin_statement_may_hold_both_star_and_kms_star(f) -> None:
    admin = {"Sid": "KeyAdministration", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/platform-admin"},
             "Action": ["*", "kms:*"], "Resource": "*"}
    assert f.check("iam-no-wildcard-actions", f.view("aws:kms/key:Key", {"policy": f.policy(admin)})) == []


def test_managed_policy_list_with_an_unknown_entry_still_flags_the_admin_policy(f) -> None:
    view = f.view(ROLE, {"assumeRolePolicy": f.trust(),
                         "managedPolicyArns": [None, "arn:aws:iam::aws:policy/AdministratorAccess"]})
    assert f.check("iam-no-wildcard-actions", view) == [
        "attaches the AWS-managed policy AdministratorAccess, which grants whole-service wildcards."]


def test_argo_helm_sources_are_searched_in_every_shape(f) -> None:
    """parameters, valuesObject, values as YAML text, as a mapping, as non-YAML text, and as a secret Output."""
    def app(helm: dict) -> object:
        return f.view("kubernetes:argoproj.io/v1alpha1:Application", {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a", "namespace": "argocd"},
            "spec": {"project": "development", "sources": [{"repoURL": "https://git.example.com/x.git", "helm": helm}]}})

    rule = "no-plaintext-secret-values"
    assert f.check(rule, app({"parameters": [{"name": "db.password", "value": LITERAL}]})) == [
        "spec.sources[0].helm.parameters[0].value secret-like key 'db.password' holds a literal value."]
    assert f.check(rule, app({"valuesObject": {"password": LITERAL}})) == [
        "spec.sources[0].helm.valuesObject.password secret-like key 'password' holds a literal value."]
    assert f.check(rule, app({"values": f"db:\n  password: {LITERAL}\n"})) == [
        "spec.sources[0].helm.values (YAML) db.password secret-like key 'password' holds a literal value."]
    assert f.check(rule, app({"values": {"password": LITERAL}})) == [
        "spec.sources[0].helm.values.password secret-like key 'password' holds a literal value."]
    assert f.check(rule, app({"values": "[secret]"})) == ["spec.sources[0].helm.values holds a value the program marks secret."]
    assert f.check(rule, app({"values": f"{{{{ template }}}}\npassword={LITERAL}\n"})) == [
        "spec.sources[0].helm.values line sets secret-like key 'password' to a literal value."]
    assert f.check(rule, app({"values": "db:\n  passwordSecretRef: app-secrets\n"})) == []


def test_sensitive_rule_reads_a_roles_inline_policies_after_its_trust(f) -> None:
    inline = [{"name": "x", "policy": f.policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})}]
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE, {"assumeRolePolicy": f.trust(), "inlinePolicies": inline})) == [
        "inlinePolicies[0].policy Statement[0] allows ['secretsmanager:GetSecretValue'] on ['*']."]


def test_sensitive_rule_checks_statements_after_a_deny(f) -> None:
    doc = f.policy({"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"},
                   {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[1] allows ['kms:Decrypt'] on ['*']."]


def test_not_action_excluding_only_the_sensitive_services_is_not_flagged(f) -> None:
    doc = f.policy({"Effect": "Allow", "NotAction": ["secretsmanager:*", "kms:*"], "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == []


@pytest.mark.parametrize(("args", "expected"), [
    ([1, "[secret]"], ["args[1] passes a value the program marks secret on the command line."]),
    (["[secret]", f"--password={LITERAL}"], ["args[0] passes a value the program marks secret on the command line.",
                                             "args[1] passes secret-like flag '--password' a literal value."]),
    (["serve", "--password", LITERAL], ["args[1] passes secret-like flag '--password' a literal value."]),
    (["serve", "--password"], []),
    (["--password", "--verbose"], []),
    (["--password", 7], []),
])
def test_container_arguments_edges(f, args: list, expected: list[str]) -> None:
    found = f.check("env-secrets-from-refs", _deployment(f, args=args))
    assert found == [f"spec.template.spec.containers[0].{line}" for line in expected]


def test_sensitive_rule_checks_statements_after_a_harmless_one(f) -> None:
    doc = f.policy({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                   {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    assert f.check("iam-no-sensitive-actions-on-all-resources", f.view(ROLE_POLICY, {"policy": doc})) == [
        "policy Statement[1] allows ['kms:Decrypt'] on ['*']."]


def test_irsa_rule_checks_web_identity_statements_after_another_trust(f) -> None:
    doc = json.loads(f.trust(sub="system:serviceaccount:external-secrets:*"))
    doc["Statement"].insert(0, {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == [
        "assumeRolePolicy Statement[1] sub value is not one exact system:serviceaccount:<namespace>:<name> subject."]


@pytest.mark.parametrize("bad", [123, "system:serviceaccount:External:eso", "system:serviceaccount:external-secrets:*"])
def test_irsa_subjects_that_are_not_one_exact_service_account_are_flagged_after_unknown_ones(f, bad) -> None:
    doc = f.trust(sub=["[unknown]", bad])
    assert f.check("irsa-trust-scoped", f.view(ROLE, {"assumeRolePolicy": doc})) == [
        "assumeRolePolicy Statement[0] sub value is not one exact system:serviceaccount:<namespace>:<name> subject."]


def test_env_rule_checks_variables_after_a_reference(f) -> None:
    env = [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}, {"name": "DB_PASSWORD", "value": LITERAL}]
    assert f.check("env-secrets-from-refs", _deployment(f, env=env)) == [
        "spec.template.spec.containers[0].env[1].value (env DB_PASSWORD) is a literal value for a secret-like variable."]


@pytest.mark.parametrize("field", ["data", "stringData"])
def test_the_allow_listed_tls_secret_holds_only_a_tls_pair(f, field: str) -> None:
    secret = f.view("kubernetes:core/v1:Secret", {"metadata": {"name": "vault-tls", "namespace": "vault"}, "type": "kubernetes.io/tls",
                                                  field: {"tls.crt": "c", "tls.key": "k", "ca.crt": "a", "password": "p"}})
    assert f.check("no-unmanaged-kubernetes-secrets", secret) == [
        f"Secret vault/vault-tls {field} has keys ['password'] besides a TLS pair; keep other secrets out of it."]


def test_kv_environments_reads_every_path_past_the_ones_it_skips() -> None:
    from policies.rules.least_privilege import kv_environments

    paths = [("sys/health", ["read"]), ("kv/config", ["read"]), ("kv/data", ["read"]), ("kv/data/*", ["read"]),
             ("kv/data/development/api/*", ["read"]), ("kv/metadata/staging/api", ["list"])]
    assert kv_environments(paths, "kv") == ({"development", "staging"}, ["kv/data", "kv/data/*"])
