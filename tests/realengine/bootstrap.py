"""The bootstrap Job's pod, simulated around a real OpenBao server: its scripts run unchanged.

Each container runs its script from ``components/vault/scripts`` with the environment the Job
manifest gives it, its ``/work`` and ``/scripts`` pointed at directories of the test
(``BOOTSTRAP_WORK_DIR``, ``BOOTSTRAP_SCRIPTS_DIR``), and a ``PATH`` of stand-ins:

* ``vault``: the real ``bao`` CLI against the real server, with faults injected per command
  (``before``: the request never leaves, a network error; ``after``: the server handled it and
  the answer was lost). OpenBao has no AWS auth method: the shim answers the calls on the AWS
  auth mount itself (recorded, faults injectable) and sends everything else to the server.
* ``aws``: a stand-in Secrets Manager and SNS (the calls the store step makes), recording
  calls and state, faults injectable.
* ``sleep``: returns at once, so retry loops cost no time.

Every shim appends one JSON line per call to ``calls.jsonl``; the output of ``operator init``
as the server sent it is kept in ``server-init.json`` (the test's ground truth, never the pod's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.vault import jobs
from tests.conftest import ROOT, stack_settings
from tests.realengine.openbao import BaoError, OpenBao, bao_binary

STACK = "dev"
# `REALENGINE_SCRIPTS_REF=<commit> pytest tests/realengine` runs the same tests on that commit's scripts.
SCRIPTS_REF = "REALENGINE_SCRIPTS_REF"
CONTAINERS = ("init", "store", "configure")
RESTARTS = 3  # restarts of one container within the pod before the test calls the Job failed

_COMMON = r'''
import json, os, sys
from pathlib import Path
STATE = Path(os.environ["SHIM_STATE"])

def record(tool, args, **extra):
    with (STATE / "calls.jsonl").open("a") as f:
        f.write(json.dumps({"tool": tool, "args": args, **extra}) + "\n")

def fault(tool, args):
    """The first fault whose prefix starts args and still has uses left: consume one use, return its kind."""
    path = STATE / "faults.json"
    faults = json.loads(path.read_text()) if path.exists() else []
    for f in faults:
        if f["tool"] == tool and args[:len(f["prefix"])] == f["prefix"] and f["times"] != 0:
            f["times"] -= 1
            path.write_text(json.dumps(faults))
            return f["kind"]
    return None
'''

VAULT_SHIM = _COMMON + r'''
import subprocess

def observe(root):
    """The test's own eyes on the server: an orphan token that reads policies, outliving the root token."""
    import time, urllib.request
    def call(path, body):
        req = urllib.request.Request(os.environ["VAULT_ADDR"] + "/v1/" + path, data=json.dumps(body).encode(), method="PUT",
                                     headers={"X-Vault-Token": root, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")
    for _ in range(100):  # the server becomes active shortly after init
        try:
            call("sys/policies/acl/test-observer", {"policy": 'path "sys/policies/acl/*" { capabilities = ["read"] }'})
            break
        except OSError:
            time.sleep(0.1)
    call("sys/policies/acl/test-observer", {"policy": 'path "sys/policies/acl/*" { capabilities = ["read"] }'})
    token = call("auth/token/create-orphan", {"policies": ["test-observer"], "no_default_policy": True, "ttl": "1h"})
    (STATE / "observer-token").write_text(token["auth"]["client_token"])
args = sys.argv[1:]
kind = fault("vault", args)
record("vault", args, fault=kind, token=os.environ.get("VAULT_TOKEN", ""))
if kind == "before":
    sys.stderr.write('Error: Get "' + os.environ["VAULT_ADDR"] + '": dial tcp: connect: connection refused\n')
    sys.exit(2)
aws_mount = os.environ.get("AWS_AUTH_PATH", "aws")
if args[:2] == ["auth", "enable"] and args[-1] == "aws" or args[:1] == ["write"] and args[1].startswith(f"auth/{aws_mount}/"):
    # OpenBao has no AWS auth method: recorded here, never sent.
    result = subprocess.CompletedProcess(args, 0, "Success!\n", "")
else:
    env = dict(os.environ)
    env["BAO_ADDR"], env["BAO_TOKEN"] = env["VAULT_ADDR"], env.get("VAULT_TOKEN", "")
    result = subprocess.run([os.environ["BAO_BINARY"], *args], env=env, capture_output=True, text=True)
    if args[:2] == ["operator", "init"] and result.returncode == 0:
        (STATE / "server-init.json").write_text(result.stdout)
        if json.loads(result.stdout)["recovery_keys_b64"]:  # a Shamir-sealed server stays sealed: nothing to observe
            observe(json.loads(result.stdout)["root_token"])
if kind == "after":
    sys.stderr.write("Error: read tcp: connection reset by peer\n")
    sys.exit(2)
if kind == "crash":  # the container dies before the answer is read
    os.kill(os.getppid(), 9)
    sys.exit(137)
sys.stdout.write(result.stdout)
sys.stdout.flush()
if kind == "crash-after-output":  # the answer is written out, then the container dies
    os.kill(os.getppid(), 9)
    sys.exit(137)
sys.stderr.write(result.stderr)
sys.exit(result.returncode)
'''

AWS_SHIM = _COMMON + r'''
args = sys.argv[1:]
kind = fault("aws", args)
record("aws", args, fault=kind)
if kind == "before":
    sys.stderr.write("Could not connect to the endpoint URL\n")
    sys.exit(255)
opt = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
secret = STATE / "secret-versions.json"
versions = json.loads(secret.read_text()) if secret.exists() else []
out = ""
if args[:2] == ["secretsmanager", "put-secret-value"]:
    value = opt["--secret-string"]
    if value.startswith("file://"):
        value = Path(value[len("file://"):]).read_text()
    versions.append({"id": f"v{len(versions) + 1}", "secret_id": opt["--secret-id"], "value": value})
    secret.write_text(json.dumps(versions))
    out = versions[-1]["id"] + "\n"
elif args[:2] == ["secretsmanager", "describe-secret"]:
    stages = {v["id"]: (["AWSCURRENT"] if i == len(versions) - 1 else ["AWSPREVIOUS"]) for i, v in enumerate(versions)}
    out = (json.dumps(stages, indent=4) if stages else "null") + "\n"
elif args[:2] == ["sns", "publish"]:
    with (STATE / "published.jsonl").open("a") as f:
        f.write(json.dumps({"topic": opt["--topic-arn"], "subject": opt.get("--subject"), "message": opt["--message"]}) + "\n")
    out = "message-1\n"
else:
    sys.stderr.write("aws stand-in: unexpected call " + " ".join(args) + "\n")
    sys.exit(2)
if kind == "after":
    sys.stderr.write("Read timeout on endpoint URL\n")
    sys.exit(255)
if kind == "crash":
    os.kill(os.getppid(), 9)
    sys.exit(137)
sys.stdout.write(out)
'''


@dataclass
class Fault:
    tool: str  # "vault" or "aws"
    prefix: tuple[str, ...]  # the command's first arguments, e.g. ("operator", "init")
    # "before": never reached the server; "after": handled, answer lost (an error); "crash": handled, the
    # container killed before reading the answer; "crash-after-output": the answer written, then killed.
    kind: str
    times: int = 1  # -1: every call

    def as_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "prefix": list(self.prefix), "kind": self.kind, "times": self.times}


@dataclass
class Run:
    container: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Pod:
    """One pod of the Job: a memory volume (``work``) shared by its containers, and the shims' state."""

    root: Path
    server: OpenBao
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.work, self.scripts, self.bin, self.state = (self.root / d for d in ("work", "scripts", "bin", "state"))
        for d in (self.work, self.scripts, self.bin, self.state):
            d.mkdir(parents=True, exist_ok=True)
        settings = stack_settings(STACK)
        for name, text in jobs.scripts_data(jobs.BOOTSTRAP_SCRIPTS, {jobs.DEPLOYER_POLICY_FILE: jobs.deployer_policy_hcl(
            "kubernetes", settings.vault.login.mount, settings.vault.login.preview_role)}).items():
            (self.scripts / name).write_text(text)
        if ref := os.environ.get(SCRIPTS_REF):
            self._scripts_of(ref)
        for name, body in (("vault", VAULT_SHIM), ("aws", AWS_SHIM), ("sleep", "")):
            path = self.bin / name
            path.write_text(f"#!{sys.executable} -S\n{body}" if body else "#!/bin/sh\nexit 0\n")
            path.chmod(0o755)
        manifest = job_manifest()
        spec = manifest["spec"]["template"]["spec"]
        self.env = {c["name"]: {e["name"]: e["value"] for e in c["env"]} for c in [*spec["initContainers"], *spec["containers"]]}

    def _scripts_of(self, ref: str) -> None:
        """The scripts of another commit (to show a test fails on them); their fixed /work and /scripts pointed here."""
        for name in jobs.BOOTSTRAP_SCRIPTS:
            text = subprocess.run(["git", "show", f"{ref}:components/vault/scripts/{name}"], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout
            (self.scripts / name).write_text(text.replace("/work/", f"{self.work}/").replace("/scripts/", f"{self.scripts}/"))

    def inject(self, *faults: Fault) -> None:
        path = self.state / "faults.json"
        current = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*current, *(f.as_json() for f in faults)]))

    def run(self, container: str) -> Run:
        env = {
            **self.env[container],
            "VAULT_ADDR": self.server.address,
            "BOOTSTRAP_WORK_DIR": str(self.work),
            "BOOTSTRAP_SCRIPTS_DIR": str(self.scripts),
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.root),
            "SHIM_STATE": str(self.state),
            "BAO_BINARY": str(bao_binary()),
        }
        env.pop("VAULT_CACERT", None)  # the test server speaks plain HTTP on loopback
        script = self.scripts / f"bootstrap-{container}.sh"
        result = subprocess.run(["dash", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)
        run = Run(container, result.returncode, result.stdout, result.stderr)
        self.runs.append(run)
        return run

    def run_job(self, restarts: int = RESTARTS) -> bool:
        """The pod's containers in order; a failed one restarts in the same pod (``OnFailure``). True: the pod succeeded."""
        for container in CONTAINERS:
            for _ in range(restarts + 1):
                if self.run(container).returncode == 0:
                    break
            else:
                return False
        return True

    # --- the end state, as the server and the stand-ins know it ---------------------------------------

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        path = self.state / "calls.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [r for r in rows if tool is None or r["tool"] == tool]

    def server_init(self) -> dict[str, Any] | None:
        path = self.state / "server-init.json"
        return json.loads(path.read_text()) if path.exists() else None

    def stored_versions(self) -> list[dict[str, Any]]:
        path = self.state / "secret-versions.json"
        return json.loads(path.read_text()) if path.exists() else []

    def published(self) -> list[dict[str, Any]]:
        path = self.state / "published.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def after_store(self, root_token: str) -> None:
        """The memory volume as init and store leave it: the root token, the material stored (configure's input)."""
        (self.work / "root-token").write_text(root_token)
        (self.work / "stored").write_text("")

    def observer(self) -> str:
        """The test's token (made by the shim right after init, never seen by the scripts): reads policies."""
        return (self.state / "observer-token").read_text()

    def token_valid(self, token: str) -> bool:
        try:
            self.server.request("GET", "auth/token/lookup-self", token=token)
        except BaoError as err:
            assert err.status == 403, err
            return False
        return True

    def output(self) -> str:
        return "".join(r.stdout + r.stderr for r in self.runs)


def job_manifest() -> dict[str, Any]:
    """The bootstrap Job as VaultCluster builds it for the dev stack (ARNs are placeholders: AWS is a stand-in)."""
    settings = stack_settings(STACK)
    cluster = settings.cluster.name
    return jobs.bootstrap_job_manifest(
        scripts_hash="test",
        recovery_secret_arn=f"arn:aws:secretsmanager:eu-west-1:{settings.aws.account_id}:secret:vault/{cluster}/recovery-AbCdEf",
        region=settings.aws.region,
        recovery_shares=settings.vault.recovery_shares,
        recovery_threshold=settings.vault.recovery_threshold,
        deployer_role_arns=settings.deployer_role_arns,
        iam_server_id_header=settings.vault.login.iam_server_id_header,
        sts_endpoint=f"https://sts.{settings.aws.region}.amazonaws.com",
        aws_auth_path=settings.vault.login.mount,
        deployer_role=settings.vault.login.role,
        cluster_name=cluster,
        alarm_topic_arn=f"arn:aws:sns:eu-west-1:{settings.aws.account_id}:{cluster}-secret-access-alarm",
    )
