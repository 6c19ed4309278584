"""VaultCluster's pure builders read as a spec: server HCL, SANs, IAM documents, Vault policy, placement, config rules."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import hcl2
import pytest

from components.aws_context import AwsContext
from components.config import ConfigError
from components.vault import iam, images, jobs, names, server
from components.vault import tls as tls_names
from components.vault.network import NetworkInputs, network_policies
from components.vault_policies import secret_paths, stack_policies, stack_roles
from planner.vault_access import allowed_capabilities, parse_policy
from tests.conftest import stack_config_objects, stack_settings

CTX = AwsContext("aws", "eu-west-1", "111111111111")
KEY_ID = "0b7c4f7e-1111-4222-8333-944455556666"
SPEC = server.ServerSpec(
    replicas=3, cluster_name="platform-dev", region="eu-west-1", storage_class="vault-gp3", data_storage_size="10Gi",
    audit_storage_size="8Gi", anti_affinity="soft", zone_spread="soft", server_cpu_request="250m",
    server_memory_request="256Mi", server_memory_limit="1Gi", injector_cpu_request="50m", injector_memory_request="64Mi",
    injector_memory_limit="128Mi", injector_namespaces=["development", "staging"],
)


def _hcl(text: str) -> dict[str, Any]:
    return hcl2.loads(text)


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals."""
    return value[1:-1] if isinstance(value, str) and value.startswith('"') and value.endswith('"') else value


# --- server config (HCL) ---------------------------------------------------------------------

def test_server_config_listener_serves_tls_from_the_mounted_secret() -> None:
    doc = _hcl(server.server_config(SPEC, KEY_ID))
    assert [list(block) for block in doc["listener"]] == [['"tcp"']]
    listener = {k: _unquote(v) for k, v in doc["listener"][0]['"tcp"'].items() if not k.startswith("__")}
    assert listener == {
        "address": "[::]:8200",
        "cluster_address": "[::]:8201",
        "tls_disable": False,
        "tls_cert_file": "/vault/userconfig/vault-tls/tls.crt",
        "tls_key_file": "/vault/userconfig/vault-tls/tls.key",
        "tls_client_ca_file": "/vault/userconfig/vault-tls/ca.crt",
        "tls_min_version": "tls12",
    }
    assert doc["ui"] is True and doc["disable_mlock"] is True
    assert _unquote(doc["cluster_name"]) == "platform-dev"


@pytest.mark.parametrize("replicas", [3, 5, 7])
def test_one_https_retry_join_per_replica_with_ca_and_server_name(replicas: int) -> None:
    doc = _hcl(server.server_config(replace(SPEC, replicas=replicas), KEY_ID))
    raft = doc["storage"][0]['"raft"']
    assert _unquote(raft["path"]) == "/vault/data"
    joins = [{k: _unquote(v) for k, v in j.items() if not k.startswith("__")} for j in raft["retry_join"]]
    assert joins == [
        {
            "leader_api_addr": f"https://vault-{i}.vault-internal:8200",
            "leader_ca_cert_file": "/vault/userconfig/vault-tls/ca.crt",
            "leader_tls_servername": f"vault-{i}.vault-internal",
        }
        for i in range(replicas)
    ]


def test_seal_is_awskms_with_the_key_and_service_registration_is_kubernetes() -> None:
    doc = _hcl(server.server_config(SPEC, KEY_ID))
    seal = doc["seal"][0]
    assert list(seal) == ['"awskms"']
    assert {k: _unquote(v) for k, v in seal['"awskms"'].items() if not k.startswith("__")} == {
        "region": "eu-west-1", "kms_key_id": KEY_ID,
    }
    assert [list(b) for b in doc["service_registration"]] == [['"kubernetes"']]
    assert set(doc) - {"__start_line__", "__end_line__"} == {
        "ui", "disable_mlock", "cluster_name", "listener", "storage", "seal", "service_registration",
    }


def test_server_config_avoids_what_the_chart_rewrites_and_refuses_unsafe_text() -> None:
    text = server.server_config(SPEC, KEY_ID)
    for placeholder in names.CHART_CONFIG_PLACEHOLDERS:
        assert placeholder not in text
    with pytest.raises(ValueError, match="chart's start-up script"):
        server.server_config(replace(SPEC, cluster_name="HOSTNAME"), KEY_ID)
    with pytest.raises(ValueError, match="refusing to embed"):
        server.server_config(SPEC, 'x" }\nseal "shamir" {')


# --- placement ----------------------------------------------------------------------------------

def test_anti_affinity_is_preferred_by_default_and_required_on_request() -> None:
    soft = server.anti_affinity(names.SERVER_LABELS, "soft")
    assert soft == {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "vault", "app.kubernetes.io/instance": "vault", "component": "server"}},
            "topologyKey": "kubernetes.io/hostname",
        },
    }]}}
    hard = server.anti_affinity(names.SERVER_LABELS, "hard")
    assert hard["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == [
        soft["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    ]


def test_zone_spread_skew_one_soft_or_hard() -> None:
    assert server.zone_spread(names.SERVER_LABELS, "soft") == [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": names.SERVER_LABELS},
    }]
    assert server.zone_spread(names.SERVER_LABELS, "hard")[0]["whenUnsatisfiable"] == "DoNotSchedule"


def test_audit_rotation_threshold_is_a_quarter_of_the_volume() -> None:
    assert server.audit_rotate_kib("8Gi") == 2 * 1024 * 1024
    sidecar = server.housekeeping_container("8Gi")
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env == {"TLS_CERT_FILE": "/vault/userconfig/vault-tls/tls.crt", "AUDIT_FILE": "/vault/audit/vault-audit.log",
                   "AUDIT_ROTATE_KIB": "2097152", "AUDIT_KEEP": "10", "INTERVAL_SECONDS": "60"}
    assert "kill -HUP" in server.HOUSEKEEPING_SCRIPT and "gzip" in server.HOUSEKEEPING_SCRIPT


# --- certificate names ----------------------------------------------------------------------------

def _svc(name: str) -> list[str]:
    return [name, f"{name}.vault", f"{name}.vault.svc", f"{name}.vault.svc.cluster.local"]


def test_sans_cover_services_each_pod_localhost_and_the_api_endpoint() -> None:
    dns = tls_names.server_dns_names(3, "https://vault.platform-dev.example.com:8200")
    expected = [
        *_svc("vault"), *_svc("vault-active"), *_svc("vault-standby"), *_svc("vault-internal"), *_svc("vault-ui"),
        *_svc("vault-0.vault-internal"), *_svc("vault-1.vault-internal"), *_svc("vault-2.vault-internal"),
        "localhost", "vault.platform-dev.example.com",
    ]
    assert dns == expected
    assert not any("*" in name for name in dns)
    assert tls_names.LOOPBACK_IPS == ("127.0.0.1",)


def test_api_endpoint_host_is_not_listed_twice_and_must_be_https_without_path() -> None:
    assert tls_names.server_dns_names(3, "https://vault.vault.svc:8200").count("vault.vault.svc") == 1
    for bad in ("http://vault.example.com", "https://vault.example.com/v1", "vault.example.com"):
        with pytest.raises(ValueError, match="https://<host>"):
            tls_names.endpoint_host(bad)


def test_certificate_uses_are_minimal() -> None:
    assert tls_names.CA_ALLOWED_USES == ("cert_signing", "crl_signing", "digital_signature")
    assert tls_names.SERVER_ALLOWED_USES == ("digital_signature", "server_auth")


# --- IAM documents ---------------------------------------------------------------------------------

UNSEAL = "arn:aws:kms:eu-west-1:111111111111:key/unseal"
SNAPKEY = "arn:aws:kms:eu-west-1:111111111111:key/snapshots"
RECKEY = "arn:aws:kms:eu-west-1:111111111111:key/recovery"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery-AbCdEf"
DEPLOYER = "arn:aws:iam::111111111111:role/platform-deployer"
PREVIEW = "arn:aws:iam::111111111111:role/platform-preview"
ADMINS = ["arn:aws:iam::111111111111:role/platform-deployer", "arn:aws:iam::111111111111:role/platform-break-glass"]


def test_server_role_may_use_the_unseal_key_and_resolve_the_bound_roles_only() -> None:
    assert iam.server_role_policy(UNSEAL, [DEPLOYER], [PREVIEW]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AutoUnsealWithTheUnsealKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"],
             "Resource": UNSEAL},
            {"Sid": "ResolveAwsAuthBoundRoles", "Effect": "Allow", "Action": "iam:GetRole", "Resource": [DEPLOYER, PREVIEW]},
        ],
    }
    # Without preview roles only the deployers; a role listed twice appears once.
    assert iam.server_role_policy(UNSEAL, [DEPLOYER], [])["Statement"][1]["Resource"] == [DEPLOYER]
    assert iam.server_role_policy(UNSEAL, ADMINS, [DEPLOYER])["Statement"][1]["Resource"] == sorted(ADMINS)


def test_bootstrap_role_writes_one_secret_and_cannot_read_it() -> None:
    topic = "arn:aws:sns:eu-west-1:111111111111:platform-dev-secret-access-alarm"
    doc = iam.bootstrap_role_policy(CTX, SECRET_ARN, RECKEY, topic)
    assert doc["Statement"] == [
        {"Sid": "WriteTheRecoverySecret", "Effect": "Allow",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"], "Resource": SECRET_ARN},
        {"Sid": "EncryptTheRecoverySecretThroughSecretsManager", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": RECKEY,
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
                                        "kms:EncryptionContext:SecretARN": SECRET_ARN}}},
        {"Sid": "PublishABootstrapIncident", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
    ]
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "secretsmanager:GetSecretValue" not in actions and "secretsmanager:CreateSecret" not in actions


def test_snapshot_role_puts_objects_under_its_prefix_only() -> None:
    assert iam.snapshot_role_policy(CTX, "platform-dev-vault-snapshots-111111111111", SNAPKEY)["Statement"] == [
        {"Sid": "PutSnapshotsUnderTheirPrefix", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::platform-dev-vault-snapshots-111111111111/raft-snapshots/*"},
        {"Sid": "EncryptSnapshotsThroughS3", "Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": SNAPKEY,
         "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}},
    ]


def test_key_statements_name_each_principal_and_keep_admins_to_the_owning_service() -> None:
    assert iam.unseal_key_statements("arn:role/vault") == [{
        "Sid": "VaultServersAutoUnseal", "Effect": "Allow", "Principal": {"AWS": "arn:role/vault"},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"], "Resource": "*",
    }]
    snap = iam.snapshot_key_statements(CTX, "arn:role/snap", ADMINS)
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com", "kms:CallerAccount": "111111111111"}}
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in snap] == [
        ({"AWS": "arn:role/snap"}, "kms:GenerateDataKey", via_s3),
        ({"AWS": sorted(ADMINS)}, "kms:Decrypt", via_s3),
    ]
    rec = iam.recovery_key_statements(CTX, "arn:role/boot", ADMINS, "vault/platform-dev/recovery")
    condition = {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:CallerAccount": "111111111111"},
        "StringLike": {"kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery-??????"},
    }
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in rec] == [
        ({"AWS": "arn:role/boot"}, ["kms:Decrypt", "kms:GenerateDataKey"], condition),
        ({"AWS": sorted(ADMINS)}, "kms:Decrypt", condition),
    ]


def test_bucket_policy_denies_requests_without_tls() -> None:
    assert iam.snapshot_bucket_policy("arn:aws:s3:::b") == {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def test_recovery_secret_policy_lets_only_admins_read_and_only_bootstrap_and_admins_write() -> None:
    doc = iam.recovery_secret_policy("arn:role/boot", ADMINS)
    read, write, manage = doc["Statement"]
    assert (manage["Effect"], manage["Condition"]) == ("Deny", {"ArnNotEquals": {"aws:PrincipalArn": sorted(ADMINS)}})
    assert manage["NotAction"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                   "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"]
    assert (read["Effect"], read["Action"], read["Condition"]) == (
        "Deny", "secretsmanager:GetSecretValue", {"ArnNotEquals": {"aws:PrincipalArn": sorted(ADMINS)}})
    assert (write["Effect"], write["Action"], write["Condition"]) == (
        "Deny", ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"],
        {"ArnNotEquals": {"aws:PrincipalArn": sorted(["arn:role/boot", *ADMINS])}})


def test_recovery_secret_is_outside_every_store_scope_and_bucket_names_are_bounded() -> None:
    name = iam.recovery_secret_name("platform-dev")
    assert name == "vault/platform-dev/recovery"
    assert name.split("/")[0] not in {"development", "staging", "production", "platform"}
    assert iam.snapshot_bucket_name("platform-dev", "111111111111") == "platform-dev-vault-snapshots-111111111111"
    with pytest.raises(ValueError, match="exceeds 63"):
        iam.snapshot_bucket_name("c" * 40, "111111111111")


# --- the deployer's Vault policy -----------------------------------------------------------------

def test_deployer_policy_manages_exactly_what_phase_two_configures() -> None:
    crud = frozenset({"create", "read", "update", "delete"})
    rules = parse_policy(jobs.deployer_policy_hcl("kubernetes", "aws", "preview"))
    assert rules == {
        "sys/auth": frozenset({"read"}),
        "sys/auth/kubernetes": crud | {"sudo"},
        "sys/auth/kubernetes/tune": frozenset({"read", "update", "sudo"}),
        "sys/mounts": frozenset({"read"}),
        "sys/mounts/kv": crud,
        "sys/mounts/kv/tune": frozenset({"read", "update"}),
        "sys/audit": frozenset({"read", "sudo"}),
        "sys/audit/file": crud | {"sudo"},
        "sys/audit/stdout": crud | {"sudo"},
        "sys/policies/acl": frozenset({"list"}),
        "sys/policies/acl/app-*": crud,
        "sys/policies/acl/eso-*": crud,
        "sys/policies/acl/vault-snapshot": crud,
        "sys/policies/acl/preview": crud,
        "auth/kubernetes/config": crud,
        "auth/kubernetes/role": frozenset({"list"}),
        "auth/kubernetes/role/*": crud | {"list"},
        "auth/aws/role/preview": crud,
        "kv/config": crud,
        "kv/data/*": crud,
        "kv/metadata/*": frozenset({"read", "delete", "list"}),
        # The database engine's part (components/vault_databases.py).
        "sys/mounts/database": frozenset({"create", "read", "update", "delete"}),
        "sys/mounts/database/tune": frozenset({"read", "update"}),
        "database/config/*": frozenset({"create", "read", "update", "delete", "list"}),
        "database/roles/*": frozenset({"create", "read", "update", "delete", "list"}),
        "database/rotate-root/*": frozenset({"update"}),
    }
    assert {p for p, caps in rules.items() if "sudo" in caps} == {
        "sys/auth/kubernetes", "sys/auth/kubernetes/tune", "sys/audit", "sys/audit/file", "sys/audit/stdout"}
    assert not any(p.startswith(("sys/raw", "sys/seal", "auth/token", "sys/generate-root")) for p in rules)


@pytest.mark.parametrize("path", [
    "sys/policies/acl/deployer", "sys/policies/acl/default", "auth/aws/role/deployer", "auth/aws/config/client", "auth/aws/role/preview-2",
    "sys/auth/aws", "sys/auth/userpass", "sys/auth/kubernetes-2", "sys/mounts/secret", "sys/mounts/kv-2", "sys/audit/other",
    "kv/destroy/development/api/db-password", "kv/undelete/development/api/db-password", "auth/token/create", "sys/raw/core",
])
def test_the_deployer_policy_reaches_none_of_what_phase_two_does_not_manage(path: str) -> None:
    """The reach of its globs: apps' and stores' policies, Kubernetes roles, KV values; never its own policy or login."""
    rules = parse_policy(jobs.deployer_policy_hcl("kubernetes", "aws", "preview"))
    assert allowed_capabilities([rules], path) == frozenset(), path


def test_the_deployer_policy_reaches_every_phase_two_path_of_the_stacks() -> None:
    rules = parse_policy(jobs.deployer_policy_hcl("kubernetes", "aws", "preview"))
    for stack in ("dev", "prod"):
        settings = stack_settings(stack)
        for policy in stack_policies(settings):
            assert {"create", "update"} <= allowed_capabilities([rules], f"sys/policies/acl/{policy.name}"), policy.name
        for role in stack_roles(settings, "vault-snapshot", "vault"):
            assert {"create", "update"} <= allowed_capabilities([rules], f"auth/kubernetes/role/{role.name}"), role.name
        for path in secret_paths(settings):
            assert {"create", "update", "read"} <= allowed_capabilities([rules], f"kv/data/{path}"), path


# --- NetworkPolicies ------------------------------------------------------------------------------

INPUTS = NetworkInputs(vault_apps={"development": ["api", "web"], "staging": ["api"]}, api_server_cidrs=["10.10.0.0/16"],
                       deployer_cidrs=["10.250.0.0/24"], aws_endpoint_cidrs=["0.0.0.0/0"])

# Pod labels the external-secrets 2.9.0 chart (release external-secrets, no nameOverride) puts on
# each Deployment's pods: _helpers.tpl `*.labels` (selector labels + chart, version, managed-by).
CHART_LABELS = {"helm.sh/chart": "external-secrets-2.9.0", "app.kubernetes.io/version": "v2.9.0",
                "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "external-secrets"}
ESO_CONTROLLER_SELECTOR = {"app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "external-secrets"}


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def test_network_policies_deny_by_default_and_open_exactly_vaults_flows() -> None:
    by_name = {p["metadata"]["name"]: p["spec"] for p in network_policies(INPUTS)}
    assert list(by_name) == ["default-deny", "vault-server", "vault-agent-injector", "vault-bootstrap", "vault-snapshot"]
    assert by_name["default-deny"]["podSelector"] == {} and by_name["default-deny"]["ingress"] == []
    servers = {**_ns("vault"), "podSelector": {"matchLabels": names.SERVER_LABELS}}
    vault = by_name["vault-server"]
    assert vault["podSelector"] == {"matchLabels": names.SERVER_LABELS}
    assert vault["ingress"] == [
        {"from": [{**_ns("external-secrets"), "podSelector": {"matchLabels": ESO_CONTROLLER_SELECTOR}},
                  {**_ns("development"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
                  {**_ns("development"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}},
                  {**_ns("staging"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
                  {**_ns("vault"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault-bootstrap"}}},
                  {**_ns("vault"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault-snapshot"}}},
                  {"ipBlock": {"cidr": "10.250.0.0/24"}}],
         "ports": [{"port": 8200, "protocol": "TCP"}]},
        {"from": [servers], "ports": [{"port": 8200, "protocol": "TCP"}, {"port": 8201, "protocol": "TCP"}]},
    ]
    assert vault["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        {"to": [servers], "ports": [{"port": 8200, "protocol": "TCP"}, {"port": 8201, "protocol": "TCP"}]},
    ]
    injector = by_name["vault-agent-injector"]
    assert injector["podSelector"] == {"matchLabels": names.INJECTOR_LABELS}
    assert injector["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert injector["egress"] == [{"to": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]
    for job in ("vault-bootstrap", "vault-snapshot"):
        assert by_name[job]["ingress"] == []
        assert by_name[job]["egress"] == [
            {"to": [servers], "ports": [{"port": 8200, "protocol": "TCP"}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        ]
        assert set(by_name[job]["policyTypes"]) == {"Ingress", "Egress"}


def _admits(policy: dict[str, Any], namespace: str, pod_labels: dict[str, str], port: int) -> bool:
    """Whether ``policy``'s ingress lets a pod (namespace, labels) in on ``port``: matchLabels only, as rendered here."""
    def peer_matches(peer: dict[str, Any]) -> bool:
        assert set(peer) <= {"namespaceSelector", "podSelector", "ipBlock"}, peer
        if "ipBlock" in peer:
            return False
        ns_selector = peer.get("namespaceSelector", {"matchLabels": {"kubernetes.io/metadata.name": policy["metadata"]["namespace"]}})
        namespace_labels = {"kubernetes.io/metadata.name": namespace}
        return (ns_selector["matchLabels"].items() <= namespace_labels.items()
                and peer.get("podSelector", {}).get("matchLabels", {}).items() <= pod_labels.items())

    return any(any(peer_matches(p) for p in rule["from"])
               and any(p["port"] == port for p in rule.get("ports", [{"port": port}]))
               for rule in policy["spec"]["ingress"])


def test_vault_api_admits_the_eso_controller_pods_only() -> None:
    vault = next(p for p in network_policies(INPUTS) if p["metadata"]["name"] == "vault-server")
    controller = {**CHART_LABELS, "app.kubernetes.io/name": "external-secrets"}
    assert _admits(vault, "external-secrets", controller, 8200)
    assert not _admits(vault, "external-secrets", controller, 8201)
    assert not _admits(vault, "default", controller, 8200)
    for other in ({**CHART_LABELS, "app.kubernetes.io/name": "external-secrets-webhook"},
                  {**CHART_LABELS, "app.kubernetes.io/name": "external-secrets-cert-controller"},
                  {"app.kubernetes.io/name": "reloader", "app.kubernetes.io/instance": "reloader"}, {}):
        assert not _admits(vault, "external-secrets", other, 8200), other
    assert _admits(vault, "staging", {"app.kubernetes.io/name": "api"}, 8200)  # the matcher admits what the policy admits


def test_vault_api_admits_in_an_environment_only_the_pods_of_its_vault_apps() -> None:
    vault = next(p for p in network_policies(INPUTS) if p["metadata"]["name"] == "vault-server")
    assert _admits(vault, "development", {"app.kubernetes.io/name": "web", "pod-template-hash": "x"}, 8200)
    for namespace, labels in (("development", {}), ("development", {"app.kubernetes.io/name": "worker"}),
                              ("staging", {"app.kubernetes.io/name": "web"}), ("production", {"app.kubernetes.io/name": "api"})):
        assert not _admits(vault, namespace, labels, 8200), (namespace, labels)


def test_in_phase_1_only_the_bootstrap_job_the_deployers_and_the_servers_reach_vault() -> None:
    """Before phase 2 configures Vault, no client: nobody but the bootstrap can call an uninitialised sys/init."""
    vault = next(p for p in network_policies(replace(INPUTS, phase=1)) if p["metadata"]["name"] == "vault-server")
    servers = {**_ns("vault"), "podSelector": {"matchLabels": names.SERVER_LABELS}}
    assert vault["spec"]["ingress"] == [
        {"from": [{**_ns("vault"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault-bootstrap"}}},
                  {"ipBlock": {"cidr": "10.250.0.0/24"}}],
         "ports": [{"port": 8200, "protocol": "TCP"}]},
        {"from": [servers], "ports": [{"port": 8200, "protocol": "TCP"}, {"port": 8201, "protocol": "TCP"}]},
    ]
    controller = {**CHART_LABELS, "app.kubernetes.io/name": "external-secrets"}
    for namespace, labels in (("external-secrets", controller), ("development", {"app.kubernetes.io/name": "api"}),
                              ("vault", {"app.kubernetes.io/name": "vault-snapshot"})):
        assert not _admits(vault, namespace, labels, 8200), namespace


def test_without_deployer_cidrs_no_address_block_reaches_vault() -> None:
    spec = network_policies(replace(INPUTS, deployer_cidrs=[]))[1]["spec"]
    assert not any("ipBlock" in peer for peer in spec["ingress"][0]["from"])


# --- images and config rules ------------------------------------------------------------------------

def test_images_are_pinned_by_tag_and_digest() -> None:
    for pin in (images.VAULT, images.VAULT_K8S, images.AWS_CLI):
        assert pin.reference == f"{pin.repository}:{pin.tag}@{pin.digest}"
        assert len(pin.digest) == 71 and all(c in "0123456789abcdef" for c in pin.digest[7:])
    with pytest.raises(ValueError, match="sha256"):
        images.ImagePin("x/y", "1", "sha256:abc")


@pytest.mark.parametrize(("edit", "path", "message"), [
    ({"tlsEarlyRenewalHours": 8760}, "vault.tlsEarlyRenewalHours", "must be shorter than tlsValidityHours"),
    ({"tlsValidityHours": 17520, "caValidityHours": 17520}, "vault.tlsValidityHours", "at most half of caValidityHours"),
    ({"serverMemoryLimit": "128Mi"}, "vault.serverMemoryLimit", "is below the memory request"),
    ({"injectorMemoryLimit": "32Mi"}, "vault.injectorMemoryLimit", "is below the memory request"),
    ({"recoveryThreshold": 6}, "vault.recoveryThreshold", "at most recoveryShares"),
    ({"recoveryShares": 3, "recoveryThreshold": 1}, "vault.recoveryThreshold", "at least 2"),
    ({"deployerCidrs": ["10.0.0.1/24"]}, "vault.deployerCidrs[0]", "is not a CIDR block"),
    ({"snapshotSchedule": "@hourly"}, "vault.snapshotSchedule", "five-field numeric cron"),
    ({"snapshotSchedule": "0 */6 * * MON"}, "vault.snapshotSchedule", "five-field numeric cron"),
    ({"apiEndpoint": "https://vault.example.com/v1"}, "vault.apiEndpoint", "must match pattern"),
    ({"antiAffinity": "strict"}, "vault.antiAffinity", "must be 'soft' or 'hard'"),
    ({"deployerRoleArns": ["arn:aws:iam::111111111111:user/bob"]}, "vault.deployerRoleArns[0]", "must match pattern"),
])
def test_vault_settings_are_validated_with_their_key_path_and_a_fix(edit: dict[str, Any], path: str, message: str) -> None:
    vault = {"replicas": 3, **edit}
    with pytest.raises(ConfigError) as info:
        stack_settings("dev", vault=vault)
    rendered = [issue.render() for issue in info.value.issues]
    assert any(line.startswith(f"platform:{path}: ") and message in line and ". Fix: " in line for line in rendered), rendered


def test_stack_defaults_and_overrides_reach_the_model() -> None:
    dev, prod = stack_settings("dev").vault, stack_settings("prod").vault
    assert (dev.anti_affinity, dev.zone_spread, prod.zone_spread) == ("soft", "soft", "hard")
    assert dev.deployer_role_arns == ["arn:aws:iam::111111111111:role/platform-deployer"]
    assert (dev.preview_role_arns, prod.preview_role_arns) == (
        ["arn:aws:iam::111111111111:role/platform-preview"], ["arn:aws:iam::222222222222:role/platform-preview"])
    assert (dev.login.role, dev.login.preview_role) == ("deployer", "preview")
    assert stack_settings("dev").deployer_role_arns == ["arn:aws:iam::111111111111:role/platform-deployer"]
    aws = stack_config_objects("dev")["platform:aws"]
    routine_aws = {k: v for k, v in aws.items() if k != "breakGlassRoleArns"}  # a break-glass role is never a deployer
    default_deployers = stack_settings("dev", vault={"replicas": 3}, aws=routine_aws).deployer_role_arns
    assert default_deployers == sorted(aws["adminRoleArns"])  # the default: every administrator
    assert json.dumps(prod.aws_endpoint_cidrs) == '["0.0.0.0/0"]'
