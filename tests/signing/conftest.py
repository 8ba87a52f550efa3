"""Fixtures for the signing tests (helpers live in signing_helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from procguard.signing import HostIdentity
from pull_server import PKI, ConfigServer
from signing_helpers import Env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def host() -> HostIdentity:
    return HostIdentity("web01", ["web"])


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    """A test CA and a server certificate for 127.0.0.1, made by the test itself."""
    d = tmp_path / "pki"
    d.mkdir()
    return PKI(d)


@pytest.fixture
def server(pki: PKI) -> Iterator[ConfigServer]:
    """A local HTTPS config server on 127.0.0.1, stopped after the test."""
    srv = ConfigServer(pki)
    yield srv
    srv.stop()
