"""The AWS partition, region, account and DNS suffix every ARN and service name is built from.

Pure: ``components.providers.aws_context`` resolves it once per stack (the partition and DNS
suffix from the stack's provider, the region and account from the stack's settings) and the
components take it as an argument; nothing here calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsContext:
    """Partition, region, account and DNS suffix of the stack's AWS account."""

    partition: str
    region: str
    account_id: str
    dns_suffix: str = "amazonaws.com"

    def service(self, name: str) -> str:
        """A regional service endpoint as ``kms:ViaService`` names it, e.g. ``s3.eu-west-1.amazonaws.com``."""
        return f"{name}.{self.region}.{self.dns_suffix}"

    @property
    def sts_endpoint(self) -> str:
        return f"https://{self.service('sts')}"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def topic_arn(self, name: str) -> str:
        return f"arn:{self.partition}:sns:{self.region}:{self.account_id}:{name}"

    def _secret_arn(self, name_pattern: str) -> str:
        return f"arn:{self.partition}:secretsmanager:{self.region}:{self.account_id}:secret:{name_pattern}"

    def secret_arn_pattern(self, scope: str) -> str:
        """Every secret of one scope: the scope's ``/`` keeps ``staging/*`` from matching a ``staging-x/...`` name."""
        return self._secret_arn(f"{scope}/*")

    def one_secret_arn_pattern(self, name: str) -> str:
        """Exactly one secret: Secrets Manager appends ``-`` and six random characters to its name in the ARN."""
        return self._secret_arn(f"{name}-??????")
