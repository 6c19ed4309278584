"""Mutation testing of the security builders with cosmic-ray (``make mutation``; docs/mutation.md).

Each module listed in tools/mutation.toml is mutated one change at a time in its own copy of the
repository (build/mutation/<module>/), so the worktree is never touched and modules run side by
side (``--jobs``). Each mutant runs only the module's own fast tests (the ``tests`` of its entry),
stopping at the first failure. A mutant is killed when those tests fail or time out, survives
when they pass. Mutants listed in the file's ``equivalent`` entries cannot change behaviour; they
are set aside from the score, each with its reason.

cosmic-ray's core operators change comparisons, boolean operators, numbers and loops; it has no
operator for string literals, where most of this program's security lives ("Allow", "sts:...",
"StringEquals"). ``StringLiteral`` adds it: every string that is not a docstring gets ``XX``
around its text, which is what an Effect, an action or a condition operator mistyped looks like.

    python -m tools.mutation                     # every module, 2 at a time
    python -m tools.mutation components/irsa.py  # just these modules
    python -m tools.mutation --list components/irsa.py   # the mutants, without running them
    python -m tools.mutation --survivors components/irsa.py   # after adding tests: rerun only the last survivors

Exit code: 0 every module at or above its ``min_score``, 1 otherwise, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cosmic_ray.plugins
from cosmic_ray.ast import ast_nodes, get_ast_from_path
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.operators.operator import Example, Operator
from cosmic_ray.testing import run_tests
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome
from parso.python import tree

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
BUILD = ROOT / "build" / "mutation"

# cosmic-ray's core operators kept: those whose change a reviewer of security logic cares about.
# Left out: the arithmetic swaps (no arithmetic decides a grant here), VariableReplacer/Inserter
# (random names, not reproducible between runs) and RemoveDecorator (dataclass and property
# decorators fail at import, which measures nothing).
CORE_OPERATORS = (
    # Comparisons: the negation and the off-by-one of each; the other swaps (== to <) only raise.
    "core/ReplaceComparisonOperator_Eq_NotEq",
    "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceComparisonOperator_Is_IsNot",
    "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceComparisonOperator_In_NotIn",
    "core/ReplaceComparisonOperator_NotIn_In",
    "core/ReplaceComparisonOperator_Lt_LtE",
    "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_Gt_GtE",
    "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceUnaryOperator_Delete_Not",
    "core/AddNot",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/ReplaceBreakWithContinue",
    "core/ReplaceContinueWithBreak",
    "core/NumberReplacer",
    "core/ZeroIterationForLoop",
    "core/ExceptionReplacer",
)


class StringLiteral(Operator):
    """Put ``XX`` around a string literal's text: a misspelt Effect, action, key or message."""

    def mutation_positions(self, node: Any) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
        if isinstance(node, tree.String) and not _is_docstring(node) and _body(node.value):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        prefix, quote, text = _split(node.value)
        node.value = f"{prefix}{quote}XX{text}XX{quote}"
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example('x = "Allow"', 'x = "XXAllowXX"'),)


def _split(literal: str) -> tuple[str, str, str]:
    """(prefix, quote, text) of a string literal token."""
    start = 0
    while literal[start] not in "'\"":
        start += 1
    quote = literal[start : start + 3] if literal[start : start + 3] in ('"""', "'''") else literal[start]
    return literal[:start], quote, literal[start + len(quote) : len(literal) - len(quote)]


def _body(literal: str) -> str:
    return _split(literal)[2]


def _is_docstring(node: Any) -> bool:
    """A string that is a statement on its own: a docstring or a comment-like literal."""
    parent = node.parent
    return parent is not None and parent.type == "simple_stmt" and parent.children[0] is node


class _PlatformOperators:
    """cosmic-ray operator provider "platform" (registered in-process; no entry point needed)."""

    _operators: dict[str, type[Operator]] = {"StringLiteral": StringLiteral}

    def __iter__(self) -> Iterator[str]:
        return iter(self._operators)

    def __getitem__(self, name: str) -> type[Operator]:
        return self._operators[name]


cosmic_ray.plugins.OPERATOR_PROVIDERS["platform"] = _PlatformOperators()


@dataclass
class Mutant:
    """One mutation: where, which operator, and the line it changes (its identity across edits)."""

    module: str
    operator: str
    occurrence: int
    line: int
    source: str
    nth: int = 0  # among this operator's mutants on this line, in column order
    outcome: str = ""
    diff: str = ""
    reason: str = ""


@dataclass
class ModuleResult:
    module: str
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.mutants if m.outcome == outcome)

    @property
    def score(self) -> float:
        scored = self.count("killed") + self.count("survived")
        return 100.0 * self.count("killed") / scored if scored else 100.0


def load_config(path: Path = CONFIG) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def operator_names() -> list[str]:
    names = [n for n in cosmic_ray.plugins.operator_names() if n.startswith(CORE_OPERATORS)]
    names = [n for n in names if "Comparison" not in n or n in CORE_OPERATORS]
    return [*names, "platform/StringLiteral"]


def mutation_specs(module: str, root: Path = ROOT) -> list[MutationSpec]:
    """Every mutation of ``module`` by the selected operators (as cosmic-ray's ``init`` numbers them)."""
    module_ast = get_ast_from_path(root / module)
    specs = []
    for name in operator_names():
        operator = cosmic_ray.plugins.get_operator(name)()
        positions = (pos for node in ast_nodes(module_ast) for pos in operator.mutation_positions(node))
        for occurrence, (start, end) in enumerate(positions):
            specs.append(MutationSpec(module_path=Path(module), operator_name=name, operator_args={},
                                      occurrence=occurrence, start_pos=start, end_pos=end))
    return specs


def mutants_of(module: str, root: Path = ROOT) -> list[Mutant]:
    """Every mutant of ``module`` by the selected operators, in source order."""
    lines = (root / module).read_text().splitlines()
    found = []
    seen: dict[tuple[str, int], int] = {}
    for spec in sorted(mutation_specs(module, root), key=lambda spec: (spec.start_pos, spec.operator_name)):
        row = spec.start_pos[0]
        nth = seen[(spec.operator_name, row)] = seen.get((spec.operator_name, row), -1) + 1
        found.append(Mutant(module, spec.operator_name, spec.occurrence, row, lines[row - 1].strip(), nth))
    return sorted(found, key=lambda m: (m.line, m.operator, m.occurrence))


def equivalents(config: dict[str, Any], module: str) -> dict[tuple[str, str, int | None], str]:
    """(operator, stripped source line, nth or None for all on the line) -> why that mutant cannot change behaviour."""
    entries = config["modules"][module].get("equivalent", [])
    return {(e["operator"], e["line"].strip(), e.get("nth")): e["reason"] for e in entries}


def _equivalent(known: dict[tuple[str, str, int | None], str], mutant: Mutant) -> str | None:
    return known.get((mutant.operator, mutant.source, mutant.nth)) or known.get((mutant.operator, mutant.source, None))


def _copy_repo(module: str) -> Path:
    """A private copy of the repository's files (tracked and new) for ``module``'s mutants."""
    dest = BUILD / module.replace("/", "_").removesuffix(".py")
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / ".venv").symlink_to((ROOT / ".venv").resolve())
    return dest


class BaselineError(RuntimeError):
    """The module's tests fail before any mutation: every mutant would count as killed."""


def run_module(
    module: str, timeout: float, previous: dict[tuple[str, int, str], str] | None = None, out: Path | None = None
) -> ModuleResult:
    """Mutate ``module`` in a copy; with ``previous`` (the last run's outcomes), run only what was not killed.

    With ``out``, the result so far is written after every mutant, so a run cut short still reports.
    """
    workdir = _copy_repo(module)
    config = load_config(workdir / "tools" / "mutation.toml")  # the copy's, so tests and selection agree
    entry = config["modules"][module]
    command = " ".join(
        [f"{sys.executable} -m pytest -x -q -p no:cacheprovider", *(f"'{t}'" for t in entry["tests"])]
    )
    known = equivalents(config, module)
    result = ModuleResult(module)
    started = time.monotonic()
    outcome, output = _in_dir(workdir, lambda: run_tests(command, timeout))
    if outcome != TestOutcome.SURVIVED:
        raise BaselineError(f"{module}: its tests fail without any mutation:\n{output[-3000:]}")
    specs = {(spec.operator_name, spec.occurrence): spec for spec in mutation_specs(module, workdir)}
    for mutant in mutants_of(module, workdir):
        reason = _equivalent(known, mutant)
        if reason:
            mutant.outcome, mutant.reason = "equivalent", reason
            result.mutants.append(mutant)
            continue
        before = (previous or {}).get((mutant.operator, mutant.occurrence, mutant.source))
        if before in ("killed", "no-mutation"):
            mutant.outcome = before
            result.mutants.append(mutant)
            continue
        spec = specs[(mutant.operator, mutant.occurrence)]
        work = _in_dir(workdir, lambda spec=spec: mutate_and_test([spec], command, timeout))
        mutant.diff = work.diff or ""
        if work.worker_outcome == WorkerOutcome.NO_TEST:
            mutant.outcome = "no-mutation"
        elif work.test_outcome == TestOutcome.SURVIVED:
            mutant.outcome = "survived"
        elif work.test_outcome == TestOutcome.KILLED:
            mutant.outcome = "killed"
        else:
            mutant.outcome = "error"
            mutant.diff += "\n" + (work.output or "")[-2000:]
        result.mutants.append(mutant)
        print(f"{module}: {len(result.mutants)} {mutant.outcome} line {mutant.line} {mutant.operator}", file=sys.stderr, flush=True)
        if out is not None:
            result.seconds = time.monotonic() - started
            _write(out, result)
    result.seconds = time.monotonic() - started
    return result


def _in_dir(path: Path, call: Any) -> Any:
    """Run ``call`` with ``path`` as the working directory (cosmic-ray resolves module paths there)."""
    cwd = os.getcwd()
    os.chdir(path)
    try:
        return call()
    finally:
        os.chdir(cwd)


def report(result: ModuleResult) -> str:
    survivors = [m for m in result.mutants if m.outcome in ("survived", "error")]
    head = (
        f"{result.module}: {result.count('killed')}/{result.count('killed') + result.count('survived')} killed "
        f"({result.score:.1f}%), {result.count('equivalent')} equivalent, {result.count('error')} errors, "
        f"{len(result.mutants)} mutants, {result.seconds:.0f} s"
    )
    lines = [head] + [f"  {m.outcome}: line {m.line} {m.operator} nth={m.nth}: {m.source}" for m in survivors]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: every module in tools/mutation.toml)")
    parser.add_argument("--jobs", type=int, default=2, help="modules mutated side by side (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a mutant's tests count as hung (killed)")
    parser.add_argument("--list", action="store_true", help="list the mutants, do not run them")
    parser.add_argument("--report", action="store_true", help="print the last run's results (build/mutation/*.json), run nothing")
    parser.add_argument("--survivors", action="store_true",
                        help="rerun only the mutants the last run did not kill (after adding tests); the others keep their outcome")
    args = parser.parse_args(argv)
    config = load_config()
    unknown = [m for m in args.modules if m not in config["modules"]]
    if unknown:
        print(f"mutation: unknown modules {unknown}. Fix: add them to tools/mutation.toml", file=sys.stderr)
        return 2
    modules = args.modules or list(config["modules"])
    if args.list:
        for module in modules:
            for m in mutants_of(module):
                print(f"{module}:{m.line} {m.operator} nth={m.nth}: {m.source}")
        return 0
    if args.report:
        return _print_results(config, modules, [_last(m) for m in modules])
    BUILD.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # cosmic-ray resolves paths against the working directory, which is per process: each
        # module runs in a child process of its own.
        results = list(pool.map(lambda m: _run_child(m, args.timeout, args.survivors), modules))
    return _print_results(config, modules, results)


def _last(module: str) -> dict[str, Any]:
    out = BUILD / (module.replace("/", "_").removesuffix(".py") + ".json")
    return json.loads(out.read_text()) if out.exists() else {"seconds": 0.0, "mutants": [], "failed": True}


def _print_results(config: dict[str, Any], modules: Sequence[str], results: Sequence[dict[str, Any]]) -> int:
    failed = False
    for module, data in zip(modules, results, strict=True):
        if data.get("failed"):
            print(f"{module}: not measured (its tests fail unmutated, or the run broke; see above)")
            failed = True
            continue
        result = ModuleResult(module, [Mutant(**m) for m in data["mutants"]], data["seconds"])
        print(report(result) + ("" if data.get("complete", True) else "\n  (cut short: only the mutants above were run)"))
        failed |= result.score < config["modules"][module].get("min_score", 90.0)
    return 1 if failed else 0


def _run_child(module: str, timeout: float, survivors: bool) -> dict[str, Any]:
    out = BUILD / (module.replace("/", "_").removesuffix(".py") + ".json")
    if not survivors:
        out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "tools.mutation", "--one", module, "--out", str(out), "--timeout", str(timeout),
         *(["--survivors"] if survivors else [])],
        cwd=ROOT,
    )
    if done.returncode != 0 or not out.exists():
        return {"seconds": 0.0, "mutants": [], "failed": True}
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _one(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--survivors", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    previous = None
    if args.survivors and out.exists():
        previous = {(m["operator"], m["occurrence"], m["source"]): m["outcome"] for m in json.loads(out.read_text())["mutants"]}
    try:
        result = run_module(args.one, args.timeout, previous, out)
    except BaselineError as failed:
        print(failed, file=sys.stderr)
        return 1
    _write(out, result, complete=True)
    return 0


def _write(out: Path, result: ModuleResult, complete: bool = False) -> None:
    data = {"seconds": result.seconds, "complete": complete, "mutants": [vars(m) for m in result.mutants]}
    out.write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    sys.exit(_one(sys.argv[1:]) if "--one" in sys.argv else main())
