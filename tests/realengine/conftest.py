"""Fixtures of the real-engine tier: servers started on 127.0.0.1 by the tests, stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realengine.openbao import OpenBao


@pytest.fixture
def openbao_dev(tmp_path: Path) -> Iterator[OpenBao]:
    """A fresh dev-mode server (root token `root`), stopped after the test."""
    server = OpenBao(tmp_path / "openbao").dev()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def openbao_raft(tmp_path: Path) -> Iterator[OpenBao]:
    """A fresh, uninitialised Raft server with a static (auto-unseal) seal, stopped after the test."""
    server = OpenBao(tmp_path / "openbao").raft(seal_key_hex="00" * 32)
    try:
        yield server
    finally:
        server.stop()
