"""AwsContext: the ARNs and service names every IAM document is built from, and its one resolution per stack."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws_context import AwsContext
from components.providers import aws_context, aws_provider
from planner.mocks import MockIdentity
from planner.run import run_program
from planner.stackfile import read_stack
from tests.conftest import ROOT, stack_settings

CTX = AwsContext("aws", "eu-west-1", "111111111111")
CHINA = AwsContext("aws-cn", "cn-north-1", "222222222222", "amazonaws.com.cn")


def test_service_names_follow_region_and_dns_suffix() -> None:
    assert CTX.service("secretsmanager") == "secretsmanager.eu-west-1.amazonaws.com"
    assert CTX.service("s3") == "s3.eu-west-1.amazonaws.com"
    assert CHINA.service("s3") == "s3.cn-north-1.amazonaws.com.cn"
    assert CTX.sts_endpoint == "https://sts.eu-west-1.amazonaws.com"
    assert CHINA.sts_endpoint == "https://sts.cn-north-1.amazonaws.com.cn"


def test_arns_follow_partition_region_and_account() -> None:
    assert CTX.bucket_arn("snapshots") == "arn:aws:s3:::snapshots"
    assert CHINA.bucket_arn("snapshots") == "arn:aws-cn:s3:::snapshots"
    assert CTX.secret_arn_pattern("staging") == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:staging/*"
    assert CHINA.one_secret_arn_pattern("vault/platform/recovery") == (
        "arn:aws-cn:secretsmanager:cn-north-1:222222222222:secret:vault/platform/recovery-??????"
    )


def test_scope_pattern_does_not_reach_a_longer_scope_and_one_secret_pattern_is_exact() -> None:
    assert not CTX.secret_arn_pattern("staging").startswith(CTX.secret_arn_pattern("staging-x")[:-1])
    assert not CTX.secret_arn_pattern("staging-x").startswith(CTX.secret_arn_pattern("staging")[:-1])
    assert CTX.one_secret_arn_pattern("a").endswith(":secret:a-??????")


def test_context_is_frozen_and_defaults_to_the_commercial_dns_suffix() -> None:
    assert CTX.dns_suffix == "amazonaws.com"
    with pytest.raises(FrozenInstanceError):
        CTX.region = "us-east-1"  # type: ignore[misc]


def _probe() -> None:
    """One resource whose input is the resolved context, so the recording shows what it resolved to."""
    settings = stack_settings("dev")
    root = pulumi.ComponentResource("platform:test:Probe", "probe")
    prov = aws_provider(settings, parent=root)
    ctx = aws_context(settings, prov, parent=root)
    aws.iam.Policy(
        "aws-context",
        policy="{}",
        description=ctx.apply(lambda c: json.dumps([c.partition, c.region, c.account_id, c.dns_suffix])),
        opts=pulumi.ResourceOptions(parent=root, provider=prov),
    )


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov"])
def test_aws_context_takes_the_partition_from_the_provider_and_the_rest_from_the_settings(partition: str) -> None:
    settings = stack_settings("dev")
    identity: Any = replace(MockIdentity(), partition=partition)
    rec = run_program(read_stack(ROOT, "dev"), program=_probe, identity=identity)
    value = json.loads(rec.one("aws:iam/policy:Policy", "aws-context")["inputs"]["description"])
    assert value == [partition, settings.aws.region, settings.aws.account_id, "amazonaws.com"]
