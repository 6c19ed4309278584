"""Stack config validation: every bad input stops the program with a message naming the key and the fix."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_stack_config
from planner.mocks import MockIdentity, PlanMocks, RecordingMonitor
from planner.run import run_program
from tests.conftest import ROOT, config_secret_keys, raw_with_secrets, stack_config_objects, stack_input_from_objects

SECRET_LOOKING = "hunter2-" + "do-not-echo-me"


def _valid_raw(stack: str = "dev") -> tuple[dict[str, str], list[str]]:
    return raw_with_secrets(stack_config_objects(stack))


# A config secret key the dev stack's apps name.
CONFIG_KEY = config_secret_keys(stack_config_objects("dev"))[0]


def _app(cfg: dict[str, Any], env: str, index: int) -> dict[str, Any]:
    return cfg["platform:environments"][env]["apps"][index]


# Positions in the dev stack file, found rather than assumed, so that an app, secret or
# environment added the README way keeps these cases pointing at what they break.
_DEV = stack_config_objects("dev")
FIRST_ENV, LAST_ENV = next(iter(_DEV["platform:environments"])), list(_DEV["platform:environments"])[-1]


def _where(**fields: str) -> tuple[str, int, int]:
    """(environment, app index, secret index) of the dev stack's first secret with these fields."""
    return next((env, a, i) for env, spec in _DEV["platform:environments"].items() for a, app in enumerate(spec["apps"])
                for i, secret in enumerate(app["secrets"]) if all(secret.get(k) == v for k, v in fields.items()))


def _with(predicate: Callable[[dict[str, Any]], bool]) -> tuple[str, int]:
    """(environment, app index) of the dev stack's first app matching ``predicate``."""
    return next((env, a) for env, spec in _DEV["platform:environments"].items() for a, app in enumerate(spec["apps"]) if predicate(app))


RANDOM, CONFIG, EXTERNAL = _where(source="random"), _where(source="config"), _where(source="external")
TWO_SECRETS = _with(lambda app: len(app["secrets"]) > 1)
SECOND_APP = next((env, 1) for env, spec in _DEV["platform:environments"].items() if len(spec["apps"]) > 1)
_A = f"platform:environments.{FIRST_ENV}.apps[0]"


def _secret_path(where: tuple[str, int, int], field: str) -> str:
    env, a, i = where
    return f"platform:environments.{env}.apps[{a}].secrets[{i}].{field}"


def _secret(cfg: dict[str, Any], where: tuple[str, int, int]) -> dict[str, Any]:
    env, a, i = where
    return _app(cfg, env, a)["secrets"][i]


def _service_account(app: dict[str, Any]) -> str:
    return str(app.get("serviceAccount", app["name"]))


Edit = Callable[[dict[str, Any]], None]

# (id, edit of the dev stack's config objects, expected key path, expected words in the message)
BAD_CASES: list[tuple[str, Edit, str, str]] = [
    ("unknown backend", lambda c: _app(c, LAST_ENV, 0)["secrets"][0].update(backend="gcp"),
     f"platform:environments.{LAST_ENV}.apps[0].secrets[0].backend", "must be 'vault' or 'aws'"),
    ("unknown source", lambda c: _app(c, LAST_ENV, 0)["secrets"][0].update(source="file"),
     f"platform:environments.{LAST_ENV}.apps[0].secrets[0].source", "use `random`, `config` or `external`"),
    ("unknown environment", lambda c: c["platform:environments"].update(qa=c["platform:environments"][LAST_ENV]),
     "platform:environments.qa", "is not an environment this platform knows"),
    ("duplicate app", lambda c: c["platform:environments"][LAST_ENV]["apps"].append(dict(_app(c, LAST_ENV, 0))),
     f"platform:environments.{LAST_ENV}.apps[{len(_DEV['platform:environments'][LAST_ENV]['apps'])}].name", "duplicates apps[0]"),
    ("duplicate secret key", lambda c: _app(c, *TWO_SECRETS)["secrets"][1].update(key=_app(c, *TWO_SECRETS)["secrets"][0]["key"]),
     f"platform:environments.{TWO_SECRETS[0]}.apps[{TWO_SECRETS[1]}].secrets[1].key", "duplicates secrets[0]"),
    ("shared service account", lambda c: _app(c, *SECOND_APP).update(serviceAccount=_service_account(_app(c, SECOND_APP[0], 0))),
     f"platform:environments.{SECOND_APP[0]}.apps[1].serviceAccount", "could read the other's secrets"),
    ("invalid app name", lambda c: _app(c, FIRST_ENV, 0).update(name="API_Service"),
     f"{_A}.name", "must match pattern"),
    ("app name too long", lambda c: _app(c, FIRST_ENV, 0).update(name="a" * 41),
     f"{_A}.name", "at most 40 characters"),
    ("invalid secret key", lambda c: _app(c, FIRST_ENV, 0)["secrets"][0].update(key="DB_PASSWORD"),
     f"{_A}.secrets[0].key", "Vault path segment"),
    ("secret value pasted in config", lambda c: _app(c, FIRST_ENV, 0)["secrets"][0].update(value=SECRET_LOOKING),
     f"{_A}.secrets[0].value", "secret values never go in a config object"),
    ("raft quorum even", lambda c: c["platform:vault"].update(replicas=4),
     "platform:vault.replicas", "breaks Raft quorum"),
    ("raft quorum single", lambda c: c["platform:vault"].update(replicas=1),
     "platform:vault.replicas", "breaks Raft quorum"),
    ("replicas wrong type", lambda c: c["platform:vault"].update(replicas="three"),
     "platform:vault.replicas", "must be an integer, but the stack file gives quoted text"),
    ("unknown top-level key", lambda c: c.update({"platform:vaultReplicas": 3}),
     "platform:vaultReplicas", "is not a known setting"),
    ("unknown nested key", lambda c: c["platform:cluster"].update(endpointt="https://x"),
     "platform:cluster.endpointt", "is not a known setting"),
    ("missing cluster name", lambda c: c["platform:cluster"].pop("name"),
     "platform:cluster.name", "is required"),
    ("missing environments", lambda c: c.pop("platform:environments"),
     "platform:environments", "is required"),
    ("random without length", lambda c: _secret(c, RANDOM).pop("length"),
     _secret_path(RANDOM, "length"), "is required for source random"),
    ("random too short", lambda c: _secret(c, RANDOM).update(length=8),
     _secret_path(RANDOM, "length"), "between 16 and 128"),
    ("random without rotation", lambda c: _secret(c, RANDOM).pop("rotation"),
     _secret_path(RANDOM, "rotation"), "rotation keeper"),
    ("config without configKey", lambda c: _secret(c, CONFIG).pop("configKey"),
     _secret_path(CONFIG, "configKey"), "is required for source config"),
    ("external with length", lambda c: _secret(c, EXTERNAL).update(length=32),
     _secret_path(EXTERNAL, "length"), "applies only to source random"),
    ("oidc mismatch", lambda c: c["platform:cluster"].update(
        oidcIssuerUrl="https://oidc.eks.eu-west-1.amazonaws.com/id/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
     "platform:cluster.oidcProviderArn", "names a different OIDC issuer"),
    ("account mismatch", lambda c: c["platform:aws"].update(accountId="999999999999"),
     "platform:cluster.oidcProviderArn", "belongs to another account"),
    ("region mismatch", lambda c: c["platform:aws"].update(region="us-east-1"),
     "platform:cluster.oidcIssuerUrl", "another region"),
    ("bad cidr", lambda c: c["platform:cluster"].update(apiServerCidrs=["10.10.0.1/16"]),
     "platform:cluster.apiServerCidrs[0]", "is not a CIDR block"),
    ("api server cidr is the vpc", lambda c: c["platform:cluster"].update(apiServerCidrs=["10.10.255.0/28", "10.10.0.0/16"]),
     "platform:cluster.apiServerCidrs[1]", "is wider than /24: that is a node or pod subnet or the VPC"),
    ("unknown chart override", lambda c: c.update({"platform:charts": {"vaultt": "1.0.0"}}),
     "platform:charts.vaultt", "is not a chart this platform installs"),
    ("chart version not pinned", lambda c: c.update({"platform:charts": {"vault": "latest"}}),
     "platform:charts.vault", "must match pattern"),
    ("phase out of range", lambda c: c.update({"platform:vaultPhase": 3}),
     "platform:vaultPhase", "use 1 for the first run"),
    ("refresh interval words", lambda c: c["platform:environments"][LAST_ENV].update(refreshInterval="1 hour"),
     f"platform:environments.{LAST_ENV}.refreshInterval", "whole number of s, m or h"),
    ("sync policy unknown", lambda c: c["platform:environments"][LAST_ENV].update(syncPolicy="auto"),
     f"platform:environments.{LAST_ENV}.syncPolicy", "use `automated` or `manual`"),
    ("environments not an object", lambda c: c.update({"platform:environments": [LAST_ENV]}),
     "platform:environments", "must be a valid dictionary"),
    ("no apps", lambda c: c["platform:environments"][LAST_ENV].update(apps=[]),
     f"platform:environments.{LAST_ENV}.apps", "at least 1 item"),
    ("protect not boolean", lambda c: c.update({"platform:protectStateful": "yes"}),
     "platform:protectStateful", "has the wrong type"),
    ("admin arn not a role", lambda c: c["platform:aws"].update(adminRoleArns=["arn:aws:iam::111111111111:user/bob"]),
     "platform:aws.adminRoleArns[0]", "must match pattern"),
    ("preview arn not a role", lambda c: c["platform:vault"].update(previewRoleArns=["arn:aws:iam::111111111111:user/ci"]),
     "platform:vault.previewRoleArns[0]", "must match pattern"),
    ("deployer role of another account",
     lambda c: c["platform:vault"].update(deployerRoleArns=["arn:aws:iam::999999999999:role/platform-deployer"]),
     "platform:vault.deployerRoleArns[0]", "belongs to another account than aws.accountId"),
    ("default deployer (administrator) of another account", lambda c: (
        c["platform:vault"].pop("deployerRoleArns"), c["platform:aws"].update(breakGlassRoleArns=[]),
        c["platform:aws"]["adminRoleArns"].append("arn:aws:iam::999999999999:role/security-admin")),
     "platform:aws.adminRoleArns[2]", "administrators are the deployers while vault.deployerRoleArns is empty"),
    ("preview role of another account",
     lambda c: c["platform:vault"].update(previewRoleArns=["arn:aws:iam::999999999999:role/platform-preview"]),
     "platform:vault.previewRoleArns[0]", "belongs to another account than aws.accountId"),
    ("preview role is a deployer",
     lambda c: c["platform:vault"]["previewRoleArns"].append("arn:aws:iam::111111111111:role/platform-deployer"),
     "platform:vault.previewRoleArns[1]", "is also a deployer role"),
    ("preview role is a deployer under another path",
     lambda c: c["platform:vault"].update(previewRoleArns=["arn:aws:iam::111111111111:role/ci/platform-deployer"]),
     "platform:vault.previewRoleArns[0]", "a preview identity must never write to Vault"),
    ("preview role is a default deployer (an administrator)", lambda c: (
        c["platform:vault"].pop("deployerRoleArns"),
        c["platform:vault"].update(previewRoleArns=["arn:aws:iam::111111111111:role/platform-break-glass"])),
     "platform:vault.previewRoleArns[0]", "is also a deployer role (vault.deployerRoleArns, or aws.adminRoleArns when that is empty)"),
    ("preview role is an administrator",
     lambda c: c["platform:vault"].update(previewRoleArns=["arn:aws:iam::111111111111:role/platform-break-glass"]),
     "platform:vault.previewRoleArns[0]", "is also in aws.adminRoleArns"),
    ("break-glass arn not a role", lambda c: c["platform:aws"].update(breakGlassRoleArns=["arn:aws:iam::111111111111:user/alice"]),
     "platform:aws.breakGlassRoleArns[0]", "list emergency roles of aws.adminRoleArns"),
    ("break-glass role not an administrator",
     lambda c: c["platform:aws"].update(breakGlassRoleArns=["arn:aws:iam::111111111111:role/platform-emergency"]),
     "platform:aws.breakGlassRoleArns[0]", "is not one of aws.adminRoleArns"),
    ("break-glass role under another path than its administrator entry",
     lambda c: c["platform:aws"].update(breakGlassRoleArns=["arn:aws:iam::111111111111:role/ops/platform-break-glass"]),
     "platform:aws.breakGlassRoleArns[0]", "under another IAM path"),
    ("break-glass role is a deployer",
     lambda c: c["platform:vault"]["deployerRoleArns"].append("arn:aws:iam::111111111111:role/platform-break-glass"),
     "platform:aws.breakGlassRoleArns[0]", "every `pulumi up` or refresh that reads a secret would raise the alarm"),
    ("break-glass role is a default deployer (an administrator)", lambda c: c["platform:vault"].pop("deployerRoleArns"),
     "platform:aws.breakGlassRoleArns[0]", "is also a deployer role (vault.deployerRoleArns, or aws.adminRoleArns when that is empty)"),
    ("every administrator is break-glass",
     lambda c: c["platform:aws"].update(adminRoleArns=["arn:aws:iam::111111111111:role/platform-break-glass"]),
     "platform:aws.breakGlassRoleArns", "no administrator would read secrets without raising the alarm"),
    ("preview login role is the deployer's", lambda c: c["platform:vault"].update(login={"previewRole": "deployer"}),
     "platform:vault.login.previewRole", "must differ from vault.login.role"),
    ("preview login role not a name", lambda c: c["platform:vault"].update(login={"previewRole": "Preview_CI"}),
     "platform:vault.login.previewRole", "use a lowercase name other than vault.login.role"),
    ("app exposed as an unknown service type", lambda c: c["platform:environments"]["staging"]["apps"][0].update(expose="ExternalName"),
     "platform:environments.staging.apps[0].expose", "use `NodePort` or `LoadBalancer`"),
    ("environment domain not a DNS name", lambda c: c["platform:environments"]["staging"].update(domain="Staging Example"),
     "platform:environments.staging.domain", "use a lowercase DNS domain"),
    ("environment domain below another's", lambda c: (
        c["platform:environments"]["development"].update(domain="example.com"),
        c["platform:environments"]["staging"].update(domain="staging.example.com")),
     "platform:environments.staging.domain", "development's routes could claim its hosts"),
    ("approver not a github handle", lambda c: c["platform:environments"]["staging"].update(approvers=["staging team"]),
     "platform:environments.staging.approvers[0]", "list GitHub users or teams"),
    ("node isolation label key not a label key",
     lambda c: c["platform:environments"]["staging"].update(nodeIsolation={"labelKey": "bad key", "labelValue": "staging"}),
     "platform:environments.staging.nodeIsolation.labelKey", "use a Kubernetes label key"),
]


@pytest.mark.parametrize(("edit", "path", "words"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_config_names_the_key_and_the_fix(edit: Edit, path: str, words: str) -> None:
    config = stack_config_objects("dev")
    edit(config)
    raw, secrets = raw_with_secrets(config)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, "dev", secrets)
    lines = [line for line in str(caught.value).splitlines() if line.startswith("  - ")]
    matching = [line for line in lines if f"- {path}: " in line]
    assert matching, f"no problem reported at {path}; got:\n" + "\n".join(lines)
    assert any(words in line and "Fix: " in line for line in matching), "\n".join(matching)
    assert SECRET_LOOKING not in str(caught.value)


def test_there_are_at_least_twenty_bad_config_cases() -> None:
    assert len(BAD_CASES) >= 20


def test_committed_stack_files_are_valid() -> None:
    for stack in ("dev", "prod"):
        raw, secrets = _valid_raw(stack)
        parse_stack_config(raw, stack, secrets)


def test_config_secret_missing_says_which_command_to_run() -> None:
    raw, _ = _valid_raw()
    del raw[CONFIG_KEY]
    with pytest.raises(ConfigError, match=rf"platform:{CONFIG_KEY}: is not set\. Fix: run `pulumi config set --secret {CONFIG_KEY}"):
        parse_stack_config(raw, "dev", [])


def test_config_secret_stored_in_plain_text_is_refused_without_echoing_it() -> None:
    raw, _ = _valid_raw()
    raw[CONFIG_KEY] = SECRET_LOOKING
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, "dev", secret_keys=[])
    assert f"platform:{CONFIG_KEY}: is stored in plain text in the stack file" in str(caught.value)
    assert SECRET_LOOKING not in str(caught.value)


def test_settings_object_stored_as_secret_is_refused() -> None:
    raw, secrets = _valid_raw()
    with pytest.raises(ConfigError, match=r"platform:gitops: is stored as a secret, but it is settings"):
        parse_stack_config(raw, "dev", [*secrets, "gitops"])


def test_all_problems_are_reported_at_once() -> None:
    config = stack_config_objects("dev")
    config["platform:vault"]["replicas"] = 2
    _secret(config, RANDOM)["length"] = 8
    raw, secrets = raw_with_secrets(config)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, "dev", secrets)
    assert len(caught.value.issues) == 2


def test_program_registers_nothing_when_config_is_invalid() -> None:
    config = stack_config_objects("dev")
    config["platform:vault"]["replicas"] = 2
    monitor = RecordingMonitor(PlanMocks(MockIdentity()))
    with pytest.raises(ConfigError, match="breaks Raft quorum"):
        run_program(stack_input_from_objects("dev", config), monitor=monitor)
    assert monitor.records == []


def _plan_cli(tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the plan command on a copy of the project whose dev stack file holds ``config``."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "plan"
    return subprocess.run(
        [sys.executable, "-m", "planner", "--stack", "dev", "--root", str(root), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )


def test_plan_command_on_bad_config_exits_2_without_traceback_or_plan(tmp_path: Path) -> None:
    config = stack_config_objects("dev")
    _app(config, LAST_ENV, 0)["secrets"][0]["backend"] = "gcp"
    _app(config, LAST_ENV, 0)["secrets"][0]["value"] = SECRET_LOOKING
    result = _plan_cli(tmp_path, config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert f"platform:environments.{LAST_ENV}.apps[0].secrets[0].backend: must be 'vault' or 'aws'" in result.stderr
    assert SECRET_LOOKING not in result.stderr + result.stdout
    assert not (tmp_path / "plan" / "dev").exists()


def test_plan_command_on_valid_copy_writes_the_plan(tmp_path: Path) -> None:
    result = _plan_cli(tmp_path, stack_config_objects("dev"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plan" / "dev" / "resources.json").is_file()


@pytest.mark.parametrize(("edit", "path", "words"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_plan_command_refuses_every_bad_case_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Edit, path: str, words: str
) -> None:
    """The plan command (in-process) exits 2, prints the key path, no traceback and no plan, for every case."""
    from planner.__main__ import main

    config = stack_config_objects("dev")
    edit(config)
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(["--stack", "dev", "--root", str(root), "--out", str(tmp_path / "plan")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: " in err and "Traceback" not in err and SECRET_LOOKING not in err
    assert not (tmp_path / "plan" / "dev").exists()
