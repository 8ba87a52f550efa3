"""Issue 9, item 3: a stopped (T state) process gets SIGCONT after the stop signal, so it
ends by the stop signal at once instead of waiting out stop.timeout for SIGKILL."""

from __future__ import annotations

import os
import signal

from helpers.agent import config_yaml
from helpers.procs import state_and_start
from helpers.wait import wait_until


def test_restart_of_a_sigstopped_process_ends_it_by_the_stop_signal_not_sigkill(make_agent, tag):
    agent = make_agent(config_yaml([{
        "name": "svc",
        "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}},
        "stop": {"timeout": "60s"},  # far longer than the test's own deadlines
    }])).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    os.kill(pid, signal.SIGSTOP)
    wait_until(lambda: (state_and_start(pid) or ("?",))[0] == "T", 5, what="the process stopped (T)")

    assert agent.cli("restart", "svc").returncode == 0

    w = agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running",
                         timeout=10, what="the replacement, long before the 60 s stop timeout")
    assert w["last_exit"] == "signal:TERM", "continued, it died of the stop signal"
    assert not [e for e in agent.events("PG1015") if "signal=KILL" in e], "no SIGKILL was needed"
