"""The PolicyPack wiring: importing never serves, __main__ builds the pack, the SDK runs our rules.

The analyzer tests drive ``pulumi_policy``'s own servicer with the protobuf requests the CLI
sends, so props arrive as the SDK's proxies (camelCase, unknown sentinels) exactly as in a
real ``pulumi preview --policy-pack policies``.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.pack import PACK_NAME, build_policies, plain
from policies.rules.registry import RULES, RULES_BY_NAME

ROOT = Path(__file__).resolve().parents[2]
POLICY_MODULES = [
    "policies", "policies.pack", "policies.runner", "policies.realistic", "policies.rules.core",
    "policies.rules.heuristics", "policies.rules.documents", "policies.rules.secrets", "policies.rules.least_privilege",
    "policies.rules.tls", "policies.rules.api_versions", "policies.rules.advisory", "policies.rules.registry",
]


def test_importing_policy_modules_never_constructs_a_pack() -> None:
    code = (
        "import pulumi_policy\n"
        "def boom(*a, **k):\n"
        "    raise SystemExit('PolicyPack constructed on import')\n"
        "pulumi_policy.PolicyPack.__init__ = boom\n"
        "import importlib\n"
        f"for m in {POLICY_MODULES!r}:\n"
        "    importlib.import_module(m)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_main_builds_the_pack_as_the_cli_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI runs policies/ with runpy.run_path; __main__ must find `policies.*` from there."""
    built: dict[str, Any] = {}

    def record(**kwargs: Any) -> None:
        built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", record)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])
    for name in [m for m in sys.modules if m == "policies" or m.startswith("policies.")]:
        monkeypatch.delitem(sys.modules, name)
    runpy.run_path(str(ROOT / "policies"), run_name="__main__")
    assert built["name"] == PACK_NAME
    assert [p.name for p in built["policies"]] == [r.name for r in RULES]
    assert built["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY


def test_pack_metadata() -> None:
    assert len(RULES_BY_NAME) == len(RULES), "rule names are unique"
    for rule in RULES:
        assert rule.description and rule.remediation and rule.enforcement in ("mandatory", "advisory")
        assert (rule.resource_fn is None) != (rule.stack_fn is None)
    policies = build_policies()
    stack_policies = {p.name for p in policies if isinstance(p, pulumi_policy.StackValidationPolicy)}
    assert stack_policies == {"vault-eso-roles-read-only", "no-static-password-beside-dynamic-database"}
    for policy, rule in zip(policies, RULES, strict=True):
        assert policy.enforcement_level == pulumi_policy.EnforcementLevel(rule.enforcement)
        assert policy.remediation_steps == rule.remediation
    assert (ROOT / "policies" / "PulumiPolicy.yaml").read_text().count("name: python") == 1
    requirements = (ROOT / "policies" / "requirements.txt").read_text()
    assert "pulumi-policy==1.21.0" in requirements and "pulumi==3.272.0" in requirements


def test_plain_unwraps_sdk_proxies() -> None:
    props = unknown_checking_proxy({"a": [{"b": UNKNOWN_STRING_VALUE}, 1, True], "c": {"d": "x"}})
    assert plain(props) == {"a": [{"b": "[unknown]"}, 1, True], "c": {"d": "x"}}


# --- through the SDK's analyzer -----------------------------------------------------------------


def _servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", build_policies(), pulumi_policy.EnforcementLevel.MANDATORY)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(props)))
    return s


def _analyze(servicer: _PolicyAnalyzerServicer, resource: dict[str, Any]) -> list[Any]:
    request = proto.AnalyzeRequest(
        type=resource["type"], properties=_struct(resource["inputs"]), urn=resource["urn"], name=resource["name"],
        options=proto.AnalyzerResourceOptions(protect=resource.get("protect", False)),
    )
    return list(servicer.Analyze(request, None).diagnostics)


def test_analyzer_reports_seeded_violations(f) -> None:
    servicer = _servicer()
    secret = f.resource("kubernetes:core/v1:ConfigMap", "cfg", {"data": {"DB_PASSWORD": "hunter2", "k": f.pem_private_key()}})
    diags = _analyze(servicer, secret)
    assert {d.policyName for d in diags} == {"no-plaintext-secret-values", "no-secret-material-in-inputs"}
    assert all(d.enforcementLevel == proto.MANDATORY for d in diags)
    assert all("Fix:" in d.message and "hunter2" not in d.message for d in diags)
    role = f.resource("aws:iam/role:Role", "eso", {"assumeRolePolicy": f.trust(sub="system:serviceaccount:external-secrets:*")})
    assert [d.policyName for d in _analyze(servicer, role)] == ["irsa-trust-scoped"]


def test_analyzer_passes_compliant_resources_and_unknowns(f) -> None:
    servicer = _servicer()
    for resource in f.good_plan():
        assert _analyze(servicer, resource) == [], resource["urn"]
    unknown = f.resource("aws:secretsmanager/secret:Secret", "s", {"name": "x", "kmsKeyId": UNKNOWN_STRING_VALUE})
    assert _analyze(servicer, unknown) == []


def test_analyzer_advisory_and_config(f) -> None:
    servicer = _servicer()
    key = f.resource("aws:kms/key:Key", "k", {"enableKeyRotation": False}, stack="prod")
    diags = _analyze(servicer, key)
    assert sorted((d.policyName, d.enforcementLevel) for d in diags) == [
        ("kms-key-rotation", proto.ADVISORY), ("prod-deletion-protection", proto.ADVISORY)]
    config = proto.ConfigureAnalyzerRequest(policyConfig={
        "kms-key-rotation": proto.PolicyConfig(enforcementLevel=proto.DISABLED),
        "prod-deletion-protection": proto.PolicyConfig(enforcementLevel=proto.ADVISORY,
                                                       properties=_struct({"prodStacks": ["staging"]})),
    })
    servicer.Configure(config, None)
    assert _analyze(servicer, key) == []


def test_analyzer_stack_policy(f) -> None:
    servicer = _servicer()
    policy = f.resource("vault:index/policy:Policy", "eso-development",
                        {"name": "eso-development", "policy": 'path "kv/data/development/*" { capabilities = ["create"] }'})
    role = f.resource("vault:kubernetes/authBackendRole:AuthBackendRole", "eso-development",
                      {"roleName": "eso-development", "boundServiceAccountNames": ["eso"],
                       "boundServiceAccountNamespaces": ["external-secrets"], "tokenPolicies": ["eso-development"]})
    request = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type=r["type"], properties=_struct(r["inputs"]), urn=r["urn"], name=r["name"])
        for r in (policy, role)
    ])
    diags = list(servicer.AnalyzeStack(request, None).diagnostics)
    assert [(d.policyName, d.urn) for d in diags] == [("vault-eso-roles-read-only", policy["urn"])]


def test_analyzer_info_lists_every_policy_with_schema() -> None:
    info = _servicer().GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == [r.name for r in RULES]
    sudo = next(p for p in info.policies if p.name == "vault-policy-no-sudo")
    assert "sudoAllowedPolicies" in sudo.configSchema.properties


def test_readme_rule_table_matches_registry() -> None:
    from policies.rules.registry import rules_markdown

    readme = (ROOT / "policies" / "README.md").read_text()
    start = readme.index("<!-- rules-table")
    table = readme[readme.index("\n", start) + 1 : readme.index("<!-- /rules-table -->")].strip()
    assert table == rules_markdown()


def test_readme_config_example_is_valid() -> None:
    from policies.runner import resolve_config

    readme = (ROOT / "policies" / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    example = section[section.index("```json") + len("```json") : section.index("```", section.index("```json") + 7)]
    levels = {r.spec.name: r.level for r in resolve_config(json.loads(example))}
    assert levels["prod-controller-replicas"] == "disabled" and levels["served-api-versions"] == "advisory"
