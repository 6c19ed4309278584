"""AWS Secrets Manager secrets, their KMS key, the stores' IRSA roles and the access alarm.

One secret per value, named ``<scope>/<app>/<key>`` (scope: an environment, or
``platform`` for Argo CD's own secrets), rather than one JSON map per app. A map
costs $0.40 a month per app instead of per value, but it would mix values the
program writes with ``external`` values their owners write (the program would have
to overwrite the owner's value to update its own), rotate every key of the app
together, and let the resource policy grant only app-wide. Per-value secrets keep
each value's owner, rotation and policy separate; ESO caches nothing across
keys either way, so API calls are the same.

Every grant is scoped to one environment: the store's IRSA role reads
``secret:<env>/*`` and decrypts only through Secrets Manager for those secrets'
ARNs (``kms:EncryptionContext:SecretARN``), the key policy says the same, and each
secret's resource policy denies every Secrets Manager action to everyone but its environment's
reader (which may only read) and the administrators (which manage it). The environments of one
stack share the key. With ``protectStateful`` the secrets, their policies and the key are
protected: a stray ``pulumi destroy`` or a renamed resource cannot delete a secret.

The access alarm pages on every GetSecretValue of these secrets but the stores' readers' and
the routine administrators' (the deployer's refreshes): reads through a break-glass role
(``aws.breakGlassRoleArns``, administrators still allowed by the resource policies) always page.
A second rule on the same topic pages on every GetSecretValue of Vault's recovery secret
(VaultCluster's), whoever reads it: nobody does in normal operation, reading it is the break-glass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws_context import AwsContext
from components.config import PlatformConfig, SecretSpec, iam_role_identity
from components.irsa import IrsaRole
from components.kms import KmsKey, key_policy
from components.naming import (
    ESO_NAMESPACE,
    PLATFORM_APP,
    PLATFORM_SCOPE,
    PLATFORM_SECRET_KEYS,
    alarm_topic_name,
    eso_service_account,
    secret_path,
)
from components.secret_values import managed_value

READ_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
SECRET_ARN_SUFFIX_LENGTH = 6  # Secrets Manager ends a secret's ARN with "-" and six random characters
# GetSecretValue is a read-only management event: only this rule state delivers it.
CLOUDTRAIL_RULE_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@dataclass(frozen=True)
class ManagedSecret:
    """One secret this component creates; ``spec`` is None for the platform's own (external) secrets."""

    scope: str
    app: str
    key: str
    spec: SecretSpec | None

    @property
    def name(self) -> str:
        return secret_path(self.scope, self.app, self.key)

    @property
    def source(self) -> str:
        return self.spec.source if self.spec else "external"


def managed_secrets(config: PlatformConfig) -> list[ManagedSecret]:
    """Every AWS-backed app secret of the stack, then the platform's own secrets."""
    apps = [
        ManagedSecret(env, app.name, spec.key, spec)
        for env, env_cfg in config.settings.environments.items()
        for app in env_cfg.apps
        for spec in app.secrets
        if spec.backend == "aws"
    ]
    return apps + [ManagedSecret(PLATFORM_SCOPE, PLATFORM_APP, key, None) for key in PLATFORM_SECRET_KEYS]


def reader_policy(ctx: AwsContext, scope: str, key_arn: str) -> dict[str, Any]:
    """What a store's IRSA role may do: read its scope's secrets and decrypt them through Secrets Manager."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadScopeSecrets",
                "Effect": "Allow",
                "Action": READ_ACTIONS,
                "Resource": ctx.secret_arn_pattern(scope),
            },
            {
                "Sid": "DecryptScopeSecretsThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": ctx.service("secretsmanager")},
                    "StringLike": {"kms:EncryptionContext:SecretARN": ctx.secret_arn_pattern(scope)},
                },
            },
        ],
    }


def secrets_key_statements(ctx: AwsContext, readers: Mapping[str, str], admin_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Key usage: each reader decrypts only its scope's secrets; administrators write values, all through Secrets Manager."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": f"Read{scope.capitalize()}SecretsThroughSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": ctx.service("secretsmanager"), "kms:CallerAccount": ctx.account_id},
                "StringLike": {"kms:EncryptionContext:SecretARN": ctx.secret_arn_pattern(scope)},
            },
        }
        for scope, role_arn in sorted(readers.items())
    ]
    statements.append(
        {
            "Sid": "AdministratorsUseThroughSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(admin_arns)},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": ctx.service("secretsmanager"), "kms:CallerAccount": ctx.account_id}},
        }
    )
    return statements


def secret_resource_policy(reader_arn: str, admin_arns: Sequence[str]) -> dict[str, Any]:
    """Only the administrators manage one secret; its scope's reader only reads it; everyone else does nothing.

    Identity policies in the account could otherwise grant ``DeleteSecret``, ``PutSecretValue`` or
    ``PutResourcePolicy`` on it (a deny here wins over any allow, the administrators' own included
    for the reader's role). Principals are matched by ``aws:PrincipalArn`` rather than named in
    ``Principal``, so a recreated role keeps its place (a named principal would turn into a stale ID).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyEverythingToAllButReaderAndAdministrators",
                "Effect": "Deny",
                # Deny for everyone ("*") except the principals the condition names; every
                # Secrets Manager action (secretsmanager:*): nothing else may touch this secret.
                "Principal": {"AWS": "*"},
                "Action": "secretsmanager:*",
                "Resource": "*",  # in a resource policy: this secret
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted([reader_arn, *admin_arns])}},
            },
            {
                "Sid": "DenyReaderAllButReads",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                # A Deny with NotAction: every action but the reads, for the reader only.
                "NotAction": READ_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": reader_arn}},
            },
        ],
    }


def _secret_reads_pattern(secret_ids: list[Any], callers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """EventBridge pattern: CloudTrail's GetSecretValue events on ``secret_ids``, by ``callers`` (one of) or by anyone.

    ``requestParameters.secretId`` is what the caller passed: a name or an ARN, complete or
    partial (without the ``-`` and six random characters), so each secret needs its name and
    its ARN matched.
    """
    detail: dict[str, Any] = {
        "eventSource": ["secretsmanager.amazonaws.com"],
        "eventName": ["GetSecretValue"],
        "requestParameters": {"secretId": secret_ids},
    }
    if callers is not None:
        detail["$or"] = callers
    return {"source": ["aws.secretsmanager"], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}


def access_alarm_pattern(
    ctx: AwsContext, scopes: Sequence[str], expected_role_arns: Sequence[str], break_glass_role_arns: Sequence[str] = ()
) -> dict[str, Any]:
    """EventBridge pattern: GetSecretValue on the platform's secrets by anyone but the expected roles.

    IRSA callers appear as assumed-role sessions, so the role is
    ``userIdentity.sessionContext.sessionIssuer.arn``; callers that are not assumed
    roles (IAM users, root) have no session issuer and are matched by type.

    Break-glass roles are taken out of the expected roles (matched by partition, account
    and name, whatever the path), so a read through one of them always alarms.

    The session issuer ARN is the role's IAM ARN, path included
    (``arn:aws:iam::<account>:role/<path>/<name>``), unlike the assumed-role ARN in
    ``userIdentity.arn``, which drops the path: an expected role must be listed with its
    path exactly as IAM has it, or its reads alarm (its reads are denied anyway, since the
    resource policies' ``aws:PrincipalArn`` carries the path too).
    """
    always_alarm = {iam_role_identity(arn) for arn in break_glass_role_arns} - {None}
    expected = sorted({arn for arn in expected_role_arns if iam_role_identity(arn) not in always_alarm})
    secret_ids: list[Any] = []
    for scope in sorted(scopes):
        secret_ids += [{"prefix": f"{scope}/"}, {"prefix": ctx.secret_arn_pattern(scope)[:-1]}]
    return _secret_reads_pattern(
        secret_ids,
        [
            {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": expected}]}}}},
            {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
        ],
    )


def recovery_read_pattern(secret_name: str, secret_arn: str) -> dict[str, Any]:
    """EventBridge pattern: GetSecretValue on Vault's recovery secret by anyone, administrators and deployers included.

    The exact name, and the ARN as a prefix: the complete ARN ends in ``-`` and six random
    characters, a partial ARN stops before them, and Secrets Manager accepts both.
    """
    partial_arn, _, suffix = secret_arn.rpartition("-")
    if not partial_arn.endswith(f":secret:{secret_name}") or len(suffix) != SECRET_ARN_SUFFIX_LENGTH:
        raise ValueError(f"{secret_arn!r} is not the ARN of the secret {secret_name!r} (<...>:secret:<name>-<6 characters>)")
    return _secret_reads_pattern([secret_name, {"prefix": partial_arn}])


def alarm_key_statements(ctx: AwsContext, incident_publisher_arn: str | None = None) -> list[dict[str, Any]]:
    """EventBridge must encrypt what it publishes to the KMS-encrypted topic, and so must Vault's bootstrap job.

    The bootstrap job publishes when it finds Vault initialised without its recovery material
    (docs/bootstrap.md); its role may use the key through SNS only.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EventBridgePublishesToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
        }
    ]
    if incident_publisher_arn:
        statements.append({
            "Sid": "VaultBootstrapPublishesIncidents",
            "Effect": "Allow",
            "Principal": {"AWS": incident_publisher_arn},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": ctx.service("sns")}},
        })
    return statements


def topic_policy(topic_arn: str, rule_arns: Sequence[str]) -> dict[str, Any]:
    """EventBridge may publish to the topic for the alarm rules only (in the account, Vault's bootstrap role through its IAM policy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlarmRulesPublish",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
            }
        ],
    }


@dataclass(frozen=True)
class AlarmRule:
    """One EventBridge rule of the access alarm: its AWS name, description and event pattern."""

    name: str
    description: str
    pattern: pulumi.Output[dict[str, Any]]


def _reader_policy_for(scope: str) -> Callable[[list[Any]], dict[str, Any]]:
    return lambda args: reader_policy(args[0], scope, args[1])


class AwsSecrets(pulumi.ComponentResource):
    """Secrets Manager secrets per environment and app, the stores' IRSA roles, and the access alarm.

    ``recovery_secret_name`` and ``recovery_secret_arn`` name Vault's recovery secret
    (VaultCluster's ``recovery_secret_name`` and ``recovery_secret_arn``): the alarm pages on
    every read of it, whoever the caller. ``aws_context`` is the stack's partition, region, account
    and DNS suffix (``components.providers.aws_context``), resolved once beside the providers:
    every ARN and service name of the policies and the alarm patterns is built from it.
    """

    reader_roles: dict[str, IrsaRole]
    secret_arns: dict[str, pulumi.Output[str]]
    key_arn: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        config: PlatformConfig,
        aws_provider: aws.Provider,
        aws_context: pulumi.Output[AwsContext],
        recovery_secret_name: str,
        recovery_secret_arn: pulumi.Input[str],
        incident_publisher_arn: pulumi.Input[str] | None = None,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:aws:AwsSecrets", name, None, opts)
        settings = config.settings
        cluster = settings.cluster.name
        aws_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        stateful_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider, protect=protect)
        admins = list(settings.aws.admin_role_arns)
        scopes = [*settings.environments, PLATFORM_SCOPE]

        # Roles first: the key policy below names them, and KMS refuses principals that do not exist.
        self.reader_roles = {
            scope: IrsaRole(
                f"eso-{scope}-aws",
                cluster=settings.cluster,
                namespace=ESO_NAMESPACE,
                service_account=eso_service_account(scope, "aws"),
                aws_provider=aws_provider,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for scope in scopes
        }
        reader_arns = pulumi.Output.all(*[role.arn for role in self.reader_roles.values()]).apply(
            lambda arns: dict(zip(self.reader_roles, arns, strict=True))
        )
        key = KmsKey(
            "secrets",
            alias=f"{cluster}/secrets-manager",
            description=f"Secrets Manager values of the {cluster} platform",
            aws_provider=aws_provider,
            protect=protect,
            policy=pulumi.Output.all(aws_context, reader_arns).apply(
                lambda args: key_policy(admin_arns=admins, usage_statements=secrets_key_statements(args[0], args[1], admins))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for scope, role in self.reader_roles.items():
            role.attach_policy(pulumi.Output.all(aws_context, key.arn).apply(_reader_policy_for(scope)))

        self.secret_arns = {}
        for managed in managed_secrets(config):
            resource_name = managed.name.replace("/", "-")
            secret = aws.secretsmanager.Secret(
                resource_name,
                name=managed.name,
                description=f"{managed.source} value of {managed.app} in {managed.scope}, read through ESO",
                kms_key_id=key.arn,
                recovery_window_in_days=settings.aws.secret_recovery_window_days,
                tags={"environment": managed.scope, "app": managed.app, "managed-by": "pulumi"},
                opts=stateful_opts,
            )
            aws.secretsmanager.SecretPolicy(
                resource_name,
                secret_arn=secret.arn,
                block_public_policy=True,
                policy=self.reader_roles[managed.scope].arn.apply(
                    lambda arn: json.dumps(secret_resource_policy(arn, admins), sort_keys=True)
                ),
                opts=stateful_opts,
            )
            value = managed_value(resource_name, managed.spec, config, parent=self) if managed.spec else None
            if value is not None:  # external values belong to their owners: never written or read here
                aws.secretsmanager.SecretVersion(resource_name, secret_id=secret.arn, secret_string=value, opts=aws_opts)
            self.secret_arns[managed.name] = secret.arn

        expected = pulumi.Output.all(*[r.arn for r in self.reader_roles.values()]).apply(lambda arns: [*arns, *admins])
        break_glass = settings.aws.break_glass_role_arns
        self.alarm_topic_arn = self._access_alarm(
            aws_context,
            cluster,
            {
                "secret-access-alarm": AlarmRule(
                    name=f"{cluster}-unexpected-secret-reads",
                    description="GetSecretValue on platform secrets by a principal other than the stores' roles and non-break-glass administrators",
                    pattern=pulumi.Output.all(aws_context, expected).apply(
                        lambda args: access_alarm_pattern(args[0], scopes, args[1], break_glass)
                    ),
                ),
                "vault-recovery-reads": AlarmRule(
                    name=f"{cluster}-vault-recovery-reads",
                    description="GetSecretValue on Vault's recovery secret by any principal: it is read only to break glass",
                    pattern=pulumi.Output.from_input(recovery_secret_arn).apply(
                        lambda arn: recovery_read_pattern(recovery_secret_name, arn)
                    ),
                ),
            },
            admins,
            settings.aws.alarm_emails,
            aws_provider,
            protect,
            incident_publisher_arn,
        )
        self.key_arn = key.arn
        self.register_outputs({"keyArn": self.key_arn, "alarmTopicArn": self.alarm_topic_arn})

    def _access_alarm(
        self,
        ctx_output: pulumi.Output[AwsContext],
        cluster: str,
        rules: Mapping[str, AlarmRule],
        admins: Sequence[str],
        emails: Sequence[str],
        aws_provider: aws.Provider,
        protect: bool,
        incident_publisher_arn: pulumi.Input[str] | None,
    ) -> pulumi.Output[str]:
        """EventBridge rules (by resource name) on CloudTrail's GetSecretValue events to one KMS-encrypted SNS topic."""
        aws_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        alarm_key = KmsKey(
            "alarms",
            alias=f"{cluster}/secret-access-alarms",
            description=f"Secret access alarm topic of the {cluster} platform",
            aws_provider=aws_provider,
            protect=protect,
            policy=pulumi.Output.all(ctx_output, incident_publisher_arn).apply(
                lambda a: key_policy(admin_arns=admins, usage_statements=alarm_key_statements(a[0], a[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        topic = aws.sns.Topic("secret-access-alarm", name=alarm_topic_name(cluster), kms_master_key_id=alarm_key.arn, opts=aws_opts)
        rule_resources = {
            resource_name: aws.cloudwatch.EventRule(
                resource_name,
                name=rule.name,
                description=rule.description,
                state=CLOUDTRAIL_RULE_STATE,
                event_pattern=rule.pattern.apply(lambda pattern: json.dumps(pattern, sort_keys=True)),
                opts=aws_opts,
            )
            for resource_name, rule in rules.items()
        }
        aws.sns.TopicPolicy(
            "secret-access-alarm",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, *[r.arn for r in rule_resources.values()]).apply(
                lambda a: json.dumps(topic_policy(a[0], a[1:]), sort_keys=True)
            ),
            opts=aws_opts,
        )
        for resource_name, rule_resource in rule_resources.items():
            aws.cloudwatch.EventTarget(resource_name, rule=rule_resource.name, arn=topic.arn, opts=aws_opts)
        for i, email in enumerate(emails):
            aws.sns.TopicSubscription(f"secret-access-alarm-{i}", topic=topic.arn, protocol="email", endpoint=email, opts=aws_opts)
        return topic.arn
