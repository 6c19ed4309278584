"""VaultCluster as the program registers it, for both stacks and both phases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import hcl2
import kubernetes_validate
import pytest

from components.aws_context import AwsContext
from components.kms import ADMIN_STATEMENT_SID, KEY_ADMIN_ACTIONS
from components.vault import iam, jobs, names
from components.vault.network import NetworkInputs, network_policies, vault_apps
from components.vault_databases import database_roles
from planner.artifacts import is_kubernetes_object, kubernetes_manifest
from planner.mocks import SECRET
from planner.run import Recording, run_program
from planner.stackfile import read_stack
from policies.realistic import RealisticValues
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_settings

RELEASE = "kubernetes:helm.sh/v3:Release"
ACCOUNT = {"dev": "111111111111", "prod": "222222222222"}
COMPONENT = "platform:vault:VaultCluster"
ISSUER = {
    "dev": "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9",
    "prod": "oidc.eks.eu-west-1.amazonaws.com/id/9F8E7D6C5B4A39281706F5E4D3C2B1A0",
}


def vault_cfg(stack: str) -> dict[str, Any]:
    return stack_config_objects(stack)["platform:vault"]


def cluster_name(stack: str) -> str:
    return stack_config_objects(stack)["platform:cluster"]["name"]


def children(rec: Recording) -> list[dict[str, Any]]:
    """Everything VaultCluster registered (its own record excluded)."""
    return [r for r in rec.resources if f"{COMPONENT}$" in r["urn"]]


def values(rec: Recording) -> dict[str, Any]:
    return rec.one(RELEASE, "vault")["inputs"]["values"]


def unquote(value: Any) -> Any:
    return value[1:-1] if isinstance(value, str) and value.startswith('"') and value.endswith('"') else value


def role_arn(stack: str, sa: str) -> str:
    return f"arn:aws:iam::{ACCOUNT[stack]}:role/{cluster_name(stack)}-vault-{sa}"


def alarm_topic_arn(rec: Recording, stack: str) -> str:
    """The ARN of the alarm topic AwsSecrets registers (by its name): where the bootstrap Job reports an incident."""
    return f"arn:aws:sns:eu-west-1:{ACCOUNT[stack]}:{rec.one('aws:sns/topic:Topic', 'secret-access-alarm')['inputs']['name']}"


def kms_arn(rec: Recording, stack: str, name: str) -> str:
    return f"arn:aws:kms:eu-west-1:{ACCOUNT[stack]}:key/{rec.one('aws:kms/key:Key', name)['id']}"


# --- the component itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_one_component_with_every_child_parented_and_explicit_providers(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    [component] = rec.by_type(COMPONENT)
    assert component["name"] == "vault" and component["parent"].endswith("platform:core:Platform::platform")
    kids = children(rec)
    assert len(kids) > 40
    urns = {r["urn"] for r in rec.resources}
    for r in kids:
        assert r["parent"] in urns, r["urn"]
        if r["custom"] and not r["type"].startswith("pulumi:providers:"):
            package = r["type"].split(":")[0]
            assert r["provider"], r["urn"]
            assert f"pulumi:providers:{package}::" in r["provider"], r["urn"]
    [tls_provider] = rec.by_type("pulumi:providers:tls")
    assert tls_provider["parent"] == component["urn"]
    for r in kids:
        if r["type"].startswith("tls:"):
            assert r["provider"] == tls_provider["urn"], r["urn"]


def test_component_attributes_name_what_later_components_use() -> None:
    seen: dict[str, Any] = {}

    def probe() -> None:
        from components.config import load_platform_config
        from components.platform import Platform

        platform = Platform("platform", load_platform_config())
        vault = platform.vault
        seen.update({k: getattr(vault, k) for k in (
            "internal_address", "active_address", "api_endpoint", "snapshot_bucket_name", "deployer_auth_role", "preview_auth_role",
            "preview_role_arns", "aws_auth_mount",
            "deployer_policy", "iam_server_id_header", "kubernetes_auth_path", "snapshot_auth_role", "snapshot_policy",
            "snapshot_service_account", "snapshot_token_audience", "audit_dir", "ca_config_map", "vault_namespace",
            "recovery_secret_name")})
        seen["sts_region"] = vault.sts_region
        outputs = ("sts_endpoint", "ca_cert_pem", "unseal_key_arn", "snapshot_key_arn", "recovery_key_arn", "recovery_secret_arn", "server_role_arn")
        for attr in outputs:
            getattr(vault, attr).apply(lambda v, a=attr: seen.__setitem__(a, v))

    run_program(read_stack(ROOT, "dev"), program=probe)
    recovery_path = "vault/platform-dev/recovery"
    assert {k: v for k, v in seen.items() if isinstance(v, str) and not v.startswith(("arn:", "mock-"))} == {
        "internal_address": "https://vault.vault.svc:8200",
        "active_address": "https://vault-active.vault.svc:8200",
        "api_endpoint": "https://vault.platform-dev.example.com:8200",
        "snapshot_bucket_name": "platform-dev-vault-snapshots-111111111111",
        "deployer_auth_role": "deployer",
        "preview_auth_role": "preview",
        "aws_auth_mount": "aws",
        "deployer_policy": "deployer",
        "iam_server_id_header": stack_settings("dev").vault.login.iam_server_id_header,
        "kubernetes_auth_path": "kubernetes",
        "snapshot_auth_role": "vault-snapshot",
        "snapshot_policy": "vault-snapshot",
        "snapshot_service_account": "vault-snapshot",
        "snapshot_token_audience": "vault",
        "audit_dir": "/vault/audit",
        "ca_config_map": "vault-ca",
        "vault_namespace": "vault",
        "recovery_secret_name": recovery_path,
        "sts_region": "eu-west-1",
        "sts_endpoint": "https://sts.eu-west-1.amazonaws.com",
    }
    assert seen["preview_role_arns"] == ["arn:aws:iam::111111111111:role/platform-preview"]
    assert seen["ca_cert_pem"] == "mock-certificate-pem-vault-ca"
    assert seen["recovery_secret_arn"].startswith(f"arn:aws:secretsmanager:eu-west-1:111111111111:secret:{recovery_path}-")
    assert seen["server_role_arn"] == "arn:aws:iam::111111111111:role/platform-dev-vault-vault"
    assert all(seen[k].startswith("arn:aws:kms:eu-west-1:111111111111:key/") for k in ("unseal_key_arn", "snapshot_key_arn", "recovery_key_arn"))


# --- the release --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_release_is_the_pinned_chart_that_does_not_wait_for_sealed_pods(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    release = rec.one(RELEASE, "vault")
    i = release["inputs"]
    assert (i["name"], i["chart"], i["version"], i["namespace"]) == ("vault", "vault", "0.34.1", "vault")
    assert i["repositoryOpts"] == {"repo": "https://helm.releases.hashicorp.com"}
    assert i["skipAwait"] is True and i["createNamespace"] is False
    deps = set(release["dependencies"])
    for type_, name in [("kubernetes:core/v1:ServiceAccount", "vault-server"), ("kubernetes:core/v1:Secret", "vault-tls"),
                        ("kubernetes:storage.k8s.io/v1:StorageClass", "vault-storage"), ("aws:iam/rolePolicy:RolePolicy", "vault-server"),
                        ("kubernetes:core/v1:Namespace", "vault"), ("aws:kms/key:Key", "vault-unseal")]:
        assert rec.one(type_, name)["urn"] in deps, name


@pytest.mark.parametrize("stack", STACKS)
def test_ha_raft_with_tls_listener_retry_joins_and_kms_seal(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    v = values(rec)
    replicas = vault_cfg(stack)["replicas"]
    assert v["global"] == {"enabled": True, "tlsDisable": False}
    ha = v["server"]["ha"]
    assert (ha["enabled"], ha["replicas"], ha["raft"]["enabled"], ha["raft"]["setNodeId"]) == (True, replicas, True, True)
    assert ha["disruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert ha["apiAddr"] == "https://$(VAULT_K8S_POD_NAME).vault-internal:8200"
    config = hcl2.loads(ha["raft"]["config"])
    listener = config["listener"][0]['"tcp"']
    assert listener["tls_disable"] is False
    assert {k: unquote(listener[k]) for k in ("tls_cert_file", "tls_key_file", "tls_client_ca_file")} == {
        "tls_cert_file": f"{names.TLS_MOUNT}/tls.crt",
        "tls_key_file": f"{names.TLS_MOUNT}/tls.key",
        "tls_client_ca_file": f"{names.TLS_MOUNT}/ca.crt",
    }
    joins = config["storage"][0]['"raft"']["retry_join"]
    assert len(joins) == replicas
    for i, join in enumerate(joins):
        assert unquote(join["leader_api_addr"]) == f"https://vault-{i}.vault-internal:8200"
        assert unquote(join["leader_ca_cert_file"]) == "/vault/userconfig/vault-tls/ca.crt"
        assert unquote(join["leader_tls_servername"]) == f"vault-{i}.vault-internal"
    seal = config["seal"][0]['"awskms"']
    assert unquote(seal["kms_key_id"]) == rec.one("aws:kms/key:Key", "vault-unseal")["id"]  # the mock's key id
    assert unquote(seal["region"]) == "eu-west-1"
    assert [list(b) for b in config["service_registration"]] == [['"kubernetes"']]


@pytest.mark.parametrize("stack", STACKS)
def test_vault_addr_is_https_loopback_and_the_ca_is_set_and_mounted(recording: Callable[..., Recording], stack: str) -> None:
    s = values(recording(stack))["server"]
    # global.tlsDisable false makes the chart render VAULT_ADDR=https://127.0.0.1:8200 itself; a second
    # definition here would shadow it.
    assert "VAULT_ADDR" not in s["extraEnvironmentVars"]
    assert s["extraEnvironmentVars"] == {"VAULT_CACERT": "/vault/userconfig/vault-tls/ca.crt"}
    assert {"name": "vault-tls", "secret": {"secretName": "vault-tls", "defaultMode": 0o440}} in s["volumes"]
    assert {"name": "vault-tls", "mountPath": "/vault/userconfig/vault-tls", "readOnly": True} in s["volumeMounts"]
    assert {"name": "tmp", "mountPath": "/tmp"} in s["volumeMounts"]
    [sidecar] = s["extraContainers"]
    assert sidecar["name"] == "housekeeping" and s["shareProcessNamespace"] is True
    assert {"name": "vault-tls", "mountPath": "/vault/userconfig/vault-tls", "readOnly": True} in sidecar["volumeMounts"]
    assert {"name": "audit", "mountPath": "/vault/audit"} in sidecar["volumeMounts"]


@pytest.mark.parametrize("stack", STACKS)
def test_storage_placement_resources_and_security_contexts(recording: Callable[..., Recording], stack: str) -> None:
    cfg = stack_settings(stack).vault
    s = values(recording(stack))["server"]
    assert s["dataStorage"] == {"enabled": True, "size": cfg.data_storage_size, "storageClass": "vault-gp3", "accessMode": "ReadWriteOnce"}
    assert s["auditStorage"] == {"enabled": True, "size": cfg.audit_storage_size, "storageClass": "vault-gp3",
                                 "accessMode": "ReadWriteOnce", "mountPath": "/vault/audit"}
    assert s["resources"] == {"requests": {"cpu": cfg.server_cpu_request, "memory": cfg.server_memory_request},
                              "limits": {"memory": cfg.server_memory_limit}}
    soft = "preferredDuringSchedulingIgnoredDuringExecution"
    assert list(s["affinity"]["podAntiAffinity"]) == [soft if cfg.anti_affinity == "soft" else "requiredDuringSchedulingIgnoredDuringExecution"]
    assert s["topologySpreadConstraints"][0]["whenUnsatisfiable"] == {"soft": "ScheduleAnyway", "hard": "DoNotSchedule"}[cfg.zone_spread]
    pod, container = s["statefulSet"]["securityContext"]["pod"], s["statefulSet"]["securityContext"]["container"]
    assert pod == {"runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 1000, "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                         "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert s["extraContainers"][0]["securityContext"] == container
    assert s["serviceAccount"] == {"create": False, "name": "vault", "serviceDiscovery": {"enabled": True}}
    assert s["updateStrategyType"] == "OnDelete" and s["image"]["tag"].startswith("2.0.4@sha256:")


@pytest.mark.parametrize("stack", STACKS)
def test_ui_and_injector_with_two_replicas_scoped_to_environment_namespaces(recording: Callable[..., Recording], stack: str) -> None:
    v = values(recording(stack))
    assert v["ui"] == {"enabled": True, "serviceType": "ClusterIP"}
    inj = v["injector"]
    assert (inj["enabled"], inj["replicas"], inj["leaderElector"]) == (True, 2, {"enabled": True})
    assert inj["image"]["tag"].startswith("1.7.6@sha256:") and inj["agentImage"]["tag"].startswith("2.0.4@sha256:")
    assert inj["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert inj["securityContext"] == values(recording(stack))["server"]["statefulSet"]["securityContext"]
    assert inj["resources"]["limits"]["memory"] == stack_settings(stack).vault.injector_memory_limit
    assert inj["webhook"]["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(stack_config_objects(stack)["platform:environments"])}]}


# --- TLS -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_server_certificate_sans_validity_and_ca(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    cfg = stack_settings(stack).vault
    csr = rec.one("tls:index/certRequest:CertRequest", "vault-server")["inputs"]
    host = cfg.api_endpoint.split("://")[1].split(":")[0]
    pods = [n for i in range(cfg.replicas) for n in (f"vault-{i}.vault-internal", f"vault-{i}.vault-internal.vault",
                                                    f"vault-{i}.vault-internal.vault.svc", f"vault-{i}.vault-internal.vault.svc.cluster.local")]
    services = [n for s in ("vault", "vault-active", "vault-standby", "vault-internal", "vault-ui")
                for n in (s, f"{s}.vault", f"{s}.vault.svc", f"{s}.vault.svc.cluster.local")]
    assert csr["dnsNames"] == [*services, *pods, "localhost", host]
    assert csr["ipAddresses"] == ["127.0.0.1"]
    assert csr["privateKeyPem"] == SECRET
    cert = rec.one("tls:index/locallySignedCert:LocallySignedCert", "vault-server")["inputs"]
    assert (cert["validityPeriodHours"], cert["earlyRenewalHours"]) == (cfg.tls_validity_hours, cfg.tls_early_renewal_hours)
    assert cert["allowedUses"] == ["digital_signature", "server_auth"] and cert["caPrivateKeyPem"] == SECRET
    ca = rec.one("tls:index/selfSignedCert:SelfSignedCert", "vault-ca")["inputs"]
    assert ca["isCaCertificate"] is True and ca["validityPeriodHours"] == cfg.ca_validity_hours
    assert ca["earlyRenewalHours"] == cfg.tls_validity_hours
    for key in ("vault-ca", "vault-server"):
        private = rec.one("tls:index/privateKey:PrivateKey", key)
        assert private["inputs"] == {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
        assert "privateKeyPem" in private["additionalSecretOutputs"]


@pytest.mark.parametrize("stack", STACKS)
def test_tls_secret_holds_the_pair_only_as_a_secret(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    secrets = [r for r in children(rec) if r["type"] == "kubernetes:core/v1:Secret"]
    assert [s["name"] for s in secrets] == ["vault-tls"]
    secret = secrets[0]["inputs"]
    assert secret["metadata"]["name"] == "vault-tls" and secret["metadata"]["namespace"] == "vault"
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["stringData"] == SECRET and "data" not in secret
    # The mock private keys' values appear nowhere: every input they reach is registered as a secret.
    assert "mock-private-key-pem" not in json.dumps(rec.resources)


@pytest.mark.parametrize("stack", STACKS)
def test_ca_is_published_where_in_cluster_clients_read_it(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    maps = {r["inputs"]["metadata"]["namespace"]: r["inputs"] for r in children(rec)
            if r["type"] == "kubernetes:core/v1:ConfigMap" and r["inputs"]["metadata"]["name"] == "vault-ca"}
    assert set(maps) == {"vault", "argocd", "external-secrets", *stack_config_objects(stack)["platform:environments"]}
    for data in maps.values():
        assert data["data"] == {"ca.crt": "mock-certificate-pem-vault-ca"}


# --- KMS, IRSA, Secrets Manager, S3 ------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_one_key_per_purpose_with_admin_first_and_exact_usage(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    admins = sorted(stack_config_objects(stack)["platform:aws"]["adminRoleArns"])
    protect = stack == "prod"
    ctx = AwsContext("aws", "eu-west-1", ACCOUNT[stack])
    expected = {
        "vault-unseal": iam.unseal_key_statements(role_arn(stack, "vault")),
        "vault-snapshots": iam.snapshot_key_statements(ctx, role_arn(stack, "vault-snapshot"), admins),
        "vault-recovery": iam.recovery_key_statements(ctx, role_arn(stack, "vault-bootstrap"), admins, f"vault/{cluster_name(stack)}/recovery"),
    }
    for name, usage in expected.items():
        key = rec.one("aws:kms/key:Key", name)
        doc = json.loads(key["inputs"]["policy"])
        admin, rest = doc["Statement"][0], doc["Statement"][1:]
        assert (admin["Sid"], admin["Principal"], admin["Action"]) == (ADMIN_STATEMENT_SID, {"AWS": admins}, KEY_ADMIN_ACTIONS)
        assert rest == usage, name
        assert key["inputs"]["enableKeyRotation"] is True and key["protect"] is protect
        assert rec.one("aws:kms/alias:Alias", name)["inputs"]["name"] == f"alias/{cluster_name(stack)}/{name}"


@pytest.mark.parametrize("stack", STACKS)
def test_irsa_roles_trust_exactly_their_service_accounts(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    for resource, sa in (("vault-server", "vault"), ("vault-bootstrap", "vault-bootstrap"), ("vault-snapshot", "vault-snapshot")):
        role = rec.one("aws:iam/role:Role", resource)["inputs"]
        assert role["name"] == f"{cluster_name(stack)}-vault-{sa}"
        [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert statement["Condition"] == {"StringEquals": {f"{ISSUER[stack]}:sub": f"system:serviceaccount:vault:{sa}",
                                                           f"{ISSUER[stack]}:aud": "sts.amazonaws.com"}}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"


@pytest.mark.parametrize("stack", STACKS)
def test_role_permissions_are_exactly_what_each_job_needs(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    ctx = AwsContext("aws", "eu-west-1", ACCOUNT[stack])
    vault_settings = stack_settings(stack).vault
    deployers, previews = vault_settings.deployer_role_arns, vault_settings.preview_role_arns
    secret_arn = rec.one("aws:secretsmanager/secret:Secret", "vault-recovery")["id"]
    bucket = f"{cluster_name(stack)}-vault-snapshots-{ACCOUNT[stack]}"
    expected = {
        "vault-server": iam.server_role_policy(kms_arn(rec, stack, "vault-unseal"), deployers, previews),
        "vault-bootstrap": iam.bootstrap_role_policy(ctx, secret_arn, kms_arn(rec, stack, "vault-recovery"), alarm_topic_arn(rec, stack)),
        "vault-snapshot": iam.snapshot_role_policy(ctx, bucket, kms_arn(rec, stack, "vault-snapshots")),
    }
    for name, doc in expected.items():
        assert json.loads(rec.one("aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"]) == doc, name
    server_doc = expected["vault-server"]
    assert {a for s in server_doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "iam:GetRole"}
    assert server_doc["Statement"][1]["Resource"] == [f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-deployer",
                                                      f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-preview"]


@pytest.mark.parametrize("stack", STACKS)
def test_recovery_secret_has_no_value_a_key_and_a_policy(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    secret = rec.one("aws:secretsmanager/secret:Secret", "vault-recovery")
    i = secret["inputs"]
    assert i["name"] == f"vault/{cluster_name(stack)}/recovery"
    assert i["kmsKeyId"] == kms_arn(rec, stack, "vault-recovery")
    assert i["recoveryWindowInDays"] == 30 and secret["protect"] is (stack == "prod")
    versions = [r for r in rec.by_type("aws:secretsmanager/secretVersion:SecretVersion") if r["inputs"]["secretId"] == secret["id"]]
    assert versions == []
    policy = rec.one("aws:secretsmanager/secretPolicy:SecretPolicy", "vault-recovery")["inputs"]
    admins = stack_config_objects(stack)["platform:aws"]["adminRoleArns"]
    assert json.loads(policy["policy"]) == iam.recovery_secret_policy(role_arn(stack, "vault-bootstrap"), admins)
    assert policy["blockPublicPolicy"] is True and policy["secretArn"] == secret["id"]


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_bucket_is_versioned_kms_encrypted_private_expiring_and_tls_only(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    name = f"{cluster_name(stack)}-vault-snapshots-{ACCOUNT[stack]}"
    bucket = rec.one("aws:s3/bucket:Bucket", "vault-snapshots")
    assert bucket["inputs"]["bucket"] == name and bucket["inputs"]["forceDestroy"] is False
    assert bucket["protect"] is (stack == "prod")

    def part(type_: str) -> dict[str, Any]:
        inputs = rec.one(f"aws:s3/{type_}", "vault-snapshots")["inputs"]
        assert inputs["bucket"] == name, type_
        return inputs

    assert part("bucketVersioning:BucketVersioning")["versioningConfiguration"] == {"status": "Enabled"}
    assert part("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": kms_arn(rec, stack, "vault-snapshots")},
        "bucketKeyEnabled": True,
    }]
    block = part("bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert part("bucketOwnershipControls:BucketOwnershipControls")["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert part("bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"] == [{
        "id": "expire-snapshots", "status": "Enabled", "filter": {"prefix": "raft-snapshots/"},
        "expiration": {"days": vault_cfg(stack)["snapshotRetentionDays"]},
        "noncurrentVersionExpiration": {"noncurrentDays": 7},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1},
    }]
    assert json.loads(part("bucketPolicy:BucketPolicy")["policy"]) == iam.snapshot_bucket_policy(f"arn:aws:s3:::{name}")


# --- Kubernetes objects -------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_storage_class_is_encrypted_gp3_and_retained_in_prod(recording: Callable[..., Recording], stack: str) -> None:
    sc = recording(stack).one("kubernetes:storage.k8s.io/v1:StorageClass", "vault-storage")
    i = sc["inputs"]
    assert i["metadata"]["name"] == "vault-gp3" and i["provisioner"] == "ebs.csi.aws.com"
    assert i["parameters"] == {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    assert i["volumeBindingMode"] == "WaitForFirstConsumer" and i["allowVolumeExpansion"] is True
    assert (i["reclaimPolicy"], sc["protect"]) == (("Retain", True) if stack == "prod" else ("Delete", False))


@pytest.mark.parametrize("stack", STACKS)
def test_service_accounts_carry_their_irsa_roles_and_jobs_mount_no_api_token(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    for resource, sa, automount in (("vault-server", "vault", None), ("vault-bootstrap", "vault-bootstrap", False),
                                    ("vault-snapshot", "vault-snapshot", False)):
        i = rec.one("kubernetes:core/v1:ServiceAccount", resource)["inputs"]
        assert i["metadata"]["name"] == sa and i["metadata"]["namespace"] == "vault"
        assert i["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn(stack, sa)}
        assert i.get("automountServiceAccountToken") is automount
    rbac = [r for r in rec.resources if r["type"].startswith("kubernetes:rbac.authorization.k8s.io/")]
    assert not [r for r in rbac if "vault-bootstrap" in json.dumps(r["inputs"]) or "vault-snapshot" in json.dumps(r["inputs"])]


@pytest.mark.parametrize("stack", STACKS)
def test_bootstrap_job_initialises_once_with_memory_only_material(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    job = rec.one("kubernetes:batch/v1:Job", "vault-bootstrap")
    spec = job["inputs"]["spec"]
    pod = spec["template"]["spec"]
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"], pod["restartPolicy"]) == ("vault-bootstrap", False, "OnFailure")
    assert [c["name"] for c in pod["initContainers"]] == ["init", "store"] and [c["name"] for c in pod["containers"]] == ["configure"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["work"] == {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
    env = {c["name"]: {e["name"]: e["value"] for e in c["env"]} for c in [*pod["initContainers"], *pod["containers"]]}
    cfg = stack_settings(stack).vault
    assert env["init"]["VAULT_ADDR"] == "https://vault-0.vault-internal:8200" and env["init"]["VAULT_CACERT"] == "/vault-ca/ca.crt"
    assert (env["init"]["RECOVERY_SHARES"], env["init"]["RECOVERY_THRESHOLD"]) == (str(cfg.recovery_shares), str(cfg.recovery_threshold))
    assert env["store"]["RECOVERY_SECRET_ARN"] == rec.one("aws:secretsmanager/secret:Secret", "vault-recovery")["id"]
    # An incident (Vault initialised without its material) goes to the alarm topic AwsSecrets registers.
    assert (env["store"]["ALARM_TOPIC_ARN"], env["store"]["VAULT_CLUSTER"]) == (alarm_topic_arn(rec, stack), cluster_name(stack))
    alarm_key = json.loads(rec.one("aws:kms/key:Key", "alarms")["inputs"]["policy"])["Statement"]
    assert [s for s in alarm_key if s["Sid"] == "VaultBootstrapPublishesIncidents"] == [{
        "Sid": "VaultBootstrapPublishesIncidents", "Effect": "Allow", "Principal": {"AWS": role_arn(stack, "vault-bootstrap")},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}},
    }]
    assert env["configure"]["DEPLOYER_ROLE_ARNS"] == f"arn:aws:iam::{ACCOUNT[stack]}:role/platform-deployer"
    assert env["configure"]["IAM_SERVER_ID_HEADER_VALUE"] == cfg.login.iam_server_id_header
    assert (env["configure"]["AWS_AUTH_PATH"], env["configure"]["DEPLOYER_ROLE"]) == (cfg.login.mount, cfg.login.role)
    assert env["configure"]["STS_ENDPOINT"] == "https://sts.eu-west-1.amazonaws.com"
    assert not [k for k in env["configure"] if k.startswith("PREVIEW_")]  # VaultConfig manages the preview login
    images = [c["image"] for c in [*pod["initContainers"], *pod["containers"]]]
    assert all("@sha256:" in image for image in images)
    deps = set(job["dependencies"])
    for type_, name in [(RELEASE, "vault"), ("aws:iam/rolePolicy:RolePolicy", "vault-bootstrap"),
                        ("aws:secretsmanager/secretPolicy:SecretPolicy", "vault-recovery")]:
        assert rec.one(type_, name)["urn"] in deps
    scripts = rec.one("kubernetes:core/v1:ConfigMap", "vault-bootstrap-scripts")["inputs"]["data"]
    assert set(scripts) == {"bootstrap-init.sh", "split-init-output.awk", "bootstrap-store.sh", "bootstrap-configure.sh", "deployer-policy.hcl"}
    assert spec["template"]["metadata"]["annotations"] == {jobs.SCRIPT_HASH_ANNOTATION: jobs.data_hash(scripts)}


@pytest.mark.parametrize(("stack", "phase"), [("dev", 1), ("dev", None), ("prod", 1), ("prod", None)])
def test_snapshot_cronjob_is_suspended_until_phase_two(recording: Callable[..., Recording], stack: str, phase: int | None) -> None:
    rec = recording(stack, phase)
    spec = rec.one("kubernetes:batch/v1:CronJob", "vault-snapshot")["inputs"]["spec"]
    assert spec["suspend"] is (phase == 1)
    assert spec["schedule"] == vault_cfg(stack)["snapshotSchedule"] and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == ("vault-snapshot", False)
    token = next(v for v in pod["volumes"] if v["name"] == "vault-token")["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"audience": "vault", "expirationSeconds": 600, "path": "token"}
    save, upload = pod["initContainers"][0], pod["containers"][0]
    save_env = {e["name"]: e["value"] for e in save["env"]}
    assert save_env["VAULT_ADDR"] == "https://vault-active.vault.svc:8200" and save_env["SNAPSHOT_ROLE"] == "vault-snapshot"
    upload_env = {e["name"]: e["value"] for e in upload["env"]}
    assert upload_env["SNAPSHOT_BUCKET"] == f"{cluster_name(stack)}-vault-snapshots-{ACCOUNT[stack]}"
    assert upload_env["SNAPSHOT_PREFIX"] == "raft-snapshots"
    for c in (save, upload):
        assert c["resources"]["limits"]["memory"] and "@sha256:" in c["image"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_phases_differ_only_by_the_suspended_cronjob_and_vaults_clients(recording: Callable[..., Recording], stack: str) -> None:
    def by_urn(rec: Recording) -> dict[str, Any]:
        return {r["urn"]: r["inputs"] for r in children(rec)}

    one, two = by_urn(recording(stack, 1)), by_urn(recording(stack))
    assert set(one) == set(two)
    differ = [urn for urn in one if one[urn] != two[urn]]
    assert [urn.rsplit("::", 1)[1] for urn in differ] == ["vault-netpol-vault-server", "vault-snapshot"]


def _api_ingress_namespaces(rec: Recording) -> set[str]:
    policy = rec.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "vault-netpol-vault-server")["inputs"]["spec"]
    return {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for rule in policy["ingress"] for peer in rule["from"] if "namespaceSelector" in peer}


@pytest.mark.parametrize("stack", STACKS)
def test_phase_one_plan_admits_no_client_namespace_to_vault(recording: Callable[..., Recording], stack: str) -> None:
    """Until phase 2, only the bootstrap job and Vault's peers (namespace vault) and the deployer CIDRs reach 8200."""
    rec = recording(stack, 1)
    assert _api_ingress_namespaces(rec) == {"vault"}
    policy = rec.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "vault-netpol-vault-server")["inputs"]["spec"]
    pods = [peer["podSelector"]["matchLabels"] for rule in policy["ingress"] for peer in rule["from"] if "podSelector" in peer]
    assert pods == [names.BOOTSTRAP_LABELS, names.SERVER_LABELS]
    # Phase 2 opens it to the ESO controller and, per environment, the pods of the apps with `vaultAgent: true` only.
    agents = {(env, app["name"]) for env, cfg in stack_config_objects(stack)["platform:environments"].items()
              for app in cfg["apps"] if app.get("vaultAgent") is True}
    assert agents, "the stack files declare an app reading Vault through the injector"
    assert _api_ingress_namespaces(recording(stack)) == {"vault", "external-secrets", *(env for env, _ in agents)}
    phase2 = recording(stack).one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "vault-netpol-vault-server")["inputs"]["spec"]
    peers = [peer for rule in phase2["ingress"] for peer in rule["from"] if "namespaceSelector" in peer]
    tenant_pods = {(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], tuple(sorted(p["podSelector"]["matchLabels"].items())))
                   for p in peers if p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] not in ("vault", "external-secrets")}
    assert tenant_pods == {(env, (("app.kubernetes.io/name", app),)) for env, app in agents}


@pytest.mark.parametrize(("stack", "phase"), [("dev", 1), ("dev", None), ("prod", 1), ("prod", None)])
def test_every_application_set_waits_for_the_bootstrap_job(recording: Callable[..., Recording], stack: str, phase: int | None) -> None:
    """No tenant workload before the platform has initialised Vault: each ApplicationSet, or a parent, depends on the Job."""
    rec = recording(stack, phase)
    job = rec.one("kubernetes:batch/v1:Job", "vault-bootstrap")["urn"]
    by_urn = {r["urn"]: r for r in rec.resources}
    app_sets = [r for r in rec.resources if r["type"] == "kubernetes:argoproj.io/v1alpha1:ApplicationSet"]
    assert sorted(r["inputs"]["metadata"]["name"] for r in app_sets) == sorted(
        stack_config_objects(stack)["platform:environments"])
    for app_set in app_sets:
        chain, node = [], app_set
        while node is not None:
            chain.append(node)
            node = by_urn.get(node.get("parent") or "")
        assert any(job in r.get("dependencies", []) for r in chain), app_set["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_are_registered_for_the_stacks_namespaces_and_cidrs(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    settings = stack_settings(stack)
    databases = sorted({(tuple(db.database.cidrs), db.database.port) for db in database_roles(settings)})
    assert databases, "the committed stacks declare databases"
    expected = network_policies(NetworkInputs(vault_apps(settings), settings.cluster.api_server_cidrs,
                                              settings.vault.deployer_cidrs, settings.vault.aws_endpoint_cidrs,
                                              databases=databases))
    registered = [r["inputs"] for r in children(rec) if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"]
    assert [p["metadata"]["name"] for p in registered] == [p["metadata"]["name"] for p in expected]
    for got, want in zip(registered, expected, strict=True):
        assert got["spec"] == want["spec"] and got["metadata"]["namespace"] == "vault"
    ingress_cidrs = [peer["ipBlock"]["cidr"] for peer in registered[1]["spec"]["ingress"][0]["from"] if "ipBlock" in peer]
    assert ingress_cidrs == vault_cfg(stack)["deployerCidrs"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_object_of_the_component_validates_strictly(recording: Callable[..., Recording], stack: str) -> None:
    version = stack_config_objects(stack)["platform:cluster"]["kubernetesVersion"]
    realistic = RealisticValues()
    objects = [r for r in children(recording(stack)) if is_kubernetes_object(r)]
    # StorageClass, TLS Secret, 3 ServiceAccounts, 5 NetworkPolicies, 2 script ConfigMaps, Job, CronJob,
    # and the CA ConfigMap in vault, argocd, external-secrets and each environment.
    assert len(objects) == 17 + len(stack_config_objects(stack)["platform:environments"])
    for r in objects:
        # "[secret]" stands for the value the engine holds: validate with a value of its kind in its place.
        manifest = kubernetes_manifest({**r, "inputs": realistic.replace(r["type"], r["inputs"])})
        kubernetes_validate.validate(manifest, version, strict=True)


def test_strict_validation_would_catch_a_wrong_field_in_a_job() -> None:
    manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "namespace": "vault"},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i", "envv": []}]}}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.33", strict=True)
