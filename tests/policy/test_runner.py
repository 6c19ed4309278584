"""The offline runner: both passes, report file, exit codes, and --policy-pack-config overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policies.rules.registry import RULES
from policies.runner import REPORT_NAME, InputError, main, run_plan

ROOT = Path(__file__).resolve().parents[2]
STALE_STORE = "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore"


def _write(tmp_path: Path, resources: list[dict[str, Any]], name: str = "resources.json") -> Path:
    plan = tmp_path / "dev" / name
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(json.dumps(resources))
    return plan


def _config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    return path


def _stale_store(f) -> dict[str, Any]:
    return f.resource(STALE_STORE, "legacy", {"apiVersion": "external-secrets.io/v1beta1", "kind": "ClusterSecretStore",
                                              "spec": {"conditions": [{"namespaces": ["development"]}],
                                                       "provider": {"aws": {"service": "SecretsManager"}}}})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_compliant_plan_passes_both_runs(f, tmp_path: Path, capsys, stack: str) -> None:
    plan = _write(tmp_path, f.good_plan(stack))
    assert main(["--plan", str(plan)]) == 0
    report = (plan.parent / REPORT_NAME).read_text()
    assert "Run 1/2: placeholders" in report and "Run 2/2: realistic values" in report
    assert report.count("mandatory violations: 0") == 2
    assert "pem-private-key" in report and report.rstrip().endswith("Result: PASS (no mandatory violation in either run)")
    assert capsys.readouterr().out.startswith("Policy report for")


def test_seeded_violation_fails_naming_rule_and_urn(f, tmp_path: Path, capsys) -> None:
    seeded = _stale_store(f)
    plan = _write(tmp_path, [*f.good_plan(), seeded])
    assert main(["--plan", str(plan)]) == 1
    report = (plan.parent / REPORT_NAME).read_text()
    assert "[mandatory] served-api-versions" in report
    assert f"resource: {seeded['urn']}" in report
    assert "fix: Change apiVersion" in report
    assert "Result: FAIL (2 mandatory violation(s); runs: placeholders, realistic values)" in report
    out = capsys.readouterr().out
    assert seeded["urn"] in out and "served-api-versions" in out


def test_violation_only_visible_with_realistic_values(f, tmp_path: Path) -> None:
    """A Vault token kept in provider inputs passes on "[secret]" but not on the real value."""
    provider = f.resource("pulumi:providers:vault", "vault", {"address": "https://vault:8200", "token": "[secret]"})
    report = run_plan([*f.good_plan(), provider])
    placeholders, realistic = report.runs
    assert placeholders.mandatory == []
    assert [(v.rule, v.urn, v.message) for v in realistic.mandatory] == [
        ("no-secret-material-in-inputs", provider["urn"], "token contains a Vault token.")
    ]
    assert not report.passed


def test_violation_only_visible_on_placeholders(f) -> None:
    release = f.resource("kubernetes:helm.sh/v3:Release", "app", {"chart": "app", "values": {"license": "[secret]"}})
    placeholders, realistic = run_plan([*f.good_plan(), release]).runs
    assert [v.rule for v in placeholders.mandatory] == ["no-plaintext-secret-values"]
    assert realistic.mandatory == []


def test_report_is_deterministic(f, tmp_path: Path) -> None:
    plan = _write(tmp_path, [*f.good_plan(), _stale_store(f),
                             f.resource("aws:kms/key:Key", "k", {"enableKeyRotation": False})])
    main(["--plan", str(plan)])
    first = (plan.parent / REPORT_NAME).read_text()
    main(["--plan", str(plan)])
    assert (plan.parent / REPORT_NAME).read_text() == first
    lines = [line for line in first.splitlines() if line.startswith("  [")]
    assert lines == ["  [mandatory] served-api-versions", "  [advisory] kms-key-rotation"] * 2


@pytest.mark.parametrize(
    ("config", "code", "shown"),
    [
        ({"served-api-versions": "disabled"}, 0, "1 disabled"),
        ({"served-api-versions": {"enforcementLevel": "advisory"}}, 0, "[advisory] served-api-versions"),
        ({"all": "advisory"}, 0, f"0 mandatory, {len(RULES)} advisory"),
        ({"all": "advisory", "served-api-versions": "mandatory"}, 1, "[mandatory] served-api-versions"),
        ({"served-api-versions": {"enforcementLevel": "remediate"}}, 1, "[mandatory] served-api-versions"),
    ],
)
def test_config_overrides_levels(f, tmp_path: Path, config: dict, code: int, shown: str) -> None:
    plan = _write(tmp_path, [*f.good_plan(), _stale_store(f)])
    assert main(["--plan", str(plan), "--config", str(_config(tmp_path, config))]) == code
    assert shown in (plan.parent / REPORT_NAME).read_text()


def test_config_passes_policy_settings(f) -> None:
    repo = f.resource("kubernetes:core/v1:Secret", "repo", {"type": "Opaque", "metadata": {"name": "repo", "namespace": "argocd"},
                                                             "stringData": {"url": "https://git"}})
    assert not run_plan([repo]).passed
    allowed = {"no-unmanaged-kubernetes-secrets": {"allowedSecrets": ["vault/vault-tls", "argocd/repo"], "allowedSecretTypes": []}}
    assert run_plan([repo], allowed).passed


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"no-such-policy": "disabled"}, "unknown policies: no-such-policy"),
        ({"served-api-versions": "off"}, "enforcement level must be one of"),
        ({"vault-policy-no-sudo": {"sudoAllowedPolicies": "deployer"}}, "expected a JSON array"),
        ({"vault-policy-no-sudo": {"sudoAllowed": ["x"]}}, "unknown setting 'sudoAllowed'"),
        ({"served-api-versions": 3}, "expected a level string or an object"),
    ],
)
def test_invalid_config_is_rejected(f, config: dict, error: str) -> None:
    with pytest.raises(InputError, match=error):
        run_plan(f.good_plan(), config)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read plan"),
        ("{not json", "is not valid JSON"),
        ('{"type": "x"}', "must be a JSON array"),
        ('[{"type": "x"}]', "entry 0 is not a resource object"),
    ],
)
def test_unreadable_plan_exits_2(tmp_path: Path, capsys, content: str | None, error: str) -> None:
    plan = tmp_path / "resources.json"
    if content is not None:
        plan.write_text(content)
    assert main(["--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert error in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / REPORT_NAME).exists()


def test_unreadable_config_exits_2(f, tmp_path: Path, capsys) -> None:
    plan = _write(tmp_path, f.good_plan())
    bad = tmp_path / "cfg.json"
    bad.write_text("[1, 2]")
    assert main(["--plan", str(plan), "--config", str(bad)]) == 2
    assert "must be a JSON object" in capsys.readouterr().err
    assert main(["--plan", str(plan), "--config", str(tmp_path / "missing.json")]) == 2


def test_module_entry_point(f, tmp_path: Path) -> None:
    plan = _write(tmp_path, [*f.good_plan(), _stale_store(f)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "policies.runner", "--plan", str(plan)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "served-api-versions" in proc.stdout and proc.stderr == ""
    assert (plan.parent / REPORT_NAME).exists()
