"""Every rule with its name, description, remediation, default level, scope and config schema.

The pack (``policies/pack.py``), the offline runner and the README all read this list; a
rule's config defaults are written once, in its schema.
"""

from __future__ import annotations

import json

from policies.rules import advisory, api_versions, least_privilege, secrets, tls
from policies.rules.core import ADVISORY, MANDATORY, RuleSpec, integer_setting, string_list, string_setting

ALLOWED_SECRETS = ["vault/vault-tls"]
_SECRET_KEY_SETTINGS = {
    "extraSecretKeyWords": string_list("More words that make a key secret-like (lower case).", []),
    "ignoredKeys": string_list("Exact key names never treated as secret-like.", []),
}
_PROD = string_list("Stacks treated as production.", ["prod"])
_VAULT_CHARTS = string_list("Chart names that install Vault.", ["vault"])

RULES: tuple[RuleSpec, ...] = (
    # --- secrets ---------------------------------------------------------------------------
    RuleSpec(
        name="no-plaintext-secret-values",
        description="Helm values, ConfigMap data and Argo CD Helm parameters/values hold no literal secrets.",
        remediation=(
            "Keep the value in Vault or Secrets Manager and deliver it with an ExternalSecret; point the "
            "chart at the resulting Secret (existingSecret / secretKeyRef) instead of passing the value."
        ),
        enforcement=MANDATORY,
        category="secrets",
        resource_fn=secrets.no_plaintext_secret_values,
        config_schema=_SECRET_KEY_SETTINGS,
    ),
    RuleSpec(
        name="env-secrets-from-refs",
        description="Container env vars and flags with secret-like names take their value from a Secret.",
        remediation="Replace env[].value with env[].valueFrom.secretKeyRef (a Secret written by External Secrets).",
        enforcement=MANDATORY,
        category="secrets",
        resource_fn=secrets.env_secrets_from_refs,
        config_schema=_SECRET_KEY_SETTINGS,
    ),
    RuleSpec(
        name="no-unmanaged-kubernetes-secrets",
        description="The program creates no Kubernetes Secret except the allow-listed Vault TLS Secret.",
        remediation=(
            "Create an ExternalSecret that syncs the value from Vault or Secrets Manager instead of a "
            "kubernetes Secret; keep the allow-listed TLS Secret to tls.crt, tls.key and ca.crt."
        ),
        enforcement=MANDATORY,
        category="secrets",
        resource_fn=secrets.no_unmanaged_kubernetes_secrets,
        config_schema={
            "allowedSecrets": string_list("Secrets the program may create, as <namespace>/<name>.", ALLOWED_SECRETS),
            "allowedSecretTypes": string_list("Types the allow-listed Secrets may have.", ["kubernetes.io/tls"]),
        },
    ),
    RuleSpec(
        name="no-static-password-beside-dynamic-database",
        description="An app that gets short-lived database users from Vault keeps no static database password.",
        remediation=(
            "Remove the app's static password secret (for example `db-password`) from the stack file and "
            "read the user Vault issues (Secret `<app>-database`, or the injector's file) instead: docs/databases.md."
        ),
        enforcement=MANDATORY,
        category="secrets",
        stack_fn=secrets.static_password_beside_dynamic_database,
        config_schema={
            "passwordKeyWords": string_list("Words that make a secret key a password (lower case, matched inside the key).",
                                            ["password", "passwd", "pwd"]),
        },
    ),
    RuleSpec(
        name="no-secret-material-in-inputs",
        description=(
            "No private key, AWS access key id, Vault or GitHub token or JWT appears in any input, outside "
            "the places built to hold secrets."
        ),
        remediation=(
            "Move the credential to Vault or Secrets Manager (SecretVersion.secretString, vault kv SecretV2 "
            "dataJson) and reference it; never inline it in a resource's inputs."
        ),
        enforcement=MANDATORY,
        category="secrets",
        resource_fn=secrets.no_secret_material_in_inputs,
        config_schema={
            "allowedSecrets": string_list("Secrets whose data may hold key material, as <namespace>/<name>.", ALLOWED_SECRETS),
            "exemptTypePrefixes": string_list("Type-token prefixes whose inputs are not scanned.", ["random:", "tls:"]),
        },
    ),
    RuleSpec(
        name="secretsmanager-customer-managed-kms",
        description="Secrets Manager secrets are encrypted with a customer-managed KMS key.",
        remediation="Set kmsKeyId to the platform's customer-managed KMS key ARN (not alias/aws/secretsmanager).",
        enforcement=MANDATORY,
        category="secrets",
        resource_fn=secrets.secretsmanager_customer_managed_kms,
    ),
    # --- least privilege -------------------------------------------------------------------
    RuleSpec(
        name="iam-no-wildcard-actions",
        description='IAM documents grant no Action "*", no whole-service wildcard (kms:*, secretsmanager:*, iam:*).',
        remediation=(
            "List the exact actions needed (e.g. secretsmanager:GetSecretValue, kms:Decrypt). In a KMS key "
            "policy, kms:* is allowed only in the administrator statement (account root principal or an "
            "admin Sid)."
        ),
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.iam_no_wildcard_actions,
        config_schema={
            "kmsAdminStatementSids": string_list(
                "Sids of KMS key-policy statements that may grant kms:* to a named admin principal.",
                ["Enable IAM User Permissions", "KeyAdministration"],
            ),
            "deniedManagedPolicies": string_list(
                "AWS-managed policies that must not be attached.",
                ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "SecretsManagerReadWrite"],
            ),
        },
    ),
    RuleSpec(
        name="iam-no-sensitive-actions-on-all-resources",
        description='Secrets Manager and KMS actions are not granted on Resource "*" in identity policies.',
        remediation=(
            "Scope Resource to the secrets' ARNs (arn:...:secret:<env>/*) and the KMS key ARNs the role needs."
        ),
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.iam_no_sensitive_actions_on_all_resources,
        config_schema={
            "unscopedActions": string_list(
                "Actions AWS only grants on Resource \"*\" (they support no resource ARN).",
                [
                    "secretsmanager:ListSecrets",
                    "secretsmanager:GetRandomPassword",
                    "secretsmanager:BatchGetSecretValue",
                    "kms:ListKeys",
                    "kms:ListAliases",
                    "kms:CreateKey",
                    "kms:GenerateRandom",
                ],
            ),
        },
    ),
    RuleSpec(
        name="irsa-trust-scoped",
        description=(
            "IRSA trust policies require StringEquals on <issuer>:sub (exact service accounts) and "
            "<issuer>:aud (sts.amazonaws.com)."
        ),
        remediation=(
            'Use Condition {"StringEquals": {"<issuer>:sub": "system:serviceaccount:<ns>:<sa>", '
            '"<issuer>:aud": "sts.amazonaws.com"}} with the cluster\'s OIDC provider as Federated principal.'
        ),
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.irsa_trust_scoped,
        config_schema={"allowedAudiences": string_list("Accepted aud values.", ["sts.amazonaws.com"])},
    ),
    RuleSpec(
        name="vault-policy-no-sudo",
        description="Vault policies grant sudo only in the allow-listed policies.",
        remediation="Drop the sudo capability, or add the policy to sudoAllowedPolicies if it is the deployer's.",
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.vault_policy_no_sudo,
        config_schema={"sudoAllowedPolicies": string_list("Vault policies that may use sudo.", ["deployer"])},
    ),
    RuleSpec(
        name="vault-policy-single-environment",
        description=(
            "A Vault policy's KV paths stay inside one environment: no glob or + in the environment "
            "segment, no two environments in one policy."
        ),
        remediation="Write one policy per environment with paths kv/data/<env>/<app>/* and kv/metadata/<env>/<app>/*.",
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.vault_policy_single_environment,
        config_schema={
            "kvMount": string_setting("The KV v2 mount.", "kv"),
            "crossEnvironmentPolicies": string_list("Policies allowed to span environments.", ["deployer"]),
            "sharedSegments": string_list("First path segments that are not environments.", ["platform"]),
        },
    ),
    RuleSpec(
        name="vault-eso-roles-read-only",
        description="Vault policies attached to External Secrets' Kubernetes auth roles grant no write capability.",
        remediation="Give External Secrets' policies only read and list on kv/data/<env>/* and kv/metadata/<env>/*.",
        enforcement=MANDATORY,
        category="least-privilege",
        stack_fn=least_privilege.vault_eso_roles_read_only,
        config_schema={
            "esoNamespaces": string_list("Namespaces of External Secrets' service accounts.", ["external-secrets"]),
            "writeCapabilities": string_list(
                "Capabilities that count as write.", ["create", "update", "patch", "delete", "sudo"]
            ),
        },
    ),
    RuleSpec(
        name="vault-k8s-auth-role-scoped",
        description="Vault Kubernetes auth roles bind named service accounts in exactly one namespace.",
        remediation=(
            "Set boundServiceAccountNames to the exact service account(s) and boundServiceAccountNamespaces "
            "to a single namespace; no '*' and no namespace selector."
        ),
        enforcement=MANDATORY,
        category="least-privilege",
        resource_fn=least_privilege.vault_k8s_auth_role_scoped,
    ),
    # --- TLS -------------------------------------------------------------------------------
    RuleSpec(
        name="vault-helm-tls",
        description="The Vault release serves TLS: global.tlsDisable false, no tls_disable listener, no http://.",
        remediation=(
            "Set global.tlsDisable: false, give every listener tls_cert_file/tls_key_file from the vault-tls "
            "Secret without tls_disable, and use https:// for VAULT_ADDR and retry_join leader_api_addr."
        ),
        enforcement=MANDATORY,
        category="tls",
        resource_fn=tls.vault_helm_tls,
        config_schema={"vaultChartNames": _VAULT_CHARTS},
    ),
    RuleSpec(
        name="vault-secret-store-tls",
        description="Vault-backed SecretStores and ClusterSecretStores use https:// and pin a CA.",
        remediation="Use an https:// server address and set spec.provider.vault.caProvider (or caBundle) to Vault's CA.",
        enforcement=MANDATORY,
        category="tls",
        resource_fn=tls.vault_secret_store_tls,
    ),
    # --- API versions ----------------------------------------------------------------------
    RuleSpec(
        name="served-api-versions",
        description="Custom resources use versions the pinned operators serve (external-secrets.io/v1, not v1beta1).",
        remediation="Change apiVersion to the served version named in the message (e.g. external-secrets.io/v1).",
        enforcement=MANDATORY,
        category="api-versions",
        resource_fn=api_versions.served_api_versions,
    ),
    RuleSpec(
        name="cluster-secret-store-conditions",
        description="ClusterSecretStores restrict the namespaces they serve with spec.conditions.",
        remediation="Add spec.conditions: [{namespaces: [<the environment's namespace>]}] to the ClusterSecretStore.",
        enforcement=MANDATORY,
        category="api-versions",
        resource_fn=api_versions.cluster_secret_store_conditions,
    ),
    # --- advisory --------------------------------------------------------------------------
    RuleSpec(
        name="controller-memory-limits",
        description="Deployments, StatefulSets, DaemonSets (and the Vault server) set memory limits.",
        remediation="Set resources.limits.memory on every container (values.server.resources for Vault).",
        enforcement=ADVISORY,
        category="advisory",
        resource_fn=advisory.controller_memory_limits,
        config_schema={
            "stacks": string_list("Stacks checked (empty: all).", []),
            "vaultChartNames": _VAULT_CHARTS,
        },
    ),
    RuleSpec(
        name="prod-controller-replicas",
        description="In production, Deployments/StatefulSets run 2+ replicas and Vault runs HA with 3+.",
        remediation="Raise spec.replicas (values.server.ha.replicas for Vault, with server.ha.enabled: true).",
        enforcement=ADVISORY,
        category="advisory",
        resource_fn=advisory.prod_controller_replicas,
        config_schema={
            "prodStacks": _PROD,
            "minReplicas": integer_setting("Minimum replicas of a controller in production.", 2),
            "minVaultReplicas": integer_setting("Minimum Vault server replicas in production.", 3),
            "vaultChartNames": _VAULT_CHARTS,
        },
    ),
    RuleSpec(
        name="kms-key-rotation",
        description="Symmetric KMS keys have automatic rotation enabled.",
        remediation="Set enableKeyRotation: true on the key.",
        enforcement=ADVISORY,
        category="advisory",
        resource_fn=advisory.kms_key_rotation,
    ),
    RuleSpec(
        name="prod-deletion-protection",
        description="Production KMS keys, S3 buckets, the vault Namespace, PVCs and StorageClasses are protected.",
        remediation="Pass opts=ResourceOptions(protect=True) (or retain_on_delete=True) for the resource in prod.",
        enforcement=ADVISORY,
        category="advisory",
        resource_fn=advisory.prod_deletion_protection,
        config_schema={
            "prodStacks": _PROD,
            "protectedNamespaces": string_list("Namespaces that hold state.", ["vault"]),
            "extraTypes": string_list("More type tokens treated as stateful.", []),
        },
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}


def rules_markdown() -> str:
    """The README's rule table, rendered from this registry (a test keeps the README in sync)."""
    lines = [
        "| Policy | Default level | Scope | What it checks | Settings (defaults) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        settings = ", ".join(f"`{key}`: `{json.dumps(schema.get('default'))}`" for key, schema in rule.config_schema.items())
        lines.append(f"| `{rule.name}` | {rule.enforcement} | {rule.scope} | {rule.description} | {settings or '-'} |")
    return "\n".join(lines)
