"""The values the Vault release receives use only keys of the pinned chart and validate against its schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.versions import CHART_PINS
from planner.run import Recording
from tests.conftest import ROOT, STACKS

CHART_DIR = ROOT / "tests" / "upstream" / "vault-helm" / CHART_PINS["vault"].version
RELEASE = "kubernetes:helm.sh/v3:Release"

# Keys whose value the chart passes through as a whole (toYaml/tpl into a Kubernetes field, or a
# config file): their inner keys belong to Kubernetes or to Vault, not to the chart.
FREE_FORM = {
    ("injector", "affinity"),  # PodSpec.affinity
    ("injector", "resources"),  # container resources
    ("injector", "securityContext", "pod"),  # PodSecurityContext
    ("injector", "securityContext", "container"),  # SecurityContext
    ("injector", "podDisruptionBudget"),  # PodDisruptionBudget spec
    ("injector", "webhook", "namespaceSelector"),  # LabelSelector
    ("server", "affinity"),
    ("server", "resources"),
    ("server", "extraEnvironmentVars"),  # name -> value
    ("server", "volumes"),  # list of Volume
    ("server", "volumeMounts"),  # list of VolumeMount
    ("server", "extraContainers"),  # list of Container
    ("server", "topologySpreadConstraints"),  # list of TopologySpreadConstraint
    ("server", "statefulSet", "securityContext", "pod"),
    ("server", "statefulSet", "securityContext", "container"),
    ("server", "ha", "raft", "config"),  # Vault's HCL server config
}


def chart_values() -> dict[str, Any]:
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())


def walk(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of the values, not descending into free-form keys."""
    if isinstance(values, dict):
        for key, value in values.items():
            sub = (*path, str(key))
            yield sub
            if sub not in FREE_FORM:
                yield from walk(value, sub)


def lookup(tree: Any, path: tuple[str, ...]) -> bool:
    node = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


@pytest.fixture(scope="module", params=STACKS)
def values(request: pytest.FixtureRequest, recording: Callable[..., Recording]) -> dict[str, Any]:
    return recording(request.param).one(RELEASE, "vault")["inputs"]["values"]


def test_every_values_key_exists_in_the_pinned_chart(values: dict[str, Any]) -> None:
    upstream = chart_values()
    missing = [".".join(p) for p in walk(values) if not lookup(upstream, p)]
    assert not missing, f"keys not in the chart's values.yaml: {missing}"
    assert sum(1 for _ in walk(values)) > 60


def test_the_free_form_exceptions_are_real_chart_keys_of_the_right_shape() -> None:
    upstream = chart_values()
    for path in FREE_FORM:
        assert lookup(upstream, path), path
        node: Any = upstream
        for key in path:
            node = node[key]
        assert node is None or isinstance(node, dict | list | str), path


def test_values_validate_against_the_charts_schema(values: dict[str, Any]) -> None:
    schema = yaml.safe_load((CHART_DIR / "values.schema.json").read_text())
    merged = _merge(chart_values(), values)
    jsonschema.Draft7Validator(schema).validate(merged)


def test_the_walk_catches_a_misspelled_key() -> None:
    bad = {"server": {"ha": {"raft": {"enabled": True, "setNodeID": True}}}}
    assert [".".join(p) for p in walk(bad) if not lookup(chart_values(), p)] == ["server.ha.raft.setNodeID"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(yaml.safe_load((CHART_DIR / "values.schema.json").read_text())).validate(
            _merge(chart_values(), {"server": {"ha": {"replicas": "three"}}}))


def _merge(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value)
        return out
    return override


def test_chart_data_is_the_pinned_version() -> None:
    assert Path(CHART_DIR / "SOURCE.md").read_text().count(f"version: {CHART_PINS['vault'].version}") == 1
