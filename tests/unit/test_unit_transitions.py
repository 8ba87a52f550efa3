"""The watch state machine, one test per edge, driven by a fake clock and a fake spawner."""

from __future__ import annotations

import signal

import pytest

from helpers.unit_env import die, make_unit
from procguard import states
from procguard.proc.procfs import Identity


def test_transition_starting_to_running_after_alive_for():
    unit, env = make_unit()
    unit.settle()
    assert unit.state == states.STARTING
    env.advance(0.99)
    assert unit.state == states.STARTING
    env.advance(0.02)
    assert unit.state == states.RUNNING and unit.healthy


def test_transition_running_to_starting_on_first_death_is_immediate():
    unit, env = make_unit()
    unit.settle()
    env.advance(2)
    first = unit.pids[0]
    die(unit)
    assert unit.state == states.STARTING and unit.pids and unit.pids[0] != first
    assert env.names()[-2:] == ["process_died", "process_started"]


def test_transition_running_to_backoff_on_second_death():
    unit, env = make_unit("    restart: {max_restarts: 5, backoff: {initial: 2s, jitter: 0}}\n")
    unit.settle()
    env.advance(2)
    die(unit)
    env.advance(2)
    die(unit)
    assert unit.state == states.BACKOFF and unit.pids == []
    env.advance(1.9)
    assert unit.state == states.BACKOFF
    env.advance(0.2)
    assert unit.state == states.STARTING  # BACKOFF -> STARTING


def test_transition_to_gave_up_when_budget_spent_and_stop_watching():
    unit, env = make_unit("    restart: {max_restarts: 1, backoff: {initial: 1s}}\n")
    unit.settle()
    env.advance(2)
    die(unit)
    env.advance(2)
    die(unit)
    assert unit.state == states.GAVE_UP and not unit.healthy
    env.advance(3600)
    assert unit.state == states.GAVE_UP and unit.pids == []


def test_transition_gave_up_to_starting_on_slow_retry_then_recovered():
    unit, env = make_unit("    restart: {max_restarts: 0}\n    on_giveup: {action: slow_retry, retry_every: 10s}\n")
    unit.settle()
    env.advance(2)
    die(unit)
    assert unit.state == states.GAVE_UP
    env.advance(10)
    assert unit.state == states.STARTING
    env.advance(1.5)
    assert unit.state == states.RUNNING
    assert "recovered" in env.names()


def test_escalate_calls_the_hook_and_keeps_retrying():
    unit, env = make_unit("    restart: {max_restarts: 0}\n    on_giveup: {action: escalate, retry_every: 5s,"
                          " escalate: [{type: command, argv: [/bin/true]}]}\n")
    unit.settle()
    env.advance(2)
    die(unit)
    assert "gave_up" in env.hooks
    env.advance(7)
    assert unit.state == states.RUNNING and "recovered" in env.hooks


def test_start_failure_counts_against_the_budget():
    unit, env = make_unit("    restart: {max_restarts: 2, backoff: {initial: 1s, jitter: 0}}\n")
    env.spawn_error = "/bin/true: no such file"
    unit.settle()
    env.advance(60)
    assert unit.state == states.GAVE_UP
    assert env.names().count("start_failed") == 3


def test_no_restart_exit_code_goes_to_exited():
    unit, env = make_unit("    restart: {no_restart_exit_codes: [0]}\n")
    unit.settle()
    env.advance(2)
    die(unit, status=0)  # raw wait status 0 = exit code 0
    assert unit.state == states.EXITED and unit.pids == []


def test_pause_blocks_restarts_and_resume_starts_again():
    unit, env = make_unit()
    unit.settle()
    env.advance(2)
    unit.pause(float("inf"), "test")
    die(unit)
    assert unit.state == states.PAUSED and unit.pids == []
    unit.resume("test", "request")
    assert unit.state == states.STARTING and unit.pids


def test_operator_restart_stops_with_stop_signal_then_kills_after_timeout():
    unit, env = make_unit("    stop: {signal: INT, timeout: 3s}\n")
    unit.settle()
    env.advance(2)
    pid = unit.pids[0]
    unit.request_restart("op")
    assert unit.state == states.STOPPING and env.signals == [(pid, signal.SIGINT), (pid, signal.SIGCONT)]
    env.advance(3.1)
    assert env.signals[-1] == (pid, signal.SIGKILL)
    unit.on_death(pid, 9)
    assert unit.state == states.STARTING and unit.pids and unit.pids[0] != pid
    assert unit.budget.in_window(env.t) == 0, "an operator restart is not a failure"


def test_stall_stops_and_restarts_by_policy():
    unit, env = make_unit()
    unit.settle()
    env.advance(2)
    pid = unit.pids[0]
    unit.stall("http probe failed 3 times")
    assert unit.state == states.STOPPING and not unit.healthy
    unit.on_death(pid, 15)
    assert unit.state == states.STARTING and unit.budget.total == 1


def test_watch_without_start_goes_down_and_recovers_when_found():
    unit, env = make_unit("    on_giveup: {action: stop_watching}\n", start=False)
    unit.settle()
    assert unit.state == states.DOWN and "instances_short" in env.names()
    env.found = [Identity(42, 420, "boot")]
    unit.adopt(env.found)
    unit.settle()
    assert unit.state == states.RUNNING


@pytest.mark.parametrize("state", states.ALL)
def test_every_state_is_a_lower_case_word(state):
    assert state.isidentifier() and state == state.lower()


def test_watch_without_start_rescans_less_and_less_often_until_found():
    unit, env = make_unit("    on_giveup: {action: stop_watching}\n", start=False)
    unit.settle()
    env.advance(0.6)
    env.advance(1.1)
    assert unit.state == states.DOWN
    env.found = [Identity(43, 430, "boot")]
    env.advance(2.1)  # third look, after 0.5 + 1 + 2 s
    assert unit.state == states.RUNNING and unit.pids == [43]


def test_a_death_before_the_start_was_good_is_a_failed_start_not_a_crash():
    """Found by the lab: the same instant failure was PG1007 on one attempt and PG1005 on the
    next, depending on whether it ended before or after the agent could watch it."""
    unit, env = make_unit()  # ready after alive_for 1s
    unit.settle()
    unit.on_death(unit.pids[0], 256)  # exit:1, before alive_for passed
    assert env.names()[:3] == ["process_started", "start_failed", "process_started"]
    assert "process_died" not in env.names()
