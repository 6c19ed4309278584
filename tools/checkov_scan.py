"""checkov over the Kubernetes objects the offline plans declare.

`make plans` writes every Kubernetes object the program declares to
``build/plan/<plan>/manifests/**/*.yaml``; Helm releases appear there only as their values files
(``*.values.yaml``), which are not Kubernetes objects and are left out. What the charts render is
not in the plan, so checkov cannot see it (docs/ci.md).

checkov lives in its own virtualenv (``.venv-checkov``, from ``requirements-checkov.txt``): its
exact pins (boto3 among them) conflict with the program's. Settings and every skipped check, with
its reason, are in ``.checkov.yaml``.

    python -m tools.checkov_scan [--plan-root build/plan] [--checkov .venv-checkov/bin/checkov]

Exit code: checkov's (0 clean, 1 findings), 2 when there is nothing to scan or no checkov.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".checkov.yaml"
DEFAULT_PLAN_ROOT = ROOT / "build" / "plan"
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
VALUES_SUFFIX = ".values.yaml"

# checkov phones home unless told not to: the guideline mappings (Prisma Cloud) and a PyPI
# version check. Neither changes a result; both fail or stall without a network.
QUIET_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True", "LOG_LEVEL": "ERROR"}


def manifest_files(plan_root: Path) -> list[Path]:
    """Every rendered Kubernetes object of every plan under ``plan_root``, sorted; no Helm values."""
    return sorted(
        p for p in plan_root.glob("*/manifests/**/*.yaml") if p.is_file() and not p.name.endswith(VALUES_SUFFIX)
    )


def find_checkov(explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    if DEFAULT_CHECKOV.exists():
        return str(DEFAULT_CHECKOV)
    return shutil.which("checkov")


def checkov_command(checkov: str, files: Sequence[Path], config: Path = CONFIG) -> list[str]:
    cmd = [checkov, "--config-file", str(config)]
    for f in files:
        cmd += ["--file", str(f)]
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan-root", type=Path, default=DEFAULT_PLAN_ROOT, help="folder holding the plans (default: build/plan)")
    parser.add_argument("--checkov", help="checkov executable (default: .venv-checkov/bin/checkov, then PATH)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="checkov config file (default: .checkov.yaml)")
    args = parser.parse_args(argv)

    files = manifest_files(args.plan_root)
    if not files:
        print(f"checkov: no manifests under {args.plan_root}/*/manifests/: run `make plans` first", file=sys.stderr)
        return 2
    checkov = find_checkov(args.checkov)
    if checkov is None:
        print("checkov: not installed: run `make checkov-venv` (installs requirements-checkov.txt into .venv-checkov)", file=sys.stderr)
        return 2
    plans = sorted({f.relative_to(args.plan_root).parts[0] for f in files})
    print(f"checkov: {len(files)} manifests of {len(plans)} plans ({', '.join(plans)}) under {args.plan_root}", flush=True)
    env = {**os.environ, **QUIET_ENV}
    # checkov also reads a .checkov.yaml from its working directory: run it beside the config
    # it is given, so that exactly that one applies.
    config = args.config.resolve()
    cmd = checkov_command(checkov, [f.resolve() for f in files], config)
    return subprocess.run(cmd, env=env, cwd=config.parent, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
