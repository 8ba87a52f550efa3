"""`procguard signal NAME SIG` reaches the watch's main process; `procguard reload-service`
reloads by the watch's `reload:` (a signal, or a command whose failure is reported)
without restarting the service."""

from __future__ import annotations

import os

from helpers.agent import config_yaml
from helpers.wait import wait_until

# counts SIGHUP and SIGUSR1 in files, so the test sees each signal arrive
TRAPPER = ("trap 'echo hup >> {d}/hup' HUP; trap 'echo usr1 >> {d}/usr1' USR1; "
           "echo ready > {d}/ready; while :; do sleep 0.05; done")


def lines(path) -> int:
    try:
        return len(open(path).read().splitlines())
    except FileNotFoundError:
        return 0


def test_signal_and_reload_by_signal_reach_the_service_which_keeps_running(make_agent, tmp_path, tag):
    agent = make_agent(config_yaml([{
        "name": "svc", "match": {"cmdline": f"{tmp_path}/ready"},
        "start": {"argv": [TRAPPER.format(d=tmp_path)], "shell": True, "ready": {"alive_for": 0}},
        "reload": {"signal": "HUP"},
    }])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    wait_until(lambda: (tmp_path / "ready").exists(), 5, what="traps set")

    done = agent.cli("signal", "svc", "USR1")
    assert done.returncode == 0 and f"pids [{pid}]" in done.stdout
    wait_until(lambda: lines(tmp_path / "usr1") == 1, 5, what="SIGUSR1 delivered")
    agent.wait_event("PG3101", contains="signal=USR1")

    done = agent.cli("reload-service", "svc")
    assert done.returncode == 0 and "signal:HUP" in done.stdout
    wait_until(lambda: lines(tmp_path / "hup") == 1, 5, what="SIGHUP delivered")
    agent.wait_event("PG3102", contains="how=signal:HUP")
    assert agent.watch("svc")["pids"] == [pid] and agent.watch("svc")["restarts"] == 0

    bad = agent.cli("signal", "svc", "BOGUS")
    assert bad.returncode == 1 and "unknown signal" in bad.stderr


def test_reload_by_command_reports_success_and_failure(make_agent, tmp_path, tag):
    script = tmp_path / "reload.sh"
    script.write_text(f"#!/bin/sh\necho \"$PROCGUARD_WATCH $PROCGUARD_PIDS\" >> {tmp_path}/reloads\n"
                      f"[ ! -e {tmp_path}/broken ] || {{ echo config test failed; exit 3; }}\n")
    script.chmod(0o755)
    agent = make_agent(config_yaml([{
        "name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}},
        "reload": {"argv": [str(script)], "timeout": "5s"},
    }])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]

    done = agent.cli("reload-service", "svc")
    assert done.returncode == 0, done.stderr
    assert open(tmp_path / "reloads").read() == f"svc {pid}\n"

    (tmp_path / "broken").write_text("")
    failed = agent.cli("reload-service", "svc")
    assert failed.returncode == 1 and "exit:3" in failed.stderr and "config test failed" in failed.stderr
    agent.wait_event("PG3103", contains="watch=svc")
    assert agent.watch("svc")["pids"] == [pid], "a failed reload never restarts the service"
    assert os.path.exists(tmp_path / "reloads")


def test_reload_service_without_reload_config_says_what_to_add(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag]}}])).start()
    agent.wait_watch("svc", lambda w: w["pids"])
    done = agent.cli("reload-service", "svc")
    assert done.returncode == 1 and "reload: {signal: HUP}" in done.stderr
