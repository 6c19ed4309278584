"""What the plan and the make targets tell the user: the phase, what a change rotates, who reads what, progress."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.access_matrix import access_cells, write_access_matrix
from planner.run import Recording
from planner.summary import RANDOM_TYPE, render_summary
from tests.conftest import ROOT, STACKS, stack_settings


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("phase", [1, 2])
def test_the_summary_title_names_the_stack_and_the_phase(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    settings = stack_settings(stack, vaultPhase=phase)
    text = render_summary(stack, settings, recording(stack, phase if phase == 1 else None).resources)
    assert text.splitlines()[0] == f"# Plan of stack `{stack}`, Vault phase {phase}"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("phase", [1, 2])
def test_the_summary_says_which_value_each_rotation_keeper_rotates(recording: Callable[..., Recording], stack: str, phase: int) -> None:
    settings = stack_settings(stack, vaultPhase=phase)
    resources = recording(stack, phase if phase == 1 else None).resources
    text = render_summary(stack, settings, resources)
    section = text.split("## What a change rotates", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| \w+ \| `([^`]+)` \|", section, re.M))
    registered = {r["name"]: r["inputs"]["keepers"]["rotation"] for r in resources if r["type"] == RANDOM_TYPE}
    randoms = [(f"{env}/{app.name}/{s.key}", s.rotation) for env, e in settings.environments.items() for app in e.apps
               for s in app.secrets if s.source == "random"]
    assert randoms
    for path, keeper in randoms:
        if path.replace("/", "-") in registered:
            assert rows[path] == keeper == registered[path.replace("/", "-")], path
        else:
            assert phase == 1 and f"`{path}`" in section.split("Not registered in this phase", 1)[1], path
    assert set(rows) <= {p for p, _ in randoms}, "only random values rotate with a keeper"


@pytest.mark.parametrize("stack", STACKS)
def test_the_access_matrix_opens_with_what_each_principal_can_read(recording: Callable[..., Recording], stack: str) -> None:
    settings = stack_settings(stack)
    resources = recording(stack).resources
    cells = access_cells(resources, settings)
    text = write_access_matrix(resources, settings)["access-matrix.md"]
    summary = text.split("## Per principal", 1)[1].split("\n## ", 1)[0]
    assert text.index("## Per principal") < text.index("## aws") < text.index("## vault")
    rows = re.findall(r"^\| (aws|vault|kubernetes) \| ([^|]+) \| ([^|]+) \| (\d+) of (\d+) \| ([^|]+) \|$", summary, re.M)
    assert {backend for backend, *_ in rows} == {"aws", "vault", "kubernetes"}
    assert len(rows) == len({(c.backend, c.principal, c.via) for c in cells})
    for backend, principal, via, can, of, paths in rows:
        # The row names a service account `<ns>/<sa>` for `system:serviceaccount:<ns>:<sa>`.
        mine = [c for c in cells if c.backend == backend and c.via == via.strip()
                and principal.strip() in (c.principal, c.principal.removeprefix("system:serviceaccount:").replace(":", "/"))]
        readable = sorted(c.path for c in mine if c.allowed)
        assert (int(can), int(of)) == (len(readable), len(mine)), (principal, via)
        assert paths.strip() == (", ".join(f"`{p}`" for p in readable) or "nothing"), (principal, via)


def test_the_plan_command_names_the_phase_it_rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from planner.__main__ import main

    assert main(["--stack", "dev", "--phase", "1", "--out", str(tmp_path)]) == 0
    assert "Plan of stack 'dev', Vault phase 1: " in capsys.readouterr().out
    assert (tmp_path / "dev-phase1" / "summary.md").read_text().startswith("# Plan of stack `dev`, Vault phase 1\n")


def _target(makefile: str, name: str) -> str:
    return makefile.split(f"\n{name}:", 1)[1].split("\n\n", 1)[0]


def test_make_lint_renders_its_plans_beside_the_users() -> None:
    makefile = (ROOT / "Makefile").read_text()
    checkov = _target(makefile, "checkov")
    assert "PLANS_OUT=$(LINT_PLANS)" in checkov and "--plan-root $(LINT_PLANS)" in checkov
    assert re.search(r"^LINT_PLANS := build/lint-plan$", makefile, re.M)
    assert re.search(r"^PLANS_OUT \?= build/plan$", makefile, re.M)
    assert _target(makefile, "plans").count("--out $(PLANS_OUT)") == 4


def test_the_first_install_shows_its_progress() -> None:
    makefile = (ROOT / "Makefile").read_text()
    install = makefile.split("\n$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "@echo" in install
    requirement_lines = [line for line in install.splitlines() if "-r requirements" in line]
    assert requirement_lines and all("--quiet" not in line and "--progress-bar off" in line for line in requirement_lines)


def test_make_test_leaves_the_whole_tree_scan_to_make_lint() -> None:
    """The one test `make test` deselects is the whole-tree secret scan, and `make lint` still runs that scan."""
    makefile = (ROOT / "Makefile").read_text()
    deselected = re.findall(r"--deselect (\S+)", _target(makefile, "test"))
    assert deselected == ["$(SLOW_IN_LINT)"]
    assert re.search(r"^SLOW_IN_LINT := tests/test_security_scans.py::test_the_baseline_is_current$", makefile, re.M)
    assert re.search(r"^lint: .*\bscan\b", makefile, re.M) and re.search(r"^scan: .*\bsecrets-scan\b", makefile, re.M)
    assert _target(makefile, "secrets-scan").strip().endswith("$(PY) -m tools.secret_scan"), "the whole tree, no file list"
