"""The tier's servers themselves: they answer, behave as the Vault API, and leave no process behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.realengine.openbao import BaoError, OpenBao


def test_dev_server_answers_as_the_vault_api_and_refuses_a_wrong_token(openbao_dev: OpenBao) -> None:
    assert openbao_dev.health()["version"] == "2.7.2"
    assert openbao_dev.request("GET", "auth/token/lookup-self", token="root")["data"]["policies"] == ["root"]
    with pytest.raises(BaoError) as err:
        openbao_dev.request("GET", "auth/token/lookup-self", token="not-a-token")
    assert err.value.status == 403


def test_raft_server_starts_uninitialised_and_auto_unseals_with_recovery_keys(openbao_raft: OpenBao) -> None:
    assert openbao_raft.health()["initialized"] is False
    init = openbao_raft.request("PUT", "sys/init", body={"recovery_shares": 1, "recovery_threshold": 1})
    # The API names them recovery_keys_base64 (the CLI prints recovery_keys_b64); no unseal keys with a seal.
    assert init["recovery_keys_base64"] and not init["keys_base64"]
    assert openbao_raft.health()["sealed"] is False


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    server = OpenBao(tmp_path).dev()
    assert server.process is not None
    pid = server.process.pid
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
