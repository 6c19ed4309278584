"""The bootstrap Job and the snapshot CronJob, as pure manifest builders.

**Bootstrap** (docs/bootstrap.md). One pod, three containers run in order, sharing
``/work``, a memory-backed emptyDir (tmpfs: never written to a disk):

1. ``init`` (vault image) waits for ``vault-0`` to answer and, only if Vault is not
   initialised, runs ``vault operator init`` with recovery shares (auto-unseal makes
   them recovery keys), keeps its output until it is split into the recovery material
   and the root token, and refuses output without recovery keys (a Shamir seal);
2. ``store`` (aws-cli image) puts the recovery material into the one Secrets Manager
   secret this component creates without a value, retrying for ten minutes; on a Vault
   initialised before, it checks the secret holds material, and otherwise reports an
   incident to the alarm topic and fails;
3. ``configure`` (vault image) uses the root token to enable the AWS auth method, write
   the deployer's policy and role, and revokes the token, deleting it only once Vault
   answers that it is invalid.

``restartPolicy: OnFailure`` restarts a failed container inside the same pod, so the
memory volume (and what ``init`` wrote to it) survives a retry, and every step is safe
to rerun from any point. The job's service account mounts no Kubernetes token and has
no RBAC: it talks only to Vault and AWS. On a Vault initialised before with its material
stored every step is a no-op, so the Job may be re-created (a new image digest or
script) at any time.

**Snapshots**: a CronJob (``concurrencyPolicy: Forbid``) whose ``save`` init container
logs in with Kubernetes auth as ``vault-snapshot`` (a projected token whose audience is
``vault``, useless against the Kubernetes API) and saves a Raft snapshot to a scratch
volume; the ``upload`` container puts it into the bucket with the IRSA role. The
CronJob is suspended in phase 1: its Vault role is created in phase 2.

No manifest holds a secret: the scripts and the deployer's policy are public text in a
ConfigMap, and every value they handle is read at run time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from components.namespaces import MANAGED_BY
from components.vault import images, names
from components.vault.server import container_security_context, pod_security_context
from components.vault_databases import DEPLOYER_DATABASE_RULES
from components.vault_policies import APP_POLICY_PREFIX, AUDIT_DEVICE_PATHS, ESO_POLICY_PREFIX, PREVIEW_POLICY, SNAPSHOT_POLICY

SCRIPTS_CONFIG_MAP = f"{names.BOOTSTRAP}-scripts"
SNAPSHOT_SCRIPTS_CONFIG_MAP = f"{names.SNAPSHOT}-scripts"
BOOTSTRAP_SCRIPTS = ("bootstrap-init.sh", "split-init-output.awk", "bootstrap-store.sh", "bootstrap-configure.sh")
SNAPSHOT_SCRIPTS = ("snapshot-save.sh", "snapshot-upload.sh")
DEPLOYER_POLICY_FILE = "deployer-policy.hcl"
SCRIPT_HASH_ANNOTATION = "platform.secrets/scripts-sha256"
CA_MOUNT = "/vault-ca"
SNAPSHOT_TOKEN_PATH = "/var/run/secrets/vault"
JOB_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
BOOTSTRAP_DEADLINE_SECONDS = 3600
SNAPSHOT_DEADLINE_SECONDS = 1800


def script(name: str) -> str:
    return resources.files("components.vault").joinpath("scripts", name).read_text()


CRUD = ("create", "read", "update", "delete")


def deployer_policy_rules(kubernetes_auth_path: str, aws_auth_path: str, preview_role: str) -> list[tuple[str, tuple[str, ...]]]:
    """The deployer's Vault policy as (path, capabilities): exactly what phase 2 (VaultConfig) manages.

    Exact paths, so the deployer cannot write its own policy (``sys/policies/acl/deployer``), its
    own login role (``auth/<aws>/role/<deployer role>``), the AWS auth method's configuration,
    other auth methods, mounts or audit devices. Three globs, because phase 2 adds one per app or
    environment without the bootstrap running again: the ``app-*`` and ``eso-*`` policies and the
    Kubernetes auth roles; under ``kv/``, the values phase 2 writes (``data/``, ``metadata/``).
    ``sudo`` only where Vault requires it (the root-protected ``sys/auth/<path>`` and ``sys/audit*``).

    What stays: the deployer writes the policies and the Kubernetes roles that hand them out, so
    it can give a service account of the cluster any grant (Vault's parameter constraints do not
    check list elements such as ``token_policies``). It administers Vault's configuration by
    design, which is why only the deployer's IAM roles log in as it.
    """
    policies = "sys/policies/acl"
    return [
        ("sys/auth", ("read",)),
        (f"sys/auth/{kubernetes_auth_path}", (*CRUD, "sudo")),
        (f"sys/auth/{kubernetes_auth_path}/tune", ("read", "update", "sudo")),
        ("sys/mounts", ("read",)),
        (f"sys/mounts/{names.KV_MOUNT}", CRUD),
        (f"sys/mounts/{names.KV_MOUNT}/tune", ("read", "update")),
        ("sys/audit", ("read", "sudo")),
        *((f"sys/audit/{device}", (*CRUD, "sudo")) for device in AUDIT_DEVICE_PATHS),
        (policies, ("list",)),
        (f"{policies}/{APP_POLICY_PREFIX}*", CRUD),  # glob: the policy of every app, app-<env>-<app>
        (f"{policies}/{ESO_POLICY_PREFIX}*", CRUD),  # glob: the policy of every store scope, eso-<scope>
        (f"{policies}/{SNAPSHOT_POLICY}", CRUD),
        (f"{policies}/{PREVIEW_POLICY}", CRUD),
        (f"auth/{kubernetes_auth_path}/config", CRUD),
        (f"auth/{kubernetes_auth_path}/role", ("list",)),
        (f"auth/{kubernetes_auth_path}/role/*", (*CRUD, "list")),  # glob: a role per app, store and the snapshot job
        (f"auth/{aws_auth_path}/role/{preview_role}", CRUD),
        (f"{names.KV_MOUNT}/config", CRUD),
        (f"{names.KV_MOUNT}/data/*", CRUD),  # glob: the values of every <scope>/<app>/<key>
        (f"{names.KV_MOUNT}/metadata/*", ("read", "delete", "list")),
        *DEPLOYER_DATABASE_RULES,  # the database engine's part (components/vault_databases.py): its mount, connections, roles, root rotations
    ]


def deployer_policy_hcl(kubernetes_auth_path: str, aws_auth_path: str, preview_role: str) -> str:
    blocks = []
    for path, caps in deployer_policy_rules(kubernetes_auth_path, aws_auth_path, preview_role):
        quoted = ", ".join(f'"{c}"' for c in caps)
        blocks.append(f'path "{path}" {{\n  capabilities = [{quoted}]\n}}\n')
    return f"# {names.DEPLOYER_POLICY}: written by the bootstrap job; what `pulumi up` manages in phase 2.\n" + "\n".join(blocks)


def scripts_data(script_names: Sequence[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    data = {n: script(n) for n in script_names}
    data.update(extra or {})
    return data


def data_hash(data: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(data):
        digest.update(key.encode() + b"\0" + data[key].encode() + b"\0")
    return digest.hexdigest()


def _labels(name: str) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/name": name, "app.kubernetes.io/component": name.removeprefix(f"{names.RELEASE}-")}


def _env(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _container(name: str, image: str, script_file: str, env: Mapping[str, Any], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", f"/scripts/{script_file}"],
        "env": _env({"HOME": "/tmp", **env}),
        "resources": JOB_RESOURCES,
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *mounts],
    }


def service_account_manifest(name: str, role_arn: Any) -> dict[str, Any]:
    """A job's service account: the IRSA annotation, no Kubernetes API token mounted."""
    return {
        "metadata": {
            "name": name,
            "namespace": names.NAMESPACE,
            "labels": _labels(name),
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "automountServiceAccountToken": False,
    }


def config_map_manifest(name: str, data: Mapping[str, str], component: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": names.NAMESPACE, "labels": _labels(component)}, "data": dict(data)}


def bootstrap_job_manifest(
    *,
    scripts_hash: str,
    recovery_secret_arn: Any,
    region: str,
    recovery_shares: int,
    recovery_threshold: int,
    deployer_role_arns: Sequence[str],
    iam_server_id_header: str,
    sts_endpoint: Any,
    aws_auth_path: str,
    deployer_role: str,
    cluster_name: str,
    alarm_topic_arn: Any,
) -> dict[str, Any]:
    vault_env = {"VAULT_ADDR": names.pod_address(0), "VAULT_CACERT": f"{CA_MOUNT}/{names.CA_KEY}"}
    work = {"name": "work", "mountPath": "/work"}
    scripts = {"name": "scripts", "mountPath": "/scripts", "readOnly": True}
    ca = {"name": "vault-ca", "mountPath": CA_MOUNT, "readOnly": True}
    init = _container("init", images.VAULT.reference, "bootstrap-init.sh", {
        **vault_env, "RECOVERY_SHARES": str(recovery_shares), "RECOVERY_THRESHOLD": str(recovery_threshold),
    }, [work, scripts, ca])
    store = _container("store", images.AWS_CLI.reference, "bootstrap-store.sh", {
        "RECOVERY_SECRET_ARN": recovery_secret_arn, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        # A Vault initialised without its material here is an incident: the store step says so on the alarm topic.
        "VAULT_CLUSTER": cluster_name, "ALARM_TOPIC_ARN": alarm_topic_arn,
    }, [work, scripts])
    configure = _container("configure", images.VAULT.reference, "bootstrap-configure.sh", {
        **vault_env,
        "AWS_AUTH_PATH": aws_auth_path,
        "IAM_SERVER_ID_HEADER_VALUE": iam_server_id_header,
        "STS_ENDPOINT": sts_endpoint,
        "STS_REGION": region,
        "DEPLOYER_ROLE": deployer_role,
        "DEPLOYER_POLICY": names.DEPLOYER_POLICY,
        "DEPLOYER_ROLE_ARNS": ",".join(sorted(deployer_role_arns)),
        "DEPLOYER_TOKEN_TTL": names.DEPLOYER_TOKEN_TTL,
        "DEPLOYER_TOKEN_MAX_TTL": names.DEPLOYER_TOKEN_MAX_TTL,
    }, [work, scripts, ca])
    return {
        "metadata": {"name": names.BOOTSTRAP, "namespace": names.NAMESPACE, "labels": _labels(names.BOOTSTRAP)},
        "spec": {
            "backoffLimit": 6,
            "activeDeadlineSeconds": BOOTSTRAP_DEADLINE_SECONDS,
            "template": {
                "metadata": {
                    "labels": {**_labels(names.BOOTSTRAP), **names.BOOTSTRAP_LABELS},
                    "annotations": {SCRIPT_HASH_ANNOTATION: scripts_hash},
                },
                "spec": {
                    "serviceAccountName": names.BOOTSTRAP,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "OnFailure",
                    "securityContext": pod_security_context(),
                    "initContainers": [init, store],
                    "containers": [configure],
                    "volumes": [
                        # tmpfs: the recovery material and the root token never touch a disk.
                        {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                        {"name": "scripts", "configMap": {"name": SCRIPTS_CONFIG_MAP, "defaultMode": 0o444}},
                        {"name": "vault-ca", "configMap": {"name": names.CA_CONFIG_MAP, "defaultMode": 0o444}},
                    ],
                },
            },
        },
    }


def snapshot_cronjob_manifest(
    *,
    scripts_hash: str,
    schedule: str,
    suspend: bool,
    bucket: Any,
    region: str,
    scratch_size: str,
    kubernetes_auth_path: str,
) -> dict[str, Any]:
    scripts = {"name": "scripts", "mountPath": "/scripts", "readOnly": True}
    scratch = {"name": "snapshots", "mountPath": "/snapshots"}
    save = _container("save", images.VAULT.reference, "snapshot-save.sh", {
        "VAULT_ADDR": names.ACTIVE_ADDRESS,
        "VAULT_CACERT": f"{CA_MOUNT}/{names.CA_KEY}",
        "KUBERNETES_AUTH_PATH": kubernetes_auth_path,
        "SNAPSHOT_ROLE": names.SNAPSHOT_ROLE,
    }, [scripts, scratch, {"name": "vault-ca", "mountPath": CA_MOUNT, "readOnly": True},
        {"name": "vault-token", "mountPath": SNAPSHOT_TOKEN_PATH, "readOnly": True}])
    upload = _container("upload", images.AWS_CLI.reference, "snapshot-upload.sh", {
        "SNAPSHOT_BUCKET": bucket, "SNAPSHOT_PREFIX": names.SNAPSHOT_PREFIX, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
    }, [scripts, {**scratch, "readOnly": True}])
    pod_labels = {**_labels(names.SNAPSHOT), **names.SNAPSHOT_LABELS}
    return {
        "metadata": {"name": names.SNAPSHOT, "namespace": names.NAMESPACE, "labels": _labels(names.SNAPSHOT)},
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": SNAPSHOT_DEADLINE_SECONDS,
                    "template": {
                        "metadata": {"labels": pod_labels, "annotations": {SCRIPT_HASH_ANNOTATION: scripts_hash}},
                        "spec": {
                            "serviceAccountName": names.SNAPSHOT,
                            "automountServiceAccountToken": False,
                            "restartPolicy": "Never",
                            "securityContext": pod_security_context(),
                            "initContainers": [save],
                            "containers": [upload],
                            "volumes": [
                                {"name": "snapshots", "emptyDir": {"sizeLimit": scratch_size}},
                                {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                                {"name": "scripts", "configMap": {"name": SNAPSHOT_SCRIPTS_CONFIG_MAP, "defaultMode": 0o444}},
                                {"name": "vault-ca", "configMap": {"name": names.CA_CONFIG_MAP, "defaultMode": 0o444}},
                                {"name": "vault-token", "projected": {"defaultMode": 0o440, "sources": [{"serviceAccountToken": {
                                    "audience": names.SNAPSHOT_TOKEN_AUDIENCE, "expirationSeconds": 600, "path": "token",
                                }}]}},
                            ],
                        },
                    },
                },
            },
        },
    }
