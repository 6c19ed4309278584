"""Offline policy runner: every rule over a plan's ``resources.json``, twice.

``python -m policies.runner --plan build/plan/dev/resources.json [--config cfg.json]``

Run 1 sees the plan as written ("[secret]" placeholders); run 2 sees each placeholder
replaced by a realistic value of its kind, as a real ``pulumi preview`` would show the
policies. Both must be free of mandatory violations. The report is written to
``policy-report.txt`` beside the plan. Exit status: 0 pass, 1 mandatory violation, 2 input
that cannot be read (plan or config), with a one-line reason and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.realistic import RealisticValues, realize_plan
from policies.rules.core import ADVISORY, DISABLED, LEVELS, MANDATORY, ResourceView, RuleSpec
from policies.rules.registry import RULES, RULES_BY_NAME

REPORT_NAME = "policy-report.txt"
_LEVEL_RANK = {MANDATORY: 0, ADVISORY: 1}


class InputError(Exception):
    """A plan or config file the runner cannot use (exit status 2)."""


@dataclass(frozen=True, order=True)
class Violation:
    """One finding: which rule, at which level, on which resource, and how to fix it."""

    rank: int
    rule: str
    urn: str
    message: str
    level: str = field(compare=False)
    remediation: str = field(compare=False)


@dataclass
class RunResult:
    """The findings of one pass over the plan."""

    label: str
    detail: str
    violations: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == MANDATORY]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == ADVISORY]


@dataclass(frozen=True)
class ResolvedRule:
    spec: RuleSpec
    level: str
    config: Mapping[str, Any]


@dataclass
class Report:
    """Both passes over one plan; ``passed`` is what the exit status follows."""

    resources: int
    stacks: list[str]
    rules: list[ResolvedRule]
    runs: list[RunResult]

    @property
    def passed(self) -> bool:
        return not any(run.mandatory for run in self.runs)

    @property
    def mandatory_count(self) -> int:
        return sum(len(run.mandatory) for run in self.runs)

    def render(self, source: str | None = None) -> str:
        """Deterministic text: sorted findings, no values, no timestamps."""
        lines: list[str] = []
        lines.append(f"Policy report{f' for {source}' if source else ''}")
        counts = Counter(r.level for r in self.rules)
        lines.append(
            f"Rules: {len(self.rules)} ({counts[MANDATORY]} mandatory, {counts[ADVISORY]} advisory, "
            f"{counts[DISABLED]} disabled)"
        )
        overrides = [f"{r.spec.name}={r.level}" for r in self.rules if r.level != r.spec.enforcement]
        if overrides:
            lines.append(f"Level overrides: {', '.join(overrides)}")
        lines.append(f"Resources: {self.resources} (stacks: {', '.join(self.stacks) or '-'})")
        for i, run in enumerate(self.runs, 1):
            lines.append("")
            lines.append(f"Run {i}/{len(self.runs)}: {run.label} -- {run.detail}")
            lines.append(f"  mandatory violations: {len(run.mandatory)}, advisory: {len(run.advisory)}")
            for v in sorted(run.violations):
                lines.append(f"  [{v.level}] {v.rule}")
                lines.append(f"    resource: {v.urn or '(stack)'}")
                lines.append(f"    {v.message}")
                lines.append(f"    fix: {v.remediation}")
        lines.append("")
        if self.passed:
            lines.append("Result: PASS (no mandatory violation in either run)")
        else:
            failed = ", ".join(run.label for run in self.runs if run.mandatory)
            lines.append(f"Result: FAIL ({self.mandatory_count} mandatory violation(s); runs: {failed})")
        return "\n".join(lines) + "\n"


# --- configuration ----------------------------------------------------------------------------

_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
    "object": (dict,),
}


def _level(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.lower() not in (*LEVELS, "remediate"):
        raise InputError(f"{where}: enforcement level must be one of {', '.join(LEVELS)}")
    level = value.lower()
    return MANDATORY if level == "remediate" else level  # the SDK reports remediate as mandatory


def resolve_config(config: Mapping[str, Any] | None) -> list[ResolvedRule]:
    """Apply a ``--policy-pack-config`` style mapping to the registry, validating it.

    Keys are policy names (or ``all``); values are a level string or an object with an
    optional ``enforcementLevel`` and the policy's own settings.
    """
    config = config or {}
    if not isinstance(config, Mapping):
        raise InputError("policy config must be a JSON object keyed by policy name")
    unknown = sorted(set(config) - set(RULES_BY_NAME) - {"all"})
    if unknown:
        raise InputError(f"policy config names unknown policies: {', '.join(unknown)}")
    default_level: str | None = None
    if "all" in config:
        entry = config["all"]
        raw = entry.get("enforcementLevel") if isinstance(entry, Mapping) else entry
        default_level = _level(raw, "all")
    resolved: list[ResolvedRule] = []
    for spec in RULES:
        entry = config.get(spec.name)
        level = default_level or spec.enforcement
        settings: Mapping[str, Any] = {}
        if isinstance(entry, str):
            level = _level(entry, spec.name)
        elif isinstance(entry, Mapping):
            if "enforcementLevel" in entry:
                level = _level(entry["enforcementLevel"], spec.name)
            settings = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            for key, value in settings.items():
                schema = spec.config_schema.get(key)
                if schema is None:
                    raise InputError(f"{spec.name}: unknown setting '{key}'")
                expected = _JSON_TYPES.get(str(schema.get("type")), (object,))
                if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
                    raise InputError(f"{spec.name}.{key}: expected a JSON {schema.get('type')}")
        elif entry is not None:
            raise InputError(f"{spec.name}: expected a level string or an object")
        resolved.append(ResolvedRule(spec, level, spec.effective_config(settings)))
    return resolved


# --- evaluation -------------------------------------------------------------------------------


def view_from_plan(resource: Mapping[str, Any]) -> ResourceView:
    """ResourceView of one entry of ``resources.json``."""
    inputs = resource.get("inputs")
    deps = resource.get("dependencies")
    retain = resource.get("retainOnDelete")
    return ResourceView(
        type=str(resource.get("type", "")),
        name=str(resource.get("name", "")),
        urn=str(resource.get("urn", "")),
        props=inputs if isinstance(inputs, Mapping) else {},
        protect=bool(resource.get("protect", False)),
        retain_on_delete=bool(retain) if retain is not None else None,
        parent=resource.get("parent") if isinstance(resource.get("parent"), str) else None,
        dependencies=tuple(d for d in deps if isinstance(d, str)) if isinstance(deps, list) else (),
        custom=bool(resource.get("custom", True)),
    )


def _violation(rule: ResolvedRule, urn: str, message: str) -> Violation:
    return Violation(_LEVEL_RANK[rule.level], rule.spec.name, urn, message, rule.level, rule.spec.remediation)


def evaluate(views: Sequence[ResourceView], rules: Sequence[ResolvedRule], label: str, detail: str) -> RunResult:
    """Every enabled rule over every resource (and the stack rules once)."""
    found: set[Violation] = set()
    for rule in rules:
        if rule.level == DISABLED:
            continue
        spec = rule.spec
        if spec.stack_fn is not None:
            try:
                for urn, message in spec.stack_fn(views, rule.config):
                    found.add(_violation(rule, urn or "", message))
            except Exception as exc:
                found.add(_violation(rule, "", f"rule raised {type(exc).__name__}; the stack could not be checked."))
            continue
        assert spec.resource_fn is not None
        for view in views:
            try:
                messages = spec.resource_fn(view, rule.config)
            except Exception as exc:
                messages = [f"rule raised {type(exc).__name__}; the resource could not be checked."]
            for message in messages:
                found.add(_violation(rule, view.urn, message))
    return RunResult(label, detail, sorted(found))


def _stacks(views: Sequence[ResourceView]) -> list[str]:
    return sorted({v.stack for v in views if v.stack})


def run_plan(resources: list[dict[str, Any]], config: Mapping[str, Any] | None = None) -> Report:
    """Run every rule over a plan's resources, as written and with realistic values.

    ``config`` has the ``--policy-pack-config`` shape. Raises :class:`InputError` for a config
    the pack would reject.
    """
    rules = resolve_config(config)
    views = [view_from_plan(r) for r in resources]
    first = evaluate(views, rules, "placeholders", 'inputs as planned, secrets shown as "[secret]"')
    values = RealisticValues()
    realized = [view_from_plan(r) for r in realize_plan(resources, values)]
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(values.counts.items())) or "none"
    second = evaluate(realized, rules, "realistic values", f"each \"[secret]\" replaced by a value of its kind ({kinds})")
    return Report(len(resources), _stacks(views), rules, [first, second])


# --- command line -----------------------------------------------------------------------------


def load_plan(path: Path) -> list[dict[str, Any]]:
    """``resources.json`` as a list of resource objects, or :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"plan {path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise InputError(f"plan {path} must be a JSON array of resources")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not isinstance(item.get("urn"), str):
            raise InputError(f"plan {path}: entry {i} is not a resource object with string 'type' and 'urn'")
    return data


def load_config(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read policy config {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"policy config {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"policy config {path} must be a JSON object keyed by policy name")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policies.runner",
        description="Run the policy pack over a plan's resources.json (as planned and with realistic secret values).",
    )
    parser.add_argument("--plan", required=True, type=Path, help="path to resources.json")
    parser.add_argument("--config", type=Path, help="policy config JSON (the --policy-pack-config format)")
    args = parser.parse_args(argv)
    if args.plan.name != "resources.json":
        print(f"policy runner: --plan: names {args.plan.name!r}, not a plan's resources.json, and the report is written "
              "beside it. Fix: pass <plan folder>/resources.json, such as build/plan/dev/resources.json", file=sys.stderr)
        return 2
    try:
        resources = load_plan(args.plan)
        report = run_plan(resources, load_config(args.config))
    except InputError as exc:
        print(f"policy runner: {exc}", file=sys.stderr)
        return 2
    text = report.render(str(args.plan))
    out = args.plan.parent / REPORT_NAME
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"policy runner: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    print(f"Report written to {out}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
