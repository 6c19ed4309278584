"""`python -m planner --stack dev [--phase 1]`: render a stack offline into build/plan/<stack>/.

Exit codes: 0 plan written and every mandatory policy passed; 1 plan written but a
mandatory policy failed (see policy-report.txt); 2 invalid arguments, stack config,
stack file or policy config (nothing written, nothing deleted but this stack's old plan).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from components.config import PROJECT, ConfigError
from components.config.stack_file import missing_stack_issue, stack_name_issue
from planner.artifacts import ARTIFACT_WRITERS, PLAN_ENTRIES, resource_counts
from planner.run import run_program
from planner.stackfile import StackFileError, stack_names, stack_settings
from planner.summary import render_summary
from policies.runner import REPORT_NAME, InputError, load_config, run_plan

ROOT = Path(__file__).resolve().parent.parent


class PlanDirError(Exception):
    """The plan's folder exists and is not a plan: the planner never deletes it."""


def plan_dir(out: Path, stack: str, phase: int | None) -> Path:
    """``out/<stack>[-phase<N>]``: ``stack`` has passed the stack-name check (no separator, no dot)."""
    return out / (stack if phase is None else f"{stack}-phase{phase}")


def is_plan_dir(path: Path) -> bool:
    """A real folder (no link) holding a plan's resources.json and nothing a plan does not write."""
    return (
        path.is_dir() and not path.is_symlink() and (path / "resources.json").is_file()
        and all(child.name in PLAN_ENTRIES for child in path.iterdir())
    )


def check_plan_path(path: Path) -> None:
    """Nothing is at ``path``, or an old plan the planner may replace; anything else is refused."""
    if (path.is_symlink() or path.exists()) and not is_plan_dir(path):
        raise PlanDirError(f"--out: {path} exists and is not a plan folder, so the planner leaves it alone. "
                           "Fix: choose another --out, or move that folder away yourself")


def remove_plan(path: Path) -> None:
    """Delete an old plan; refuse anything at that path that is not one."""
    check_plan_path(path)
    if path.exists():
        shutil.rmtree(path)


def build_plan(stack: str, phase: int | None, out: Path, root: Path = ROOT, policy_config: Path | None = None) -> bool:
    """Run the program for ``stack``, write its artifacts and policy report; False if a mandatory policy failed."""
    overrides = {f"{PROJECT}:vaultPhase": str(phase)} if phase is not None else {}
    # Invalid config stops here, before any resource and before any file is touched.
    stack_input, settings = stack_settings(root, stack, overrides)
    policies = load_config(policy_config)
    target = plan_dir(out, stack, phase)
    check_plan_path(target)
    recording = run_program(stack_input)
    files: dict[str, str] = {}
    for writer in ARTIFACT_WRITERS:
        files.update(writer(recording.resources, settings))
    files["summary.md"] = render_summary(stack, settings, recording.resources)
    report = run_plan(recording.resources, policies)
    files[REPORT_NAME] = report.render(f"the {stack} plan")
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=out))
    try:
        for rel, text in sorted(files.items()):
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        remove_plan(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    per_component, _ = resource_counts(recording.resources)
    print(f"Plan of stack '{stack}', Vault phase {settings.vault_phase}: {len(recording.resources)} resources registered")
    for component, count in sorted(per_component.items()):
        print(f"  {component}: {count}")
    print(f"Policies: {'PASS' if report.passed else 'FAIL'} ({report.mandatory_count} mandatory violation(s)); see {REPORT_NAME}")
    print(f"Wrote {len(files)} files to {target}")
    return report.passed


def phase_argument(text: str) -> int:
    """--phase: 1 or 2 (argparse prints the message and exits 2)."""
    if text not in ("1", "2"):
        raise argparse.ArgumentTypeError(
            "must be 1 or 2. Fix: use 1 for the first run on an empty cluster, 2 once Vault answers, "
            "or leave it out to use the stack file's vaultPhase")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack name: Pulumi.<stack>.yaml, written to <out>/<stack>")
    parser.add_argument("--phase", type=phase_argument, default=None, metavar="{1,2}",
                        help="render this Vault bootstrap phase instead of the stack file's")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plan")
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder holding Pulumi.<stack>.yaml")
    parser.add_argument("--policy-config", type=Path, help="policy pack config (the --policy-pack-config format)")
    args = parser.parse_args(argv)
    known = stack_names(args.root)
    bad_stack = stack_name_issue(args.stack, known)
    if bad_stack is None and not (args.root / f"Pulumi.{args.stack}.yaml").is_file():
        bad_stack = missing_stack_issue(args.stack, known)
    if bad_stack is not None:  # before any path is built from the name
        print(bad_stack.render(), file=sys.stderr)
        print("No plan written.", file=sys.stderr)
        return 2
    stale = plan_dir(args.out, args.stack, args.phase)
    try:
        passed = build_plan(args.stack, args.phase, args.out, args.root, args.policy_config)
    except (ConfigError, StackFileError, InputError, PlanDirError, OSError) as exc:
        if not isinstance(exc, PlanDirError) and is_plan_dir(stale):
            shutil.rmtree(stale)  # this stack's old plan no longer matches its stack file
        message = f"--out: cannot write the plan: {exc.strerror or type(exc).__name__}" if isinstance(exc, OSError) else str(exc)
        print(message, file=sys.stderr)
        print(f"No plan written for stack '{args.stack}'.", file=sys.stderr)
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
