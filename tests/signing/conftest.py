"""Fixtures for the signing tests (helpers live in signing_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from procguard.signing import HostIdentity
from signing_helpers import Env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def host() -> HostIdentity:
    return HostIdentity("web01", ["web"])
