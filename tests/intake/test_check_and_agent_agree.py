"""`procguard check` (Ansible's `validate:`) and the running agent give the same verdict.

One real agent runs a good config; each case writes a bad config over it, asks the agent
to reload and runs `procguard check` on the very same file. Both must refuse, with the same
message, and the agent keeps its watch running. Before the house moved admission into one
function, the first four cases passed `check` and were refused (or half applied) by the
agent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from helpers.agent import cli, config_yaml


def start(tag: str) -> Dict:
    return {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}


def script(tmp: Path, name: str, mode: int, folder_mode: int = 0o755) -> str:
    folder = tmp / f"dir-{name}"
    folder.mkdir(exist_ok=True)
    os.chmod(folder, folder_mode)
    path = folder / name
    path.write_text("#!/bin/sh\nexec /bin/sleep 600\n")
    os.chmod(path, mode)
    return str(path)


def link(tmp: Path, target: str) -> str:
    """A symlink in a safe directory to `target`: what runs is the target, so it is checked."""
    folder = tmp / "links"
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o755)
    path = folder / os.path.basename(target)
    path.symlink_to(target)
    return str(path)


# case -> (config maker, refusal code, a piece of the message). One case per route by which
# a file reaches an exec as root: start argv (own, from defaults, by PATH, via a symlink),
# shell, a script given to an interpreter, exec probes (own, from defaults, their scripts),
# escalation argv and undo_argv; and a safe file in an unsafe directory. Hooks: none exist yet.
CASES: Dict[str, tuple] = {
    "group_writable_start_binary": (
        lambda t, tmp: [{"name": "web", "start": {"argv": [script(tmp, "svc", 0o775)]}}],
        "unsafe_file", "is writable by group"),
    "duplicate_probe_names": (
        lambda t, tmp: [{"name": "web", "start": start(t), "probes": [
            {"name": "p", "type": "tcp", "port": 1}, {"name": "p", "type": "tcp", "port": 2}]}],
        "invalid", "probe names must be unique"),
    "two_notify_probes": (
        lambda t, tmp: [{"name": "web", "start": start(t), "probes": [
            {"name": "a", "type": "notify"}, {"name": "b", "type": "notify"}]}],
        "invalid", "one notify probe only"),
    "pacemaker_ban_without_resource": (
        lambda t, tmp: [{"name": "web", "start": start(t),
                         "on_giveup": {"action": "escalate", "escalate": [{"type": "pacemaker", "mode": "ban"}]}}],
        "invalid", "is required with mode: ban"),
    "relative_escalation_argv": (
        lambda t, tmp: [{"name": "web", "start": start(t),
                         "on_giveup": {"action": "escalate", "escalate": [{"type": "command", "argv": ["logger", "x"]}]}}],
        "invalid", "must name its program by absolute path"),
    "start_inherited_from_defaults_is_unsafe": (
        lambda t, tmp: {"defaults": {"start": {"argv": [script(tmp, "dflt", 0o757)]}},
                        "watches": [{"name": "web", "match": {"comm": "nothing-like-it"}}]},
        "unsafe_file", "is writable by others"),
    "script_given_to_an_interpreter_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": {"argv": ["/bin/sh", script(tmp, "run.sh", 0o666)]}}],
        "unsafe_file", "file given to the start command"),
    "safe_script_in_a_world_writable_directory": (
        lambda t, tmp: [{"name": "web", "start": {"argv": [script(tmp, "svc2", 0o755, folder_mode=0o777)]}}],
        "unsafe_file", "directory of start command"),
    "shell_command_names_an_unsafe_script": (
        lambda t, tmp: [{"name": "web", "match": {"cmdline": "svc3"},
                         "start": {"shell": True, "argv": [f"exec {script(tmp, 'svc3', 0o775)} --flag"]}}],
        "unsafe_file", "file in the start command"),
    "exec_probe_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": start(t), "probes": [
            {"name": "e", "type": "exec", "argv": [script(tmp, "probe", 0o775)]}]}],
        "unsafe_file", "exec probe e of watch web"),
    "escalation_argv_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": start(t), "on_giveup": {"action": "escalate", "escalate": [
            {"type": "command", "argv": [script(tmp, "esc", 0o757)]}]}}],
        "unsafe_file", "escalation argv of watch web"),
    "escalation_argv_in_a_group_writable_directory": (
        lambda t, tmp: [{"name": "web", "start": start(t), "on_giveup": {"action": "escalate", "escalate": [
            {"type": "command", "argv": [script(tmp, "esc2", 0o755, folder_mode=0o775)]}]}}],
        "unsafe_file", "directory of escalation argv of watch web"),
    "exec_probe_script_given_to_an_interpreter_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": start(t), "probes": [
            {"name": "e", "type": "exec", "argv": ["/bin/sh", script(tmp, "probe.sh", 0o666)]}]}],
        "unsafe_file", "file given to the exec probe e of watch web"),
    "exec_probe_inherited_from_defaults_is_unsafe": (
        lambda t, tmp: {"defaults": {"probes": [{"name": "e", "type": "exec", "argv": [script(tmp, "dprobe", 0o775)]}]},
                        "watches": [{"name": "web", "start": start(t)}]},
        "unsafe_file", "exec probe e of watch web"),
    "bare_name_found_through_start_env_path_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": {"argv": ["svc4"], "env": {
            "PATH": os.path.dirname(script(tmp, "svc4", 0o775))}}}],
        "unsafe_file", "start command of watch web"),
    "symlink_to_an_unsafe_script": (
        lambda t, tmp: [{"name": "web", "start": {"argv": [link(tmp, script(tmp, "svc5", 0o775))]}}],
        "unsafe_file", "is writable by group"),
    "escalation_undo_is_unsafe": (
        lambda t, tmp: [{"name": "web", "start": start(t), "on_giveup": {"action": "escalate", "escalate": [
            {"type": "command", "argv": ["/bin/true"], "undo_argv": [script(tmp, "undo", 0o775)]}]}}],
        "unsafe_file", "escalation undo_argv of watch web"),
    "missing_binary": (
        lambda t, tmp: [{"name": "web", "start": {"argv": ["/usr/bin/no-such-daemon"]}}],
        "invalid", "does not exist"),
    "duration_beyond_ten_years": (  # passed check, then crashed the agent building its Config
        lambda t, tmp: [{"name": "web", "start": start(t), "stop": {"timeout": 100 * 366 * 86400}}],
        "invalid", "stop.timeout: must be at most"),
    "unknown_key": (
        lambda t, tmp: [{"name": "web", "start": start(t), "restart": {"max_restart": 3}}],
        "invalid", "did you mean 'max_restarts'"),
    "unix_socket_in_a_directory_others_may_write": (  # root removes a stale socket there first
        lambda t, tmp: [{"name": "web", "start": {**start(t), "listen": [
            os.path.join(os.path.dirname(script(tmp, "sockdir", 0o755, folder_mode=0o777)), "app.sock")]}}],
        "unsafe_file", "directory of listen socket of watch web"),
    "listen_host_name": (  # start.listen takes IP literals: no DNS when the agent binds
        lambda t, tmp: [{"name": "web", "start": {**start(t), "listen": ["localhost:8080"]}}],
        "invalid", "start.listen"),
}


@pytest.fixture
def running(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "ok", "start": start(tag)}])).start()
    pid = agent.wait_watch("ok", lambda w: w["state"] == "running")["pids"][0]
    return agent, pid


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_and_the_agent_refuse_alike(running, tmp_path, tag, case):
    agent, pid = running
    make, code, piece = CASES[case]
    doc = make(tag + "9", tmp_path)
    text = config_yaml(doc) if isinstance(doc, list) else config_yaml(doc.pop("watches"), **doc)
    agent.write_config(text)

    checked = cli("check", agent.config)
    reloaded = agent.cli("reload")

    assert checked.returncode == 1, checked.stdout
    assert reloaded.returncode == 1
    refusal = agent.status()["agent"]["last_refusal"]
    assert refusal["code"] == code
    assert piece in refusal["message"]
    assert "; ".join(checked.stderr.strip().splitlines()) == refusal["message"]
    assert agent.watch("ok")["pids"] == [pid], "nothing running was disturbed"


def test_a_config_check_accepts_is_applied_whole(running, tmp_path, tag):
    agent, _pid = running
    probes = [{"name": "alive", "type": "proc_state"}]
    agent.write_config(config_yaml([{"name": "ok", "start": start(tag)},
                                    {"name": "web", "start": start(tag + "8"), "probes": probes}]))
    assert cli("check", agent.config).returncode == 0
    assert agent.cli("reload").returncode == 0
    web = agent.wait_watch("web", lambda w: w["state"] == "running")
    assert [p["name"] for p in web["probes"]] == ["alive"], "applied with its probes"
