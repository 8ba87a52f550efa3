"""A watched process's PID, reused by a different process on purpose: the agent neither
adopts the newcomer nor signals it, not even on `procguard restart`.

Each scenario runs in a private PID namespace made by the test (`unshare --pid --fork
--mount-proc`), where writing /proc/sys/kernel/ns_last_pid hands the newcomer exactly the
PID the watched process had, without touching the host's PIDs (helpers/pidns.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from helpers.agent import AGENT_SRC, REPO
from helpers.bounds import run_measured

TESTS = os.path.join(REPO, "tests")


def in_private_pid_namespace(scenario: str, directory: str, tag: str) -> dict:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare is missing: install util-linux (scripts/setup-host.sh does)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, AGENT_SRC]))
    ran = run_measured([unshare, "--pid", "--fork", "--mount-proc", sys.executable, "-m", "helpers.pidns",
                        scenario, directory, tag], env=env, timeout=120)
    assert ran.code == 0 and not ran.timed_out, ran.err[-3000:]
    return json.loads(ran.out.strip().splitlines()[-1])


def test_a_pid_reused_while_the_agent_was_down_is_not_taken_for_the_pidfile_service(tmp_path, tag):
    seen = in_private_pid_namespace("down_pidfile_only", str(tmp_path), tag)
    assert not seen["adopted"], seen
    assert seen["newcomer_alive"], f"restart signalled the newcomer: {seen}"


def test_with_pidfile_and_command_line_the_newcomer_is_left_alone(tmp_path, tag):
    seen = in_private_pid_namespace("down_pidfile_and_cmdline", str(tmp_path), tag)
    assert not seen["adopted"], seen
    assert seen["reused_pid"] not in seen["pids_after_restart"]
    assert seen["newcomer_alive"], f"restart signalled the newcomer: {seen}"


def test_a_pid_reused_while_the_agent_could_not_run_is_never_signalled(tmp_path, tag):
    seen = in_private_pid_namespace("stopped_agent", str(tmp_path), tag)
    assert json.loads(seen["reply"])["ok"], seen
    assert not seen["adopted"] and not seen["adopted_again"], seen
    assert seen["newcomer_alive"], f"the newcomer was signalled: {seen}"
