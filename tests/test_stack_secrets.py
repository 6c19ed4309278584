"""Secret config keys per stack, and stack files as the Pulumi CLI writes them (secrets provider, `secure:` values)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from planner.__main__ import main as plan_main
from planner.stackfile import SECRETS_PROVIDER_KEYS, StackFileError, placeholder_for, read_stack
from tests import day2
from tests.conftest import ROOT, STACKS, config_secret_keys, stack_config_objects

PLAIN = "sk_" + "live_do-not-echo-me"
APP = day2.unused_app_name("ledger")
KEY = day2.config_key(APP, "ApiKey")
DEV_ONLY = {"name": APP, "secrets": [{"key": "api-key", "backend": "aws", "source": "config", "configKey": KEY}]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", *(f"Pulumi.{s}.yaml" for s in STACKS)):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _add_dev_only_app(root: Path) -> None:
    day2.edit_stack_file(root, "dev", lambda c: next(iter(c["platform:environments"].values()))["apps"].append(DEV_ONLY))


def test_a_stack_file_as_the_cli_writes_it_reads_as_secret_placeholders(project: Path, tmp_path: Path) -> None:
    day2.pulumi_stack_init_awskms(project, "prod", "awskms://alias/pulumi-secrets?region=eu-west-1")
    key = config_secret_keys(stack_config_objects("prod"))[0]
    day2.pulumi_config_set_secret(project, "prod", key)
    text = (project / "Pulumi.prod.yaml").read_text()
    assert text.startswith("secretsprovider: awskms://") and "\nencryptedkey: " in text and "secure: v1:" in text
    stack_input = read_stack(project, "prod")
    assert f"platform:{key}" in stack_input.secret_keys
    assert stack_input.config[f"platform:{key}"] == placeholder_for(f"platform:{key}")
    assert not [k for k in stack_input.config if k.split(":")[-1] in SECRETS_PROVIDER_KEYS]
    assert plan_main(["--stack", "prod", "--root", str(project), "--out", str(tmp_path / "plan")]) == 0


def test_a_key_one_stack_names_is_not_demanded_of_the_other(project: Path) -> None:
    _add_dev_only_app(project)
    dev, prod = read_stack(project, "dev"), read_stack(project, "prod")
    assert f"platform:{KEY}" in dev.secret_keys and dev.config[f"platform:{KEY}"] == placeholder_for(f"platform:{KEY}")
    assert f"platform:{KEY}" not in prod.config and f"platform:{KEY}" not in prod.secret_keys
    assert KEY not in yaml.safe_load((project / "Pulumi.yaml").read_text())["config"]


def test_a_plain_value_for_a_secret_key_is_refused_without_echoing_it(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _add_dev_only_app(project)
    day2.edit_stack_file(project, "dev", lambda c: c.update({f"platform:{KEY}": PLAIN}))
    assert plan_main(["--stack", "dev", "--root", str(project), "--out", str(tmp_path / "plan")]) == 2
    err = capsys.readouterr().err
    assert f"platform:{KEY}: is a secret (an app's `configKey`" in err and "holds it in plain text (it must be encrypted)" in err
    assert PLAIN not in err
    assert not (tmp_path / "plan" / "dev").exists()


@pytest.mark.parametrize("key", SECRETS_PROVIDER_KEYS)
def test_a_mangled_secrets_provider_key_is_a_clear_error(project: Path, key: str) -> None:
    path = project / "Pulumi.dev.yaml"
    path.write_text(f"{key}:\n  - not a string\n" + path.read_text())
    with pytest.raises(StackFileError, match=rf"{key} must be the string `pulumi stack init` wrote"):
        read_stack(project, "dev")
