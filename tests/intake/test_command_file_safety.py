"""A start command that group or others can rewrite would run as root: a signed config
naming one is refused like a tampered config, and the fix is in the message."""

from __future__ import annotations

import os

from helpers.agent import cli, config_yaml


def test_group_writable_start_command_is_refused_with_the_chmod_that_fixes_it(make_agent, tmp_path, tag):
    keys, trusted = tmp_path / "keys", tmp_path / "trusted"
    trusted.mkdir(mode=0o755)
    cli("keygen", "--out", str(keys), "--name", "ops", check=True)
    (trusted / "ops.pub").write_bytes((keys / "ops.pub").read_bytes())
    os.chmod(trusted / "ops.pub", 0o644)
    (tmp_path / "revoked.txt").write_text("")
    script = tmp_path / "svc.sh"
    script.write_text(f"#!/bin/sh\nexec /bin/sleep {tag}\n")
    os.chmod(script, 0o775)  # group-writable
    agent = make_agent(None, allow_unsigned=False,
                       extra_args=["--trusted-keys", str(trusted), "--revoked", str(tmp_path / "revoked.txt"),
                                   "--host-name", "web01"])

    def signed(watches, serial):
        agent.write_config(config_yaml(watches, serial=serial, scope=["web01"]))
        os.chmod(agent.config, 0o644)
        cli("sign", "--key", str(keys / "ops.key"), agent.config, check=True)

    signed([{"name": "ok", "start": {"argv": ["/bin/sleep", tag + "1"], "ready": {"alive_for": 0}}}], 1)
    agent.start()
    pid = agent.wait_watch("ok", lambda w: w["state"] == "running")["pids"][0]

    signed([{"name": "ok", "start": {"argv": ["/bin/sleep", tag + "1"], "ready": {"alive_for": 0}}},
            {"name": "svc", "start": {"argv": [str(script)], "ready": {"alive_for": 0}}}], 2)
    result = agent.cli("reload")

    assert result.returncode == 1
    assert f"chmod go-w {script}" in result.stderr
    assert agent.status()["agent"]["last_refusal"]["code"] == "unsafe_file"
    assert [w["name"] for w in agent.status()["watches"]] == ["ok"]
    assert agent.watch("ok")["pids"] == [pid]

    os.chmod(script, 0o755)
    assert agent.cli("reload").returncode == 0
    agent.wait_watch("svc", lambda w: w["state"] == "running")
