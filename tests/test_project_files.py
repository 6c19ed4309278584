"""Project and stack files: declared keys, no secrets in Git, generated docs up to date."""

from __future__ import annotations

import re

import pytest
import yaml

from planner import docs
from planner.stackfile import SECRETS_PROVIDER_KEYS
from tests.conftest import ROOT, STACKS, config_secret_keys, stack_config_objects

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


def test_no_secret_key_is_declared_in_the_project_file() -> None:
    """A key declared in Pulumi.yaml is demanded of every stack: secret keys live in their stack only."""
    assert not [k for k, d in PROJECT_FILE["config"].items() if d.get("secret")]
    used = {k for stack in STACKS for k in config_secret_keys(stack_config_objects(stack))}
    assert not used & set(PROJECT_FILE["config"]), "a configKey names a key of its stack, not of the project"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_hold_secrets_only_as_ciphertext(stack: str) -> None:
    """What the CLI writes may be there (the provider's key, `secure:` values); no plaintext secret."""
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    data = yaml.safe_load(text)
    assert set(data) <= {"config", *SECRETS_PROVIDER_KEYS}, sorted(data)
    config = data["config"]
    for key in config_secret_keys(config):
        value = config.get(f"platform:{key}")
        assert value is None or (isinstance(value, dict) and set(value) == {"secure"}), f"{key} is set in plain text"
    plain = "\n".join(line for line in text.splitlines() if not re.match(r"\s*(secure|encryptedkey|encryptionsalt|secretsprovider):", line))
    assert not re.search(r"(?i)(password|token|secret)\s*:\s*\S", plain.replace("source:", ""))


def test_configuration_reference_is_generated_from_the_model() -> None:
    assert docs.TARGET.read_text() == docs.render(), "docs/configuration.md is stale: run `python -m planner.docs`"
