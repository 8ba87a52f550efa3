"""A killed process is replaced at once, whether or not the agent started it."""

from __future__ import annotations

import os
import signal

from helpers.agent import config_yaml
from helpers.wait import wait_until
from helpers.procs import alive, pids_running


def test_process_started_by_agent_is_replaced_after_sigkill(make_agent, rsyslog, tag):
    argv = ["/bin/sleep", tag]
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": argv, "ready": {"alive_for": 0}}}]),
                       syslog_socket=rsyslog.socket).start()
    first = agent.wait_watch("svc", lambda w: w["state"] == "running" and w["pids"])["pids"][0]

    os.kill(first, signal.SIGKILL)

    w = agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != first and w["state"] == "running")
    assert w["restarts"] == 1
    assert w["last_exit"] == "signal:KILL"
    wait_until(lambda: pids_running(tuple(argv)) == w["pids"], 5, what="exactly the watched process (exec done)")
    line = rsyslog.wait_for(rf"PG1005 process died watch=svc pid={first} status=signal:KILL")
    assert "procguard[" in line
    rsyslog.wait_for(rf"PG1004 process started watch=svc pid={w['pids'][0]}")


def test_process_not_started_by_agent_is_adopted_and_replaced(make_agent, rsyslog, external, tag):
    argv = ["/bin/sleep", tag]
    outsider = external(argv)
    agent = make_agent(config_yaml([{
        "name": "legacy",
        "match": {"cmdline": f"^/bin/sleep {tag}$"},
        "start": {"argv": argv, "ready": {"alive_for": 0}},
    }]), syslog_socket=rsyslog.socket).start()
    w = agent.wait_watch("legacy", lambda w: w["state"] == "running")
    assert w["pids"] == [outsider.pid], "the running process is adopted, not duplicated"
    rsyslog.wait_for(rf"PG1003 process adopted watch=legacy pid={outsider.pid}")

    os.kill(outsider.pid, signal.SIGKILL)

    w = agent.wait_watch("legacy", lambda w: w["pids"] and w["pids"] != [outsider.pid] and w["state"] == "running")
    assert w["restarts"] == 1
    assert w["last_exit"] == "unknown", "no exit status exists for a process we did not start"
    assert alive(w["pids"][0])
    wait_until(lambda: pids_running(tuple(argv)) == w["pids"], 5, what="exactly the watched process (exec done)")
    rsyslog.wait_for(rf"PG1005 process died watch=legacy pid={outsider.pid} status=unknown")


def test_several_instances_are_kept_at_min(make_agent, tag):
    argv = ["/bin/sleep", tag]
    agent = make_agent(config_yaml([{"name": "pool", "instances": {"min": 3, "max": 3},
                                     "start": {"argv": argv, "ready": {"alive_for": 0}}}])).start()
    w = agent.wait_watch("pool", lambda w: len(w["pids"]) == 3 and w["state"] == "running")
    victim = w["pids"][1]
    os.kill(victim, signal.SIGKILL)
    w = agent.wait_watch("pool", lambda w: len(w["pids"]) == 3 and victim not in w["pids"])
    wait_until(lambda: sorted(pids_running(tuple(argv))) == sorted(w["pids"]), 5, what="exactly 3 processes")


def test_polling_fallback_still_notices_and_replaces(make_agent, tmp_path, tag):
    """Kernels without pidfd_open (before 5.3) poll /proc/PID/stat instead; forced here."""
    settings = tmp_path / "agent.yaml"
    settings.write_text("detector: poll\npoll_interval: 0.1\n")
    argv = ["/bin/sleep", tag]
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": argv, "ready": {"alive_for": 0}}}]),
                       extra_args=["--settings", str(settings)]).start()
    assert agent.status()["agent"]["detector"] == "poll"
    agent.wait_event("PG1020", contains="detector: poll")
    first = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    os.kill(first, signal.SIGKILL)
    agent.wait_event("PG1005", contains="detector=poll")
    agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != first and w["state"] == "running")
