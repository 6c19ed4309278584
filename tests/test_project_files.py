"""Project and stack files: declared keys, no secrets in Git, generated docs up to date."""

from __future__ import annotations

import re

import pytest
import yaml

from planner import docs
from tests.conftest import ROOT, STACKS, stack_config_objects

PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
# What Pulumi's project schema accepts in a config declaration (sdk/go/common/workspace/project.json).
DECLARATION_FIELDS = {"type", "items", "description", "secret", "default"}
DECLARATION_TYPES = {"string", "integer", "boolean", "array"}


def test_project_runs_python_in_its_virtualenv() -> None:
    assert PROJECT_FILE["name"] == "platform"
    assert PROJECT_FILE["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_config_declarations_use_only_what_pulumi_supports() -> None:
    for key, decl in PROJECT_FILE["config"].items():
        assert set(decl) <= DECLARATION_FIELDS, key
        assert decl["type"] in DECLARATION_TYPES, key
        assert decl.get("description"), key
        if decl.get("secret"):
            assert "default" not in decl, f"{key}: a secret default would sit in Git"


@pytest.mark.parametrize("stack", STACKS)
def test_every_config_secret_an_app_reads_is_declared_secret(stack: str) -> None:
    declared_secret = {k for k, d in PROJECT_FILE["config"].items() if d.get("secret")}
    used = {
        s["configKey"]
        for env in stack_config_objects(stack)["platform:environments"].values()
        for app in env["apps"]
        for s in app["secrets"]
        if s["source"] == "config"
    }
    assert used and used <= declared_secret


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_hold_no_secret_or_ciphertext(stack: str) -> None:
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert "secure:" not in text
    assert "encryptedkey" not in text and "encryptionsalt" not in text
    assert not re.search(r"(?i)(password|token|secret)\s*:\s*\S", text.replace("source:", ""))


def test_configuration_reference_is_generated_from_the_model() -> None:
    assert docs.TARGET.read_text() == docs.render(), "docs/configuration.md is stale: run `python -m planner.docs`"
