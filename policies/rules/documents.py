"""Parsers for the documents rules inspect: IAM JSON, Vault policy HCL/JSON, Vault server config.

Pulumi sends IAM documents as JSON strings (``json.dumps`` in the program) or, from some
helpers, as dicts; Vault policies as HCL text; the Vault chart's server config as HCL or JSON
text. Unparseable or unknown documents yield None so a rule can decide what that means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hcl2

from policies.rules.core import SECRET, UNKNOWN, as_list

# --- IAM ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One IAM statement, normalised (lists everywhere, original Sid kept)."""

    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principal: Any
    condition: Mapping[str, Any]

    @property
    def allows(self) -> bool:
        return self.effect.lower() != "deny"

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" (Sid {self.sid})" if self.sid else "")


def load_json_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from a JSON string or a dict; None if unknown, secret or invalid."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or value in (UNKNOWN, SECRET):
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    return doc if isinstance(doc, Mapping) else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in as_list(value) if isinstance(v, str))


def statements(doc: Mapping[str, Any]) -> list[Statement]:
    """The document's statements (a single dict or a list), normalised."""
    raw = doc.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else list(raw) if isinstance(raw, Sequence) and not isinstance(raw, str) else []
    out: list[Statement] = []
    for i, st in enumerate(items):
        if not isinstance(st, Mapping):
            continue
        cond = st.get("Condition")
        out.append(
            Statement(
                index=i,
                sid=str(st.get("Sid") or ""),
                effect=str(st.get("Effect") or "Allow"),
                actions=_strings(st.get("Action")),
                not_actions=_strings(st.get("NotAction")),
                resources=_strings(st.get("Resource")),
                not_resources=_strings(st.get("NotResource")),
                principal=st.get("Principal"),
                condition=cond if isinstance(cond, Mapping) else {},
            )
        )
    return out


def principal_values(principal: Any, kind: str) -> list[str]:
    """Values of one principal kind (AWS, Federated, Service); ``"*"`` counts for every kind."""
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [v for v in as_list(principal.get(kind)) if isinstance(v, str)]
    return []


_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::[0-9]{12}:root|[0-9]{12})$")


def is_account_root_only(principal: Any) -> bool:
    """Principal is exactly one or more account roots (``arn:...:root`` or a bare account id)."""
    if not isinstance(principal, Mapping) or set(principal) - {"AWS"}:
        return False
    values = principal_values(principal, "AWS")
    return bool(values) and all(_ROOT.match(v) for v in values)


def is_wildcard_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(v == "*" for kind in principal for v in principal_values(principal, kind))
    return False


# --- Vault policies ----------------------------------------------------------------------------

_HCL_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
)
_PATH_BLOCK = re.compile(r'path\s+"(?P<path>[^"]+)"\s*\{(?P<body>[^{}]*)\}', re.DOTALL)
_CAPS = re.compile(r"capabilities\s*=\s*\[(?P<caps>[^\]]*)\]")


def parse_hcl(text: str) -> dict[str, Any] | None:
    """HCL (or JSON) text parsed with python-hcl2, quotes stripped; None when invalid."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None
    try:
        return hcl2.loads(text, serialization_options=_HCL_OPTIONS)
    except Exception:
        return None


def _strip_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(("#", "//")):
            continue
        lines.append(line)
    return "\n".join(lines)


def _caps_list(value: Any) -> list[str]:
    return [str(c).strip().strip('"').lower() for c in as_list(value) if isinstance(c, (str, bytes))]


def vault_policy_paths(text: Any) -> list[tuple[str, list[str]]] | None:
    """(path, capabilities) of a Vault policy; None for an unknown/secret/non-string policy.

    Parsed as HCL or JSON; if the parser rejects it, ``path "..." { capabilities = [...] }``
    blocks are read with a regex so a policy Vault would accept is never waved through.
    """
    if not isinstance(text, str) or text in (UNKNOWN, SECRET):
        return None
    doc = parse_hcl(text)
    out: list[tuple[str, list[str]]] = []
    if doc is not None and "path" in doc:
        blocks = doc["path"]
        for block in as_list(blocks) if not isinstance(blocks, Mapping) else [blocks]:
            if isinstance(block, Mapping):
                for path, body in block.items():
                    caps = body.get("capabilities") if isinstance(body, Mapping) else None
                    out.append((str(path), _caps_list(caps)))
        return out
    for m in _PATH_BLOCK.finditer(_strip_comments(text)):
        caps_m = _CAPS.search(m.group("body"))
        caps = [c.strip().strip('"').lower() for c in caps_m.group("caps").split(",")] if caps_m else []
        out.append((m.group("path"), [c for c in caps if c]))
    return out


# --- Vault server config -----------------------------------------------------------------------


def listener_blocks(config: Any) -> Iterator[Mapping[str, Any]]:
    """Every ``listener "<type>" {...}`` body of a parsed (dict) Vault server config."""
    if not isinstance(config, Mapping):
        return
    for block in as_list(config.get("listener")) if not isinstance(config.get("listener"), Mapping) else [config["listener"]]:
        if isinstance(block, Mapping):
            for body in block.values():
                for item in as_list(body) if not isinstance(body, Mapping) else [body]:
                    if isinstance(item, Mapping):
                        yield item


_TLS_DISABLE_LINE = re.compile(r"""^\s*"?tls_disable"?\s*[=:]\s*"?(?P<v>[^"\s,]+)"?""", re.MULTILINE)


def tls_disable_values(text: str) -> list[Any]:
    """``tls_disable`` values of all listeners in a server config string.

    Falls back to a line scan when the text is not valid HCL/JSON (Helm templating in it).
    """
    doc = parse_hcl(text)
    if doc is not None:
        return [body["tls_disable"] for body in listener_blocks(doc) if "tls_disable" in body]
    return [m.group("v") for m in _TLS_DISABLE_LINE.finditer(_strip_comments(text))]
