"""access-matrix.md and .json: principal x secret path -> allowed, for every backend.

Each backend's cells are computed from the documents the program registered
(never from a second hand-written table); a source per backend, listed once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

from components.config import StackConfig
from planner.access_cell import AccessCell
from planner.admission import admission_access_matrix
from planner.iam_access import aws_access_matrix
from planner.vault_access import vault_access_matrix

Resources = Sequence[Mapping[str, Any]]
MATRIX_SOURCES: tuple[tuple[str, Callable[[Resources, StackConfig], list[AccessCell]]], ...] = (
    ("aws", lambda resources, _settings: aws_access_matrix(resources)),
    ("vault", vault_access_matrix),
    # What a pod of each app may become: the service accounts and Secrets admission lets it take.
    ("kubernetes", admission_access_matrix),
)


def access_cells(resources: Resources, settings: StackConfig) -> list[AccessCell]:
    return sorted(cell for _, source in MATRIX_SOURCES for cell in source(resources, settings))


def _per_principal(cells: Sequence[AccessCell]) -> list[str]:
    """One row per principal: what it can read, the short answer the full tables below spell out."""
    lines = ["## Per principal", "", "| backend | principal | via | can read | paths |", "|---|---|---|---|---|"]
    for backend, principal, via in sorted({(c.backend, c.principal, c.via) for c in cells}):
        mine = [c for c in cells if (c.backend, c.principal, c.via) == (backend, principal, via)]
        readable = sorted(c.path for c in mine if c.allowed)
        paths = ", ".join(f"`{p}`" for p in readable) or "nothing"
        lines.append(f"| {backend} | {_short(principal)} | {via} | {len(readable)} of {len(mine)} | {paths} |")
    return [*lines, ""]


def _markdown(cells: Sequence[AccessCell]) -> str:
    lines = [
        "# Access matrix", "",
        "Derived from the registered policies and roles; `yes` = the principal can read the path (kubernetes: can run as",
        "the service account, or mount the Secret).", "",
    ]
    lines += _per_principal(cells)
    for backend, _ in MATRIX_SOURCES:
        mine = [c for c in cells if c.backend == backend]
        lines += [f"## {backend}", ""]
        if not mine:
            lines += ["(no principals or secrets in this plan)", ""]
            continue
        principals = sorted({(c.principal, c.via) for c in mine})
        paths = sorted({c.path for c in mine})
        allowed = {(c.principal, c.via, c.path): c.allowed for c in mine}
        lines.append("| path | " + " | ".join(f"{_short(p)} via {v}" for p, v in principals) + " |")
        lines.append("|---|" + "---|" * len(principals))
        for path in paths:
            marks = ["yes" if allowed.get((p, v, path)) else "no" for p, v in principals]
            lines.append(f"| `{path}` | " + " | ".join(marks) + " |")
        lines.append("")
    lines += [
        "## Inside a namespace",
        "",
        "`pods:<env>:<app>` are the pods an app's Application can create (admission holds its workloads to its",
        "own app label). The kubernetes section evaluates the registered ValidatingAdmissionPolicies: such a pod runs",
        "only as its app's service account (so it logs in to Vault, or assumes IAM roles, only as that app) and",
        "mounts only its app's Secret. Across namespaces, the stores' `conditions` and the Vault and IAM grants",
        "above keep each environment apart.",
        "",
    ]
    if any(c.path.startswith("database/creds/") for c in cells):
        lines[-1:-1] = [
            "The same holds for an app's database users (`database/creds/<env>-<app>` above): ESO writes them to",
            "`<app>-database` through the platform's generator `<app>-database`, which admission lets only that app's",
            "ExternalSecret name and only its pods mount; no other namespace can reach it (docs/databases.md).",
        ]
    return "\n".join(lines)


def _short(principal: str) -> str:
    """`system:serviceaccount:<ns>:<sa>` -> `<ns>/<sa>`."""
    parts = principal.split(":")
    return f"{parts[2]}/{parts[3]}" if len(parts) == 4 else principal


def _json_lines(cells: Sequence[AccessCell]) -> str:
    """A JSON array with one cell per line (keys sorted), so diffs show the cells that changed.

    A full matrix has principals x paths cells (hundreds of thousands for a large fleet):
    each line is assembled from the C string encoder instead of one ``json.dumps`` per cell.
    """
    quote = encode_basestring_ascii
    rows = (
        f'{{"allowed": {"true" if c.allowed else "false"}, "backend": {quote(c.backend)}, "path": {quote(c.path)}, '
        f'"principal": {quote(c.principal)}, "via": {quote(c.via)}}}'
        for c in cells
    )
    return "[\n" + ",\n".join(rows) + "\n]\n"


def write_access_matrix(resources: Resources, settings: StackConfig) -> dict[str, str]:
    cells = access_cells(resources, settings)
    return {"access-matrix.json": _json_lines(cells), "access-matrix.md": _markdown(cells)}
