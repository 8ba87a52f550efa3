"""Fixtures for the live intake tests: a scratch trust store and a running signed-mode agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.signing import Env, install, signed_args, wait_running, watch_config
from procguard.signing.signature import sign


@pytest.fixture
def trust(tmp_path: Path) -> Env:
    root = tmp_path / "trust"
    root.mkdir()
    return Env(root)


@pytest.fixture
def signed_agent(make_agent, rsyslog, trust, tag):
    """An agent running serial 10 signed by trusted key k1, with watches a and b running."""
    k1 = trust.new_key("k1")
    data = watch_config(tag, 10)
    agent = make_agent(None, syslog_socket=rsyslog.socket, allow_unsigned=False,
                       extra_args=signed_args(trust))
    install(agent, data, sign(k1.private, data))
    agent.start()
    before = wait_running(agent)
    return agent, k1, before
