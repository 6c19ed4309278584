"""The bootstrap and snapshot scripts: valid shell, the init output split without losing or leaking anything."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from components.vault import jobs, server

SCRIPTS = sorted(n for n in (*jobs.BOOTSTRAP_SCRIPTS, *jobs.SNAPSHOT_SCRIPTS) if n.endswith(".sh"))
# What `vault operator init -format=json` prints with auto-unseal (fake, non-secret values).
INIT_OUTPUT = """{
  "unseal_keys_b64": [],
  "unseal_keys_hex": [],
  "unseal_shares": 1,
  "unseal_threshold": 1,
  "recovery_keys_b64": [
    "RkFLRS1vbmU=",
    "RkFLRS10d28="
  ],
  "recovery_keys_hex": [
    "46414b452d6f6e65",
    "46414b452d74776f"
  ],
  "recovery_keys_shares": 2,
  "recovery_keys_threshold": 2,
  "root_token": "FAKE-ROOT-TOKEN"
}
"""


@pytest.mark.parametrize("name", [*SCRIPTS, "housekeeping"])
def test_scripts_parse_as_posix_shell(tmp_path: Path, name: str) -> None:
    text = server.HOUSEKEEPING_SCRIPT if name == "housekeeping" else jobs.script(name)
    path = tmp_path / "script.sh"
    path.write_text(text)
    result = subprocess.run(["dash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_stop_on_errors_and_never_trace_or_print_material(name: str) -> None:
    text = jobs.script(name)
    assert re.search(r"^set -eu$", text, re.MULTILINE)
    assert "set -x" not in text
    for line in text.splitlines():
        if line.strip().startswith(("echo", "printf")):
            assert "VAULT_TOKEN" not in line and "root-token" not in line and "recovery.json" not in line, line
    assert 'cat "$W/recovery.json' not in text and 'cat "$W/init.json' not in text


@pytest.mark.parametrize("token_last", [True, False])
def test_init_output_splits_into_recovery_material_and_root_token(tmp_path: Path, token_last: bool) -> None:
    text = INIT_OUTPUT
    if not token_last:  # whatever the field order, the result stays valid JSON
        lines = text.splitlines()
        token = lines.pop(-2)
        lines[-2] = lines[-2].rstrip(",")
        lines.insert(1, token + ",")
        text = "\n".join(lines) + "\n"
        json.loads(text)
    awk = tmp_path / "split.awk"
    awk.write_text(jobs.script("split-init-output.awk"))
    token_file = tmp_path / "root-token"
    result = subprocess.run(["awk", "-v", f"token_file={token_file}", "-f", str(awk)], input=text,
                            capture_output=True, text=True, check=True)
    recovery = json.loads(result.stdout)
    assert "root_token" not in recovery and "FAKE-ROOT-TOKEN" not in result.stdout
    assert recovery["recovery_keys_b64"] == ["RkFLRS1vbmU=", "RkFLRS10d28="]
    assert (recovery["recovery_keys_shares"], recovery["recovery_keys_threshold"]) == (2, 2)
    assert token_file.read_text() == "FAKE-ROOT-TOKEN"


def test_bootstrap_uses_the_root_token_only_after_the_material_is_stored_and_revokes_it() -> None:
    configure = jobs.script("bootstrap-configure.sh")
    assert configure.index('"$W/stored"') < configure.index("VAULT_TOKEN=")
    assert configure.index("vault token revoke -self") < configure.index('rm -f "$W/root-token"')
    assert "resolve_aws_unique_ids=true" in configure and "auth_type=iam" in configure
    assert "iam_server_id_header_value=" in configure
    init = jobs.script("bootstrap-init.sh")
    assert init.index('"initialized": true') < init.index("vault operator init -recovery-shares")
    assert "-recovery-shares=" in init and "-recovery-threshold=" in init
    store = jobs.script("bootstrap-store.sh")
    assert "put-secret-value" in store and '"file://$W/recovery.json"' in store
    assert store.index("put-secret-value") < store.index('rm -f "$W/recovery.json"')


def test_snapshot_logs_in_as_its_role_and_uploads_in_one_put() -> None:
    save = jobs.script("snapshot-save.sh")
    assert 'role="$SNAPSHOT_ROLE"' in save and "jwt=@/var/run/secrets/vault/token" in save
    assert "vault operator raft snapshot save" in save
    upload = jobs.script("snapshot-upload.sh")
    assert "aws s3api put-object" in upload and '--key "$SNAPSHOT_PREFIX/$name"' in upload
    assert "aws s3 cp" not in upload  # multipart would need kms:Decrypt
