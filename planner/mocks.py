"""Mocks that behave like the engine where the plan depends on it.

``RecordingMonitor`` sees each raw RegisterResource request: exact secret
positions, parent, dependencies, provider and options. Unlike the SDK's own
mock monitor it applies ``additionalSecretOutputs`` to the outputs it returns,
as the engine does, so a ``RandomPassword.result`` stays secret downstream.
``PlanMocks`` answers resources and invokes with plausible, deterministic values.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from components.config import iam_role_identity

SECRET = "[secret]"
UNKNOWN = "[unknown]"


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def decode_struct(value: Any) -> Any:
    """Engine wire value -> plan value: secrets and unknowns replaced where they sit."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET
        if sig == rpc._special_resource_sig:
            return value.get("urn")
        if sig == rpc._special_output_value_sig:
            if value.get("secret"):
                return SECRET
            return decode_struct(value["value"]) if "value" in value else UNKNOWN
        if sig in (rpc._special_asset_sig, rpc._special_archive_sig):
            return {k: decode_struct(v) for k, v in value.items() if k != rpc._special_sig_key}
        return {k: decode_struct(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_struct(v) for v in value]
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _wrap_secret(value: struct_pb2.Value) -> struct_pb2.Value:
    wrapper = struct_pb2.Value()
    wrapper.struct_value.fields[rpc._special_sig_key].string_value = rpc._special_secret_sig
    wrapper.struct_value.fields["value"].CopyFrom(value)
    return wrapper


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Mock monitor that records requests and marks additional secret outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """As the engine does: the full chain of parent types, without the root stack's."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        for name in request.additionalSecretOutputs:
            if name in response.object.fields:
                response.object.fields[name].CopyFrom(_wrap_secret(response.object.fields[name]))
        record = {
            "type": request.type,
            "name": request.name,
            "urn": response.urn,
            "id": response.id or None,
            "parent": request.parent or None,
            "custom": bool(request.custom),
            "provider": request.provider.rsplit("::", 1)[0] if request.custom and request.provider else None,
            "dependencies": sorted(set(request.dependencies)),
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
            "inputs": decode_struct(json_format.MessageToDict(request.object)),
        }
        with self._lock:
            self.records.append(record)
        return response


def session_arn(role_arn: str, session: str = "pulumi") -> str:
    """The ARN STS reports for a session of an IAM role (``assumed-role/<name>/<session>``, no path)."""
    identity = iam_role_identity(role_arn)
    if identity is None:
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    partition, account, name = identity
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}"


@dataclass(frozen=True)
class MockIdentity:
    """What the invokes answer: the account, region and cluster of the stack, and who runs the program."""

    account_id: str = "111111111111"
    region: str = "eu-west-1"
    partition: str = "aws"
    oidc_issuer_url: str = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
    caller_arn: str = "arn:aws:sts::111111111111:assumed-role/platform-deployer/pulumi"


class PlanMocks(pulumi_mocks.Mocks):
    """Deterministic resource outputs and invoke answers."""

    def __init__(self, identity: MockIdentity) -> None:
        self.identity = identity

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        i = self.identity
        region = i.region if regional else ""
        account = i.account_id if service != "s3" else ""
        return f"arn:{i.partition}:{service}:{region}:{account}:{resource}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = str(args.inputs.get("name") or args.name)
        rid = f"{args.name}-id"
        typ = args.typ
        if typ == "aws:iam/role:Role":
            rid = name
            state.update(arn=self._arn("iam", f"role/{name}", regional=False), uniqueId=f"AROA{_digest(name).upper()}")
        elif typ == "aws:iam/policy:Policy":
            state.update(arn=self._arn("iam", f"policy/{name}", regional=False))
        elif typ == "aws:kms/key:Key":
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, args.name))
            state.update(keyId=rid, arn=self._arn("kms", f"key/{rid}"))
        elif typ == "aws:kms/alias:Alias":
            state.update(arn=self._arn("kms", name))
        elif typ == "aws:secretsmanager/secret:Secret":
            rid = self._arn("secretsmanager", f"secret:{name}-{_digest(name, length=6)}")
            state.update(arn=rid)
        elif typ in ("aws:sns/topic:Topic", "aws:cloudwatch/eventRule:EventRule"):
            service = "sns" if typ.startswith("aws:sns") else "events"
            state.update(arn=self._arn(service, name if service == "sns" else f"rule/{name}"))
        elif typ.startswith("aws:s3/bucket"):
            bucket = str(args.inputs.get("bucket") or args.name)
            rid = bucket
            state.update(arn=self._arn("s3", bucket, regional=False), bucket=bucket)
        elif typ == "random:index/randomPassword:RandomPassword":
            length = int(args.inputs.get("length", 32))
            state.update(result=("mock" + _digest(args.name, length=64))[:length], bcryptHash="mock-bcrypt")
        elif typ == "tls:index/privateKey:PrivateKey":
            state.update(privateKeyPem=f"mock-private-key-pem-{args.name}", publicKeyPem=f"mock-public-key-{args.name}")
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            state.update(certPem=f"mock-certificate-pem-{args.name}")
        elif typ == "tls:index/certRequest:CertRequest":
            state.update(certRequestPem=f"mock-csr-pem-{args.name}")
        return rid, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        i = self.identity
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": i.account_id,
                "arn": i.caller_arn,
                "userId": f"AROA{_digest(i.caller_arn).upper()}:{i.caller_arn.rsplit('/', 1)[-1]}",
                "id": i.account_id,
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": i.partition, "dnsSuffix": "amazonaws.com", "id": i.partition}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": i.region, "region": i.region, "id": i.region}, []
        if token == "aws:eks/getCluster:getCluster":
            name = str(args.args.get("name"))
            return {
                "name": name,
                "arn": self._arn("eks", f"cluster/{name}"),
                "endpoint": f"https://{_digest(name, length=32).upper()}.gr7.{i.region}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "bW9jay1jbHVzdGVyLWNh"}],
                "identities": [{"oidcs": [{"issuer": i.oidc_issuer_url}]}],
                "id": name,
            }, []
        raise NotImplementedError(f"the plan's mocks do not answer invoke {token}: add it to planner/mocks.py")
