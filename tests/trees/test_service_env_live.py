"""Issue 9, item 11 and issue 11 build 9: a started service gets the environment systemd
would give it: HOME, USER, LOGNAME and SHELL of `start.user`, that user's groups (not
root's), and umask 022 whatever the agent's own umask, unless the watch asks otherwise."""

from __future__ import annotations

import os
import pwd
import stat

from helpers.agent import config_yaml
from helpers.wait import wait_until

USER = "nobody"


def environ_of(pid: int) -> dict:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        pairs = [item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item]
    return {k.decode(): v.decode() for k, v in pairs}


def status_field(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/status") as handle:
        return next(line.split(":", 1)[1].strip() for line in handle if line.startswith(name + ":"))


def test_a_service_started_as_a_user_gets_home_user_logname_shell_and_only_that_users_groups(make_agent, tag):
    entry = pwd.getpwnam(USER)
    agent = make_agent(config_yaml([{
        "name": "svc", "start": {"argv": ["/bin/sleep", tag], "user": USER, "ready": {"alive_for": 0}},
    }])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    env = environ_of(pid)
    assert (env["HOME"], env["USER"], env["LOGNAME"], env["SHELL"]) == (entry.pw_dir, USER, USER, entry.pw_shell)
    assert status_field(pid, "Uid").split()[0] == str(entry.pw_uid)
    assert status_field(pid, "Gid").split()[0] == str(entry.pw_gid)
    groups = {int(g) for g in status_field(pid, "Groups").split()}
    assert groups == set(os.getgrouplist(USER, entry.pw_gid)), "the user's groups, not root's"
    assert 0 not in groups


def test_files_of_a_service_are_created_with_umask_022_not_the_agents(make_agent, tmp_path):
    out = tmp_path / "made"
    inherit = tmp_path / "inherited"
    old = os.umask(0o077)  # the agent's unit has UMask=0077; the test agent inherits this one
    try:
        agent = make_agent(config_yaml([
            {"name": "plain", "match": {"cmdline": "^sh -c touch .*made"},
             "start": {"argv": [f"touch {out} && exec sleep 600"], "shell": True, "ready": {"alive_for": 0}}},
            {"name": "asks", "match": {"cmdline": "^sh -c touch .*inherited"},
             "start": {"argv": [f"touch {inherit} && exec sleep 600"], "shell": True, "umask": "inherit",
                       "ready": {"alive_for": 0}}},
        ])).start()
    finally:
        os.umask(old)
    wait_until(lambda: out.exists() and inherit.exists(), 10, what="both files made")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE(inherit.stat().st_mode) == 0o600, "umask: inherit keeps the agent's"
    agent.status()
