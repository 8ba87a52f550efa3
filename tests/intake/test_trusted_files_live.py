"""Every file that decides what root trusts is root's alone, and an unreadable revocation
fails closed (issue 10 items 3 and 10).

Before: a group- or world-writable agent.yaml was read (a local user could point
`revoked:` at a missing file, `state_dir:` at a fresh folder, or add host groups); a
missing revocation list was "nothing revoked"; a byte-order mark in revoked.txt was a
warning and the config was accepted; and a restart with a replaced world-writable .pub
made the agent exit, leaving the services unwatched.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from helpers.agent import cli
from helpers.signing import install, watch_config
from procguard.signing.signature import sign


def settings_file(tmp_path: Path, text: str, mode: int = 0o644, folder_mode: int = 0o755) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir(exist_ok=True)
    os.chmod(folder, folder_mode)
    path = folder / "agent.yaml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_a_settings_file_others_can_write_stops_the_agent_and_check_says_so(make_agent, tmp_path, tag):
    path = settings_file(tmp_path, "host_groups: [web]\n", mode=0o664)
    checked = cli("check", "--settings", str(path))
    assert checked.returncode == 1 and f"chmod go-w {path}" in checked.stderr
    agent = make_agent(watch_config(tag, 1).decode(), extra_args=["--settings", str(path)])
    agent.start(wait=False)
    assert agent.proc.wait(20) == 2
    assert "agent settings is writable by group" in agent.stderr()


def test_a_settings_file_in_a_directory_others_can_write_is_refused(tmp_path):
    path = settings_file(tmp_path, "host_groups: [web]\n", folder_mode=0o777)
    checked = cli("check", "--settings", str(path))
    assert checked.returncode == 1 and "directory of agent settings" in checked.stderr


def test_a_revocation_list_named_but_missing_refuses_configs(signed_agent, trust, tag):
    agent, k1, before = signed_agent
    trust.revoked.unlink()  # --revoked names it on the command line (signed_args)
    newer = watch_config(tag, 11)
    install(agent, newer, sign(k1.private, newer))
    result = agent.cli("reload")
    assert result.returncode == 1 and "the revocation list the settings name does not exist" in result.stderr
    assert agent.status()["agent"]["last_refusal"]["code"] == "missing_file"
    trust.revoked.write_text("")
    assert agent.cli("reload").returncode == 0


def test_a_byte_order_mark_in_the_revocation_list_fails_closed(signed_agent, rsyslog, trust, tag):
    agent, k1, before = signed_agent
    trust.revoked.write_bytes(b"\xef\xbb\xbf" + k1.key_id.encode() + b"\n")  # saved by an editor that adds a BOM
    newer = watch_config(tag, 11)
    install(agent, newer, sign(k1.private, newer))
    result = agent.cli("reload")
    assert result.returncode == 1 and "byte-order mark" in result.stderr
    assert agent.status()["agent"]["last_refusal"]["code"] == "bad_revocation_list"
    rsyslog.wait_for(r"PG6014 ")
    assert agent.watch("a")["pids"] == before["a"]
    trust.revoked.write_text("# nothing revoked\n")
    assert agent.cli("reload").returncode == 0


def test_a_replaced_world_writable_key_admits_nothing_new_but_a_restart_keeps_enforcing(signed_agent, trust, tag):
    agent, k1, before = signed_agent
    pub = trust.trusted / "k1.pub"
    os.chmod(pub, 0o666)
    newer = watch_config(tag, 11, names=("a", "b", "c"))
    install(agent, newer, sign(k1.private, newer))
    result = agent.cli("reload")
    assert result.returncode == 1 and f"chmod go-w {pub}" in result.stderr

    agent.stop(signal.SIGKILL)
    agent.start()
    status = agent.status()
    assert status["agent"]["config"]["serial"] == 10, "the last good config is in force again"
    assert {w["name"]: w["pids"] for w in status["watches"]} == before
    assert agent.proc.poll() is None
