"""`python -m planner --stack dev [--phase 1]`: render a stack offline into build/plan/<stack>/.

Exit codes: 0 plan written and every mandatory policy passed; 1 plan written but a
mandatory policy failed (see policy-report.txt); 2 invalid stack config, stack
file or policy config (nothing written).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from components.config import PROJECT, ConfigError, parse_stack_config
from planner.artifacts import ARTIFACT_WRITERS, resource_counts
from planner.run import run_program
from planner.stackfile import StackFileError, read_stack
from planner.summary import render_summary
from policies.runner import REPORT_NAME, InputError, load_config, run_plan

ROOT = Path(__file__).resolve().parent.parent


def plan_dir(out: Path, stack: str, phase: int | None) -> Path:
    return out / (stack if phase is None else f"{stack}-phase{phase}")


def build_plan(stack: str, phase: int | None, out: Path, root: Path = ROOT, policy_config: Path | None = None) -> bool:
    """Run the program for ``stack``, write its artifacts and policy report; False if a mandatory policy failed."""
    overrides = {f"{PROJECT}:vaultPhase": str(phase)} if phase is not None else {}
    stack_input = read_stack(root, stack, overrides)
    raw = {k.split(":", 1)[1]: v for k, v in stack_input.config.items() if k.startswith(f"{PROJECT}:")}
    secret_keys = [k.split(":", 1)[1] for k in stack_input.secret_keys if k.startswith(f"{PROJECT}:")]
    settings = parse_stack_config(raw, stack, secret_keys)  # invalid config stops here, before any resource
    recording = run_program(stack_input)
    files: dict[str, str] = {}
    for writer in ARTIFACT_WRITERS:
        files.update(writer(recording.resources, settings))
    files["summary.md"] = render_summary(stack, settings, recording.resources)
    report = run_plan(recording.resources, load_config(policy_config))
    files[REPORT_NAME] = report.render(f"the {stack} plan")
    target = plan_dir(out, stack, phase)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=out))
    for rel, text in sorted(files.items()):
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    per_component, _ = resource_counts(recording.resources)
    print(f"Plan of stack '{stack}', Vault phase {settings.vault_phase}: {len(recording.resources)} resources registered")
    for component, count in sorted(per_component.items()):
        print(f"  {component}: {count}")
    print(f"Policies: {'PASS' if report.passed else 'FAIL'} ({report.mandatory_count} mandatory violation(s)); see {REPORT_NAME}")
    print(f"Wrote {len(files)} files to {target}")
    return report.passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner", description=__doc__)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--phase", type=int, choices=(1, 2), default=None,
                        help="render this Vault bootstrap phase instead of the stack file's")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plan")
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder holding Pulumi.<stack>.yaml")
    parser.add_argument("--policy-config", type=Path, help="policy pack config (the --policy-pack-config format)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        passed = build_plan(args.stack, args.phase, args.out, args.root, args.policy_config)
    except (ConfigError, StackFileError, InputError) as exc:
        stale = plan_dir(args.out, args.stack, args.phase)
        if stale.exists():
            shutil.rmtree(stale)
        print(str(exc), file=sys.stderr)
        print(f"No plan written for stack '{args.stack}'.", file=sys.stderr)
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
