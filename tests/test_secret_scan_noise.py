"""The secret scan reports no known non-secret (generated key names, the CLI's ciphertext), and still the rest.

The audit instructions match the pinned detect-secrets: its audit asks "Should this string be
committed to the repository?", so `y` is what records a false positive.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from detect_secrets.audit import audit as ds_audit

from planner import gitops
from tests.conftest import ROOT
from tests.test_security_scans import BASELINE, run_tool
from tools import secret_scan


def _b64(size: int) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    baseline = json.loads(BASELINE.read_text())
    baseline["results"] = {}
    (tmp_path / ".secrets.baseline").write_text(json.dumps(baseline, indent=2) + "\n")
    return tmp_path


def _findings(root: Path) -> list[str]:
    result = run_tool("tools.secret_scan", "--root", str(root))
    return re.findall(r"^error: (\S+?):(\d+): ([^:]+):", result.stdout, re.M)


def test_generated_external_secrets_raise_no_finding_and_a_hand_written_copy_does(scratch_repo: Path) -> None:
    generated = sorted((ROOT / "gitops").glob("apps/*/overlays/*/externalsecret.yaml"))
    assert generated
    text = generated[0].read_text()
    assert text.startswith(secret_scan.GENERATED_MARKER) and re.search(r"^\s*- secretKey: ", text, re.M)
    overlay = scratch_repo / "gitops/apps/x/overlays/development"
    overlay.mkdir(parents=True)
    (overlay / gitops.EXTERNAL_SECRET_FILE).write_text(text)
    assert _findings(scratch_repo) == []
    # The same lines in a file that is not the generator's are findings as before.
    (overlay / gitops.EXTERNAL_SECRET_FILE).write_text(text.split("\n", 2)[2])
    found = _findings(scratch_repo)
    assert found and {f[2] for f in found} == {"Secret Keyword"}


def test_ciphertext_the_pulumi_cli_writes_raises_no_finding_but_a_plain_value_beside_it_does(scratch_repo: Path) -> None:
    stack_file = scratch_repo / "Pulumi.dev.yaml"
    stack_file.write_text(
        "secretsprovider: awskms://alias/pulumi-secrets?region=eu-west-1\n"
        f"encryptedkey: {_b64(184)}\n"
        "config:\n"
        "  platform:paymentsStripeApiKey:\n"
        f"    secure: v1:{_b64(48)}\n"
    )
    assert _findings(scratch_repo) == []
    stack_file.write_text(stack_file.read_text() + f"  platform:leaked: {_b64(40)}\n")
    assert [(f[1], f[2]) for f in _findings(scratch_repo)] == [("6", "Base64 High Entropy String")]
    # The same ciphertext lines in any other file are findings.
    (scratch_repo / "notes.yaml").write_text(f"encryptedkey: {_b64(184)}\n")
    assert ("notes.yaml", "1", "Base64 High Entropy String") in _findings(scratch_repo)


def test_detect_secrets_audit_records_a_false_positive_on_yes() -> None:
    """In the pinned detect-secrets, answering YES to "Should this string be committed?" sets is_secret False."""
    source = inspect.getsource(ds_audit)
    assert re.search(r"InputOptions\.YES:\s*\n\s*secret\.is_secret = False", source)
    assert re.search(r"InputOptions\.NO:\s*\n\s*secret\.is_secret = True", source)


def test_the_audit_instructions_say_yes_for_a_false_positive() -> None:
    ci = (ROOT / "docs/ci.md").read_text()
    assert "answer `y` for it" in ci and "answer `n` for it" not in ci
    assert "answer 'y' for it" in secret_scan.HINTS and "'n' (false positive)" not in secret_scan.HINTS
    readme = (ROOT / "README.md").read_text()
    assert "answer `y`" in readme.split("## Day-2 operations", 1)[1]
