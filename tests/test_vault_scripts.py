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
    assert "cat /work/recovery.json" not in text


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
    assert configure.index("/work/stored") < configure.index("VAULT_TOKEN=")
    assert configure.index("vault token revoke -self") < configure.index("rm -f /work/root-token")
    assert "resolve_aws_unique_ids=true" in configure and "auth_type=iam" in configure
    assert "iam_server_id_header_value=" in configure
    init = jobs.script("bootstrap-init.sh")
    assert init.index('"initialized": true') < init.index("vault operator init")
    assert "-recovery-shares=" in init and "-recovery-threshold=" in init
    store = jobs.script("bootstrap-store.sh")
    assert "put-secret-value" in store and "file:///work/recovery.json" in store
    assert store.index("put-secret-value") < store.index("rm -f /work/recovery.json")


def test_snapshot_logs_in_as_its_role_and_uploads_in_one_put() -> None:
    save = jobs.script("snapshot-save.sh")
    assert 'role="$SNAPSHOT_ROLE"' in save and "jwt=@/var/run/secrets/vault/token" in save
    assert "vault operator raft snapshot save" in save
    upload = jobs.script("snapshot-upload.sh")
    assert "aws s3api put-object" in upload and '--key "$SNAPSHOT_PREFIX/$name"' in upload
    assert "aws s3 cp" not in upload  # multipart would need kms:Decrypt


# --- the configure step against a fake `vault` CLI ------------------------------------------------

DEPLOYERS = ["arn:aws:iam::111111111111:role/platform-deployer", "arn:aws:iam::111111111111:role/ci/platform-deployer-2"]
RECOVERY_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:vault/platform-dev/recovery-AbCdEf"
# Logs each call as its arguments and the token it carries, tab-separated; `auth list` shows only the token method.
FAKE_VAULT = """#!/bin/sh
{ printf '%s' "$VAULT_TOKEN"; for arg in "$@"; do printf '\\t%s' "$arg"; done; echo; } >> "$VAULT_LOG"
[ "$1 $2" = "auth list" ] && echo '{"token/": {"type": "token"}}'
exit 0
"""


def _configure_env() -> dict[str, str]:
    """The configure container's environment, exactly as the bootstrap Job manifest sets it."""
    job = jobs.bootstrap_job_manifest(
        scripts_hash="h", recovery_secret_arn=RECOVERY_ARN,
        region="eu-west-1", recovery_shares=5, recovery_threshold=3, deployer_role_arns=DEPLOYERS,
        iam_server_id_header="vault.platform.internal", sts_endpoint="https://sts.eu-west-1.amazonaws.com",
        aws_auth_path="aws", deployer_role="deployer",
    )
    [configure] = job["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in configure["env"]}


def _run_configure(tmp_path: Path, *, initialised_before: bool = False) -> tuple[list[list[str]], Path, str]:
    """Run bootstrap-configure.sh after init and store, with /work and /scripts under tmp_path.

    A fresh init leaves the root token and the store step's marker; an init that found Vault
    initialised leaves only its own marker.
    """
    work, scripts, bin_dir = tmp_path / "work", tmp_path / "scripts", tmp_path / "bin"
    for d in (work, scripts, bin_dir):
        d.mkdir(exist_ok=True)
    if initialised_before:
        (work / "already-initialised").write_text("")
    else:
        (work / "root-token").write_text("FAKE-ROOT-TOKEN")
        (work / "stored").write_text("")
    (scripts / jobs.DEPLOYER_POLICY_FILE).write_text(jobs.deployer_policy_hcl("kubernetes", "aws"))
    (bin_dir / "vault").write_text(FAKE_VAULT)
    (bin_dir / "vault").chmod(0o755)
    text = jobs.script("bootstrap-configure.sh").replace("/work/", f"{work}/").replace("/scripts/", f"{scripts}/")
    log = tmp_path / "vault.log"
    log.unlink(missing_ok=True)
    env = {**_configure_env(), "PATH": f"{bin_dir}:/usr/bin:/bin", "VAULT_LOG": str(log)}
    result = subprocess.run(["dash", "-c", text], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "FAKE-ROOT-TOKEN" not in result.stdout + result.stderr
    calls = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    return calls, scripts, result.stdout


def test_configure_writes_the_aws_auth_method_and_the_deployers_policy_and_role_then_revokes(tmp_path: Path) -> None:
    calls, scripts, _ = _run_configure(tmp_path)
    assert {c[0] for c in calls} == {"FAKE-ROOT-TOKEN"}  # every call with the root token, then revoked
    assert [c[1:] for c in calls] == [
        ["status"],
        ["auth", "list", "-format=json"],
        ["auth", "enable", "-path=aws", "aws"],
        ["write", "auth/aws/config/client", "iam_server_id_header_value=vault.platform.internal",
         "sts_endpoint=https://sts.eu-west-1.amazonaws.com", "sts_region=eu-west-1"],
        ["policy", "write", "deployer", f"{scripts}/deployer-policy.hcl"],
        ["write", "auth/aws/role/deployer", "auth_type=iam", f"bound_iam_principal_arn={','.join(sorted(DEPLOYERS))}",
         "resolve_aws_unique_ids=true", "token_policies=deployer", "token_ttl=1h", "token_max_ttl=2h"],
        ["token", "revoke", "-self"],
    ]
    assert not (tmp_path / "work" / "root-token").exists()


def test_configure_does_nothing_on_a_vault_initialised_before(tmp_path: Path) -> None:
    """Vault's configuration after its first initialisation is phase 2's (VaultConfig), never the Job's."""
    calls, _, stdout = _run_configure(tmp_path, initialised_before=True)
    assert calls == [] and "nothing to do" in stdout
