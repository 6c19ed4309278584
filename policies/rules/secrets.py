"""No plaintext secrets: in values, ConfigMaps, env, Argo CD apps, Secrets, or anywhere by content.

The program's secrets flow from Vault / Secrets Manager through External Secrets; the only
places built to hold a secret value are Secrets Manager versions, Vault KV writes, the
random/tls providers, and the allow-listed Vault TLS Secret.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from policies.rules.core import (
    HELM_TYPES,
    SECRET,
    UNKNOWN,
    Config,
    Path,
    ResourceView,
    StackFinding,
    containers_of,
    dig,
    pod_specs,
    render_path,
    walk_strings,
)
from policies.rules.heuristics import (
    find_secret_material,
    is_literal_secret_value,
    is_secret_key,
    literal_secret_findings,
    parse_embedded,
    text_assignments,
)

K8S_SECRET_TYPES = frozenset({"kubernetes:core/v1:Secret", "kubernetes:core/v1:SecretPatch"})
CONFIGMAP_TYPES = frozenset({"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch"})
TLS_SECRET_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})

# Input fields whose whole purpose is to carry a secret to its store.
SECRET_HOLDING_FIELDS: Mapping[str, frozenset[str]] = {
    "aws:secretsmanager/secretVersion:SecretVersion": frozenset({"secretString", "secretBinary", "secretStringWo"}),
    "vault:kv/secretV2:SecretV2": frozenset({"dataJson", "dataJsonWo"}),
    "vault:kv/secret:Secret": frozenset({"dataJson"}),
    "vault:generic/secret:Secret": frozenset({"dataJson", "dataJsonWo"}),
}


def _words(cfg: Config) -> tuple[list[str], list[str]]:
    return list(cfg.get("extraSecretKeyWords") or []), list(cfg.get("ignoredKeys") or [])


def _fmt(findings: list[tuple[Path, str]]) -> list[str]:
    return [f"{render_path(path)} {why}." for path, why in findings]


# --- no-plaintext-secret-values ---------------------------------------------------------------


def _argo_helm_sources(spec: Any, path: Path) -> list[tuple[Path, Mapping[str, Any]]]:
    """Every ``helm`` block of an Application / ApplicationSet spec (source, sources, template)."""
    found: list[tuple[Path, Mapping[str, Any]]] = []
    if isinstance(spec, Mapping):
        for key, value in spec.items():
            if key == "helm" and isinstance(value, Mapping):
                found.append(((*path, key), value))
            else:
                found.extend(_argo_helm_sources(value, (*path, str(key))))
    elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        for i, value in enumerate(spec):
            found.extend(_argo_helm_sources(value, (*path, i)))
    return found


def _parse_values_text(text: str) -> Any:
    """Argo CD ``helm.values`` (a YAML string) parsed; None when templating makes it invalid."""
    doc = parse_embedded(text)
    if doc is None:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
    return doc if isinstance(doc, (Mapping, list)) else None


def _argo_findings(view: ResourceView, extra: list[str], ignored: list[str]) -> list[tuple[Path, str]]:
    findings: list[tuple[Path, str]] = []
    for path, helm in _argo_helm_sources(view.props.get("spec"), ("spec",)):
        params = helm.get("parameters")
        if isinstance(params, Sequence) and not isinstance(params, str):
            findings.extend(literal_secret_findings(params, (*path, "parameters"), extra, ignored))
        if "valuesObject" in helm:
            findings.extend(literal_secret_findings(helm["valuesObject"], (*path, "valuesObject"), extra, ignored))
        values = helm.get("values")
        if isinstance(values, str):
            vpath = (*path, "values")
            if values == SECRET:
                findings.append((vpath, "holds a value the program marks secret"))
                continue
            doc = _parse_values_text(values)
            if isinstance(doc, (Mapping, list)):
                findings.extend(
                    (vpath, f"(YAML) {render_path(p)} {why}") for p, why in literal_secret_findings(doc, (), extra, ignored)
                )
            else:
                for key, value in text_assignments(values):
                    if is_secret_key(key, extra, ignored) and is_literal_secret_value(value):
                        findings.append((vpath, f"line sets secret-like key '{key}' to a literal value"))
        elif isinstance(values, (Mapping, list)):
            findings.extend(literal_secret_findings(values, (*path, "values"), extra, ignored))
    return findings


def no_plaintext_secret_values(view: ResourceView, cfg: Config) -> list[str]:
    """Secret-like keys with literal values in Helm values, ConfigMaps and Argo CD Helm sources."""
    extra, ignored = _words(cfg)
    if view.type in HELM_TYPES:
        values = view.props.get("values")
        if values == SECRET:
            return ["values is marked secret as a whole: chart values are stored in the release, not a secret store."]
        return _fmt(literal_secret_findings(values, ("values",), extra, ignored))
    if view.type in CONFIGMAP_TYPES:
        return _fmt(literal_secret_findings(view.props.get("data"), ("data",), extra, ignored))
    gvk = view.k8s
    if gvk and gvk[0] == "argoproj.io" and gvk[2] in ("Application", "ApplicationSet"):
        return _fmt(_argo_findings(view, extra, ignored))
    return []


# --- env-secrets-from-refs --------------------------------------------------------------------

_FLAG = re.compile(r"^--?(?P<key>[A-Za-z][A-Za-z0-9_.\-]*)(?:=(?P<value>.*))?$", re.DOTALL)


def _arg_findings(args: Sequence[Any], path: Path, extra: list[str], ignored: list[str]) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        if arg == SECRET:
            found.append(((*path, i), "passes a value the program marks secret on the command line"))
            continue
        m = _FLAG.match(arg)
        if not m or not is_secret_key(m.group("key"), extra, ignored):
            continue
        value = m.group("value")
        if value is None and i + 1 < len(args):
            nxt = args[i + 1]
            value = nxt if isinstance(nxt, str) and not nxt.startswith("-") else None
        if value is not None and is_literal_secret_value(value):
            found.append(((*path, i), f"passes secret-like flag '--{m.group('key')}' a literal value"))
    return found


def env_secrets_from_refs(view: ResourceView, cfg: Config) -> list[str]:
    """Container env vars with secret-like names must use ``valueFrom``, never ``value``."""
    if not view.type.startswith("kubernetes:") or view.type in HELM_TYPES:
        return []
    extra, ignored = _words(cfg)
    findings: list[tuple[Path, str]] = []
    for spec_path, pod_spec in pod_specs(view.props):
        for list_name, index, container in containers_of(pod_spec):
            cpath: Path = (*spec_path, list_name, index)
            env = container.get("env")
            if isinstance(env, Sequence) and not isinstance(env, str):
                for j, item in enumerate(env):
                    if not isinstance(item, Mapping) or "value" not in item:
                        continue
                    name, value = item.get("name"), item.get("value")
                    epath: Path = (*cpath, "env", j, "value")
                    if value == SECRET:
                        findings.append((epath, f"(env {name}) holds a value the program marks secret"))
                    elif isinstance(name, str) and is_secret_key(name, extra, ignored) and is_literal_secret_value(value):
                        findings.append((epath, f"(env {name}) is a literal value for a secret-like variable"))
            for field_name in ("args", "command"):
                args = container.get(field_name)
                if isinstance(args, Sequence) and not isinstance(args, str):
                    findings.extend(_arg_findings(args, (*cpath, field_name), extra, ignored))
    return _fmt(findings)


# --- no-unmanaged-kubernetes-secrets ----------------------------------------------------------


def secret_identity(view: ResourceView) -> str | None:
    """``<namespace>/<name>`` of a Kubernetes Secret, None when auto-named or unknown."""
    name = view.k8s_name
    if not name or name == UNKNOWN:
        return None
    return f"{view.k8s_namespace}/{name}"


def is_allowed_tls_secret(view: ResourceView, cfg: Config) -> bool:
    """The allow-listed Secret (by namespace/name), whatever its content."""
    ident = secret_identity(view)
    return view.type in K8S_SECRET_TYPES and ident is not None and ident in set(cfg.get("allowedSecrets") or [])


def no_unmanaged_kubernetes_secrets(view: ResourceView, cfg: Config) -> list[str]:
    """Kubernetes Secrets come from External Secrets; the program may only create the allow-list."""
    if view.type not in K8S_SECRET_TYPES:
        return []
    ident = secret_identity(view)
    allowed = set(cfg.get("allowedSecrets") or [])
    if ident is None or ident not in allowed:
        shown = ident or f"(auto-named from '{view.name}')"
        return [f"Kubernetes Secret {shown} is created by the program; only {sorted(allowed)} may be."]
    messages: list[str] = []
    allowed_types = set(cfg.get("allowedSecretTypes") or [])
    secret_type = view.props.get("type")
    if allowed_types and secret_type != UNKNOWN and secret_type not in allowed_types:
        messages.append(f"Secret {ident} has type {secret_type!r}; the allow-list admits only {sorted(allowed_types)}.")
    if "kubernetes.io/tls" in allowed_types:
        for field_name in ("data", "stringData"):
            data = view.props.get(field_name)
            if isinstance(data, Mapping):
                extra_keys = sorted(set(map(str, data)) - TLS_SECRET_KEYS)
                if extra_keys:
                    messages.append(
                        f"Secret {ident} {field_name} has keys {extra_keys} besides a TLS pair; keep other secrets out of it."
                    )
    return messages


# --- no-secret-material-in-inputs -------------------------------------------------------------


def _decoded(value: str) -> str | None:
    """Base64 text of a Secret's ``data`` value, decoded (None when it is not base64)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def no_secret_material_in_inputs(view: ResourceView, cfg: Config) -> list[str]:
    """Private keys and credential-shaped strings anywhere except places built to hold them."""
    prefixes = tuple(cfg.get("exemptTypePrefixes") or [])
    if prefixes and view.type.startswith(prefixes):
        return []
    exempt_fields = set(SECRET_HOLDING_FIELDS.get(view.type, frozenset()))
    if is_allowed_tls_secret(view, cfg):
        exempt_fields |= {"data", "stringData"}
    messages: list[str] = []
    for path, text in walk_strings(view.props):
        if path and path[0] in exempt_fields:
            continue
        kinds = find_secret_material(text)
        if not kinds and view.type in K8S_SECRET_TYPES and path[:1] == ("data",):
            decoded = _decoded(text)
            kinds = find_secret_material(decoded) if decoded else []
        for kind in kinds:
            messages.append(f"{render_path(path)} contains a {kind}.")
    return messages


# --- secretsmanager-customer-managed-kms ------------------------------------------------------


def _aws_managed_key(key_id: Any) -> bool:
    if key_id is None:
        return True
    if not isinstance(key_id, str):
        return False
    text = key_id.strip()
    if not text:
        return True
    return text.startswith("alias/aws/") or ":alias/aws/" in text


def secretsmanager_customer_managed_kms(view: ResourceView, cfg: Config) -> list[str]:
    """A Secrets Manager secret must name a customer-managed KMS key (and so must its replicas)."""
    if view.type != "aws:secretsmanager/secret:Secret":
        return []
    messages: list[str] = []
    if _aws_managed_key(view.props.get("kmsKeyId")):
        messages.append("kmsKeyId is missing or the AWS-managed aws/secretsmanager key.")
    replicas = view.props.get("replicas")
    if isinstance(replicas, Sequence) and not isinstance(replicas, str):
        for i, replica in enumerate(replicas):
            if isinstance(replica, Mapping) and _aws_managed_key(dig(replica, "kmsKeyId")):
                messages.append(f"replicas[{i}].kmsKeyId is missing or the AWS-managed aws/secretsmanager key.")
    return messages


# --- dynamic database users -------------------------------------------------------------------

DATABASE_ROLE_TYPE = "vault:database/secretBackendRole:SecretBackendRole"
STATIC_SECRET_TYPES = ("vault:kv/secretV2:SecretV2", "aws:secretsmanager/secret:Secret")


def static_password_beside_dynamic_database(resources: Sequence[ResourceView], cfg: Config) -> list[StackFinding]:
    """An app that gets database users from Vault's database engine keeps no static database password.

    The apps with a database are the registered database roles (``<env>-<app>``); their static
    values are the KV and Secrets Manager secrets named ``<env>/<app>/<key>``. A key holding one
    of ``passwordKeyWords`` is a password that outlives every lease and the grant Vault scoped.
    """
    words = [str(w).lower() for w in cfg.get("passwordKeyWords") or []]
    dynamic = {str(r.props.get("name")) for r in resources if r.type == DATABASE_ROLE_TYPE}
    findings: list[StackFinding] = []
    for r in resources:
        name = r.props.get("name")
        if r.type not in STATIC_SECRET_TYPES or not isinstance(name, str) or name.count("/") != 2:
            continue
        env, app, key = name.split("/")
        if f"{env}-{app}" in dynamic and any(w in key.lower() for w in words):
            findings.append((r.urn, f"App '{app}' of '{env}' gets database users from Vault (database/creds/{env}-{app}) "
                                    f"and also keeps the static password '{key}'."))
    return findings
