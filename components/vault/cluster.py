"""VaultCluster: Vault in Raft HA with TLS, KMS auto-unseal, an in-cluster bootstrap, snapshots and NetworkPolicies.

Registration order follows what AWS and Kubernetes need to exist first: IRSA roles
(key policies name them), KMS keys, the recovery secret and the snapshot bucket, the
roles' permissions, TLS, then the Kubernetes objects and the release (which does not
wait for its pods: they stay sealed until the bootstrap job has initialised Vault),
then the bootstrap Job (which ``pulumi up`` does wait for) and the snapshot CronJob.

Phase 1 and phase 2 differ only in what needs a configured Vault: the snapshot
CronJob is suspended until phase 2 creates its Vault role. Nothing here talks to Vault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.aws_context import AwsContext
from components.charts import chart_spec, install_chart
from components.config import StackConfig
from components.irsa import IrsaRole
from components.kms import KmsKey, key_policy
from components.namespaces import MANAGED_BY
from components.naming import alarm_topic_name
from components.network_policy import create_network_policy
from components.vault import iam, jobs, names, server
from components.vault import tls as tls_names
from components.vault.network import NetworkInputs, network_policies, vault_apps
from components.vault_databases import database_roles

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
RECOVERY_SECRET_WINDOW_DAYS = 30  # the recovery material always gets the longest recovery window
SNAPSHOT_NONCURRENT_DAYS = 7
BOOTSTRAP_TIMEOUT = "20m"


def _json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True)


class VaultCluster(pulumi.ComponentResource):
    """The Vault cluster of one stack and everything it needs to start, unseal, back up and be reached.

    ``aws_context`` is the stack's partition, region, account and DNS suffix
    (``components.providers.aws_context``), resolved once beside the providers: the IAM
    documents' ARNs and service names and the STS endpoint are built from it.
    """

    ca_cert_pem: pulumi.Output[str]
    internal_address: str
    active_address: str
    api_endpoint: str
    unseal_key_arn: pulumi.Output[str]
    snapshot_key_arn: pulumi.Output[str]
    recovery_key_arn: pulumi.Output[str]
    recovery_secret_name: str
    recovery_secret_arn: pulumi.Output[str]
    snapshot_bucket_name: str
    server_role_arn: pulumi.Output[str]
    server_iam_policy: aws.iam.RolePolicy  # what Vault may do in AWS: unseal, resolve the AWS auth roles' principals
    bootstrap_role_arn: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        *,
        settings: StackConfig,
        aws_provider: aws.Provider,
        aws_context: pulumi.Output[AwsContext],
        k8s_provider: k8s.Provider,
        namespace: k8s.core.v1.Namespace,
        client_namespaces: Mapping[str, k8s.core.v1.Namespace],
        tls_provider: tls.Provider | None = None,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:vault:VaultCluster", name, None, opts)
        vault_cfg = settings.vault
        cluster = settings.cluster.name
        admins = sorted(settings.aws.admin_role_arns)
        deployers = settings.deployer_role_arns
        previews = sorted(vault_cfg.preview_role_arns)
        aws_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        stateful_aws = pulumi.ResourceOptions(parent=self, provider=aws_provider, protect=protect)

        # Names other components (VaultConfig, ExternalSecrets, the phase 2 provider) use.
        self.internal_address = names.INTERNAL_ADDRESS
        self.active_address = names.ACTIVE_ADDRESS
        self.api_endpoint = vault_cfg.api_endpoint
        self.vault_namespace = names.NAMESPACE
        self.ca_config_map = names.CA_CONFIG_MAP
        self.ca_config_map_key = names.CA_KEY
        self.aws_auth_mount = vault_cfg.login.mount
        self.deployer_auth_role = vault_cfg.login.role
        self.deployer_policy = names.DEPLOYER_POLICY
        self.preview_auth_role = vault_cfg.login.preview_role
        self.preview_role_arns = previews
        self.iam_server_id_header = vault_cfg.login.iam_server_id_header
        # AWS auth verifies logins at this regional STS endpoint: the phase 2 provider must sign for it
        # (auth_login_aws: aws_sts_endpoint and aws_region), or the signature does not match.
        self.sts_region = settings.aws.region
        self.sts_endpoint: pulumi.Output[str] = aws_context.apply(lambda c: c.sts_endpoint)
        self.kubernetes_auth_path = names.KUBERNETES_AUTH_PATH
        self.snapshot_service_account = names.SNAPSHOT
        self.snapshot_auth_role = names.SNAPSHOT_ROLE
        self.snapshot_policy = names.SNAPSHOT_POLICY
        self.snapshot_token_audience = names.SNAPSHOT_TOKEN_AUDIENCE
        self.audit_dir = server.AUDIT_PATH
        self.snapshot_bucket_name = iam.snapshot_bucket_name(cluster, settings.aws.account_id)
        recovery_name = iam.recovery_secret_name(cluster)

        # --- IRSA roles first: the key policies below name them --------------------------------
        def role(resource_name: str, sa: str) -> IrsaRole:
            return IrsaRole(resource_name, cluster=settings.cluster, namespace=names.NAMESPACE, service_account=sa,
                            aws_provider=aws_provider, opts=pulumi.ResourceOptions(parent=self))

        server_role = role("vault-server", names.SERVER_SERVICE_ACCOUNT)
        bootstrap_role = role(names.BOOTSTRAP, names.BOOTSTRAP)
        snapshot_role = role(names.SNAPSHOT, names.SNAPSHOT)
        self.server_role_arn = server_role.arn

        # --- KMS: one customer-managed key per purpose ------------------------------------------
        unseal_key = KmsKey(
            "vault-unseal", alias=f"{cluster}/vault-unseal", description=f"Vault auto-unseal of the {cluster} platform",
            aws_provider=aws_provider, protect=protect, opts=pulumi.ResourceOptions(parent=self),
            policy=server_role.arn.apply(lambda arn: key_policy(admin_arns=admins, usage_statements=iam.unseal_key_statements(arn))),
        )
        snapshot_key = KmsKey(
            "vault-snapshots", alias=f"{cluster}/vault-snapshots", description=f"Vault Raft snapshots of the {cluster} platform",
            aws_provider=aws_provider, protect=protect, opts=pulumi.ResourceOptions(parent=self),
            policy=pulumi.Output.all(aws_context, snapshot_role.arn).apply(
                lambda a: key_policy(admin_arns=admins, usage_statements=iam.snapshot_key_statements(a[0], a[1], admins))
            ),
        )
        recovery_key = KmsKey(
            "vault-recovery", alias=f"{cluster}/vault-recovery", description=f"Vault recovery material of the {cluster} platform",
            aws_provider=aws_provider, protect=protect, opts=pulumi.ResourceOptions(parent=self),
            policy=pulumi.Output.all(aws_context, bootstrap_role.arn).apply(
                lambda a: key_policy(admin_arns=admins, usage_statements=iam.recovery_key_statements(a[0], a[1], admins, recovery_name))
            ),
        )
        self.unseal_key_arn = unseal_key.arn
        self.snapshot_key_arn = snapshot_key.arn
        self.recovery_key_arn = recovery_key.arn

        # --- Recovery material: a secret without a value; the bootstrap job writes it -------------
        recovery_secret = aws.secretsmanager.Secret(
            "vault-recovery",
            name=recovery_name,
            description=f"Vault recovery keys of {cluster}, written once by the in-cluster bootstrap job (break-glass only)",
            kms_key_id=recovery_key.arn,
            recovery_window_in_days=RECOVERY_SECRET_WINDOW_DAYS,
            tags={"purpose": "vault-recovery", "cluster": cluster},
            opts=stateful_aws,
        )
        recovery_policy = aws.secretsmanager.SecretPolicy(
            "vault-recovery",
            secret_arn=recovery_secret.arn,
            block_public_policy=True,
            policy=bootstrap_role.arn.apply(lambda arn: _json(iam.recovery_secret_policy(arn, admins))),
            opts=aws_opts,
        )
        self.recovery_secret_name = recovery_name
        self.recovery_secret_arn = recovery_secret.arn

        # --- Snapshot bucket ---------------------------------------------------------------------
        bucket = self._snapshot_bucket(aws_context, snapshot_key.arn, vault_cfg.snapshot_retention_days, aws_opts, stateful_aws)

        # --- Role permissions, now that keys, secret and bucket exist ------------------------------
        server_policy = server_role.attach_policy(unseal_key.arn.apply(lambda arn: iam.server_role_policy(arn, deployers, previews)))
        self.server_iam_policy = server_policy
        # The alarm topic is AwsSecrets' (created after this component): its ARN follows from its name.
        self.alarm_topic_arn: pulumi.Output[str] = aws_context.apply(lambda c: c.topic_arn(alarm_topic_name(cluster)))
        self.bootstrap_role_arn = bootstrap_role.arn  # AwsSecrets' alarm key lets it encrypt an incident for the topic
        bootstrap_policy = bootstrap_role.attach_policy(
            pulumi.Output.all(aws_context, recovery_secret.arn, recovery_key.arn, self.alarm_topic_arn).apply(
                lambda a: iam.bootstrap_role_policy(a[0], a[1], a[2], a[3])
            )
        )
        snapshot_policy = snapshot_role.attach_policy(
            pulumi.Output.all(aws_context, snapshot_key.arn).apply(lambda a: iam.snapshot_role_policy(a[0], self.snapshot_bucket_name, a[1]))
        )

        # --- TLS ------------------------------------------------------------------------------------
        tls_provider = tls_provider or tls.Provider("tls", opts=pulumi.ResourceOptions(parent=self))
        tls_opts = pulumi.ResourceOptions(parent=self, provider=tls_provider)
        ca_key = tls.PrivateKey("vault-ca", algorithm=tls_names.KEY_ALGORITHM, ecdsa_curve=tls_names.KEY_CURVE, opts=tls_opts)
        ca_cert = tls.SelfSignedCert(
            "vault-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(**tls_names.ca_subject(cluster)),
            validity_period_hours=vault_cfg.ca_validity_hours,
            # Renew the CA before it would expire ahead of a freshly issued server certificate.
            early_renewal_hours=vault_cfg.tls_validity_hours,
            allowed_uses=list(tls_names.CA_ALLOWED_USES),
            opts=tls_opts,
        )
        server_key = tls.PrivateKey("vault-server", algorithm=tls_names.KEY_ALGORITHM, ecdsa_curve=tls_names.KEY_CURVE, opts=tls_opts)
        csr = tls.CertRequest(
            "vault-server",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(**tls_names.server_subject()),
            dns_names=tls_names.server_dns_names(vault_cfg.replicas, vault_cfg.api_endpoint),
            ip_addresses=list(tls_names.LOOPBACK_IPS),
            opts=tls_opts,
        )
        server_cert = tls.LocallySignedCert(
            "vault-server",
            cert_request_pem=csr.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca_cert.cert_pem,
            validity_period_hours=vault_cfg.tls_validity_hours,
            early_renewal_hours=vault_cfg.tls_early_renewal_hours,
            allowed_uses=list(tls_names.SERVER_ALLOWED_USES),
            opts=tls_opts,
        )
        self.ca_cert_pem = ca_cert.cert_pem

        # --- Kubernetes objects -----------------------------------------------------------------------
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[namespace])
        storage_class = k8s.storage.v1.StorageClass(
            "vault-storage",
            metadata={"name": vault_cfg.storage_class, "labels": dict(MANAGED_BY)},
            provisioner=EBS_CSI_PROVISIONER,
            parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            # Retain where state must survive a stray delete (prod): the EBS volume outlives its claim.
            reclaim_policy="Retain" if protect else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, protect=protect),
        )
        tls_secret = k8s.core.v1.Secret(
            "vault-tls",
            metadata={"name": names.TLS_SECRET, "namespace": names.NAMESPACE, "labels": dict(MANAGED_BY)},
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": server_cert.cert_pem,
                # Secret already (tls marks private_key_pem so); said again where it lands.
                "tls.key": pulumi.Output.secret(cast(Any, server_key.private_key_pem)),
                names.CA_KEY: ca_cert.cert_pem,
            },
            opts=k8s_opts,
        )
        ca_maps = [
            k8s.core.v1.ConfigMap(
                f"vault-ca-{ns_name}",
                metadata={"name": names.CA_CONFIG_MAP, "namespace": ns_name, "labels": dict(MANAGED_BY)},
                data={names.CA_KEY: ca_cert.cert_pem},
                opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[ns]),
            )
            for ns_name, ns in {names.NAMESPACE: namespace, **client_namespaces}.items()
        ]
        server_sa = k8s.core.v1.ServiceAccount(
            "vault-server",
            metadata={
                "name": names.SERVER_SERVICE_ACCOUNT,
                "namespace": names.NAMESPACE,
                "labels": dict(MANAGED_BY),
                "annotations": {"eks.amazonaws.com/role-arn": server_role.arn},
            },
            opts=k8s_opts,
        )
        job_accounts = []
        for sa, arn in ((names.BOOTSTRAP, bootstrap_role.arn), (names.SNAPSHOT, snapshot_role.arn)):
            manifest = jobs.service_account_manifest(sa, arn)
            job_accounts.append(k8s.core.v1.ServiceAccount(
                sa, metadata=manifest["metadata"], automount_service_account_token=manifest["automountServiceAccountToken"], opts=k8s_opts,
            ))
        policies = [
            create_network_policy(f"vault-netpol-{m['metadata']['name']}", m, provider=k8s_provider, parent=self, depends_on=[namespace])
            for m in network_policies(NetworkInputs(
                vault_apps=vault_apps(settings),
                phase=settings.vault_phase,
                api_server_cidrs=settings.cluster.api_server_cidrs,
                deployer_cidrs=vault_cfg.deployer_cidrs,
                aws_endpoint_cidrs=vault_cfg.aws_endpoint_cidrs,
                databases=sorted({(tuple(db.database.cidrs), db.database.port) for db in database_roles(settings)}),
            ))
        ]

        # --- The release: it must not wait for pods that stay sealed until the bootstrap ---------------
        spec = server.ServerSpec(
            replicas=vault_cfg.replicas,
            cluster_name=cluster,
            region=settings.aws.region,
            storage_class=vault_cfg.storage_class,
            data_storage_size=vault_cfg.data_storage_size,
            audit_storage_size=vault_cfg.audit_storage_size,
            anti_affinity=vault_cfg.anti_affinity,
            zone_spread=vault_cfg.zone_spread,
            server_cpu_request=vault_cfg.server_cpu_request,
            server_memory_request=vault_cfg.server_memory_request,
            server_memory_limit=vault_cfg.server_memory_limit,
            injector_cpu_request=vault_cfg.injector_cpu_request,
            injector_memory_request=vault_cfg.injector_memory_request,
            injector_memory_limit=vault_cfg.injector_memory_limit,
            injector_namespaces=list(settings.environments),
        )
        raft_config = unseal_key.key_id.apply(lambda key_id: server.server_config(spec, key_id))
        self.release = install_chart(
            "vault",
            chart_spec("vault", settings, skip_await=True),
            server.helm_values(spec, raft_config),
            provider=k8s_provider,
            parent=self,
            depends_on=[namespace, storage_class, tls_secret, server_sa, server_policy, *policies],
        )

        # --- Bootstrap Job: initialise once, recovery material to Secrets Manager, AWS auth, revoke ----
        bootstrap_data = jobs.scripts_data(
            jobs.BOOTSTRAP_SCRIPTS,
            {jobs.DEPLOYER_POLICY_FILE: jobs.deployer_policy_hcl(names.KUBERNETES_AUTH_PATH, vault_cfg.login.mount, vault_cfg.login.preview_role)},
        )
        bootstrap_scripts = k8s.core.v1.ConfigMap(
            "vault-bootstrap-scripts", **jobs.config_map_manifest(jobs.SCRIPTS_CONFIG_MAP, bootstrap_data, names.BOOTSTRAP), opts=k8s_opts,
        )
        bootstrap = jobs.bootstrap_job_manifest(
            scripts_hash=jobs.data_hash(bootstrap_data),
            recovery_secret_arn=recovery_secret.arn,
            region=settings.aws.region,
            recovery_shares=vault_cfg.recovery_shares,
            recovery_threshold=vault_cfg.recovery_threshold,
            deployer_role_arns=deployers,
            iam_server_id_header=vault_cfg.login.iam_server_id_header,
            sts_endpoint=self.sts_endpoint,
            aws_auth_path=vault_cfg.login.mount,
            deployer_role=vault_cfg.login.role,
            cluster_name=cluster,
            alarm_topic_arn=self.alarm_topic_arn,
        )
        self.bootstrap_job = k8s.batch.v1.Job(
            "vault-bootstrap",
            metadata=bootstrap["metadata"],
            spec=bootstrap["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=k8s_provider,
                depends_on=[self.release, bootstrap_scripts, *ca_maps, *job_accounts, recovery_policy, bootstrap_policy, *policies],
                custom_timeouts=pulumi.CustomTimeouts(create=BOOTSTRAP_TIMEOUT, update=BOOTSTRAP_TIMEOUT),
            ),
        )

        # --- Snapshots ------------------------------------------------------------------------------------
        snapshot_data = jobs.scripts_data(jobs.SNAPSHOT_SCRIPTS)
        snapshot_scripts = k8s.core.v1.ConfigMap(
            "vault-snapshot-scripts", **jobs.config_map_manifest(jobs.SNAPSHOT_SCRIPTS_CONFIG_MAP, snapshot_data, names.SNAPSHOT),
            opts=k8s_opts,
        )
        cronjob = jobs.snapshot_cronjob_manifest(
            scripts_hash=jobs.data_hash(snapshot_data),
            schedule=vault_cfg.snapshot_schedule,
            suspend=settings.vault_phase == 1,  # its Vault role arrives with phase 2
            bucket=bucket.bucket,
            region=settings.aws.region,
            scratch_size=vault_cfg.data_storage_size,
            kubernetes_auth_path=names.KUBERNETES_AUTH_PATH,
        )
        k8s.batch.v1.CronJob(
            "vault-snapshot",
            metadata=cronjob["metadata"],
            spec=cronjob["spec"],
            opts=pulumi.ResourceOptions(
                parent=self, provider=k8s_provider,
                depends_on=[self.release, snapshot_scripts, *ca_maps, *job_accounts, snapshot_policy, *policies],
            ),
        )

        self.register_outputs({
            "caCertPem": self.ca_cert_pem,
            "internalAddress": self.internal_address,
            "apiEndpoint": self.api_endpoint,
            "unsealKeyArn": self.unseal_key_arn,
            "snapshotKeyArn": self.snapshot_key_arn,
            "recoveryKeyArn": self.recovery_key_arn,
            "recoverySecretName": self.recovery_secret_name,
            "recoverySecretArn": self.recovery_secret_arn,
            "snapshotBucket": self.snapshot_bucket_name,
            "deployerAuthRole": self.deployer_auth_role,
            "previewAuthRole": self.preview_auth_role,
            "snapshotAuthRole": self.snapshot_auth_role,
            "snapshotPolicy": self.snapshot_policy,
        })

    def _snapshot_bucket(
        self,
        ctx: pulumi.Output[AwsContext],
        key_arn: pulumi.Output[str],
        retention_days: int,
        aws_opts: pulumi.ResourceOptions,
        stateful_aws: pulumi.ResourceOptions,
    ) -> aws.s3.Bucket:
        name = self.snapshot_bucket_name
        bucket = aws.s3.Bucket(
            "vault-snapshots", bucket=name, force_destroy=False, tags={"purpose": "vault-snapshots"}, opts=stateful_aws,
        )
        block = aws.s3.BucketPublicAccessBlock(
            "vault-snapshots", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=aws_opts,
        )
        aws.s3.BucketOwnershipControls(
            "vault-snapshots", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=aws_opts,
        )
        aws.s3.BucketVersioning("vault-snapshots", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=aws_opts)
        aws.s3.BucketServerSideEncryptionConfiguration(
            "vault-snapshots",
            bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn},
                "bucket_key_enabled": True,
            }],
            opts=aws_opts,
        )
        aws.s3.BucketLifecycleConfiguration(
            "vault-snapshots",
            bucket=bucket.id,
            rules=[{
                "id": "expire-snapshots",
                "status": "Enabled",
                "filter": {"prefix": f"{names.SNAPSHOT_PREFIX}/"},
                "expiration": {"days": retention_days},
                "noncurrent_version_expiration": {"noncurrent_days": SNAPSHOT_NONCURRENT_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }],
            opts=aws_opts,
        )
        aws.s3.BucketPolicy(
            "vault-snapshots",
            bucket=bucket.id,
            policy=ctx.apply(lambda c: _json(iam.snapshot_bucket_policy(c.bucket_arn(name)))),
            opts=pulumi.ResourceOptions(parent=self, provider=aws_opts.provider, depends_on=[block]),
        )
        return bucket
