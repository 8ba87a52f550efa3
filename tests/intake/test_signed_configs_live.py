"""The signing policy in the real agent: refusals on reload, rotation, restart with a tampered file.

Every test runs `procguard agent` in signed mode (no --allow-unsigned) with a private
rsyslogd, real keys, a real trust store and real `sleep` services. A refused config must
leave the watches in force untouched (same pids), be in syslog with its PG60xx ID, and show
in `status --json` as last_refusal.
"""

from __future__ import annotations

import base64
import os
import re
import signal
from pathlib import Path
from typing import Dict, List

from helpers.agent import Agent
from helpers.signing import install, pids_of, wait_running, watch_config
from procguard.signing.signature import sign

def flip_byte(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1:]


def flip_signature_byte(sig: bytes, index: int = 10) -> bytes:
    """The same well-formed signature file with one byte of the Ed25519 signature flipped."""
    lines = sig.decode().splitlines()
    algo, b64 = lines[2].split(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    lines[2] = f"{algo} {base64.b64encode(bytes(raw)).decode()}"
    return ("\n".join(lines) + "\n").encode()


def assert_refused(agent: Agent, rsyslog, before: Dict[str, List[int]], code: str, msg_id: str,
                   serial: int = 10) -> None:
    result = agent.cli("reload")
    assert result.returncode == 1, (result.stdout, result.stderr)
    line = rsyslog.wait_for(rf"procguard\[\d+\]: {msg_id} .*source=file")
    assert "configuration refused" in line
    status = agent.status()
    assert status["agent"]["last_refusal"]["code"] == code
    assert status["agent"]["config"]["serial"] == serial
    assert pids_of(agent) == before, "the watches in force keep their processes"
    for name, pids in before.items():
        assert all(os.path.exists(f"/proc/{p}") for p in pids), f"{name} still runs"


# ----------------------------------------------------------------- refusals on reload
def test_one_flipped_byte_in_the_config_is_refused(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    data = watch_config(tag, 11, names=("a", "b", "c"))
    sig = sign(k1.private, data)
    tampered = flip_byte(data, data.index(f"{tag}1".encode()) + len(tag))  # sleep TAG1 -> TAG0
    assert tampered != data and len(tampered) == len(data)
    install(agent, tampered, sig)
    assert_refused(agent, rsyslog, before, "bad_signature", "PG6001")


def test_one_flipped_byte_in_the_signature_is_refused(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    data = watch_config(tag, 11, names=("a", "b", "c"))
    install(agent, data, flip_signature_byte(sign(k1.private, data)))
    assert_refused(agent, rsyslog, before, "bad_signature", "PG6001")


def test_a_config_signed_by_an_unknown_key_is_refused(signed_agent, rsyslog, trust, tag):
    agent, _k1, before = signed_agent
    stranger = trust.new_key("stranger", trust=False)
    data = watch_config(tag, 11, names=("a", "b", "c"))
    install(agent, data, sign(stranger.private, data))
    assert_refused(agent, rsyslog, before, "unknown_key", "PG6002")
    assert f"key_id={stranger.key_id}" in rsyslog.wait_for("PG6002")


def test_a_config_signed_by_a_revoked_key_is_refused(signed_agent, rsyslog, trust, tag):
    agent, _k1, before = signed_agent
    k2 = trust.new_key("k2")  # trusted, then revoked: revocation wins
    trust.revoke(k2, "leaked")
    os.chmod(trust.revoked, 0o644)
    data = watch_config(tag, 11, names=("a", "b", "c"))
    install(agent, data, sign(k2.private, data))
    assert_refused(agent, rsyslog, before, "revoked_key", "PG6003")


def test_a_lower_serial_replayed_is_refused(signed_agent, rsyslog, tag):
    agent, k1, _before = signed_agent
    old = watch_config(tag, 10)
    old_sig = (Path(agent.config + ".sig")).read_bytes()
    newer = watch_config(tag, 12, names=("a", "b", "c"))
    install(agent, newer, sign(k1.private, newer))
    assert agent.cli("reload").returncode == 0
    now = wait_running(agent, ("a", "b", "c"))

    install(agent, old, old_sig)  # an attacker puts the old, correctly signed pair back
    assert_refused(agent, rsyslog, now, "rollback", "PG6006", serial=12)
    assert "last_serial=12" in rsyslog.wait_for("PG6006")


def test_a_config_for_another_host_is_refused(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    data = watch_config(tag, 11, names=("a", "b", "c"), scope=("db01", "db*", "@db"))
    install(agent, data, sign(k1.private, data))
    assert_refused(agent, rsyslog, before, "out_of_scope", "PG6007")


def test_an_expired_config_is_refused(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    data = watch_config(tag, 11, names=("a", "b", "c"), not_after="2020-01-01T00:00:00Z")
    install(agent, data, sign(k1.private, data))
    assert_refused(agent, rsyslog, before, "expired", "PG6008")


# ----------------------------------------------------------------- rotation
def test_key_rotation_on_a_running_agent(signed_agent, rsyslog, trust, tag):
    agent, k1, before = signed_agent
    assert agent.status()["agent"]["config"]["key_id"] == k1.key_id

    k2 = trust.new_key("k2")  # step 2: both keys trusted
    data = watch_config(tag, 11, names=("a", "b", "c"))  # step 3: re-sign, serial raised
    install(agent, data, sign(k2.private, data))
    result = agent.cli("reload")
    assert result.returncode == 0, result.stderr
    config = agent.status()["agent"]["config"]
    assert (config["serial"], config["key_id"], config["signed"]) == (11, k2.key_id, True)
    now = wait_running(agent, ("a", "b", "c"))
    assert {k: now[k] for k in before} == before

    trust.revoke(k1, "rotated out")  # step 4
    os.chmod(trust.revoked, 0o644)
    old_key_config = watch_config(tag, 12, names=("a",))
    install(agent, old_key_config, sign(k1.private, old_key_config))
    assert_refused(agent, rsyslog, now, "revoked_key", "PG6003", serial=11)
    assert f"key_id={k1.key_id}" in rsyslog.wait_for("PG6003")
    assert agent.status()["agent"]["config"]["key_id"] == k2.key_id


# ----------------------------------------------------------------- restart
def test_after_a_restart_a_tampered_file_is_refused_and_the_last_good_is_back(signed_agent, rsyslog, tag):
    agent, k1, before = signed_agent
    good_sig = Path(agent.config + ".sig").read_bytes()
    agent.stop(signal.SIGKILL)  # the services outlive the agent, by design

    evil = watch_config(tag, 10, names=("a", "b", "c"))
    evil = evil.replace(f"{tag}1".encode(), b"/bin/sh".ljust(len(tag) + 1))
    install(agent, evil, good_sig)  # new bytes, old signature
    agent.start()

    rsyslog.wait_for(r"PG6001 .*source=file")
    restored = rsyslog.wait_for(r"PG6033 ")
    assert "serial=10" in restored and f"key_id={k1.key_id}" in restored
    status = agent.status()
    assert status["agent"]["config"]["serial"] == 10
    assert status["agent"]["config"]["key_id"] == k1.key_id
    assert [w["name"] for w in status["watches"]] == ["a", "b"]
    assert wait_running(agent) == before, "the same processes are adopted again"
    assert Path(agent.config).read_bytes() == evil, "the agent does not rewrite the file on disk"
    assert not re.search(r"PG6021 ", "\n".join(rsyslog.lines())), "nothing unsigned applied"
