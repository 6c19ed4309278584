"""Least privilege: IAM documents, IRSA trusts, Vault policies and Kubernetes auth roles.

KMS key policies (``aws:kms/key:Key``, ``aws:kms/keyPolicy:KeyPolicy``) and Secrets Manager
resource policies are *resource* policies: there ``Resource: "*"`` means "this key / this
secret", so they are exempt from the Resource-wildcard rule. They are not exempt from the
Action-wildcard rule, except for the one administrator statement every key policy needs: a
statement granting ``kms:*`` (or ``*``) to the account root (which only delegates to IAM, whose
policies these rules check) or whose Sid is a configured admin Sid with a non-wildcard principal.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from policies.rules.core import UNKNOWN, Config, ResourceView, StackFinding, as_list
from policies.rules.documents import (
    Statement,
    is_account_root_only,
    is_wildcard_principal,
    load_json_document,
    principal_values,
    statements,
    vault_policy_paths,
)

IDENTITY_POLICY_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
KEY_POLICY_TYPES = frozenset({"aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy", "aws:kms/replicaKey:ReplicaKey"})
SCOPED_RESOURCE_POLICY_TYPES = frozenset({"aws:secretsmanager/secretPolicy:SecretPolicy"})
OTHER_RESOURCE_POLICY_TYPES = frozenset({"aws:s3/bucketPolicy:BucketPolicy"})
POLICY_ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
ROLE_TYPE = "aws:iam/role:Role"

# kind: identity | trust | key (KMS key policy) | scoped (resource policy on one resource) | resource
Document = tuple[str, str, Mapping[str, Any]]


def iam_documents(view: ResourceView) -> list[Document]:
    """(field, kind, document) for every IAM document in the resource's inputs."""
    props = view.props
    found: list[Document] = []

    def add(field: str, kind: str, value: Any) -> None:
        doc = load_json_document(value)
        if doc is not None:
            found.append((field, kind, doc))

    if view.type in IDENTITY_POLICY_TYPES:
        add("policy", "identity", props.get("policy"))
    elif view.type == ROLE_TYPE:
        add("assumeRolePolicy", "trust", props.get("assumeRolePolicy"))
        inline = props.get("inlinePolicies")
        if isinstance(inline, Sequence) and not isinstance(inline, str):
            for i, item in enumerate(inline):
                if isinstance(item, Mapping):
                    add(f"inlinePolicies[{i}].policy", "identity", item.get("policy"))
    elif view.type in KEY_POLICY_TYPES:
        add("policy", "key", props.get("policy"))
    elif view.type in SCOPED_RESOURCE_POLICY_TYPES:
        add("policy", "scoped", props.get("policy"))
    elif view.type in OTHER_RESOURCE_POLICY_TYPES:
        add("policy", "resource", props.get("policy"))
    return found


_SERVICE_WILDCARD = re.compile(r"^[A-Za-z0-9-]+:\*$")


def _is_kms_admin(st: Statement, admin_sids: set[str]) -> bool:
    if is_account_root_only(st.principal):
        return True
    return st.sid in admin_sids and st.principal is not None and not is_wildcard_principal(st.principal)


def _managed_policy_name(arn: Any) -> str | None:
    if isinstance(arn, str) and re.match(r"^arn:aws[a-z-]*:iam::aws:policy/", arn):
        return arn.rsplit("/", 1)[-1]
    return None


def iam_no_wildcard_actions(view: ResourceView, cfg: Config) -> list[str]:
    """No ``Action: "*"``, no whole-service wildcards (``kms:*``), no Allow+NotAction, no
    AWS-managed admin policies attached."""
    admin_sids = set(cfg.get("kmsAdminStatementSids") or [])
    messages: list[str] = []
    for field, kind, doc in iam_documents(view):
        for st in statements(doc):
            if not st.allows:
                continue
            if st.not_actions:
                messages.append(f"{field} {st.label} is Allow with NotAction, which grants every other action.")
            wild = sorted({a for a in st.actions if a == "*" or _SERVICE_WILDCARD.match(a)})
            if not wild:
                continue
            if kind == "key" and {a.lower() for a in wild} <= {"*", "kms:*"} and _is_kms_admin(st, admin_sids):
                continue
            messages.append(f"{field} {st.label} allows wildcard actions {wild}.")
    denied = {name.rsplit("/", 1)[-1] for name in cfg.get("deniedManagedPolicies") or []}
    arns: list[Any] = []
    if view.type == ROLE_TYPE:
        arns = as_list(view.props.get("managedPolicyArns"))
    elif view.type in POLICY_ATTACHMENT_TYPES:
        arns = [view.props.get("policyArn")]
    for arn in arns:
        name = _managed_policy_name(arn)
        if name and name in denied:
            messages.append(f"attaches the AWS-managed policy {name}, which grants whole-service wildcards.")
    return messages


_SENSITIVE_SERVICES = ("secretsmanager", "kms")
_BROAD_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?:secretsmanager|kms|\*):[^:]*:[^:]*:(?:\*|secret:\*|key/\*|alias/\*)$", re.IGNORECASE
)


def _sensitive(action: str) -> bool:
    if action == "*":
        return True
    service = action.split(":", 1)[0].lower()
    return service in _SENSITIVE_SERVICES


def iam_no_sensitive_actions_on_all_resources(view: ResourceView, cfg: Config) -> list[str]:
    """Secrets Manager and KMS actions must name their secrets and keys, not ``Resource: "*"``."""
    unscoped = {a.lower() for a in cfg.get("unscopedActions") or []}
    messages: list[str] = []
    for field, kind, doc in iam_documents(view):
        if kind in ("key", "scoped", "trust"):
            continue  # Resource "*" in a key / secret policy means "this key / secret".
        for st in statements(doc):
            if not st.allows:
                continue
            actions = sorted({a for a in st.actions if _sensitive(a) and a.lower() not in unscoped})
            if st.not_actions and any(not _sensitive(a) for a in st.not_actions):
                actions = sorted({*actions, "NotAction"})
            if not actions:
                continue
            broad = sorted({r for r in st.resources if r == "*" or _BROAD_ARN.match(r)})
            if st.not_resources:
                broad.append("NotResource")
            if broad:
                messages.append(f"{field} {st.label} allows {actions} on {broad}.")
    return messages


# --- IRSA -------------------------------------------------------------------------------------

_SA_SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _web_identity(st: Statement) -> bool:
    return any(fnmatch.fnmatch("sts:assumerolewithwebidentity", a.lower()) for a in st.actions)


def _issuer(condition_key: str) -> str:
    return condition_key.rsplit(":", 1)[0]


def irsa_trust_scoped(view: ResourceView, cfg: Config) -> list[str]:
    """IRSA trusts pin one issuer, exact service accounts and the STS audience."""
    if view.type != ROLE_TYPE:
        return []
    audiences = set(cfg.get("allowedAudiences") or [])
    messages: list[str] = []
    for field, _kind, doc in iam_documents(view):
        if field != "assumeRolePolicy":
            continue
        for st in statements(doc):
            if not st.allows or not _web_identity(st):
                continue
            where = f"{field} {st.label}"
            equals = st.condition.get("StringEquals")
            equals = equals if isinstance(equals, Mapping) else {}
            sub_keys = [k for k in equals if k.endswith(":sub")]
            aud_keys = [k for k in equals if k.endswith(":aud")]
            if not sub_keys:
                messages.append(f"{where} has no StringEquals condition on <issuer>:sub.")
            if not aud_keys:
                messages.append(f"{where} has no StringEquals condition on <issuer>:aud.")
            for op, body in st.condition.items():
                if op != "StringEquals" and isinstance(body, Mapping) and any(k.endswith(":sub") for k in body):
                    messages.append(f"{where} matches <issuer>:sub with {op}; use StringEquals with exact subjects.")
            for key in sub_keys:
                for subject in as_list(equals[key]):
                    if subject == UNKNOWN:
                        continue
                    if not isinstance(subject, str) or "*" in subject or "?" in subject or not _SA_SUBJECT.match(subject):
                        messages.append(
                            f"{where} sub value is not one exact system:serviceaccount:<namespace>:<name> subject."
                        )
            for key in aud_keys:
                bad = [a for a in as_list(equals[key]) if a != UNKNOWN and a not in audiences]
                if bad:
                    messages.append(f"{where} aud must be {sorted(audiences)}, not another audience.")
            issuers = {_issuer(k) for k in sub_keys + aud_keys}
            if len(issuers) > 1:
                messages.append(f"{where} sub and aud conditions name different issuers.")
            for issuer in issuers:
                if "*" in issuer:
                    messages.append(f"{where} condition issuer contains a wildcard.")
            federated = principal_values(st.principal, "Federated")
            for fed in federated:
                if fed == UNKNOWN:
                    continue
                if fed == "*" or ("oidc-provider/" in fed and issuers and fed.split("oidc-provider/", 1)[1] not in issuers):
                    messages.append(f"{where} Federated principal is not the OIDC provider of the condition issuer.")
    return messages


# --- Vault policies ---------------------------------------------------------------------------

VAULT_POLICY_TYPE = "vault:index/policy:Policy"
AUTH_ROLE_TYPE = "vault:kubernetes/authBackendRole:AuthBackendRole"
_KV_SUBPATHS = frozenset({"data", "metadata", "delete", "undelete", "destroy", "subkeys"})


def vault_policy_name(view: ResourceView) -> str:
    name = view.props.get("name")
    return name if isinstance(name, str) and name != UNKNOWN else view.name


def vault_policy_no_sudo(view: ResourceView, cfg: Config) -> list[str]:
    """``sudo`` only in the allow-listed (deployer) policies."""
    if view.type != VAULT_POLICY_TYPE:
        return []
    name = vault_policy_name(view)
    if name in set(cfg.get("sudoAllowedPolicies") or []):
        return []
    paths = vault_policy_paths(view.props.get("policy")) or []
    sudo = sorted({p for p, caps in paths if "sudo" in caps})
    return [f"Vault policy '{name}' grants sudo on {sudo}."] if sudo else []


def _is_glob(segment: str) -> bool:
    return segment in ("", "+") or "*" in segment


def kv_environments(paths: list[tuple[str, list[str]]], mount: str) -> tuple[set[str], list[str]]:
    """(environments named under ``<mount>/data|metadata/<env>/``, paths spanning them all)."""
    envs: set[str] = set()
    spanning: list[str] = []
    for raw, _caps in paths:
        path = raw.lstrip("/")
        first = path.split("/", 1)[0]
        if _is_glob(first):
            spanning.append(raw)
            continue
        if first != mount:
            continue
        segs = path.split("/")[1:]
        if not segs or _is_glob(segs[0]):
            spanning.append(raw)
            continue
        if segs[0] not in _KV_SUBPATHS:
            continue
        if len(segs) < 2 or _is_glob(segs[1]):
            spanning.append(raw)
            continue
        envs.add(segs[1])
    return envs, sorted(set(spanning))


def vault_policy_single_environment(view: ResourceView, cfg: Config) -> list[str]:
    """A Vault policy reaches one environment's KV paths: no glob/``+`` in the environment
    segment, and no two different environments in one policy.

    A path whose capabilities include ``deny`` grants nothing (``deny`` wins over every
    capability merged into that path), so it reaches no environment and is not counted:
    ``kv/*`` denied across the mount narrows a policy, it does not widen it.
    """
    if view.type != VAULT_POLICY_TYPE:
        return []
    name = vault_policy_name(view)
    if name in set(cfg.get("crossEnvironmentPolicies") or []):
        return []
    paths = vault_policy_paths(view.props.get("policy"))
    if paths is None:
        return []
    granting = [(path, caps) for path, caps in paths if "deny" not in caps]
    envs, spanning = kv_environments(granting, str(cfg.get("kvMount") or "kv"))
    shared = set(cfg.get("sharedSegments") or [])
    messages: list[str] = []
    if spanning:
        messages.append(f"Vault policy '{name}' has paths that span environments: {spanning}.")
    named = sorted(envs - shared)
    if len(named) > 1:
        messages.append(f"Vault policy '{name}' names several environments: {named}.")
    return messages


def _eso_bound(role: ResourceView, namespaces: set[str]) -> bool:
    bound = as_list(role.props.get("boundServiceAccountNamespaces"))
    return any(isinstance(ns, str) and (ns in namespaces or ns == "*") for ns in bound)


def vault_eso_roles_read_only(resources: Sequence[ResourceView], cfg: Config) -> list[StackFinding]:
    """Policies attached to External Secrets' Vault roles grant no write capability.

    Joins each Kubernetes auth role bound to an ESO namespace, through its ``tokenPolicies``,
    to the Vault policies of the stack by name.
    """
    namespaces = set(cfg.get("esoNamespaces") or [])
    write = {c.lower() for c in cfg.get("writeCapabilities") or []}
    policies: dict[str, list[ResourceView]] = {}
    for r in resources:
        if r.type == VAULT_POLICY_TYPE:
            policies.setdefault(vault_policy_name(r), []).append(r)
    findings: list[StackFinding] = []
    for role in resources:
        if role.type != AUTH_ROLE_TYPE or not _eso_bound(role, namespaces):
            continue
        role_name = role.props.get("roleName") if isinstance(role.props.get("roleName"), str) else role.name
        for policy_name in as_list(role.props.get("tokenPolicies")):
            for policy in policies.get(str(policy_name), []):
                paths = vault_policy_paths(policy.props.get("policy")) or []
                granted = sorted({f"{p} {sorted(set(caps) & write)}" for p, caps in paths if set(caps) & write})
                if granted:
                    findings.append(
                        (
                            policy.urn,
                            f"Vault policy '{policy_name}' is attached to External Secrets role "
                            f"'{role_name}' and grants write capabilities: {granted}.",
                        )
                    )
    return findings


def vault_k8s_auth_role_scoped(view: ResourceView, cfg: Config) -> list[str]:
    """A Kubernetes auth role binds named service accounts in exactly one namespace."""
    if view.type != AUTH_ROLE_TYPE:
        return []
    props = view.props
    messages: list[str] = []
    names = [n for n in as_list(props.get("boundServiceAccountNames")) if n != UNKNOWN]
    namespaces = [n for n in as_list(props.get("boundServiceAccountNamespaces")) if n != UNKNOWN]
    if props.get("boundServiceAccountNames") is None:
        messages.append("boundServiceAccountNames is empty.")
    if any(not isinstance(n, str) or "*" in n for n in names):
        messages.append("boundServiceAccountNames contains a wildcard.")
    if any(not isinstance(n, str) or "*" in n for n in namespaces):
        messages.append("boundServiceAccountNamespaces contains a wildcard.")
    if len(namespaces) > 1:
        messages.append(f"boundServiceAccountNamespaces lists {len(namespaces)} namespaces; bind exactly one.")
    selector = props.get("boundServiceAccountNamespaceSelector")
    if isinstance(selector, str) and selector.strip() and selector != UNKNOWN:
        messages.append("boundServiceAccountNamespaceSelector admits namespaces by label; bind one namespace by name.")
    elif props.get("boundServiceAccountNamespaces") is None:
        messages.append("boundServiceAccountNamespaces is empty.")
    return messages
