"""A death the agent caused, or was told to expect, is not an alarm (issue 9 item 9).

Each planned case ends in PG1021 (info, with its reason) and each crash in PG1005
(warning); both are checked against the rules file the syslog role ships, which is what
operations tools alert on.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Dict

import pytest

from helpers.agent import REPO, config_yaml

RULES = Path(REPO) / "roles" / "procguard_syslog" / "files" / "ops" / "procguard-rules.tsv"
ALERTING = ("emerg", "alert", "crit", "err", "warning")


def severity_by_id() -> Dict[str, str]:
    rows = [line.split("\t") for line in RULES.read_text().splitlines() if line and not line.startswith("#")]
    return {row[0]: row[2] for row in rows}


def alerting(line: str) -> bool:
    found = re.search(r"\bPG\d{4}\b", line)
    assert found, line
    return severity_by_id()[found.group()] in ALERTING


def sleeper(name: str, arg: str, **extra):
    return {"name": name, "start": {"argv": ["/bin/sleep", arg], "ready": {"alive_for": 0}}, **extra}


def test_the_rules_file_knows_planned_and_crash_apart():
    severities = severity_by_id()
    assert severities["PG1021"] not in ALERTING and severities["PG1005"] in ALERTING


def test_an_operator_restart_is_planned(make_agent, tag):
    agent = make_agent(config_yaml([sleeper("svc", tag)])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    assert agent.cli("restart", "svc").returncode == 0
    line = agent.wait_event("PG1021", contains=f"pid={pid}")[0]
    assert "reason=restart" in line and not alerting(line)
    assert not agent.events("PG1005")


def test_a_stall_restart_is_planned_but_the_stall_itself_is_reported(make_agent, tag):
    watch = sleeper("svc", tag, stop={"timeout": "500ms"},
                    probes=[{"name": "state", "type": "proc_state", "interval": "100ms", "max_duration": "300ms"}])
    agent = make_agent(config_yaml([watch])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    os.kill(pid, signal.SIGSTOP)
    stall = agent.wait_event("PG4002", timeout=10)[0]
    assert alerting(stall), "a stall is a problem worth an alert"
    line = agent.wait_event("PG1021", contains=f"pid={pid}", timeout=10)[0]
    assert "reason=stall" in line and not alerting(line)
    assert not agent.events("PG1005")


def test_a_forking_daemons_launcher_is_planned(make_agent, tmp_path, tag):
    pidfile = tmp_path / "d.pid"
    launcher = tmp_path / "launch.sh"
    launcher.write_text(f"#!/bin/sh\n/bin/sleep {tag} &\necho $! > {pidfile}\nexit 0\n")
    os.chmod(launcher, 0o755)
    agent = make_agent(config_yaml([{"name": "d", "match": {"pidfile": str(pidfile), "cmdline": f"sleep {tag}$"},
                                     "start": {"argv": [str(launcher)]}}])).start()
    agent.wait_watch("d", lambda w: w["state"] == "running" and len(w["pids"]) == 1)
    line = agent.wait_event("PG1021")[0]
    assert "reason=launcher" in line and "status=exit:0" in line and not alerting(line)
    assert not agent.events("PG1005") and not agent.events("PG1007")


def test_an_expected_exit_code_is_planned(make_agent, tag):
    watch = {"name": "job", "match": {"cmdline": f"sleep 0.{tag[-3:]}"}, "restart": {"no_restart_exit_codes": [0]},
             "start": {"argv": ["/bin/sh", "-c", f"exec /bin/sleep 0.{tag[-3:]}"], "ready": {"alive_for": 0}}}
    agent = make_agent(config_yaml([watch])).start()
    line = agent.wait_event("PG1021", timeout=10)[0]
    assert "reason=expected_exit" in line and not alerting(line)


@pytest.mark.parametrize("how,status", [("kill", "signal:KILL"), ("exit", "exit:3")])
def test_a_crash_is_an_alarm(make_agent, tmp_path, tag, how, status):
    if how == "kill":
        agent = make_agent(config_yaml([sleeper("svc", tag)])).start()
        pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
        os.kill(pid, signal.SIGKILL)
    else:
        flag = tmp_path / "crashed"
        script = tmp_path / "crash.sh"
        script.write_text(f"#!/bin/sh\nif [ -e {flag} ]; then exec /bin/sleep {tag}; fi\ntouch {flag}\nexit 3\n")
        os.chmod(script, 0o755)
        agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": [str(script)], "ready": {"alive_for": 0}},
                                         "match": {"cmdline": f"crash.sh|sleep {tag}"}}])).start()
    line = agent.wait_event("PG1005", timeout=10)[0]
    assert f"status={status}" in line and alerting(line)
    assert not agent.events("PG1021")
