"""Bad input, as a new user makes it: every case is refused by the config model (or the strict stack-file
reader) AND by the plan command with `<namespace>:<key path>: <problem>. Fix: <what to do>`, exit 2, no plan
folder, no traceback, and never an echo of a secret value; the planner deletes nothing but its own plans.

Families: commands, strict stack files, isolation invariants, ranges, did-you-mean messages.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_stack_config
from components.config.limits import READS_PER_HOUR_CEILING
from components.versions import CHART_PINS
from planner import gitops
from planner.__main__ import main as plan_main
from planner.artifacts import PLAN_ENTRIES
from planner.stackfile import StackFileError, stack_settings
from policies.runner import main as policy_main
from tests.conftest import ROOT, STACKS, stack_config_objects

PASTED_VALUE = "sk_live_" + "do-not-echo-me-51HxQ"


def _secret_keys() -> list[str]:
    """The keys Pulumi.yaml declares secret (the plan gives each a placeholder)."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    return [key for key, decl in declared.items() if isinstance(decl, dict) and decl.get("secret")]


def _raw(config: dict[str, Any]) -> dict[str, str]:
    """Stack-file objects -> the top-level strings Pulumi hands the program (secrets as placeholders)."""
    import json

    out = {key: "placeholder" for key in _secret_keys()}
    for key, value in config.items():
        if key.startswith("platform:"):
            short = key.split(":", 1)[1]
            out[short] = json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _project(tmp_path: Path, stack_texts: dict[str, str]) -> Path:
    """A copy of the project's Pulumi.yaml with the given stack files."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    for stack, text in stack_texts.items():
        (root / f"Pulumi.{stack}.yaml").write_text(text)
    return root


def _assert_refused(lines: str, path: str, words: str) -> None:
    matching = [line for line in lines.splitlines() if f"{path}: " in line]
    assert matching, f"no problem reported at {path}; got:\n{lines}"
    assert any(words in line and ". Fix: " in line for line in matching), "\n".join(matching)
    assert PASTED_VALUE not in lines and "Traceback" not in lines


def _plan_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str], root: Path, stack: str, path: str, words: str) -> None:
    """The plan command (in process): exit 2, the message, no output folder at all."""
    out = tmp_path / "plan"
    capsys.readouterr()
    assert plan_main(["--stack", stack, "--root", str(root), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    _assert_refused(captured.err, path, words)
    assert PASTED_VALUE not in captured.out
    assert not out.exists()


# --- 1. commands ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["../..", "", ".", "..", "/", "dev/../prod", "Dev", "dev prod", "-dev", "d" * 40, "dev\n"])
def test_a_stack_name_that_is_not_a_plain_name_is_refused_before_any_path_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str
) -> None:
    root = _project(tmp_path, {"dev": (ROOT / "Pulumi.dev.yaml").read_text()})
    out = root / "build" / "plan"
    (out / "dev").mkdir(parents=True)
    (out / "dev" / "resources.json").write_text("[]")  # another stack's plan: must survive
    sentinel = tmp_path / "keep.txt"
    sentinel.write_text("x")
    assert plan_main([f"--stack={stack}", "--root", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--stack: is not a stack name" in err and "Fix: " in err and "Traceback" not in err
    assert sentinel.exists() and (root / "Pulumi.yaml").exists() and (out / "dev" / "resources.json").exists()


def test_make_plan_with_a_path_as_stack_deletes_nothing(tmp_path: Path) -> None:
    """`make plan STACK=../..` once deleted the checkout: now exit 2, every file still there."""
    root = _project(tmp_path, {"dev": (ROOT / "Pulumi.dev.yaml").read_text()})
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "planner", "--stack", "../..", "--root", str(root), "--out", str(root / "build" / "plan")],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--stack: is not a stack name" in result.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_missing_stack_file_suggests_the_nearest_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main(["--stack", "prd", "--out", str(tmp_path / "plan")]) == 2
    err = capsys.readouterr().err
    assert "--stack: names no stack: Pulumi.prd.yaml does not exist. Fix: did you mean `prod`?" in err
    assert not (tmp_path / "plan").exists()


@pytest.mark.parametrize("phase", ["3", "0", "x", "", "1.0"])
def test_a_phase_other_than_1_or_2_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], phase: str) -> None:
    with pytest.raises(SystemExit) as caught:
        plan_main(["--stack", "dev", "--phase", phase, "--out", str(tmp_path / "plan")])
    assert caught.value.code == 2
    assert "argument --phase: must be 1 or 2. Fix: use 1 for the first run" in capsys.readouterr().err
    assert not (tmp_path / "plan").exists()


def test_an_out_folder_that_is_not_a_plan_is_never_deleted_nor_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out .` would make `<out>/dev` any folder named dev: the planner leaves a folder that is not a plan alone."""
    out = tmp_path / "out"
    (out / "dev").mkdir(parents=True)
    (out / "dev" / "notes.txt").write_text("mine")
    assert plan_main(["--stack", "dev", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out: {out / 'dev'} exists and is not a plan folder" in err and "Fix: " in err
    assert (out / "dev" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["dev"]  # no staging folder left behind


def test_a_refused_config_removes_only_that_stacks_old_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = stack_config_objects("dev")
    config["platform:vault"]["replicas"] = 2
    root = _project(tmp_path, {"dev": yaml.safe_dump({"config": config}), "prod": (ROOT / "Pulumi.prod.yaml").read_text()})
    out = tmp_path / "plan"
    for name in ("dev", "prod"):
        (out / name).mkdir(parents=True)
        (out / name / "resources.json").write_text("[]")
    assert plan_main(["--stack", "dev", "--root", str(root), "--out", str(out)]) == 2
    assert "platform:vault.replicas: breaks Raft quorum" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["prod"]


def test_a_plan_holds_only_entries_the_planner_may_delete(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    assert plan_main(["--stack", "dev", "--out", str(out)]) == 0
    assert {p.name for p in (out / "dev").iterdir()} <= PLAN_ENTRIES
    assert plan_main(["--stack", "dev", "--out", str(out)]) == 0  # an old plan is replaced
    assert sorted(p.name for p in out.iterdir()) == ["dev"]


def test_gitops_refuses_a_stack_file_whose_name_is_no_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, {s: (ROOT / f"Pulumi.{s}.yaml").read_text() for s in STACKS})
    (root / "Pulumi.dev.old.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    assert gitops.main(["--root", str(root), "--check"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.dev.old.yaml: is not a stack file" in err and "Fix: " in err
    assert not (root / "gitops").exists()


def test_gitops_refuses_a_tree_path_outside_the_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = stack_config_objects("dev")
    config["platform:gitops"]["path"] = "../outside"
    root = _project(tmp_path, {"dev": yaml.safe_dump({"config": config}), "prod": (ROOT / "Pulumi.prod.yaml").read_text()})
    assert gitops.main(["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "platform:gitops.path: has a `.` or `..` segment" in err
    assert not (tmp_path / "outside").exists()


def test_gitops_refuses_a_root_without_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gitops.main(["--root", str(tmp_path)]) == 2
    assert "--root: " in capsys.readouterr().err


def test_an_out_path_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    out.write_text("not a folder")
    assert plan_main(["--stack", "dev", "--out", str(out)]) == 2
    assert "--out: cannot write the plan" in capsys.readouterr().err
    assert out.read_text() == "not a folder"


def test_chart_api_floors_name_apis_the_policy_pack_knows() -> None:
    from components.config.limits import CHART_API_FLOORS
    from policies.rules.api_versions import SERVED

    for chart, (_, api) in CHART_API_FLOORS.items():
        group, version = api.split("/")
        assert chart in CHART_PINS and version in SERVED[group], api


def test_policy_runner_writes_its_report_only_beside_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "data.json"
    other.write_text("[]")
    assert policy_main(["--plan", str(other)]) == 2
    err = capsys.readouterr().err
    assert "--plan: names 'data.json', not a plan's resources.json" in err and "Fix: " in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


# --- 2. stack files read strictly ------------------------------------------------------------------------

def _sub(pattern: str, replacement: str) -> Callable[[str], str]:
    """Replace the one line matching ``pattern`` (a value of the committed stack file)."""
    def edit(text: str) -> str:
        new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        assert count == 1, pattern
        return new
    return edit


def _append(lines: str) -> Callable[[str], str]:
    """Add entries at the end of `config:` (the stack file's last mapping)."""
    return lambda text: text.rstrip("\n") + "\n" + lines


def _after(anchor: str, line: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert anchor in text, anchor
        return text.replace(anchor, anchor + line, 1)
    return edit


TextEdit = Callable[[str], str]
# (id, edit of Pulumi.dev.yaml's text, expected location, expected words)
FILE_CASES: list[tuple[str, TextEdit, str, str]] = [
    ("duplicate top-level key", _append("  platform:gitops:\n    repoUrl: https://github.com/example-org/other.git\n    revision: main\n"),
     "platform:gitops", "is written twice in one mapping"),
    ("duplicate nested key", _after("  platform:aws:\n", "    region: eu-west-1\n"),
     "platform:aws.region", "YAML would keep the last and drop the first silently"),
    ("unquoted date", _sub(r"^(    revision: ).*$", r"\g<1>2026-11-01"),
     "platform:gitops.revision", "is an unquoted date"),
    ("unquoted date as rotation keeper", _sub(r"""^(\s+rotation: )["']?[A-Za-z0-9._-]+["']?$""", r"\g<1>2026-11-01"),
     ".rotation", "is an unquoted date, which YAML reads as a date, not text. Fix: quote it"),
    ("unquoted version with a trailing zero", _sub(r"^(    kubernetesVersion: ).*$", r"\g<1>1.30"),
     "platform:cluster.kubernetesVersion", "`1.30` becomes 1.3"),
    ("unquoted version", _sub(r"^(    kubernetesVersion: ).*$", r"\g<1>1.33"),
     "platform:cluster.kubernetesVersion", "which YAML reads as a float"),
    ("unquoted account id", _sub(r"""^(    accountId: )["']([0-9]+)["']$""", r"\g<1>\g<2>"),
     "platform:aws.accountId", "must be text, but the stack file gives a number"),
    ("account id with a leading zero", _sub(r"^(    accountId: ).*$", r"\g<1>012345678901"),
     "platform:aws.accountId", "YAML 1.2 (the Pulumi CLI) reads as a number"),
    ("yes for a boolean", _append("  platform:protectStateful: yes\n"),
     "platform:protectStateful", "is an unquoted yes, no, on or off"),
    ("on for a text", _sub(r"^(    ssoName: ).*$", r"\g<1>on"),
     "platform:argocd.ssoName", "write true or false for a switch, or quote the text"),
    ("quoted number", _sub(r"^(    snapshotRetentionDays: )(.*)$", r'\g<1>"\g<2>"'),
     "platform:vault.snapshotRetentionDays", "must be an integer, but the stack file gives quoted text"),
    ("quoted boolean", _sub(r"^(    ha: )(.*)$", r'\g<1>"\g<2>"'),
     "platform:argocd.ha", "must be true or false, but the stack file gives quoted text"),
    ("true for a text", _sub(r"^(    ssoName: ).*$", r"\g<1>true"),
     "platform:argocd.ssoName", "must be text, but the stack file gives a boolean"),
    ("octal-looking number", _sub(r"^(    snapshotRetentionDays: ).*$", r"\g<1>014"),
     "platform:vault.snapshotRetentionDays", "an unquoted number YAML rewrites"),
    ("sexagesimal number", _sub(r"^(    snapshotRetentionDays: ).*$", r"\g<1>1:30"),
     "platform:vault.snapshotRetentionDays", "an unquoted number YAML rewrites"),
    ("empty value", _sub(r"^(    revision:).*$", r"\g<1>"),
     "platform:gitops.revision", "is empty"),
    ("key YAML reads as a boolean", _after("  platform:argocd:\n", "    on: x\n"),
     "platform:argocd.on", "is an unquoted key that YAML reads as something other than text"),
    ("misspelt namespace", _sub(r"^  platform:gitops:$", "  platfrom:gitops:"),
     "platfrom:gitops", "did you mean `platform`?"),
    ("provider namespace", _append("  aws:region: eu-west-1\n"),
     "aws:region", "is in the namespace `aws`, which this project does not read"),
    ("unknown pulumi key", _append("  pulumi:disable-default-provider:\n    - \"*\"\n"),
     "pulumi:disable-default-provider", "did you mean `disable-default-providers`?"),
    ("default providers not disabled", _sub(r"""^  pulumi:disable-default-providers:\n *- ["']\*["']\n""", ""),
     "pulumi:disable-default-providers", "must be `[\"*\"]`"),
    ("default providers partly disabled", _sub(r"""^(  pulumi:disable-default-providers:\n *- )["']\*["']$""", r"\g<1>aws"),
     "pulumi:disable-default-providers", "must be `[\"*\"]`"),
    ("plaintext for a declared secret", _append(f"  platform:paymentsStripeApiKey: {PASTED_VALUE}\n"),
     "platform:paymentsStripeApiKey", "but the stack file holds it in plain text (it must be encrypted)"),
    ("plaintext for a declared secret without namespace", _append(f"  paymentsStripeApiKey: {PASTED_VALUE}\n"),
     "platform:paymentsStripeApiKey", "it must be encrypted"),
    ("plaintext object for a declared secret", _append(f"  platform:paymentsStripeApiKey:\n    value: {PASTED_VALUE}\n"),
     "platform:paymentsStripeApiKey", "it must be encrypted"),
    ("misspelt stack-file key", lambda text: "secretprovider: awskms://alias/x\n" + text,
     "Pulumi.dev.yaml", "did you mean `secretsprovider`?"),
    ("config not a mapping", lambda text: "config: []\n",
     "Pulumi.dev.yaml", "`config` is not a mapping"),
]


@pytest.mark.parametrize(("edit", "path", "words"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_stack_file_mistakes_are_refused_by_the_reader_and_the_model(tmp_path: Path, edit: TextEdit, path: str, words: str) -> None:
    root = _project(tmp_path, {"dev": edit((ROOT / "Pulumi.dev.yaml").read_text())})
    with pytest.raises(ConfigError) as caught:
        stack_settings(root, "dev")
    _assert_refused(str(caught.value), path, words)


@pytest.mark.parametrize(("edit", "path", "words"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_stack_file_mistakes_are_refused_by_the_plan_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: TextEdit, path: str, words: str
) -> None:
    root = _project(tmp_path, {"dev": edit((ROOT / "Pulumi.dev.yaml").read_text())})
    _plan_refuses(tmp_path, capsys, root, "dev", path, words)


@pytest.mark.parametrize("text", [
    f'config:\n  platform:paymentsStripeApiKey: "{PASTED_VALUE}\n  x: [\n',
    f"config:\n  platform:paymentsStripeApiKey: {PASTED_VALUE}: x\n",
    "config:\n\tplatform:vault: {}\n",
    "---\nconfig: {}\n---\nconfig: {}\n",
    "",
    "[1, 2]\n",
])
def test_unreadable_stack_files_exit_2_without_echo_or_traceback(tmp_path: Path, text: str) -> None:
    root = _project(tmp_path, {"dev": text})
    result = subprocess.run([sys.executable, "-m", "planner", "--stack", "dev", "--root", str(root), "--out", str(tmp_path / "plan")],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and PASTED_VALUE not in result.stderr + result.stdout
    assert "No plan written" in result.stderr and not (tmp_path / "plan").exists()


def test_a_stack_file_that_is_not_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, {})
    (root / "Pulumi.dev.yaml").write_bytes(b"config:\n  platform:gitops: \xff\xfe\n")
    assert plan_main(["--stack", "dev", "--root", str(root), "--out", str(tmp_path / "plan")]) == 2
    assert "cannot be read as UTF-8 text" in capsys.readouterr().err


def test_every_problem_is_reported_at_once_even_beside_invalid_values(tmp_path: Path) -> None:
    """Unknown namespaces, keys, environments and top-level keys are reported with the type errors."""
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    for edit in (_sub(r"^(    revision: ).*$", r"\g<1>2026-11-01"), _sub(r"^(    ssoName: .*)$", r"\g<1>\n    ssoNmae: x"),
                 _append("  platfrom:vault:\n    replicas: 3\n  platform:vaultReplicas: 3\n"),
                 _sub(r"^(    kubernetesVersion: ).*$", r"\g<1>1.30"), _sub(r"^    staging:\n      syncPolicy", "    stagign:\n      syncPolicy")):
        text = edit(text)
    root = _project(tmp_path, {"dev": text})
    with pytest.raises(ConfigError) as caught:
        stack_settings(root, "dev")
    message = str(caught.value)
    for expected in ("platform:gitops.revision: is an unquoted date", "platform:argocd.ssoNmae: is not a known setting",
                     "platfrom:vault: is in the namespace", "platform:vaultReplicas: is not a known setting",
                     "platform:cluster.kubernetesVersion: is an unquoted number", "platform:environments.stagign: is not an environment"):
        assert expected in message, message


def test_duplicate_environments_no_longer_drop_apps_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two `staging:` blocks: YAML keeps the second; the plan refuses instead of planning fewer resources."""
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    head = "  platform:environments:\n"
    assert "    staging:\n" in text.split(head, 1)[1]
    lone = ("    staging:\n      syncPolicy: manual\n      apps:\n        - name: lone\n          secrets:\n"
            + "            - key: token\n              backend: vault\n              source: external\n")
    text = text.replace(head, head + lone, 1)  # a first `staging:`, before the stack file's own
    root = _project(tmp_path, {"dev": text})
    _plan_refuses(tmp_path, capsys, root, "dev", "platform:environments.staging", "is written twice in one mapping")


def test_a_secure_value_stays_accepted_for_a_declared_secret(tmp_path: Path) -> None:
    text = _append("  platform:paymentsStripeApiKey:\n    secure: AAABAKz3ciphertext\n")((ROOT / "Pulumi.dev.yaml").read_text())
    root = _project(tmp_path, {"dev": text})
    stack_input, _ = stack_settings(root, "dev")
    assert "platform:paymentsStripeApiKey" in stack_input.secret_keys
    assert stack_input.issues == ()


def test_the_committed_stack_files_read_strictly_without_issues() -> None:
    for stack in STACKS:
        stack_input, _ = stack_settings(ROOT, stack)
        assert stack_input.issues == ()


# --- 3. isolation invariants, 4. ranges, 5. messages: edits of the config objects ---------------------------

Edit = Callable[[dict[str, Any]], str]  # edits the objects in place, returns the expected key path


def _env(cfg: dict[str, Any], env: str) -> dict[str, Any]:
    environments: dict[str, Any] = cfg["platform:environments"]
    return environments[env]


def _first_env(cfg: dict[str, Any]) -> str:
    return next(iter(cfg["platform:environments"]))


def _other_account(cfg: dict[str, Any]) -> str:
    return "999999999999" if cfg["platform:aws"]["accountId"] != "999999999999" else "888888888888"


def _share_config_key(cfg: dict[str, Any]) -> str:
    """The second environment's first secret reads the first environment's config key."""
    first, second = list(cfg["platform:environments"])[:2]
    key = next(s["configKey"] for app in _env(cfg, first)["apps"] for s in app["secrets"] if s["source"] == "config")
    secret = _env(cfg, second)["apps"][0]["secrets"][0]
    for name in ("length", "charset", "rotation"):
        secret.pop(name, None)
    secret.update(source="config", configKey=key)
    return f"environments.{second}.apps[0].secrets[0].configKey"


def _colliding_names(cfg: dict[str, Any]) -> str:
    apps = _env(cfg, _first_env(cfg))["apps"]
    apps.append({"name": "billing-admin", "secrets": [{"key": "session-secret", "backend": "vault", "source": "external"}]})
    apps.append({"name": "billing-admin-session", "secrets": [{"key": "secret", "backend": "aws", "source": "external"}]})
    return f"environments.{_first_env(cfg)}.apps[{len(apps) - 1}].secrets[0].key"


def _default_service_account(cfg: dict[str, Any]) -> str:
    _env(cfg, _first_env(cfg))["apps"][0]["serviceAccount"] = "default"
    return f"environments.{_first_env(cfg)}.apps[0].serviceAccount"


def _app_named_default(cfg: dict[str, Any]) -> str:
    apps = _env(cfg, _first_env(cfg))["apps"]
    apps.append({"name": "default", "secrets": [{"key": "token", "backend": "vault", "source": "external"}]})
    return f"environments.{_first_env(cfg)}.apps[{len(apps) - 1}].name"


def _deployer_not_admin(cfg: dict[str, Any]) -> str:
    deployers = cfg["platform:vault"].setdefault("deployerRoleArns", [])
    deployers.append(f"arn:aws:iam::{cfg['platform:aws']['accountId']}:role/ci-deployer")
    return f"vault.deployerRoleArns[{len(deployers) - 1}]"


def _admin_of_another_partition(cfg: dict[str, Any]) -> str:
    admins = cfg["platform:aws"]["adminRoleArns"]
    admins.append(f"arn:aws-cn:iam::{cfg['platform:aws']['accountId']}:role/security-admin")
    return f"aws.adminRoleArns[{len(admins) - 1}]"


def _admin_of_another_account(cfg: dict[str, Any]) -> str:
    admins = cfg["platform:aws"]["adminRoleArns"]
    admins.append(f"arn:aws:iam::{_other_account(cfg)}:role/security-admin")
    return f"aws.adminRoleArns[{len(admins) - 1}]"


def _cidr(key: str, section: str, cidr: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> str:
        cidrs = cfg[f"platform:{section}"].setdefault(key, [])
        cidrs.append(cidr)
        return f"{section}.{key}[{len(cidrs) - 1}]"
    return edit


def _production_beside(cfg: dict[str, Any]) -> str:
    first = _first_env(cfg)
    cfg["platform:environments"]["production"] = copy.deepcopy(_env(cfg, first))
    return f"environments.{first}"


def _set(section: str, key: str, value: Any) -> Edit:
    def edit(cfg: dict[str, Any]) -> str:
        cfg[f"platform:{section}"][key] = value
        return f"{section}.{key}"
    return edit


def _sync_window(**fields: Any) -> Edit:
    def edit(cfg: dict[str, Any]) -> str:
        env = _first_env(cfg)
        windows = cfg["platform:argocd"].setdefault("syncWindows", {}).setdefault(env, [])
        windows.append({"kind": "allow", "schedule": "0 8 * * 1-5", "duration": "2h", **fields})
        return f"argocd.syncWindows.{env}[{len(windows) - 1}].{next(iter(fields))}"
    return edit


def _refresh(interval: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> str:
        env = _first_env(cfg)
        _env(cfg, env)["refreshInterval"] = interval
        return f"environments.{env}.refreshInterval"
    return edit


def _refresh_load(cfg: dict[str, Any]) -> str:
    """Enough Vault secrets refreshed every minute to pass the ceiling of reads an hour."""
    env = _first_env(cfg)
    _env(cfg, env)["refreshInterval"] = "1m"
    per_app = 8
    apps = READS_PER_HOUR_CEILING // 60 // per_app + 1
    _env(cfg, env)["apps"].extend(
        {"name": f"load-{i}", "secrets": [{"key": f"k{j}", "backend": "vault", "source": "external"} for j in range(per_app)]}
        for i in range(apps)
    )
    return f"environments.{env}.refreshInterval"


def _chart(chart: str, version: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> str:
        cfg["platform:charts"] = {chart: version}
        return f"charts.{chart}"
    return edit


def _next_major(chart: str) -> str:
    return f"{int(CHART_PINS[chart].version.split('.')[0]) + 1}.0.0"


def _no_alarm_recipient(cfg: dict[str, Any]) -> str:
    cfg["platform:aws"]["alarmEmails"] = []
    return "aws.alarmEmails"


def _rename_environment(cfg: dict[str, Any]) -> str:
    env = _first_env(cfg)
    typo = env[:-2] + env[-1] + env[-2]  # two letters swapped
    cfg["platform:environments"][typo] = cfg["platform:environments"].pop(env)
    return f"environments.{typo}"


def _backend_typo(cfg: dict[str, Any]) -> str:
    env = _first_env(cfg)
    _env(cfg, env)["apps"][0]["secrets"][0]["backend"] = "vualt"
    return f"environments.{env}.apps[0].secrets[0].backend"


def _nested_key_typo(cfg: dict[str, Any]) -> str:
    cfg["platform:vault"]["snapshotRetentionDay"] = 7
    return "vault.snapshotRetentionDay"


def _top_level_typo(cfg: dict[str, Any]) -> str:
    cfg["platform:protectStatefull"] = True
    return "protectStatefull"


def _chart_typo(cfg: dict[str, Any]) -> str:
    cfg["platform:charts"] = {"external-secret": CHART_PINS["external-secrets"].version}
    return "charts.external-secret"


# (id, stack, edit returning the key path, expected words)
OBJECT_CASES: list[tuple[str, str, Edit, str]] = [
    # 3. isolation invariants
    ("production beside another environment", "dev", _production_beside,
     "shares a stack (cluster, Vault, ESO controller, AWS account) with production"),
    ("config key read by two environments", "dev", _share_config_key, "would hold"),
    ("derived names collide", "dev", _colliding_names, "derives the resource name"),
    ("default service account", "dev", _default_service_account, "makes the app's service account `default`"),
    ("app named default", "dev", _app_named_default, "makes the app's service account `default`"),
    ("deployer that is no administrator", "dev", _deployer_not_admin, "is not one of aws.adminRoleArns"),
    ("administrator of another partition", "dev", _admin_of_another_partition, "is not in the partition of aws.region"),
    ("administrator of another account", "prod", _admin_of_another_account, "belongs to another account than aws.accountId"),
    ("world-open deployer CIDR", "dev", _cidr("deployerCidrs", "vault", "0.0.0.0/0"), "opens to the whole Internet"),
    ("world-open IPv6 deployer CIDR", "dev", _cidr("deployerCidrs", "vault", "::/0"), "opens to the whole Internet"),
    ("overly broad deployer CIDR", "prod", _cidr("deployerCidrs", "vault", "10.0.0.0/7"), "a /7 or broader"),
    ("world-open API server CIDR", "dev", _cidr("apiServerCidrs", "cluster", "0.0.0.0/0"), "opens to the whole Internet"),
    # 4. ranges
    ("cron minute out of range", "dev", _set("vault", "snapshotSchedule", "60 */6 * * *"), "has a minute field out of 0-59"),
    ("cron hour out of range", "prod", _set("vault", "snapshotSchedule", "0 24 * * *"), "has a hour field out of 0-23"),
    ("cron day of week 7", "dev", _sync_window(schedule="0 8 * * 7"), "has a day of week field out of 0-6"),
    ("cron reversed range", "dev", _sync_window(schedule="0 17-8 * * *"), "a reversed range"),
    ("cron zero step", "dev", _set("vault", "snapshotSchedule", "*/0 * * * *"), "a zero step"),
    ("cron that never fires", "prod", _set("vault", "snapshotSchedule", "0 0 30 2 *"), "never fires"),
    ("port out of range", "dev", _set("vault", "apiEndpoint", "https://vault.platform-dev.example.com:82000"), "has a port out of 1-65535"),
    ("port zero", "dev", _set("vault", "apiEndpoint", "https://vault.platform-dev.example.com:0"), "has a port out of 1-65535"),
    ("unknown time zone", "dev", _sync_window(timeZone="Europe/Pariss"), "did you mean `Europe/Paris`?"),
    ("time zone that is no zone", "dev", _sync_window(timeZone="Mars/Olympus"), "is not an IANA time zone"),
    ("sync window longer than a year", "dev", _sync_window(duration="9000h"), "is longer than a year"),
    ("refresh too often", "dev", _refresh("10s"), "must be between 1m and 24h"),
    ("refresh too rarely", "dev", _refresh("48h"), "must be between 1m and 24h"),
    ("refresh load above the ceiling", "dev", _refresh_load, f"above the ceiling of {READS_PER_HOUR_CEILING:,}"),
    ("argocd refresh too rarely", "prod", _set("argocd", "secretRefreshInterval", "1000h"), "must be between 1m and 24h"),
    ("chart override of a newer major", "dev", _chart("external-secrets", _next_major("external-secrets")),
     "is a newer major version than the tested pin"),
    ("chart override without external-secrets.io/v1", "prod", _chart("external-secrets", "0.16.1"),
     "the first version serving external-secrets.io/v1"),
    ("production alarm without recipients", "prod", _no_alarm_recipient, "its secret-access alarm reaches nobody"),
    # 5. did-you-mean
    ("environment typo", "dev", _rename_environment, "is not an environment this platform knows. Fix: did you mean"),
    ("backend typo", "dev", _backend_typo, "did you mean `vault`?"),
    ("nested key typo", "prod", _nested_key_typo, "did you mean `snapshotRetentionDays`?"),
    ("top-level key typo", "dev", _top_level_typo, "did you mean `protectStateful`?"),
    ("chart typo", "dev", _chart_typo, "did you mean `external-secrets`?"),
]


@pytest.mark.parametrize(("stack", "edit", "words"), [c[1:] for c in OBJECT_CASES], ids=[c[0] for c in OBJECT_CASES])
def test_config_mistakes_are_refused_by_the_model(stack: str, edit: Edit, words: str) -> None:
    config = copy.deepcopy(stack_config_objects(stack))
    path = edit(config)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(_raw(config), stack, _secret_keys())
    _assert_refused(str(caught.value), f"platform:{path}", words)


@pytest.mark.parametrize(("stack", "edit", "words"), [c[1:] for c in OBJECT_CASES], ids=[c[0] for c in OBJECT_CASES])
def test_config_mistakes_are_refused_by_the_plan_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str, edit: Edit, words: str
) -> None:
    config = copy.deepcopy(stack_config_objects(stack))
    path = edit(config)
    root = _project(tmp_path, {stack: yaml.safe_dump({"config": config})})
    _plan_refuses(tmp_path, capsys, root, stack, f"platform:{path}", words)


# Sibling stack files: (id, keys copied from prod into dev, expected path, expected words)
SIBLING_CASES: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], None], str, str]] = [
    ("shared account", lambda dev, prod: (dev.update({"platform:cluster": prod["platform:cluster"]}),
                                          dev["platform:aws"].update(accountId=prod["platform:aws"]["accountId"])),
     "platform:aws.accountId", "names the AWS account of stack `prod`"),
    ("shared OIDC provider", lambda dev, prod: (dev.update({"platform:cluster": prod["platform:cluster"]}),
                                                dev["platform:aws"].update(accountId=prod["platform:aws"]["accountId"])),
     "platform:cluster.oidcProviderArn", "names the OIDC provider of stack `prod`"),
    ("shared cluster", lambda dev, prod: (dev.update({"platform:cluster": prod["platform:cluster"]}),
                                          dev["platform:aws"].update(accountId=prod["platform:aws"]["accountId"])),
     "platform:cluster.name", "names the cluster of stack `prod`"),
    ("shared Vault endpoint", lambda dev, prod: dev["platform:vault"].update(apiEndpoint=prod["platform:vault"]["apiEndpoint"]),
     "platform:vault.apiEndpoint", "names the Vault endpoint of stack `prod`"),
]


def _sibling_configs(copy_from_prod: Callable[[dict[str, Any], dict[str, Any]], None]) -> tuple[dict[str, Any], dict[str, Any]]:
    dev, prod = copy.deepcopy(stack_config_objects("dev")), copy.deepcopy(stack_config_objects("prod"))
    copy_from_prod(dev, prod)
    return dev, prod


@pytest.mark.parametrize(("copy_from_prod", "path", "words"), [c[1:] for c in SIBLING_CASES], ids=[c[0] for c in SIBLING_CASES])
def test_stacks_sharing_an_account_cluster_or_vault_are_refused_by_the_model(
    copy_from_prod: Callable[[dict[str, Any], dict[str, Any]], None], path: str, words: str
) -> None:
    dev, prod = _sibling_configs(copy_from_prod)
    siblings = {"prod": {k.split(":", 1)[1]: v for k, v in prod.items() if k.startswith("platform:")}}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(_raw(dev), "dev", _secret_keys(), siblings=siblings)
    _assert_refused(str(caught.value), path, words)


@pytest.mark.parametrize(("copy_from_prod", "path", "words"), [c[1:] for c in SIBLING_CASES], ids=[c[0] for c in SIBLING_CASES])
def test_stacks_sharing_an_account_cluster_or_vault_are_refused_by_the_plan_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], copy_from_prod: Callable[[dict[str, Any], dict[str, Any]], None],
    path: str, words: str,
) -> None:
    dev, prod = _sibling_configs(copy_from_prod)
    root = _project(tmp_path, {"dev": yaml.safe_dump({"config": dev}), "prod": yaml.safe_dump({"config": prod})})
    _plan_refuses(tmp_path, capsys, root, "dev", path, words)


def test_an_environment_hosted_by_two_stacks_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev, prod = copy.deepcopy(stack_config_objects("dev")), copy.deepcopy(stack_config_objects("prod"))
    env = _first_env(dev)
    prod["platform:environments"] = {env: copy.deepcopy(dev["platform:environments"][env])}
    prod["platform:argocd"].pop("rbacGroups", None)
    prod["platform:argocd"].pop("syncWindows", None)
    root = _project(tmp_path, {"dev": yaml.safe_dump({"config": dev}), "prod": yaml.safe_dump({"config": prod})})
    _plan_refuses(tmp_path, capsys, root, "prod", f"platform:environments.{env}", "is hosted by stack `dev`")


def test_each_committed_config_key_feeds_one_environment() -> None:
    """The committed stacks follow the rule the model enforces (one stack's value per key and environment)."""
    for stack in STACKS:
        owners: dict[str, set[str]] = {}
        for env, settings in stack_config_objects(stack)["platform:environments"].items():
            for app in settings["apps"]:
                for secret in app["secrets"]:
                    if secret["source"] == "config":
                        owners.setdefault(secret["configKey"], set()).add(env)
        assert all(len(envs) == 1 for envs in owners.values()), owners


def test_invalid_stack_name_is_refused_by_the_reader_too() -> None:
    with pytest.raises(StackFileError, match=r"--stack: is not a stack name"):
        stack_settings(ROOT, "../dev")


# --- no input produces a traceback ----------------------------------------------------------------------

_ODD_VALUES: tuple[Any, ...] = (None, [None], {"x": None}, -1, True, "x" * 300, 1.5)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [path] + [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):  # the first item stands for the others
        return [path] + [leaf for v in value[:1] for leaf in _leaves(v, (*path, 0))]
    return [path]


@pytest.mark.parametrize("stack", STACKS)
def test_any_value_anywhere_is_accepted_or_refused_as_a_config_error(stack: str) -> None:
    """Every key of the stack file, set to values of every other shape: a ConfigError or a valid config, never a crash."""
    base = stack_config_objects(stack)
    siblings = {s: {k.split(":", 1)[1]: v for k, v in stack_config_objects(s).items() if k.startswith("platform:")}
                for s in STACKS if s != stack}
    for path in _leaves({k: v for k, v in base.items() if k.startswith("platform:")}):
        if not path:
            continue
        for odd in _ODD_VALUES:
            config = copy.deepcopy(base)
            parent: Any = config
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = odd
            try:
                parse_stack_config(_raw(config), stack, _secret_keys(), siblings=siblings)
            except ConfigError as exc:
                assert "Traceback" not in str(exc)
