"""Committed-secret scan: detect-secrets over the repository, against ``.secrets.baseline``.

The baseline holds every finding detect-secrets reports today, each audited as a false positive
(``"is_secret": false``; the reasons are in docs/ci.md). The check fails when:

- a file holds a potential secret that the baseline does not list (a new finding), or
- the baseline lists a finding that is not audited, or audited as a real secret.

It reads the baseline and never rewrites it: line numbers that moved are not a failure (findings
are matched by file, type and hash, as detect-secrets does). ``--update`` rescans and rewrites the
baseline, keeping the audit results; a new finding then stays unaudited, and the check keeps
failing, until someone audits it (``detect-secrets audit .secrets.baseline``) or removes it.

    python -m tools.secret_scan               # every tracked or new (not ignored) file
    python -m tools.secret_scan FILE...       # just these files
    python -m tools.secret_scan --update      # rewrite the baseline, keeping audit results

Exit code: 0 clean, 1 findings, 2 usage or setup error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from detect_secrets.core import baseline as ds_baseline
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.secrets_collection import SecretsCollection

ROOT = Path(__file__).resolve().parent.parent
BASELINE_NAME = ".secrets.baseline"


def repo_files(root: Path, baseline_path: Path) -> list[str]:
    """Tracked files and new files git does not ignore, relative to ``root``; not the baseline."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode()
    skip = baseline_path.resolve()
    files = set()
    for name in filter(None, out.split("\0")):
        path = root / name
        if path.is_file() and not path.is_symlink() and path.resolve() != skip:
            files.add(name)
    return sorted(files)


def load_baseline(path: Path) -> SecretsCollection:
    """The baseline's findings; also applies its plugin and filter settings to the scan.

    No baseline-file filter (it would record this clone's absolute path in the baseline): the
    file lists leave the baseline out instead."""
    return ds_baseline.load(ds_baseline.load_from_file(str(path)), filename="")


def scan(root: Path, files: Sequence[str]) -> SecretsCollection:
    """Findings keyed and named by path relative to ``root``, so that a baseline written in one
    clone matches in another (detect-secrets names each finding by the path it opened)."""
    found = SecretsCollection(root=str(root))
    if files:
        found.scan_files(*files)
    relative = SecretsCollection(root=str(root))
    for filename in sorted(found.files):
        for secret in found[filename]:
            secret.filename = filename
            relative[filename].add(secret)
    return relative


def _entries(collection: SecretsCollection, files: Iterable[str] | None = None) -> list[tuple[str, PotentialSecret]]:
    wanted = None if files is None else set(files)
    return sorted(
        ((f, s) for f, s in collection if wanted is None or f in wanted),
        key=lambda e: (e[0], e[1].line_number, e[1].type),
    )


def check(root: Path, baseline_path: Path, files: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes). Problems fail the check; notes (stale baseline entries) do not."""
    baselined = load_baseline(baseline_path)
    targets = repo_files(root, baseline_path) if files is None else list(files)
    found = scan(root, targets)
    problems = [
        f"{f}:{s.line_number}: {s.type}: potential secret not in {baseline_path.name}"
        for f, s in _entries(found - baselined)
    ]
    for f, s in _entries(baselined, None if files is None else targets):
        if s.is_secret is None:
            problems.append(f"{f}:{s.line_number}: {s.type}: in {baseline_path.name} but not audited")
        elif s.is_secret:
            problems.append(f"{f}:{s.line_number}: {s.type}: audited as a real secret: remove it from the repository and rotate it")
    notes = [
        f"{f}:{s.line_number}: {s.type}: no longer found (stale baseline entry; `make secrets-baseline` drops it)"
        for f, s in _entries(baselined - found, None if files is None else targets)
    ]
    return problems, notes


def update(root: Path, baseline_path: Path) -> SecretsCollection:
    """Rescan everything and rewrite the baseline, keeping what was audited."""
    old = load_baseline(baseline_path)
    found = scan(root, repo_files(root, baseline_path))
    found.merge(old)
    ds_baseline.save_to_file(found, str(baseline_path))
    return found


HINTS = """\
A potential secret is about to be committed. Either:
  - take it out of the file (values belong in `pulumi config set --secret`, Vault or AWS Secrets
    Manager; see README.md), and rotate it if it was ever pushed; or
  - if it is a false positive: `make secrets-baseline`, then `.venv/bin/detect-secrets audit .secrets.baseline`
    and answer 'n' (false positive) for it; commit the baseline.
See docs/ci.md."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="files to check (default: every tracked or new, not ignored, file)")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this repository)")
    parser.add_argument("--baseline", type=Path, help=f"baseline file (default: <root>/{BASELINE_NAME})")
    parser.add_argument("--update", action="store_true", help="rescan and rewrite the baseline, keeping audit results")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    baseline_path = (args.baseline or root / BASELINE_NAME).resolve()
    if not baseline_path.is_file():
        print(f"secret scan: no baseline at {baseline_path}", file=sys.stderr)
        return 2

    if args.update:
        found = update(root, baseline_path)
        unaudited = [f"{f}:{s.line_number}: {s.type}" for f, s in _entries(found) if s.is_secret is None]
        print(f"secret scan: wrote {baseline_path.name} ({sum(1 for _ in found)} findings, {len(unaudited)} not audited)")
        for line in unaudited:
            print(f"  not audited: {line}")
        return 0

    files = None
    if args.files:
        files = [
            name for name in (str(Path(f).resolve().relative_to(root)) if Path(f).is_absolute() else f for f in args.files)
            if (root / name).resolve() != baseline_path
        ]
    try:
        problems, notes = check(root, baseline_path, files)
    except subprocess.CalledProcessError as e:
        print(f"secret scan: cannot list the repository's files with git: {e}", file=sys.stderr)
        return 2
    for line in notes:
        print(f"note: {line}")
    if problems:
        for line in problems:
            print(f"error: {line}")
        print(HINTS)
        return 1
    print(f"secret scan: no new secrets (baseline {baseline_path.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
