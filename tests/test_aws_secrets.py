"""AWS: secrets, key, per-environment IRSA readers, resource policies, alarm, and the evaluated access matrix."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from components.aws_context import AwsContext
from components.aws_secrets import (
    access_alarm_pattern,
    reader_policy,
    recovery_read_pattern,
    secret_resource_policy,
    secrets_key_statements,
    topic_policy,
)
from planner.access_matrix import write_access_matrix
from planner.iam_access import aws_access_matrix
from planner.mocks import SECRET
from planner.run import Recording
from tests.conftest import STACKS, stack_config_objects, stack_settings

CTX = AwsContext("aws", "eu-west-1", "111111111111")
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
VERSION_TYPE = "aws:secretsmanager/secretVersion:SecretVersion"
POLICY_TYPE = "aws:secretsmanager/secretPolicy:SecretPolicy"
ROLE_TYPE = "aws:iam/role:Role"
RULE_TYPE = "aws:cloudwatch/eventRule:EventRule"
TARGET_TYPE = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC_POLICY_TYPE = "aws:sns/topicPolicy:TopicPolicy"
RECOVERY_NAME = "vault/platform-dev/recovery"
RECOVERY_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery-AbC123"
PLATFORM_SECRETS = ["platform/argocd/notifications-token", "platform/argocd/repo-credential", "platform/argocd/sso-client-secret"]


def expected_aws_secrets(stack: str) -> dict[str, str]:
    """secret name -> source, straight from the stack file."""
    out = {}
    for env, env_cfg in stack_config_objects(stack)["platform:environments"].items():
        for app in env_cfg["apps"]:
            for s in app["secrets"]:
                if s["backend"] == "aws":
                    out[f"{env}/{app['name']}/{s['key']}"] = s["source"]
    out.update(dict.fromkeys(PLATFORM_SECRETS, "external"))
    return out


def scopes(stack: str) -> list[str]:
    return [*stack_config_objects(stack)["platform:environments"], "platform"]


def aws_secrets_children(rec: Recording, type_: str) -> list[dict]:
    """Resources of a type that AwsSecrets registered (VaultCluster has a Secrets Manager secret of its own)."""
    return [r for r in rec.by_type(type_) if "$platform:aws:AwsSecrets$" in r["urn"]]


def store_cells(cells: list) -> list:
    """Cells of the stores' principals over the app and platform secrets; every other cell must deny."""
    return [c for c in cells if c.principal.startswith("system:serviceaccount:external-secrets:") and not c.path.startswith("vault/")]


# --- pure builders --------------------------------------------------------------

def test_reader_policy_reads_and_decrypts_one_environment_only() -> None:
    doc = reader_policy(CTX, "staging", "arn:aws:kms:eu-west-1:111111111111:key/k")
    assert doc["Statement"] == [
        {"Sid": "ReadScopeSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
         "Resource": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/*"},
        {"Sid": "DecryptScopeSecretsThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:eu-west-1:111111111111:key/k",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"},
                       "StringLike": {"kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/*"}}},
    ]


def test_key_statements_scope_each_reader_and_keep_admins_to_secrets_manager() -> None:
    statements = secrets_key_statements(CTX, {"staging": "arn:aws:iam::111111111111:role/r-staging"}, ["arn:aws:iam::111111111111:role/admin"])
    reader, admin = statements
    assert reader["Principal"] == {"AWS": "arn:aws:iam::111111111111:role/r-staging"}
    assert reader["Action"] == "kms:Decrypt"
    assert reader["Condition"]["StringLike"] == {"kms:EncryptionContext:SecretARN": CTX.secret_arn_pattern("staging")}
    assert reader["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"
    assert admin["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"
    assert "kms:*" not in admin["Action"]


def test_resource_policy_denies_every_action_to_others_and_all_but_reads_to_the_reader() -> None:
    doc = secret_resource_policy("arn:aws:iam::1:role/reader", ["arn:aws:iam::1:role/admin"])
    others, reader = doc["Statement"]
    assert others["Effect"] == "Deny" and others["Principal"] == {"AWS": "*"}
    assert others["Action"] == "secretsmanager:*"
    assert others["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::1:role/admin", "arn:aws:iam::1:role/reader"]}}
    assert reader["Effect"] == "Deny" and reader["Principal"] == {"AWS": "*"} and "Action" not in reader
    assert reader["NotAction"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert reader["Condition"] == {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/reader"}}


def test_alarm_pattern_matches_unexpected_sessions_and_non_role_callers() -> None:
    pattern = access_alarm_pattern(CTX, ["staging", "platform"], ["arn:aws:iam::111111111111:role/r"])
    assert pattern["detail"]["eventName"] == ["GetSecretValue"]
    assert pattern["detail"]["requestParameters"]["secretId"] == [
        {"prefix": "platform/"}, {"prefix": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:platform/"},
        {"prefix": "staging/"}, {"prefix": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/"},
    ]
    assert pattern["detail"]["$or"] == [
        {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": ["arn:aws:iam::111111111111:role/r"]}]}}}},
        {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
    ]


def test_alarm_pattern_leaves_break_glass_roles_out_of_the_expected_callers() -> None:
    reader = "arn:aws:iam::111111111111:role/platform-dev-external-secrets-eso-staging-aws"
    deployer = "arn:aws:iam::111111111111:role/platform-deployer"
    break_glass = "arn:aws:iam::111111111111:role/ops/platform-break-glass"
    pattern = access_alarm_pattern(CTX, ["staging"], [reader, deployer, break_glass], [break_glass])
    issuer = pattern["detail"]["$or"][0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    assert issuer == [{"anything-but": [deployer, reader]}]
    # The same role whatever the path it is named with (a role name is unique in its account); another account's is another role.
    same_role = ["arn:aws:iam::111111111111:role/platform-break-glass", "arn:aws:iam::999999999999:role/platform-deployer"]
    assert access_alarm_pattern(CTX, ["staging"], [reader, deployer, break_glass], same_role) == pattern
    # Without break-glass roles every expected role stays expected.
    everyone = access_alarm_pattern(CTX, ["staging"], [reader, deployer, break_glass])["detail"]["$or"][0]
    assert everyone == {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": [break_glass, deployer, reader]}]}}}}


def test_recovery_read_pattern_matches_every_read_of_the_secret_by_name_or_arn_whoever_reads() -> None:
    assert recovery_read_pattern(RECOVERY_NAME, RECOVERY_ARN) == {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": ["GetSecretValue"],
            # The exact name; the complete ARN (with "-AbC123") and the partial one (without) by prefix.
            "requestParameters": {"secretId": [
                "vault/platform-dev/recovery",
                {"prefix": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery"},
            ]},
            # No userIdentity: administrators, the deployer and break-glass roles all page.
        },
    }


@pytest.mark.parametrize("arn", [
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-prod/recovery-AbC123",  # another secret
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:x/vault/platform-dev/recovery-AbC123",  # another name ending alike
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery",  # partial: no random suffix
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery-AbC12",
])
def test_recovery_read_pattern_refuses_an_arn_that_is_not_the_secrets(arn: str) -> None:
    with pytest.raises(ValueError, match=r"is not the ARN of the secret 'vault/platform-dev/recovery' \(<\.\.\.>:secret:<name>-<6 characters>\)"):
        recovery_read_pattern(RECOVERY_NAME, arn)


def test_topic_policy_lets_exactly_the_alarm_rules_publish() -> None:
    rules = ["arn:aws:events:eu-west-1:111111111111:rule/b", "arn:aws:events:eu-west-1:111111111111:rule/a"]
    assert topic_policy("arn:aws:sns:eu-west-1:111111111111:t", rules) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlarmRulesPublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
            "Resource": "arn:aws:sns:eu-west-1:111111111111:t",
            "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rules)}},
        }],
    }


# --- what the program registers ---------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_one_secret_per_value_with_the_stacks_key_tags_and_window(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    secrets = {r["inputs"]["name"]: r for r in aws_secrets_children(rec, SECRET_TYPE)}
    assert set(secrets) == set(expected_aws_secrets(stack))
    key = rec.one("aws:kms/key:Key", "secrets")
    window = stack_config_objects(stack)["platform:aws"]["secretRecoveryWindowDays"]
    for name, secret in secrets.items():
        scope, app, _ = name.split("/")
        assert secret["inputs"]["kmsKeyId"] == f"arn:aws:kms:eu-west-1:{CTX_ACCOUNT[stack]}:key/{key['id']}", name
        assert secret["inputs"]["recoveryWindowInDays"] == window
        assert secret["inputs"]["tags"] == {"environment": scope, "app": app, "managed-by": "pulumi"}


CTX_ACCOUNT = {"dev": "111111111111", "prod": "222222222222"}


@pytest.mark.parametrize("stack", STACKS)
def test_values_reach_state_only_as_secrets_and_external_values_are_never_written(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    versions = {r["inputs"]["secretId"].split(":secret:")[1][:-7]: r for r in rec.by_type(VERSION_TYPE)}
    expected = {n for n, source in expected_aws_secrets(stack).items() if source != "external"}
    assert set(versions) == expected
    for version in versions.values():
        assert version["inputs"]["secretString"] == SECRET


@pytest.mark.parametrize("stack", STACKS)
def test_random_values_rotate_with_their_keeper(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    for env, env_cfg in stack_config_objects(stack)["platform:environments"].items():
        for app in env_cfg["apps"]:
            for s in app["secrets"]:
                if s["backend"] == "aws" and s["source"] == "random":
                    password = rec.one("random:index/randomPassword:RandomPassword", f"{env}-{app['name']}-{s['key']}")
                    assert password["inputs"]["keepers"] == {"rotation": s["rotation"]}
                    assert password["inputs"]["length"] == s["length"]
                    assert "result" in password["additionalSecretOutputs"]


@pytest.mark.parametrize("stack", STACKS)
def test_one_irsa_reader_per_scope_bound_to_its_eso_service_account(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    cluster = stack_config_objects(stack)["platform:cluster"]
    issuer = cluster["oidcIssuerUrl"].removeprefix("https://")
    for scope in scopes(stack):
        role = rec.one(ROLE_TYPE, f"eso-{scope}-aws")
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Federated": cluster["oidcProviderArn"]}
        assert statement["Condition"] == {"StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:external-secrets:eso-{scope}-aws",
            f"{issuer}:aud": "sts.amazonaws.com"}}
        policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy", f"eso-{scope}-aws")["inputs"]["policy"])
        assert policy["Statement"][0]["Resource"].endswith(f":secret:{scope}/*")


@pytest.mark.parametrize("stack", STACKS)
def test_key_policy_admin_first_then_one_reader_statement_per_scope(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    key = rec.one("aws:kms/key:Key", "secrets")
    statements = json.loads(key["inputs"]["policy"])["Statement"]
    assert statements[0]["Sid"] == "KeyAdministration"
    assert statements[0]["Principal"]["AWS"] == sorted(stack_config_objects(stack)["platform:aws"]["adminRoleArns"])
    readers = {s["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"].split(":secret:")[1]: s["Principal"]["AWS"]
               for s in statements if s["Sid"].startswith("Read")}
    cluster = stack_config_objects(stack)["platform:cluster"]["name"]
    assert readers == {f"{scope}/*": f"arn:aws:iam::{CTX_ACCOUNT[stack]}:role/{cluster}-external-secrets-eso-{scope}-aws"
                       for scope in scopes(stack)}
    assert key["inputs"]["enableKeyRotation"] is True and key["inputs"]["deletionWindowInDays"] == 30
    assert key["protect"] is (stack == "prod")
    role_urns = {rec.one(ROLE_TYPE, f"eso-{scope}-aws")["urn"] for scope in scopes(stack)}
    assert role_urns <= set(key["dependencies"])  # KMS refuses principals that do not exist yet


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_has_a_resource_policy_naming_its_own_reader(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    secrets_by_arn = {r["id"]: r["inputs"]["name"] for r in aws_secrets_children(rec, SECRET_TYPE)}
    policies = aws_secrets_children(rec, POLICY_TYPE)
    assert len(policies) == len(secrets_by_arn)
    cluster = stack_config_objects(stack)["platform:cluster"]["name"]
    for policy in policies:
        name = secrets_by_arn[policy["inputs"]["secretArn"]]
        allowed = json.loads(policy["inputs"]["policy"])["Statement"][0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        reader = f"arn:aws:iam::{CTX_ACCOUNT[stack]}:role/{cluster}-external-secrets-eso-{name.split('/')[0]}-aws"
        assert sorted(allowed) == sorted([reader, *stack_config_objects(stack)["platform:aws"]["adminRoleArns"]])
        assert json.loads(policy["inputs"]["policy"])["Statement"][1]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == reader
        assert policy["inputs"]["blockPublicPolicy"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_and_their_policies_are_protected_exactly_when_the_stack_protects_state(
    recording: Callable[..., Recording], stack: str
) -> None:
    rec = recording(stack)
    protect = bool(stack_config_objects(stack).get("platform:protectStateful", False))
    resources = [*aws_secrets_children(rec, SECRET_TYPE), *aws_secrets_children(rec, POLICY_TYPE)]
    assert resources
    assert {r["urn"]: r["protect"] for r in resources} == {r["urn"]: protect for r in resources}


@pytest.mark.parametrize("stack", STACKS)
def test_alarm_rule_sees_management_events_and_publishes_to_an_encrypted_topic(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    rule = rec.one("aws:cloudwatch/eventRule:EventRule", "secret-access-alarm")
    assert rule["inputs"]["state"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    pattern = json.loads(rule["inputs"]["eventPattern"])
    expected_arns = pattern["detail"]["$or"][0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0]["anything-but"]
    cluster = stack_config_objects(stack)["platform:cluster"]["name"]
    readers = [f"arn:aws:iam::{CTX_ACCOUNT[stack]}:role/{cluster}-external-secrets-eso-{s}-aws" for s in scopes(stack)]
    aws_cfg = stack_config_objects(stack)["platform:aws"]
    routine_admins = [arn for arn in aws_cfg["adminRoleArns"] if arn not in aws_cfg.get("breakGlassRoleArns", [])]
    assert sorted(expected_arns) == sorted([*readers, *routine_admins])
    topic = rec.one("aws:sns/topic:Topic", "secret-access-alarm")
    alarm_key = rec.one("aws:kms/key:Key", "alarms")
    assert topic["inputs"]["kmsMasterKeyId"].endswith(alarm_key["id"])
    key_statements = json.loads(alarm_key["inputs"]["policy"])["Statement"]
    assert {"Service": "events.amazonaws.com"} in [s["Principal"] for s in key_statements]
    subscriptions = rec.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert [s["inputs"]["endpoint"] for s in subscriptions] == stack_config_objects(stack)["platform:aws"]["alarmEmails"]


def expected_alarm_rules(stack: str) -> dict[str, dict]:
    """Resource name -> the EventBridge rule's inputs, its pattern parsed, straight from the stack file."""
    objects = stack_config_objects(stack)
    aws_cfg, cluster = objects["platform:aws"], objects["platform:cluster"]["name"]
    secret_arn = f"arn:aws:secretsmanager:{aws_cfg['region']}:{aws_cfg['accountId']}:secret:"
    readers = [f"arn:aws:iam::{aws_cfg['accountId']}:role/{cluster}-external-secrets-eso-{s}-aws" for s in scopes(stack)]
    routine_admins = [arn for arn in aws_cfg["adminRoleArns"] if arn not in aws_cfg.get("breakGlassRoleArns", [])]
    get_secret_value = {"eventSource": ["secretsmanager.amazonaws.com"], "eventName": ["GetSecretValue"]}
    cloudtrail = {"source": ["aws.secretsmanager"], "detail-type": ["AWS API Call via CloudTrail"]}
    state = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    return {
        "secret-access-alarm": {
            "name": f"{cluster}-unexpected-secret-reads",
            "description": "GetSecretValue on platform secrets by a principal other than the stores' roles and non-break-glass administrators",
            "state": state,
            "eventPattern": {**cloudtrail, "detail": {
                **get_secret_value,
                "requestParameters": {"secretId": [
                    prefix for s in sorted(scopes(stack)) for prefix in ({"prefix": f"{s}/"}, {"prefix": f"{secret_arn}{s}/"})
                ]},
                "$or": [
                    {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": sorted([*readers, *routine_admins])}]}}}},
                    {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
                ],
            }},
        },
        "vault-recovery-reads": {
            "name": f"{cluster}-vault-recovery-reads",
            "description": "GetSecretValue on Vault's recovery secret by any principal: it is read only to break glass",
            "state": state,
            "eventPattern": {**cloudtrail, "detail": {
                **get_secret_value,
                "requestParameters": {"secretId": [f"vault/{cluster}/recovery", {"prefix": f"{secret_arn}vault/{cluster}/recovery"}]},
            }},
        },
    }


@pytest.mark.parametrize("stack", STACKS)
def test_alarm_rules_exact_inputs_on_one_topic_that_only_they_publish_to(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    expected = expected_alarm_rules(stack)
    rules = {r["name"]: r for r in aws_secrets_children(rec, RULE_TYPE)}
    assert set(rules) == set(expected)
    for name, rule in rules.items():  # the platform secrets' rule as before; the recovery secret's, whoever reads
        assert {**rule["inputs"], "eventPattern": json.loads(rule["inputs"]["eventPattern"])} == expected[name], rule["urn"]

    # The recovery rule watches VaultCluster's secret, learned from it (a dependency), not looked up.
    recovery = rec.one(SECRET_TYPE, "vault-recovery")
    assert "$platform:vault:VaultCluster$" in recovery["urn"]
    (name_id, arn_id) = expected["vault-recovery-reads"]["eventPattern"]["detail"]["requestParameters"]["secretId"]
    assert recovery["inputs"]["name"] == name_id and recovery["id"].startswith(arn_id["prefix"] + "-"), recovery["urn"]
    assert recovery["urn"] in rules["vault-recovery-reads"]["dependencies"]

    aws_cfg, cluster = stack_config_objects(stack)["platform:aws"], stack_config_objects(stack)["platform:cluster"]["name"]
    (topic,) = rec.by_type("aws:sns/topic:Topic")
    topic_arn = f"arn:aws:sns:{aws_cfg['region']}:{aws_cfg['accountId']}:{cluster}-secret-access-alarm"
    assert topic["inputs"]["name"] == topic_arn.rsplit(":", 1)[1]
    targets = {t["name"]: t["inputs"] for t in aws_secrets_children(rec, TARGET_TYPE)}
    assert targets == {name: {"rule": rule["name"], "arn": topic_arn} for name, rule in expected.items()}
    (policy,) = rec.by_type(TOPIC_POLICY_TYPE)
    assert policy["inputs"]["arn"] == topic_arn
    rule_arns = sorted(f"arn:aws:events:{aws_cfg['region']}:{aws_cfg['accountId']}:rule/{rule['name']}" for rule in expected.values())
    assert json.loads(policy["inputs"]["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlarmRulesPublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
            "Resource": topic_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
        }],
    }, policy["urn"]
    assert len(rec.by_type("aws:sns/topicSubscription:TopicSubscription")) == len(aws_cfg["alarmEmails"])  # not one set per rule


def test_prod_alarm_pages_on_break_glass_reads_only_among_administrators(recording: Callable[..., Recording]) -> None:
    """prod's break-glass role may read every secret (resource policies), but its reads are never expected by the alarm."""
    rec = recording("prod")
    break_glass = "arn:aws:iam::222222222222:role/platform-break-glass"
    assert stack_config_objects("prod")["platform:aws"]["breakGlassRoleArns"] == [break_glass]
    rule = rec.one("aws:cloudwatch/eventRule:EventRule", "secret-access-alarm")
    issuer = json.loads(rule["inputs"]["eventPattern"])["detail"]["$or"][0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    (expected,) = issuer
    assert break_glass not in expected["anything-but"], rule["urn"]
    assert "arn:aws:iam::222222222222:role/platform-deployer" in expected["anything-but"], rule["urn"]
    for policy in aws_secrets_children(rec, POLICY_TYPE):  # still an administrator: the resource policies let it read
        assert break_glass in json.loads(policy["inputs"]["policy"])["Statement"][0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"], policy["urn"]


# --- the access matrix, evaluated from the registered documents ---------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_cell_of_the_aws_matrix(recording: Callable[..., Recording], stack: str) -> None:
    all_cells = aws_access_matrix(recording(stack).resources)
    cells = store_cells(all_cells)
    assert not [c for c in all_cells if c not in cells and c.allowed]  # Vault's roles read no secret, no store reads Vault's
    secrets = expected_aws_secrets(stack)
    assert {c.path for c in cells} == set(secrets)
    assert {c.principal for c in cells} == {f"system:serviceaccount:external-secrets:eso-{s}-aws" for s in scopes(stack)}
    assert len(cells) == len(secrets) * len(scopes(stack))
    for cell in cells:
        reader_scope = cell.principal.rsplit(":", 1)[1].removeprefix("eso-").removesuffix("-aws")
        assert cell.allowed is (cell.path.split("/")[0] == reader_scope), cell


def test_matrix_artifacts_list_every_cell(recording: Callable[..., Recording]) -> None:
    files = write_access_matrix(recording("dev").resources, stack_settings("dev"))
    cells = [c for c in json.loads(files["access-matrix.json"]) if c["backend"] == "aws"
             if c["principal"].startswith("system:serviceaccount:external-secrets:") and not c["path"].startswith("vault/")]
    assert len(cells) == len(expected_aws_secrets("dev")) * len(scopes("dev"))
    # Each app secret's row: `yes` under its own environment's AWS store only (columns derived from the header).
    section = files["access-matrix.md"].split("\n## aws\n", 1)[1].split("\n## ", 1)[0]
    header, _, *rows = [line for line in section.splitlines() if line.startswith("|")]
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    app_paths = [p for p in expected_aws_secrets("dev") if p.split("/", 1)[0] in stack_config_objects("dev")["platform:environments"]]
    assert app_paths
    for path in app_paths:
        (row,) = [r for r in rows if r.startswith(f"| `{path}` |")]
        marks = [c.strip() for c in row.strip("|").split("|")][1:]
        readers = [col for col, mark in zip(columns, marks, strict=True) if mark == "yes"]
        assert readers == [col for col in columns if col.startswith(f"external-secrets/eso-{path.split('/')[0]}-aws via ")], path

