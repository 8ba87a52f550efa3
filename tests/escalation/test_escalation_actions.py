"""Escalation actions driven through EscalationManager with a fake loop (see pg_helpers)."""

from __future__ import annotations

import os
import sys

import pytest

from helpers.probes import FakeLoop, configure_escalation
from procguard.children.reaper import REAPER
from procguard.escalation.manager import EscalationManager


@pytest.fixture
def loop():
    return FakeLoop()


@pytest.fixture
def esc(loop):
    mgr = EscalationManager(loop.post, loop.emitter, "web01")
    yield mgr
    mgr.shutdown()


def states(esc, watch):
    return [a["state"] for a in esc.status(watch) if a["type"] != "haproxy_agent_server"]


DUMP = "import os,sys; open(sys.argv[1],'a').write(' '.join(os.environ[k] for k in " \
       "('PROCGUARD_EVENT','PROCGUARD_WATCH','PROCGUARD_PID','PROCGUARD_HOST','PROCGUARD_ACTION'," \
       "'PROCGUARD_REASON'))+'\\n')"


def test_command_runs_in_order_with_event_env_and_is_undone_after_hysteresis(loop, esc, tmp_path):
    log = tmp_path / "log"
    configure_escalation(esc, {}, {"web": [
        {"type": "command", "name": "failover", "argv": [sys.executable, "-c", DUMP, str(log)],
         "undo_argv": [sys.executable, "-c", DUMP, str(log)], "undo_after": "200ms"},
        {"type": "command", "argv": ["sh", "-c", f"echo second >> {log}"], "undo_after": 0.1},
    ]})
    esc.gave_up("web", {"pid": 4242, "reason": "restart budget spent"})
    loop.drain_until(lambda: states(esc, "web") == ["in_force", "in_force"], 10, "actions in force")
    assert log.read_text().splitlines() == [
        "gave_up web 4242 web01 failover restart budget spent", "second"]
    assert loop.count("PG5001", watch="web") == 1 and loop.count("PG5002", watch="web") == 2
    esc.gave_up("web", {"pid": 4242, "reason": "again"})            # already in force: no rerun
    esc.recovered("web", {"pid": 4343})
    assert loop.count("PG5005", watch="web") == 1
    loop.drain_until(lambda: states(esc, "web") == ["idle", "idle"], 10, "undone")
    assert log.read_text().splitlines()[-1] == "recovered web 4343 web01 failover again"
    assert loop.count("PG5007", watch="web", action="failover") == 1
    assert loop.count("PG5007", watch="web", action="command-2", result='"nothing to undo"') == 1


def test_flapping_watch_keeps_escalation_in_force(loop, esc, tmp_path):
    configure_escalation(esc, {}, {"web": [{"type": "command", "argv": ["true"], "undo_argv": ["true"],
                                "undo_after": "300ms"}]})
    esc.gave_up("web", {"reason": "x"})
    loop.drain_until(lambda: states(esc, "web") == ["in_force"], 10, "in force")
    esc.recovered("web", {})
    esc.set_health("web", False, False)                  # fails again within the hysteresis
    assert loop.count("PG5006", watch="web") == 1
    import time
    until = time.monotonic() + 0.6
    loop.drain_until(lambda: time.monotonic() > until, 2)
    assert states(esc, "web") == ["in_force"] and loop.count("PG5007") == 0


def test_action_that_hangs_is_killed_at_timeout_and_next_action_runs(loop, esc, tmp_path):
    mark = tmp_path / "next"
    configure_escalation(esc, {}, {"web": [
        {"type": "command", "name": "slow", "argv": ["sh", "-c", "sleep 300"], "timeout": "300ms"},
        {"type": "command", "name": "next", "argv": ["touch", str(mark)]},
    ]})
    esc.gave_up("web", {"reason": "x"})
    loop.drain_until(lambda: states(esc, "web") == ["failed", "in_force"], 10, "timeout then next")
    assert loop.count("PG5004", watch="web", action="slow", timeout="0.3s") == 1
    assert mark.exists() and REAPER.owned() == ()


def test_missing_program_is_a_clear_failure(loop, esc):
    configure_escalation(esc, {}, {"web": [{"type": "command", "argv": ["/nonexistent/clprexec", "--failover", "g1"]}]})
    esc.gave_up("web", {"reason": "x"})
    loop.drain_until(lambda: states(esc, "web") == ["failed"], 10, "failed")
    assert loop.count("PG5003", watch="web", result="error") == 1
    assert any("cannot run /nonexistent/clprexec" in line for line in loop.lines)


def test_keepalived_track_file_weight_follows_give_up_and_recovery(loop, esc, tmp_path):
    track = tmp_path / "keepalived" / "web.weight"
    configure_escalation(esc, {}, {"web": [{"type": "keepalived", "track_file": str(track), "weight": -60,
                                "undo_after": "100ms"}]})
    loop.drain_until(lambda: track.exists(), 5, "healthy weight written at start")
    assert track.read_text() == "0\n"
    esc.gave_up("web", {"reason": "x"})
    loop.drain_until(lambda: states(esc, "web") == ["in_force"], 5, "in force")
    assert track.read_text() == "-60\n"
    esc.recovered("web", {})
    loop.drain_until(lambda: states(esc, "web") == ["idle"], 5, "undone")
    assert track.read_text() == "0\n"
    assert oct(os.stat(track).st_mode & 0o777) == "0o644"
