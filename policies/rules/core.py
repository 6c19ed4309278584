"""Shared model of the rules: the resource view, rule metadata, and walking helpers.

Rules are written once against :class:`ResourceView` (plain dicts and lists, never Pulumi
proxies) so the same function serves ``pulumi preview --policy-pack`` and the offline runner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SECRET = "[secret]"
"""How the plan writes a value the engine holds as secret."""

UNKNOWN = "[unknown]"
"""How the plan (and the pack adapter) writes a value not known during preview."""

MANDATORY: Final = "mandatory"
ADVISORY: Final = "advisory"
DISABLED: Final = "disabled"
LEVELS = (MANDATORY, ADVISORY, DISABLED)

Path = tuple[str | int, ...]
Config = Mapping[str, Any]


@dataclass(frozen=True)
class ResourceView:
    """One resource as every rule sees it, whichever way it was delivered.

    ``retain_on_delete`` is None when the source cannot tell (``pulumi_policy`` does not pass
    it to policies); the plan carries it.
    """

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool | None = None
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    custom: bool = True

    @property
    def stack(self) -> str:
        """The stack name: the third colon field of the URN."""
        return stack_of(self.urn)

    @property
    def k8s(self) -> tuple[str, str, str] | None:
        """(group, version, kind) for ``kubernetes:<group>/<version>:<Kind>`` types."""
        return k8s_gvk(self.type)

    @property
    def kind(self) -> str:
        gvk = self.k8s
        return gvk[2] if gvk else ""

    @property
    def metadata(self) -> Mapping[str, Any]:
        md = self.props.get("metadata")
        return md if isinstance(md, Mapping) else {}

    @property
    def k8s_name(self) -> str | None:
        name = self.metadata.get("name")
        return name if isinstance(name, str) else None

    @property
    def k8s_namespace(self) -> str:
        ns = self.metadata.get("namespace")
        return ns if isinstance(ns, str) and ns else "default"


ResourceRule = Callable[[ResourceView, Config], list[str]]
"""A per-resource rule: messages for the one resource (empty when it complies)."""

StackFinding = tuple[str | None, str]
StackRule = Callable[[Sequence[ResourceView], Config], list[StackFinding]]
"""A stack rule: (URN or None, message) pairs over every resource of the stack."""


@dataclass(frozen=True)
class RuleSpec:
    """A rule and what the pack, the runner and the docs say about it."""

    name: str
    description: str
    remediation: str
    enforcement: Literal["mandatory", "advisory"]
    category: str
    resource_fn: ResourceRule | None = None
    stack_fn: StackRule | None = None
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def scope(self) -> Literal["resource", "stack"]:
        return "stack" if self.stack_fn is not None else "resource"

    def defaults(self) -> dict[str, Any]:
        """Config defaults taken from the schema (the single place they are written)."""
        return {k: v["default"] for k, v in self.config_schema.items() if "default" in v}

    def effective_config(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with the user's policy config (``enforcementLevel`` dropped)."""
        cfg = self.defaults()
        for key, value in (given or {}).items():
            if key != "enforcementLevel":
                cfg[key] = value
        return cfg


def string_list(description: str, default: Sequence[str]) -> dict[str, Any]:
    """JSON schema of a list-of-strings policy setting."""
    return {"type": "array", "items": {"type": "string"}, "description": description, "default": list(default)}


def string_setting(description: str, default: str) -> dict[str, Any]:
    return {"type": "string", "description": description, "default": default}


def integer_setting(description: str, default: int) -> dict[str, Any]:
    return {"type": "integer", "description": description, "default": default}


# --- type tokens and URNs -------------------------------------------------------------------

_K8S_TYPE = re.compile(r"^kubernetes:(?P<group>[^/:]+)/(?P<version>[^:]+):(?P<kind>[A-Za-z0-9]+)$")


def k8s_gvk(type_token: str) -> tuple[str, str, str] | None:
    """Split ``kubernetes:<group>/<version>:<Kind>`` (core group written ``core``)."""
    m = _K8S_TYPE.match(type_token)
    if not m or m.group("group") in ("helm.sh", "yaml", "kustomize"):
        return None
    return m.group("group"), m.group("version"), m.group("kind")


def stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::...`` -> ``<stack>`` ('' when malformed)."""
    head = urn.split("::", 1)[0]
    parts = head.split(":")
    return parts[2] if len(parts) >= 3 else ""


# --- values -----------------------------------------------------------------------------------


def dig(obj: Any, *keys: str | int) -> Any:
    """Nested lookup that returns None instead of raising on any shape mismatch."""
    cur = obj
    for key in keys:
        if isinstance(key, int):
            if isinstance(cur, Sequence) and not isinstance(cur, (str, bytes)) and -len(cur) <= key < len(cur):
                cur = cur[key]
            else:
                return None
        elif isinstance(cur, Mapping):
            cur = cur.get(key)
        else:
            return None
    return cur


def as_list(value: Any) -> list[Any]:
    """IAM-style "string or list" normalised to a list (None -> [])."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def render_path(path: Path) -> str:
    """``("spec", "env", 0, "value")`` -> ``spec.env[0].value`` (keys with dots are quoted)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def walk_strings(obj: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string leaf with its path (dict keys in insertion order)."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from walk_strings(value, (*path, str(key)))
    elif isinstance(obj, Sequence) and not isinstance(obj, bytes):
        for i, value in enumerate(obj):
            yield from walk_strings(value, (*path, i))


def truthy(value: Any) -> bool:
    """HCL/YAML style truth: true, 1, "1", "true" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().strip('"').lower() in ("1", "true", "yes", "on")
    return False


def falsy_explicit(value: Any) -> bool:
    """Explicitly false (false, 0, "0", "false"): missing or unknown is not falsy here."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        return value.strip().strip('"').lower() in ("0", "false", "no", "off")
    return False


def pod_specs(props: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every pod spec (a mapping with a ``containers`` list) anywhere inside the inputs."""

    def visit(obj: Any, path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        if isinstance(obj, Mapping):
            if isinstance(obj.get("containers"), Sequence) and not isinstance(obj.get("containers"), str):
                yield path, obj
            for key, value in obj.items():
                yield from visit(value, (*path, str(key)))
        elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
            for i, value in enumerate(obj):
                yield from visit(value, (*path, i))

    yield from visit(props, ())


def containers_of(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """(list name, index, container) for containers, initContainers and ephemeralContainers."""
    for list_name in ("containers", "initContainers", "ephemeralContainers"):
        items = pod_spec.get(list_name)
        if isinstance(items, Sequence) and not isinstance(items, str):
            for i, c in enumerate(items):
                if isinstance(c, Mapping):
                    yield list_name, i, c


HELM_TYPES = frozenset(
    {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart"}
)


def chart_name(view: ResourceView) -> str:
    """The chart's bare name: ``hashicorp/vault`` and ``oci://.../vault`` -> ``vault``."""
    chart = view.props.get("chart")
    if not isinstance(chart, str):
        return ""
    return chart.rstrip("/").rsplit("/", 1)[-1]
