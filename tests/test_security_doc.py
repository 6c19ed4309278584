"""docs/security.md: every test it cites exists, and every boundary cites at least one (issue 16, item 9)."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

CITATION = re.compile(r"`tests/(?P<file>[a-z_]+\.py)::(?P<test>test_[a-z0-9_]+)`")


def _tests_of(file: str) -> set[str]:
    tree = ast.parse((ROOT / "tests" / file).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_cited_test_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    cited = [(m["file"], m["test"]) for m in CITATION.finditer(text)]
    assert len(cited) >= 30
    missing = [f"{file}::{test}" for file, test in cited if test not in _tests_of(file)]
    assert missing == []


def test_every_boundary_cites_a_test() -> None:
    sections = re.split(r"^## ", (ROOT / "docs" / "security.md").read_text(), flags=re.MULTILINE)[1:]
    assert len(sections) >= 8
    for section in sections:
        assert CITATION.search(section), section.splitlines()[0]
