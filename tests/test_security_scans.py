"""The security scans `make lint` runs: detect-secrets against .secrets.baseline, checkov over the plans."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner.artifacts import write_manifests
from tests.conftest import stack_settings
from tools import checkov_scan

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".secrets.baseline"
PLANS = (("dev", None), ("prod", None), ("dev", 1), ("prod", 1))


def run_tool(module: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # A subprocess: detect-secrets keeps its settings in globals and scans with a process pool.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


# --- detect-secrets -----------------------------------------------------------------------------


def test_the_baseline_is_current() -> None:
    """A scan of every tracked or new (not ignored) file finds nothing the baseline does not list."""
    result = run_tool("tools.secret_scan")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_baseline_entry_is_an_audited_false_positive() -> None:
    baseline = json.loads(BASELINE.read_text())
    entries = [(f, e) for f, es in baseline["results"].items() for e in es]
    assert entries, "the baseline lists the audited findings (docs/ci.md)"
    for filename, entry in entries:
        assert entry.get("is_secret") is False, f"{filename}:{entry['line_number']} {entry['type']} is not audited as a false positive"


def test_the_baseline_holds_no_path_of_this_clone() -> None:
    """Findings are named by repository-relative path, so the baseline matches in any clone."""
    text = BASELINE.read_text()
    assert str(ROOT) not in text
    for filename, entries in json.loads(text)["results"].items():
        assert not Path(filename).is_absolute()
        assert all(e.get("filename", filename) == filename for e in entries)


def test_the_baseline_uses_every_detector_and_excludes_no_directory() -> None:
    baseline = json.loads(BASELINE.read_text())
    plugins = {p["name"] for p in baseline["plugins_used"]}
    assert {"AWSKeyDetector", "PrivateKeyDetector", "KeywordDetector", "GitHubTokenDetector",
            "Base64HighEntropyString", "HexHighEntropyString", "JwtTokenDetector"} <= plugins
    assert not [f for f in baseline["filters_used"] if f["path"].endswith("should_exclude_file")], \
        "no file or directory is excluded from the scan; audit false positives instead"


def _fake_secrets() -> tuple[dict[str, str], list[str]]:
    """Fresh fake credentials, made at test time so that no secret-looking literal is committed:
    (file name -> content, the secret values)."""
    upper = string.ascii_uppercase + string.digits
    b64 = string.ascii_letters + string.digits + "+/"
    aws_key = "AKIA" + "".join(secrets.choice(upper) for _ in range(16))
    pem_body = "".join(secrets.choice(b64) for _ in range(64))
    begin, end = "-----BEGIN " + "RSA PRIVATE KEY-----", "-----END " + "RSA PRIVATE KEY-----"
    files = {
        "settings.py": f'DEPLOY_KEY_ID = "{aws_key}"\n',
        "deploy-key.pem": f"{begin}\n{pem_body}\n{end}\n",
    }
    return files, [aws_key, pem_body]


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A git work tree with an empty baseline that carries the repository's scan settings."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    baseline = json.loads(BASELINE.read_text())
    baseline["results"] = {}
    (tmp_path / ".secrets.baseline").write_text(json.dumps(baseline, indent=2) + "\n")
    (tmp_path / "README.md").write_text("nothing to see\n")
    return tmp_path


def test_a_seeded_secret_fails_the_scan(scratch_repo: Path) -> None:
    files, values = _fake_secrets()
    for name, text in files.items():
        (scratch_repo / name).write_text(text)
    result = run_tool("tools.secret_scan", "--root", str(scratch_repo))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"settings\.py:1: AWS Access Key: potential secret not in \.secrets\.baseline", result.stdout)
    assert re.search(r"deploy-key\.pem:1: Private Key: potential secret not in \.secrets\.baseline", result.stdout)
    for value in values:  # the report names the place, never the value
        assert value not in result.stdout + result.stderr


def test_an_ignored_file_is_not_scanned_and_a_clean_tree_passes(scratch_repo: Path) -> None:
    (scratch_repo / ".gitignore").write_text("local/\n")
    (scratch_repo / "local").mkdir()
    (scratch_repo / "local" / "settings.py").write_text(_fake_secrets()[0]["settings.py"])
    result = run_tool("tools.secret_scan", "--root", str(scratch_repo))
    assert result.returncode == 0, result.stdout + result.stderr


def test_explicit_files_are_checked_like_a_pre_commit_hook(scratch_repo: Path) -> None:
    (scratch_repo / "settings.py").write_text(_fake_secrets()[0]["settings.py"])
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo), "README.md").returncode == 0
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo), "settings.py").returncode == 1


def test_a_finding_passes_only_once_audited_as_a_false_positive(scratch_repo: Path) -> None:
    (scratch_repo / "settings.py").write_text(_fake_secrets()[0]["settings.py"])
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo), "--update").returncode == 0
    baseline_path = scratch_repo / ".secrets.baseline"

    result = run_tool("tools.secret_scan", "--root", str(scratch_repo))
    assert result.returncode == 1 and "but not audited" in result.stdout, result.stdout

    def audit(is_secret: bool) -> None:
        data = json.loads(baseline_path.read_text())
        for entry in data["results"]["settings.py"]:
            entry["is_secret"] = is_secret
        baseline_path.write_text(json.dumps(data, indent=2) + "\n")

    audit(True)
    result = run_tool("tools.secret_scan", "--root", str(scratch_repo))
    assert result.returncode == 1 and "audited as a real secret" in result.stdout, result.stdout
    audit(False)
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo)).returncode == 0

    # moving the line is not a new finding; --update keeps the audit result
    (scratch_repo / "settings.py").write_text("# moved\n" + (scratch_repo / "settings.py").read_text())
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo)).returncode == 0
    assert run_tool("tools.secret_scan", "--root", str(scratch_repo), "--update").returncode == 0
    entry = json.loads(baseline_path.read_text())["results"]["settings.py"][0]
    assert entry["line_number"] == 2 and entry["is_secret"] is False


# --- checkov ------------------------------------------------------------------------------------


def checkov_or_skip() -> str:
    found = checkov_scan.find_checkov(None)
    if found is None:
        pytest.skip("checkov is not installed here (`make checkov-venv`); `make lint` installs and runs it")
    return found


@pytest.fixture(scope="module")
def rendered_plans(recording: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifests folder of every stack and phase, as `make plans` writes it, from this code."""
    root = tmp_path_factory.mktemp("plan")
    for stack, phase in PLANS:
        name = stack if phase is None else f"{stack}-phase{phase}"
        settings = stack_settings(stack, **({"vaultPhase": phase} if phase else {}))
        for rel, text in write_manifests(recording(stack, phase).resources, settings).items():
            path = root / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def test_checkov_scans_kubernetes_objects_only(rendered_plans: Path) -> None:
    files = checkov_scan.manifest_files(rendered_plans)
    values = list(rendered_plans.glob("*/manifests/**/*.values.yaml"))
    assert values, "the plans hold Helm values files"
    assert files and not set(files) & set(values)
    assert {f.relative_to(rendered_plans).parts[0] for f in files} == {"dev", "prod", "dev-phase1", "prod-phase1"}
    for f in files:
        obj = yaml.safe_load(f.read_text())
        assert obj.get("apiVersion") and obj.get("kind"), f"{f} is not a Kubernetes object"


def test_checkov_passes_on_the_current_plans(rendered_plans: Path) -> None:
    checkov = checkov_or_skip()
    result = subprocess.run(
        [sys.executable, "-m", "tools.checkov_scan", "--plan-root", str(rendered_plans), "--checkov", checkov],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout


def test_checkov_fails_on_a_finding(tmp_path: Path) -> None:
    checkov = checkov_or_skip()
    manifests = tmp_path / "bad" / "manifests" / "default"
    manifests.mkdir(parents=True)
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    (manifests / "pod-privileged.yaml").write_text(yaml.safe_dump(pod))
    result = subprocess.run(
        [sys.executable, "-m", "tools.checkov_scan", "--plan-root", str(tmp_path), "--checkov", checkov],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CKV_K8S_16" in result.stdout  # "Container should not be privileged"


def test_checkov_refuses_an_empty_plan_folder(tmp_path: Path) -> None:
    assert checkov_scan.main(["--plan-root", str(tmp_path)]) == 2


def test_every_skipped_check_is_justified_in_the_config() -> None:
    text = (ROOT / ".checkov.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["framework"] == ["kubernetes"]
    assert config["skip-download"] is True
    skipped = config.get("skip-check") or []
    lines = text.splitlines()
    for check in skipped:
        at = lines.index(f"  - {check}")
        comment = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            comment.append(line)
        justification = " ".join(reversed(comment))
        assert check in justification and len(justification) > 200, f"{check} is skipped without a justification comment above it"
