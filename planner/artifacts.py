"""Plan artifacts, each derived from the recorded resources by one writer.

A writer is a pure function from the recorded resources to files (relative
path -> text). Components never write artifacts themselves: the HCL, IAM
documents and access matrix come from the very inputs the program registers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

Resources = Sequence[Mapping[str, Any]]
Writer = Callable[[Resources], dict[str, str]]

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_HEAD_KEYS = ("apiVersion", "kind", "metadata")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def is_kubernetes_object(resource: Mapping[str, Any]) -> bool:
    """A custom resource the Kubernetes provider applies as one object (not a chart)."""
    return bool(resource["custom"]) and resource["type"].startswith("kubernetes:") and resource["type"] != HELM_RELEASE


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def kubernetes_manifest(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The object as the API server receives it: apiVersion, kind, metadata first, then sorted."""
    inputs = _sorted(resource["inputs"])
    ordered = {k: inputs[k] for k in _HEAD_KEYS if k in inputs}
    ordered.update({k: v for k, v in inputs.items() if k not in _HEAD_KEYS})
    return ordered


def _dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def write_resources(resources: Resources) -> dict[str, str]:
    return {"resources.json": json.dumps(list(resources), indent=2, sort_keys=True) + "\n"}


def write_manifests(resources: Resources) -> dict[str, str]:
    """Every Kubernetes object as YAML; Helm releases as their values files."""
    files: dict[str, str] = {}
    for r in resources:
        if is_kubernetes_object(r):
            manifest = kubernetes_manifest(r)
            meta = manifest.get("metadata") or {}
            folder = _safe(str(meta.get("namespace") or "_cluster"))
            name = _safe(str(meta.get("name") or r["name"]))
            path = f"manifests/{folder}/{str(manifest.get('kind', 'object')).lower()}-{name}.yaml"
            files[path] = _dump_yaml(manifest)
        elif r["type"] == HELM_RELEASE:
            i = r["inputs"]
            header = (
                f"# Helm release {i.get('name')} in namespace {i.get('namespace')}: chart {i.get('chart')} "
                f"{i.get('version')} from {(i.get('repositoryOpts') or {}).get('repo')}\n"
            )
            path = f"manifests/{_safe(str(i.get('namespace')))}/helmrelease-{_safe(str(i.get('name')))}.values.yaml"
            files[path] = header + _dump_yaml(_sorted(i.get("values") or {}))
    return files


def component_of(resource: Mapping[str, Any]) -> str:
    """The platform component a resource belongs to (second element of its URN type chain)."""
    chain = resource["urn"].split("::")[2].split("$")
    return chain[1] if len(chain) > 2 else chain[0]


def resource_counts(resources: Resources) -> tuple[Counter[str], Counter[str]]:
    """Custom resources per component and per type."""
    custom = [r for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    return Counter(component_of(r) for r in custom), Counter(r["type"] for r in custom)


# The one list of artifact writers; later components append theirs here.
ARTIFACT_WRITERS: tuple[Writer, ...] = (write_resources, write_manifests)
