"""A fast command's exit status is never lost to the engine's reaping (issue 9 item 1).

The engine reaps every child with waitpid(-1) on SIGCHLD. A command such as /bin/true can
exit before its PID was registered as owned; the engine then reaped it as an orphan and the
probe saw no status (reason=unknown): about 6 % of runs, once restarting a healthy service,
and a successful failover command reported as failed. Here a thread reaps the way the
engine does, as fast as it can, while the runner starts 2,000 commands; every one must come
back exit:0.
"""

from __future__ import annotations

from procguard.children.commands import run_command
from procguard.config.action_spec import build_action
from procguard.escalation.actions import CommandAction

RUNS = 2000


def test_two_thousand_fast_probe_commands_all_report_exit_0(engine_reaping):
    results = [run_command(["/bin/true"], timeout=5) for _ in range(RUNS)]
    statuses = [r.status for r in results]
    assert statuses.count("exit:0") == RUNS, {s: statuses.count(s) for s in set(statuses)}
    assert engine_reaping == [], "none was taken for an orphan"


def test_two_thousand_escalation_commands_all_report_success(engine_reaping):
    action = CommandAction(build_action({"type": "command", "argv": ["/bin/true"], "timeout": "5s"}, 0), "web01")
    outcomes = [action.do({"watch": "web", "event": "gave_up"}) for _ in range(RUNS)]
    assert all(o.ok and o.result == "exit:0" for o in outcomes), {o.result for o in outcomes}
    assert engine_reaping == []
