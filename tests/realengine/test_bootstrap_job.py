"""The bootstrap Job's scripts, unchanged, against a real OpenBao server, with a fault at every step.

The end state is checked each time on the server and the stand-ins, never on what the scripts
print: either the root token the server issued is revoked and the recovery material it issued
is stored, or the Job failed loudly (and, for a Vault whose material is gone, a human is told on
the alarm topic). Never a Job that succeeds with nothing done.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import stack_settings
from tests.realengine.bootstrap import STACK, Fault, Pod, job_manifest
from tests.realengine.openbao import OpenBao

AWS_AUTH_CALLS = [["auth", "enable", "-path=aws", "aws"], ["write", "auth/aws/config/client"], ["write", "auth/aws/role/deployer"]]


def assert_bootstrapped(pod: Pod) -> None:
    """Vault initialised by this Job: its root token revoked, its recovery material stored, the deployer's login written."""
    init = pod.server_init()
    assert init is not None, "the server never initialised"
    assert not pod.token_valid(init["root_token"]), "the root token is still valid"
    versions = pod.stored_versions()
    assert versions, "no recovery material stored"
    stored = json.loads(versions[-1]["value"])
    assert stored["recovery_keys_b64"] == init["recovery_keys_b64"] and len(stored["recovery_keys_b64"]) > 0
    assert "root_token" not in stored and init["root_token"] not in versions[-1]["value"]
    assert versions[-1]["secret_id"] == pod.env["store"]["RECOVERY_SECRET_ARN"]
    policy = pod.server.request("GET", "sys/policies/acl/deployer", token=pod.observer())
    assert policy["data"]["policy"] == (pod.scripts / "deployer-policy.hcl").read_text()
    sent = [c["args"][: len(expected)] for c in pod.calls("vault") for expected in AWS_AUTH_CALLS if c["args"][: len(expected)] == expected]
    assert all(expected in sent for expected in AWS_AUTH_CALLS)
    assert not (pod.work / "root-token").exists() and not (pod.work / "init.json").exists()
    assert init["root_token"] not in pod.output()
    assert pod.published() == []


def assert_failed_loudly(pod: Pod, ok: bool, message: str) -> None:
    assert not ok, "the Job succeeded"
    assert any(r.returncode != 0 and message in r.stderr for r in pod.runs), pod.output()


@pytest.fixture
def pod(tmp_path: Path, openbao_raft: OpenBao) -> Pod:
    return Pod(tmp_path / "pod", openbao_raft)


def test_job_bootstraps_then_every_rerun_is_a_no_op(pod: Pod, tmp_path: Path) -> None:
    assert pod.run_job()
    assert [r.container for r in pod.runs] == ["init", "store", "configure"]
    assert_bootstrapped(pod)
    # What the AWS auth method (answered by the shim: OpenBao has none) received, all with the root token.
    env = pod.env["configure"]
    init = pod.server_init()
    assert init is not None
    root = init["root_token"]
    aws = [c for c in pod.calls("vault") if c["args"][:2] == ["auth", "enable"] or (c["args"][1:2] and c["args"][1].startswith("auth/aws/"))]
    assert {c["token"] for c in aws} == {root}
    assert [c["args"] for c in aws] == [
        ["auth", "enable", f"-path={env['AWS_AUTH_PATH']}", "aws"],
        ["write", "auth/aws/config/client", f"iam_server_id_header_value={env['IAM_SERVER_ID_HEADER_VALUE']}",
         f"sts_endpoint={env['STS_ENDPOINT']}", f"sts_region={env['STS_REGION']}"],
        ["write", "auth/aws/role/deployer", "auth_type=iam", f"bound_iam_principal_arn={env['DEPLOYER_ROLE_ARNS']}",
         "resolve_aws_unique_ids=true", "token_policies=deployer", "token_ttl=1h", "token_max_ttl=2h"],
    ]
    assert env["DEPLOYER_ROLE_ARNS"] == ",".join(sorted(stack_settings(STACK).deployer_role_arns))
    # Every container rerun in the same pod: nothing called, still done.
    calls = len(pod.calls())
    assert pod.run_job() and len(pod.calls()) == calls
    # A Job re-created on this Vault (new scripts): one status call, the material found, nothing written.
    again = Pod(tmp_path / "pod2", pod.server)
    (again.state / "secret-versions.json").write_text((pod.state / "secret-versions.json").read_text())
    assert again.run_job()
    assert len(again.stored_versions()) == 1 and again.published() == []
    assert [c["args"] for c in again.calls("vault")] == [["status", "-format=json"]]


def test_a_restart_after_every_step_still_ends_bootstrapped(pod: Pod) -> None:
    """Each container killed or its answer lost once after each step that changes something; the pod restarts it."""
    configure_steps = [("auth", "enable"), ("write", "auth/aws/config/client"), ("policy", "write"), ("write", "auth/aws/role/deployer"),
                       ("token", "revoke")]
    pod.inject(
        Fault("vault", ("operator", "init"), "crash-after-output"),
        Fault("aws", ("secretsmanager", "put-secret-value"), "after"),
        Fault("aws", ("secretsmanager", "put-secret-value"), "crash"),
        *(Fault("vault", step, "crash") for step in configure_steps),
    )
    assert pod.run_job(restarts=len(configure_steps))
    assert [r.container for r in pod.runs] == ["init"] * 2 + ["store"] * 2 + ["configure"] * (len(configure_steps) + 1)
    assert len(pod.stored_versions()) == 3 and len({v["value"] for v in pod.stored_versions()}) == 1
    assert_bootstrapped(pod)


# --- init -----------------------------------------------------------------------------------------------


def test_init_output_lost_fails_the_job_and_tells_a_human(pod: Pod) -> None:
    pod.inject(Fault("vault", ("operator", "init"), "after"))
    ok = pod.run_job()
    assert_failed_loudly(pod, ok, "its output (recovery keys, root token) never arrived")
    assert pod.stored_versions() == []
    [alarm] = pod.published()
    assert alarm["topic"] == pod.env["store"]["ALARM_TOPIC_ARN"] and "wipe its Raft data" in alarm["message"]


def test_init_refuses_a_shamir_sealed_vault(tmp_path: Path) -> None:
    server = OpenBao(tmp_path / "shamir").raft()  # no seal stanza: Shamir, unseal keys instead of recovery keys
    try:
        pod = Pod(tmp_path / "pod", server)
        ok = pod.run_job()
        assert_failed_loudly(pod, ok, "Shamir seal")
        init = pod.server_init()
        assert init is not None and init["unseal_keys_b64"] and not init["recovery_keys_b64"]
        assert pod.stored_versions() == [] and [r.container for r in pod.runs] == ["init"] * 4
    finally:
        server.stop()


def test_vault_initialised_by_someone_else_is_an_incident(pod: Pod) -> None:
    """Another pod won the race to sys/init: the Job fails and the alarm topic hears of it."""
    pod.server.request("PUT", "sys/init", body={"recovery_shares": 1, "recovery_threshold": 1})
    ok = pod.run_job()
    assert_failed_loudly(pod, ok, "holds no recovery material: someone else initialised it")
    assert pod.stored_versions() == []
    [alarm] = pod.published()
    assert alarm["topic"] == pod.env["store"]["ALARM_TOPIC_ARN"]
    assert pod.env["store"]["VAULT_CLUSTER"] in alarm["subject"] and "treated as compromised" in alarm["message"]
    assert not any(c["args"][:1] == ["write"] or c["args"][:2] == ["policy", "write"] for c in pod.calls("vault"))


# --- configure, on a dev server: its input is a root token and the stored marker ---------------------------


@pytest.fixture
def configure_pod(tmp_path: Path, openbao_dev: OpenBao) -> tuple[Pod, str]:
    """A pod whose init and store are done, holding a fresh root token of its own (an orphan of the dev root)."""
    pod = Pod(tmp_path / "pod", openbao_dev)
    token = openbao_dev.request("POST", "auth/token/create-orphan", token="root", body={"policies": ["root"]})["auth"]["client_token"]
    pod.after_store(token)
    return pod, token


def assert_configured(pod: Pod, token: str) -> None:
    assert not pod.token_valid(token), "the root token is still valid"
    policy = pod.server.request("GET", "sys/policies/acl/deployer", token="root")
    assert policy["data"]["policy"] == (pod.scripts / "deployer-policy.hcl").read_text()
    sent = [c["args"] for c in pod.calls("vault")]
    for expected in AWS_AUTH_CALLS:
        assert any(args[: len(expected)] == expected for args in sent), expected
    assert not (pod.work / "root-token").exists()
    assert token not in pod.output()


def test_configure_killed_right_after_the_revoke_finishes_on_restart(configure_pod: tuple[Pod, str]) -> None:
    """The old script, restarted with a revoked token still on file, retried with it and failed forever."""
    pod, token = configure_pod
    pod.inject(Fault("vault", ("token", "revoke"), "crash"))
    assert pod.run("configure").returncode != 0
    assert not pod.token_valid(token) and (pod.work / "root-token").exists()
    assert pod.run("configure").returncode == 0
    assert_configured(pod, token)


def test_revoke_answer_lost_is_proven_by_the_servers_403(configure_pod: tuple[Pod, str]) -> None:
    pod, token = configure_pod
    pod.inject(Fault("vault", ("token", "revoke"), "after"))
    assert pod.run("configure").returncode == 0
    assert_configured(pod, token)


def test_network_errors_on_revoke_and_lookup_never_pass_for_a_revocation(configure_pod: tuple[Pod, str]) -> None:
    """The old script took any failed lookup for 'revoked' and deleted the only copy of a valid root token."""
    pod, token = configure_pod
    pod.inject(Fault("vault", ("token", "revoke"), "before"), Fault("vault", ("token", "lookup"), "before", times=3))
    assert pod.run("configure").returncode == 0
    assert_configured(pod, token)


def test_vault_unreachable_at_the_revoke_fails_loudly_keeping_the_token(configure_pod: tuple[Pod, str]) -> None:
    pod, token = configure_pod
    pod.inject(Fault("vault", ("token", "revoke"), "before", times=-1), Fault("vault", ("token", "lookup"), "before", times=-1))
    run = pod.run("configure")
    assert run.returncode != 0 and "root token" in run.stderr
    assert pod.token_valid(token) and (pod.work / "root-token").read_text() == token


def test_a_root_token_revoked_before_configuration_is_an_incident(configure_pod: tuple[Pod, str]) -> None:
    """Someone else used (and revoked) the root token between init and configure."""
    pod, token = configure_pod
    pod.server.request("PUT", "auth/token/revoke-self", token=token)
    run = pod.run("configure")
    assert run.returncode == 1 and "revoked before this Job configured Vault" in run.stderr


def test_job_manifest_sets_every_variable_the_scripts_read() -> None:
    """The scripts run under `set -u`: every variable they read is in their container's environment."""
    import re

    spec = job_manifest()["spec"]["template"]["spec"]
    env = {c["name"]: {e["name"] for e in c["env"]} for c in [*spec["initContainers"], *spec["containers"]]}
    from components.vault import jobs

    for container in ("init", "store", "configure"):
        text = jobs.script(f"bootstrap-{container}.sh")
        assigned = set(re.findall(r"^\s*([A-Za-z_]+)=", text, re.MULTILINE)) | {"VAULT_TOKEN", "BOOTSTRAP_WORK_DIR", "BOOTSTRAP_SCRIPTS_DIR"}
        read = set(re.findall(r"\$\{?([A-Z_]+)", text)) - assigned
        assert read <= env[container], (container, read - env[container])
