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

from components.config import StackConfig
from planner.access_matrix import write_access_matrix

Resources = Sequence[Mapping[str, Any]]
# Writers see the recorded resources and the validated settings (for names the
# registered documents cannot carry, such as external secrets' paths).
Writer = Callable[[Resources, StackConfig], dict[str, str]]

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
VAULT_POLICY = "vault:index/policy:Policy"
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


def write_resources(resources: Resources, settings: StackConfig) -> dict[str, str]:
    return {"resources.json": json.dumps(list(resources), indent=2, sort_keys=True) + "\n"}


def write_manifests(resources: Resources, settings: StackConfig) -> dict[str, str]:
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


# Where each kind of resource keeps its IAM document, and what to call it.
IAM_DOCUMENTS = {
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:iam/rolePolicy:RolePolicy": ("policy", "role-policy"),
    "aws:iam/policy:Policy": ("policy", "policy"),
    "aws:kms/key:Key": ("policy", "key-policy"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy", "secret-policy"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "topic-policy"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "bucket-policy"),
}


def iam_documents(resources: Resources) -> dict[str, dict[str, Any]]:
    """`<kind>-<resource name>` -> the parsed document, for every IAM document registered."""
    docs: dict[str, dict[str, Any]] = {}
    for r in resources:
        field_kind = IAM_DOCUMENTS.get(r["type"])
        if field_kind and isinstance(r["inputs"].get(field_kind[0]), str):
            docs[f"{field_kind[1]}-{_safe(r['name'])}"] = json.loads(r["inputs"][field_kind[0]])
    return docs


def write_iam(resources: Resources, settings: StackConfig) -> dict[str, str]:
    return {f"iam/{name}.json": json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in iam_documents(resources).items()}


def top_components(resources: Resources) -> dict[str, str]:
    """URN -> type of the platform component (a direct child of the root component) it belongs to."""
    by_urn = {r["urn"]: r for r in resources}
    root = next((r["urn"] for r in resources if r["parent"] not in by_urn), None)
    owner: dict[str, str] = {}
    for r in resources:
        node = r
        while node["parent"] in by_urn and node["parent"] != root:
            node = by_urn[node["parent"]]
        owner[r["urn"]] = node["type"] if node["parent"] == root else r["type"]
    return owner


def resource_counts(resources: Resources) -> tuple[Counter[str], Counter[str]]:
    """Cloud and cluster objects per platform component and per type (providers excluded)."""
    owner = top_components(resources)
    custom = [r for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    return Counter(owner[r["urn"]] for r in custom), Counter(r["type"] for r in custom)


# The one list of artifact writers; later components append theirs here.
def write_vault_policies(resources: Resources, settings: StackConfig) -> dict[str, str]:
    """Every Vault policy the program registers, as the HCL Vault receives."""
    return {f"vault/{_safe(r['inputs']['name'])}.hcl": r["inputs"]["policy"] for r in resources if r["type"] == VAULT_POLICY}


ARTIFACT_WRITERS: tuple[Writer, ...] = (write_resources, write_manifests, write_iam, write_vault_policies, write_access_matrix)
# Every top-level entry of a plan folder (the writers', summary.md and policy-report.txt): the planner
# deletes an old plan only when it holds nothing else.
PLAN_ENTRIES = frozenset({"resources.json", "manifests", "iam", "vault", "access-matrix.md", "access-matrix.json",
                          "summary.md", "policy-report.txt"})
