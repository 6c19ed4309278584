"""The Helm example of the GitOps tree (gitops/charts/payments), tested without Helm.

Helm is not available where these tests run, so the chart is rendered by a documented placeholder
replacement that supports exactly the template syntax the chart uses, and refuses anything else
(a test below fails when a template grows beyond it, so the replacement can never silently differ
from Helm):

    {{ .Values.<a.b.c> }}                      the merged value: the chart's values.yaml, then the
                                               overlay's values file on top (maps merge, the rest replaces)
    {{ required "<message>" .Values.<a.b> }}   the same; fails with <message> when missing or empty
    {{ .Release.Name }}  {{ .Release.Namespace }}  {{ .Chart.Name }}  {{ .Chart.Version }}  {{ .Chart.AppVersion }}

Values print as Go's text/template prints scalars (strings as they are, booleans ``true``/``false``,
integers in decimal); maps, lists, floats and a missing value are errors (Helm would print
``<no value>`` for a missing one; failing is stricter). Every placeholder sits inside a quoted YAML
string, so each template is valid YAML before rendering, and the rendered objects validate strictly
against Kubernetes 1.33.

The same renderer is the stand-in ``helm`` that ``kubectl kustomize --enable-helm --helm-command``
calls in tests/test_gitops_tree.py (``version`` and ``template``, as Kustomize's Helm generator calls
them), so the overlays' ``helmCharts`` entries go through Kustomize's real generator (chartHome,
the values file, load restrictions, then the overlay's namespace and patches).

Why each overlay names a values file (``valuesFile: values.yaml`` beside its kustomization) rather than
``valuesInline``: with ``valuesInline`` Kustomize merges it over the chart's own values.yaml, which it
reads through its loader, and the default load restrictor refuses gitops/charts/ from an overlay
(``security; file ... is not in or below ...``, found by the render test). The values file keeps the
default restrictor; the only Argo CD setting needed is ``kustomize.buildOptions: --enable-helm``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / "gitops" / "charts"
APPS = ROOT / "gitops" / "apps"
KUBERNETES_VERSION = "1.33"
STAND_IN_HELM_VERSION = "v3.17.0+gitops-test-stand-in"

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VALUES_PATH = r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)"
_VALUE = re.compile(rf"^{_VALUES_PATH}$")
_REQUIRED = re.compile(rf'^required\s+"([^"\\]*)"\s+{_VALUES_PATH}$')
_BUILT_INS = ("Release.Name", "Release.Namespace", "Chart.Name", "Chart.Version", "Chart.AppVersion")


class ChartError(Exception):
    """The chart cannot be rendered (missing required value, unsupported syntax...)."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else in ``override`` replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _lookup(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.strip(".").split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ChartError(f".Values.{dotted.strip('.')} is not set")
        node = node[part]
    return node


def _print(value: Any, what: str) -> str:
    """A scalar as Go's text/template prints it; anything that would need toYaml is refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 1_000_000:  # Helm holds numbers as float64: 1e+06 and up print oddly
        return str(value)
    if isinstance(value, str):
        return value
    raise ChartError(f"{what} is a {type(value).__name__}: the placeholder replacement prints strings, booleans and small integers only")


def evaluate(expression: str, values: Mapping[str, Any], built_ins: Mapping[str, str]) -> str:
    """One placeholder's text, or ChartError when it is outside the documented grammar."""
    expr = expression.strip()
    if expr.startswith(".") and expr[1:] in built_ins:
        return built_ins[expr[1:]]
    if m := _VALUE.match(expr):
        return _print(_lookup(values, m.group(1)), f".Values{m.group(1)}")
    if m := _REQUIRED.match(expr):
        try:
            value = _lookup(values, m.group(2))
        except ChartError:
            value = None
        if value is None or value == "":
            raise ChartError(m.group(1))
        return _print(value, f".Values{m.group(2)}")
    raise ChartError(f"unsupported template syntax {{{{{expression}}}}}: the test renderer supports only the grammar in {__name__}'s docstring")


def placeholders(text: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(text)]


def render_text(text: str, values: Mapping[str, Any], built_ins: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: evaluate(m.group(1), values, built_ins), text)


def chart_metadata(chart_dir: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((chart_dir / "Chart.yaml").read_text()))


def template_files(chart_dir: Path) -> list[Path]:
    """The templates Helm renders into objects (partials ``_*`` and NOTES.txt excluded)."""
    return sorted(p for p in (chart_dir / "templates").glob("*.y*ml") if not p.name.startswith("_"))


def render_chart_text(chart_dir: Path, release: str, namespace: str, overrides: Sequence[Mapping[str, Any]] = ()) -> str:
    """``helm template <release> <chart_dir> --namespace <namespace> -f ...``, as one YAML stream."""
    meta = chart_metadata(chart_dir)
    values: dict[str, Any] = dict(yaml.safe_load((chart_dir / "values.yaml").read_text()) or {})
    for override in overrides:
        values = deep_merge(values, override)
    built_ins = {
        "Release.Name": release,
        "Release.Namespace": namespace,
        "Chart.Name": str(meta["name"]),
        "Chart.Version": str(meta["version"]),
        "Chart.AppVersion": str(meta.get("appVersion", "")),
    }
    parts = []
    for template in template_files(chart_dir):
        rendered = render_text(template.read_text(), values, built_ins)
        parts.append(f"---\n# Source: {meta['name']}/templates/{template.name}\n{rendered}")
    return "".join(parts)


def render_chart(chart_dir: Path, release: str, namespace: str, overrides: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    text = render_chart_text(chart_dir, release, namespace, overrides)
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def overlay_helm_charts(overlay: Path) -> list[dict[str, Any]]:
    """The ``helmCharts`` entries of an overlay's kustomization, with chartHome resolved and ``values``:
    what Kustomize hands ``helm template -f`` (the values file, then valuesInline over it)."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text()) or {}
    home = (kustomization.get("helmGlobals") or {}).get("chartHome", "charts")
    entries = []
    for entry in kustomization.get("helmCharts") or []:
        values: dict[str, Any] = {}
        if entry.get("valuesFile"):
            values = dict(yaml.safe_load((overlay / entry["valuesFile"]).read_text()) or {})
        values = deep_merge(values, entry.get("valuesInline") or {})
        entries.append({**entry, "chartDir": (overlay / home / entry["name"]).resolve(), "values": values})
    return entries


def helm_overlays() -> list[Path]:
    return sorted(p for p in APPS.glob("*/overlays/*") if overlay_helm_charts(p))


# --- the stand-in `helm` for `kubectl kustomize --enable-helm --helm-command` -----------------------------

def helm_main(argv: Sequence[str]) -> int:
    """What Kustomize's Helm generator runs: ``version -c --short`` and ``template <release> <chart> ...``."""
    if argv[:1] == ["version"]:
        print(STAND_IN_HELM_VERSION)
        return 0
    if argv[:1] != ["template"]:
        print(f"stand-in helm: only `version` and `template` are supported, not {list(argv)}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="helm template", add_help=False)
    parser.add_argument("release")
    parser.add_argument("chart")
    parser.add_argument("--namespace", "-n", default="default")
    parser.add_argument("--values", "-f", action="append", default=[])
    parser.add_argument("--kube-version")
    parser.add_argument("--api-versions", action="append", default=[])
    for flag in ("--include-crds", "--skip-tests", "--skip-hooks", "--debug"):
        parser.add_argument(flag, action="store_true")
    args, unknown = parser.parse_known_args(list(argv[1:]))
    if unknown:
        print(f"stand-in helm: unsupported arguments {unknown}", file=sys.stderr)
        return 2
    overrides = [yaml.safe_load(Path(f).read_text()) or {} for f in args.values]
    try:
        sys.stdout.write(render_chart_text(Path(args.chart), args.release, args.namespace, overrides))
    except ChartError as exc:
        print(f"Error: execution error: {exc}", file=sys.stderr)
        return 1
    return 0


# --- tests ---------------------------------------------------------------------------------------------------

CHART_DIRS = sorted(p.parent for p in CHARTS.glob("*/Chart.yaml"))


def _walk(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, obj)]
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            out += _walk(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _walk(v, (*path, i))
    return out


def test_the_tree_has_a_helm_example_used_by_an_overlay() -> None:
    assert CHART_DIRS, "gitops/charts/ holds no chart"
    used = {entry["chartDir"] for overlay in helm_overlays() for entry in overlay_helm_charts(overlay)}
    assert used == set(CHART_DIRS), "every chart is used by an overlay and every helmCharts entry names a chart of gitops/charts"


@pytest.mark.parametrize("chart_dir", CHART_DIRS, ids=lambda p: p.name)
def test_templates_are_valid_yaml_and_use_only_the_documented_placeholders(chart_dir: Path) -> None:
    meta = chart_metadata(chart_dir)
    assert meta["apiVersion"] == "v2" and meta["name"] == chart_dir.name and meta.get("type", "application") == "application"
    assert not (chart_dir / "charts").exists() and "dependencies" not in meta, "no subcharts: the renderer does not model them"
    assert template_files(chart_dir)
    for template in template_files(chart_dir):
        text = template.read_text()
        docs = [d for d in yaml.safe_load_all(text) if d is not None]  # placeholders sit in quoted strings
        assert docs, template
        for expression in placeholders(text):
            expr = expression.strip()
            assert (expr.startswith(".") and expr[1:] in _BUILT_INS) or _VALUE.match(expr) or _REQUIRED.match(expr), (
                f"{template.name}: {{{{{expression}}}}} is outside the grammar the tests render (see {__name__})"
            )


@pytest.mark.parametrize("chart_dir", CHART_DIRS, ids=lambda p: p.name)
def test_the_templates_take_the_secret_name_from_secrets_secret_name(chart_dir: Path) -> None:
    """Every Secret reference of the raw templates is the value `secrets.secretName`, never a literal name."""
    refs = 0
    for template in template_files(chart_dir):
        for doc in yaml.safe_load_all(template.read_text()):
            for path, node in _walk(doc):
                if not isinstance(node, Mapping):
                    continue
                if path and path[-1] in ("secretKeyRef", "secretRef"):
                    name = node.get("name")
                elif path and path[-1] == "secret" and "secretName" in node:
                    name = node.get("secretName")
                else:
                    continue
                refs += 1
                whole = _PLACEHOLDER.fullmatch(str(name).strip())
                assert whole is not None, f"{template.name} {path}: the Secret name must be one placeholder, not {name!r}"
                expression = whole.group(1).strip()
                m = _VALUE.match(expression) or _REQUIRED.match(expression)
                assert m is not None and m.groups()[-1] == ".secrets.secretName", (template.name, path, name)
    assert refs >= 1, "the chart example references its Secret by the value secrets.secretName"
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    assert values["secrets"]["secretName"] == "", "no default Secret name: each overlay names the Secret its ExternalSecret writes"


@pytest.mark.parametrize("chart_dir", CHART_DIRS, ids=lambda p: p.name)
def test_the_chart_refuses_to_render_without_a_secret_name(chart_dir: Path) -> None:
    with pytest.raises(ChartError, match=r"secrets\.secretName"):
        render_chart(chart_dir, chart_dir.name, "staging")


def _helm_cases() -> list[Any]:
    return [
        pytest.param(overlay, entry, id=f"{overlay.parent.parent.name}/{overlay.name}/{entry['name']}")
        for overlay in helm_overlays()
        for entry in overlay_helm_charts(overlay)
    ]


@pytest.mark.parametrize(("overlay", "entry"), _helm_cases())
def test_helm_entries_are_local_charts_with_a_values_file_in_the_overlay(overlay: Path, entry: dict[str, Any]) -> None:
    """What keeps `kustomize build --enable-helm` working under the default load restrictor, offline."""
    assert entry["chartDir"].parent == CHARTS.resolve() and (entry["chartDir"] / "Chart.yaml").is_file()
    assert not entry.get("repo") and not entry.get("version"), "a local chart: nothing is pulled at sync time"
    values_file = (overlay / str(entry.get("valuesFile", ""))).resolve()
    assert values_file.parent == overlay.resolve() and values_file.is_file(), "valuesFile: a file beside the kustomization"
    for key in ("valuesInline", "valuesMerge", "additionalValuesFiles", "includeCRDs"):
        assert not entry.get(key), f"{key}: valuesInline and valuesMerge make Kustomize read the chart's values.yaml, outside the overlay"


@pytest.mark.parametrize(("overlay", "entry"), _helm_cases())
def test_the_chart_renders_with_each_overlays_values_and_validates_strictly(overlay: Path, entry: dict[str, Any]) -> None:
    env = overlay.name
    assert entry.get("namespace") == env and entry.get("releaseName")
    objects = render_chart(entry["chartDir"], entry["releaseName"], env, [entry["values"]])
    assert {o["kind"] for o in objects} >= {"Deployment"}
    secret_name = entry["values"]["secrets"]["secretName"]
    for obj in objects:
        obj.setdefault("metadata", {})["namespace"] = env  # what the overlay's namespace transformer adds
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata'].get('name')}: {str(exc).splitlines()[0]}")
        for path, node in _walk(obj):
            if path and path[-1] == "secretKeyRef":
                assert node["name"] == secret_name, path
            if path and path[-1] == "secret" and isinstance(node, Mapping) and "secretName" in node:
                assert node["secretName"] == secret_name, path


def test_the_renderer_refuses_what_it_does_not_model() -> None:
    values = {"a": {"b": "x", "m": {"k": "v"}, "n": 1.5}}
    built_ins = {"Release.Name": "r"}
    assert render_text('k: "{{ .Values.a.b }}-{{ .Release.Name }}"', values, built_ins) == 'k: "x-r"'
    for bad in ("{{ toYaml .Values.a.m }}", "{{- .Values.a.b }}", "{{ .Values.a.b | quote }}", "{{ if .Values.a }}",
                "{{ .Values.a.m }}", "{{ .Values.a.n }}", "{{ .Values.missing }}", '{{ required "need it" .Values.a.none }}'):
        with pytest.raises(ChartError):
            render_text(bad, values, built_ins)
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}, "d": 3}) == {"a": {"b": 1, "c": [2]}, "d": 3}


def test_the_stand_in_helm_answers_what_kustomize_asks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert helm_main(["version", "-c", "--short"]) == 0
    assert re.search(r"v3\.\d+\.\d+", capsys.readouterr().out)
    chart = CHART_DIRS[0]
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"secrets": {"secretName": "x-secrets"}}))
    assert helm_main(["template", chart.name, str(chart), "--namespace", "staging", "-f", str(values)]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert docs and all(d["kind"] for d in docs)
    assert helm_main(["template", chart.name, str(chart)]) == 1
    assert "secrets.secretName" in capsys.readouterr().err
    assert helm_main(["pull", "x"]) == 2


if __name__ == "__main__":  # the stand-in helm: python tests/test_gitops_chart.py template ...
    sys.exit(helm_main(sys.argv[1:]))
