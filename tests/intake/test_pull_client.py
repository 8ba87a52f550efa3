"""Central pull against a real HTTPS server on 127.0.0.1 with a CA the test makes itself."""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Optional

import pytest
import requests
import yaml
from urllib3.exceptions import ProtocolError
from procguard.intake.last_good import LastGood
from procguard.intake.pull_client import PullClient, PullError, _cause
from procguard.intake.terms import HostIdentity, admit_terms
from procguard.refusal import Refusal
from procguard.signing.signature import sign, verify
from helpers.pull_server import PKI, ConfigServer
from helpers.signing import NOW, Env, Key, config_text


class PullingAgent:
    """What the engine does with a PullClient, minus the engine: fetch, admit, keep state."""

    def __init__(self, client: PullClient, env: Env, host: HostIdentity, state: Path) -> None:
        self.client, self.env, self.host = client, env, host
        self.last_good = LastGood.load(state)
        self.verify_calls = 0
        self.delays: List[float] = []

    def cycle(self) -> str:
        try:
            result = self.client.fetch()
        except PullError as exc:
            self.delays.append(self.client.next_delay(True))
            return "pin_mismatch" if exc.pin_mismatch else "failed"
        self.delays.append(self.client.next_delay(False))
        if result.status == "not_modified":
            return "not_modified"
        assert result.config_bytes is not None
        self.verify_calls += 1
        try:
            key_id = verify(result.config_bytes, result.sig_bytes, self.env.store(), config_path=self.client.url)
            admission = admit_terms(self.client.url, yaml.safe_load(result.config_bytes), signed=True,
                                    key_id=key_id, host=self.host, last_serial=self.last_good.last_serial,
                                    now=NOW)
        except Refusal as refusal:
            return refusal.code
        self.last_good.save(result.config_bytes, result.sig_bytes, admission.serial,
                            admission.key_id)
        return "applied"


@pytest.fixture
def key(env: Env) -> Key:
    return env.new_key("ops")


def make_agent(env: Env, server: ConfigServer, pki: PKI, host: HostIdentity,
               ca_bundle: Optional[str] = "ca", pinned: Optional[str] = None) -> PullingAgent:
    client = PullClient(server.url(), host.name,
                        ca_bundle=str(pki.ca_file) if ca_bundle == "ca" else ca_bundle,
                        pinned_sha256=pinned, timeout=5, interval=300,
                        backoff_initial=1.0, rng=random.Random(7))
    return PullingAgent(client, env, host, env.root / "state")


def publish(server: ConfigServer, key: Key, serial: int, **kw: object) -> bytes:
    data = config_text(serial=serial, **kw)  # type: ignore[arg-type]
    server.publish(data, sign(key.private, data))
    return data


def test_new_signed_config_is_applied_and_host_name_sent(env: Env, server: ConfigServer,
                                                         pki: PKI, key: Key,
                                                         host: HostIdentity) -> None:
    data = publish(server, key, 5)
    agent = make_agent(env, server, pki, host)
    assert agent.cycle() == "applied"
    assert agent.last_good.config_bytes == data and agent.last_good.last_serial == 5
    reqs = server.take_requests()
    assert {r[0] for r in reqs} == {"/configs/watches.yaml", "/configs/watches.yaml.sig"}
    for _path, query, header, _inm in reqs:
        assert query["host"] == ["web01"] and header == "web01"


def test_not_modified_costs_no_reverify(env: Env, server: ConfigServer, pki: PKI,
                                        key: Key, host: HostIdentity) -> None:
    publish(server, key, 5)
    agent = make_agent(env, server, pki, host)
    assert agent.cycle() == "applied"
    assert agent.verify_calls == 1
    server.take_requests()
    for _ in range(3):
        assert agent.cycle() == "not_modified"
    assert agent.verify_calls == 1
    reqs = server.take_requests()
    assert [r[0] for r in reqs] == ["/configs/watches.yaml"] * 3  # no signature fetched
    assert all(r[3] is not None for r in reqs)  # If-None-Match sent each time
    publish(server, key, 6)
    assert agent.cycle() == "applied" and agent.verify_calls == 2


def test_tampered_config_refused_and_last_good_kept(env: Env, server: ConfigServer,
                                                    pki: PKI, key: Key,
                                                    host: HostIdentity) -> None:
    good = publish(server, key, 5)
    agent = make_agent(env, server, pki, host)
    assert agent.cycle() == "applied"
    evil = config_text(serial=6).replace(b"nginx", b"evilx")
    server.publish(evil, sign(key.private, config_text(serial=6)))
    assert agent.cycle() == "bad_signature"
    assert agent.last_good.config_bytes == good
    assert LastGood.load(env.root / "state").config_bytes == good


def test_replayed_old_config_refused(env: Env, server: ConfigServer, pki: PKI,
                                     key: Key, host: HostIdentity) -> None:
    old = config_text(serial=5)
    old_sig = sign(key.private, old)
    server.publish(old, old_sig)
    agent = make_agent(env, server, pki, host)
    assert agent.cycle() == "applied"
    newer = publish(server, key, 6)
    assert agent.cycle() == "applied"
    server.publish(old, old_sig)  # an attacker serves the genuine, older config
    assert agent.cycle() == "rollback"
    assert agent.last_good.config_bytes == newer


def test_other_hosts_config_refused(env: Env, server: ConfigServer, pki: PKI, key: Key,
                                    host: HostIdentity) -> None:
    publish(server, key, 5, scope=["db*"])
    assert make_agent(env, server, pki, host).cycle() == "out_of_scope"


def test_unsigned_on_server_refused(env: Env, server: ConfigServer, pki: PKI, key: Key,
                                    host: HostIdentity) -> None:
    server.publish(config_text(serial=5), None)
    assert make_agent(env, server, pki, host).cycle() == "unsigned"


def test_server_gone_backoff_grows_then_recovers(env: Env, pki: PKI, key: Key,
                                                 host: HostIdentity) -> None:
    server = ConfigServer(pki)
    port = server.port
    try:
        good = publish(server, key, 5)
        agent = make_agent(env, server, pki, host)
        assert agent.cycle() == "applied"
    finally:
        server.stop()
    failures = [agent.cycle() for _ in range(6)]
    assert failures == ["failed"] * 6
    backoff = agent.delays[1:]
    # 1, 2, 4, 8, 16, 32 s, each +-20 %: every step is strictly longer than the last
    assert all(b > a for a, b in zip(backoff, backoff[1:])), backoff
    assert 0.8 <= backoff[0] <= 1.2 and 25.6 <= backoff[-1] <= 38.4
    assert agent.last_good.config_bytes == good  # protection unchanged while the server is down
    many = [agent.client.next_delay(True) for _ in range(20)]
    assert max(many) <= 300 * 1.2  # capped at the interval
    server = ConfigServer(pki, port=port)  # the server comes back on the same address
    try:
        publish(server, key, 5)
        assert agent.cycle() == "not_modified"  # same ETag: nothing to verify
        assert agent.client.failures == 0 and 240 <= agent.delays[-1] <= 360
        publish(server, key, 6)
        assert agent.cycle() == "applied"
    finally:
        server.stop()


def test_publish_racing_a_pull_gives_a_consistent_pair(env: Env, server: ConfigServer,
                                                       pki: PKI, key: Key,
                                                       host: HostIdentity) -> None:
    """The config changes after it was sent but before its .sig is read: no false alarm."""
    publish(server, key, 5)
    newer = config_text(serial=6)
    newer_sig = sign(key.private, newer)

    def publish_once(path: str) -> None:
        if path == "/configs/watches.yaml":
            server.on_serve = None
            server.publish(newer, newer_sig)

    server.on_serve = publish_once
    agent = make_agent(env, server, pki, host)
    assert agent.cycle() == "applied"
    assert agent.last_good.serial == 6


def test_pinned_certificate_alone_is_enough(env: Env, server: ConfigServer, pki: PKI,
                                            key: Key, host: HostIdentity) -> None:
    publish(server, key, 5)
    agent = make_agent(env, server, pki, host, ca_bundle=None, pinned=pki.cert_sha256)
    assert agent.cycle() == "applied"


def test_wrong_pin_refused(env: Env, server: ConfigServer, pki: PKI, key: Key,
                           host: HostIdentity) -> None:
    publish(server, key, 5)
    agent = make_agent(env, server, pki, host, ca_bundle=None, pinned="ab" * 32)
    assert agent.cycle() == "pin_mismatch"
    agent = make_agent(env, server, pki, host, ca_bundle="ca", pinned="ab" * 32)
    assert agent.cycle() == "pin_mismatch"
    assert agent.last_good.config_bytes is None


def test_unknown_ca_refused(env: Env, server: ConfigServer, pki: PKI, key: Key,
                            host: HostIdentity, tmp_path: Path) -> None:
    publish(server, key, 5)
    other = tmp_path / "other"
    other.mkdir()
    other_pki = PKI(other)
    agent = make_agent(env, server, pki, host, ca_bundle=str(other_pki.ca_file))
    with pytest.raises(PullError, match="TLS error"):
        agent.client.fetch()


def test_plain_http_url_rejected() -> None:
    with pytest.raises(ValueError):
        PullClient("http://127.0.0.1/watches.yaml", "web01")


def test_signature_url_keeps_query(host: HostIdentity) -> None:
    client = PullClient("https://cfg.example/p/watches.yaml?fleet=a", host.name)
    assert client.signature_url() == "https://cfg.example/p/watches.yaml.sig?fleet=a&host=web01"


def test_a_reset_connection_is_said_in_a_few_words_like_a_refused_one():
    """The server going away mid-request gives urllib3's nested wrappers; the message names
    the OS error only (PG6040 is read by people and matched by log watchers)."""
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert _cause(requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", reset))) \
        == "Connection reset by peer"
