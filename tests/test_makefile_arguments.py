"""What a user passes to `make` (STACK, PHASE, PLAN, ...) reaches the tools as one argument, never as shell code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

RECORDER = """#!{python}
import json, sys
with open({log!r}, "a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    """A virtualenv stand-in whose python records its arguments, and whose install marker is up to date."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(RECORDER.format(python=sys.executable, log=str(tmp_path / "calls.jsonl")))
    python.chmod(0o755)
    marker = venv / ".installed"
    marker.touch()
    future = 4_000_000_000  # newer than any requirements file, so make installs nothing
    os.utime(marker, (future, future))
    return venv


def _make(fake_venv: Path, *args: str) -> list[list[str]]:
    result = subprocess.run(["make", "-s", "-C", str(ROOT), *args, f"VENV={fake_venv}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    log = fake_venv.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_stack_name_with_shell_code_is_one_argument_of_the_planner(fake_venv: Path, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    stack = f"dev; touch {pwned}"
    phase = f"1`touch {pwned}`"
    assert _make(fake_venv, "plan", f"STACK={stack}", f"PHASE={phase}") == [["-m", "planner", "--stack", stack, "--phase", phase]]
    assert not pwned.exists()


def test_plan_without_a_phase_passes_none(fake_venv: Path) -> None:
    assert _make(fake_venv, "plan", "STACK=prod") == [["-m", "planner", "--stack", "prod"]]


def test_policy_paths_are_one_argument_each(fake_venv: Path, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    plan, config = f"x`touch {pwned}`/resources.json", f"c.json; touch {pwned}"
    assert _make(fake_venv, "policy", f"PLAN={plan}", f"POLICY_CONFIG={config}") == [
        ["-m", "policies.runner", "--plan", plan, "--config", config]]
    assert _make(fake_venv, "policy", "STACK=prod")[-1] == ["-m", "policies.runner", "--plan", "build/plan/prod/resources.json"]
    assert not pwned.exists()
