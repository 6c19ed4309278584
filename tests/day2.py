"""The README's day-2 recipes, done on a copy of the repository the way a user does them.

Each step is what the README tells the user to do: edit `Pulumi.<stack>.yaml` by hand, run the
Pulumi CLI (whose stack-file edits are reproduced here: no CLI, no cloud), `make gitops`,
`make plan`, the tests. The copy holds the repository's tracked and new (not ignored) files,
as a fresh clone would.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "platform"


def unused_app_name(wanted: str) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``...: a name no stack file declares and gitops/apps/ lacks, so the
    app a test adds never collides with one a user has added."""
    taken = {p.name for p in (ROOT / "gitops" / "apps").glob("*")}
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        for env in (config.get(f"{PROJECT}:environments") or {}).values():
            taken |= {app.get("name") for app in (env or {}).get("apps", [])}
    candidates = (wanted if n == 1 else f"{wanted}-{n}" for n in range(1, 100))
    return next(name for name in candidates if name not in taken)


def config_key(app: str, suffix: str) -> str:
    """A top-level config key for ``app`` (`ledger-2`, `ApiKey` -> `ledger2ApiKey`), as a user would name it."""
    return app.replace("-", "") + suffix


def clone(dst: Path) -> Path:
    """A copy of the repository's tracked and new files in ``dst``, committed as the clone's starting point."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / name)
    git = ["git", "-C", str(dst), "-c", "user.name=day2", "-c", "user.email=day2@example.com"]
    subprocess.run(["git", "init", "-q", str(dst)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", "clone"], check=True)
    return dst


def changed_files(root: Path) -> list[str]:
    """Files changed or added since the clone (what the recipes produced), not ignored by git."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--modified", "--others", "--exclude-standard"],
                         check=True, capture_output=True).stdout.decode()
    return sorted({name for name in out.split("\0") if name and (root / name).is_file()})


def run(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` in ``root``, importing ``root``'s own code (as `make` would there)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def read_stack_file(root: Path, stack: str) -> dict[str, Any]:
    return dict(yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()))


def edit_stack_file(root: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """A hand edit of the stack file's ``config:`` (comments are not kept; nothing else changes)."""
    data = read_stack_file(root, stack)
    edit(data["config"])
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120))


def _ciphertext(size: int) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def pulumi_stack_init_awskms(root: Path, stack: str, url: str) -> None:
    """What `pulumi stack init <stack> --secrets-provider=<url>` writes into an existing stack file:
    the provider and the stack's data key encrypted by it, above ``config:``."""
    text = (root / f"Pulumi.{stack}.yaml").read_text()
    (root / f"Pulumi.{stack}.yaml").write_text(f"secretsprovider: {url}\nencryptedkey: {_ciphertext(184)}\n{text}")


def pulumi_config_set_secret(root: Path, stack: str, key: str) -> None:
    """What `pulumi config set --secret <key> <value> --stack <stack>` writes: the value's ciphertext."""
    edit_stack_file(root, stack, lambda config: config.update({f"{PROJECT}:{key}": {"secure": f"v1:{_ciphertext(48)}"}}))


def environments(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config[f"{PROJECT}:environments"])
