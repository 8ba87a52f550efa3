"""PG1xxx: the life of watched processes and of the agent itself."""

from ..message import Message

MESSAGES = (
    Message("PG1001", "agent_started", "notice", "agent started",
            ("version", "config", "serial", "watches", "detector"),
            "The agent is up and has applied its configuration."),
    Message("PG1002", "agent_stopping", "notice", "agent stopping",
            ("signal",),
            "The agent exits on request. Watched processes are left running."),
    Message("PG1003", "process_adopted", "info", "process adopted",
            ("watch", "pid", "started_at"),
            "A running process that matches the watch is now watched. Nothing was started."),
    Message("PG1004", "process_started", "info", "process started",
            ("watch", "pid", "attempt", "argv"),
            "The agent started a process for the watch."),
    Message("PG1005", "process_died", "warning", "process died",
            ("watch", "pid", "status", "restarts", "detector"),
            "A watched process ended. `status` is exit:N, signal:NAME, or unknown "
            "(a process the agent did not start gives no exit status).",
            "None if it is restarted; read the service's own log for the cause."),
    Message("PG1006", "start_good", "info", "start is good",
            ("watch", "pid", "after"),
            "The started process stayed up long enough (or reported ready)."),
    Message("PG1007", "start_failed", "err", "start failed",
            ("watch", "reason", "attempt"),
            "The start command could not run (missing binary, bad user) or the process "
            "died before it was good.",
            "Fix the `start` section; `procguard check` names the key."),
    Message("PG1008", "backoff", "warning", "restart delayed",
            ("watch", "delay", "restarts_in_window", "max_restarts"),
            "The watch waits before the next restart; the delay doubles with each failure "
            "and resets after a stable period."),
    Message("PG1009", "gave_up", "crit", "restart budget spent, giving up",
            ("watch", "restarts_in_window", "window", "on_giveup"),
            "Too many restarts within the window. The watch follows its on_giveup policy.",
            "Investigate the service; `procguard restart NAME` tries again at once."),
    Message("PG1010", "slow_retry", "warning", "slow retry",
            ("watch", "next_in"),
            "After giving up, the watch keeps retrying at a slow pace (on_giveup: slow_retry)."),
    Message("PG1011", "not_restarted_exit_code", "notice", "exit code means do not restart",
            ("watch", "pid", "status"),
            "The process ended with an exit code listed in no_restart_exit_codes."),
    Message("PG1012", "state_changed", "debug", "state changed",
            ("watch", "from", "to", "reason", "by"),
            "Every transition of a watch's state machine. `reason` says why when the machine "
            "knows (a failure, a stall, a stop); `by` who, for an operator's pause."),
    Message("PG1013", "instances_short", "warning", "fewer instances than required",
            ("watch", "current", "min"),
            "Fewer matching processes run than `instances.min`."),
    Message("PG1014", "instances_excess", "warning", "more instances than allowed",
            ("watch", "current", "max", "pids"),
            "More matching processes run than `instances.max` (a daemon started twice, say). "
            "procguard does not kill any of them on a guess; the watch is unhealthy until it is "
            "back within bounds.",
            "Find out which copy is extra and stop it (or raise instances.max)."),
    Message("PG1015", "process_stopped", "info", "process stopped",
            ("watch", "pid", "signal", "how"),
            "The agent stopped a process (restart request, stall, or a removed watch)."),
    Message("PG1016", "recovered", "notice", "watch recovered",
            ("watch", "pids"),
            "A watch that had given up or was short of instances is healthy again."),
    Message("PG1017", "pid_reuse_refused", "warning", "pid taken over by another process",
            ("watch", "pid", "expected_start", "found_start"),
            "A remembered or pidfile PID now belongs to a different process. It is neither "
            "adopted nor signalled."),
    Message("PG1018", "stale_pidfile", "notice", "stale pidfile ignored",
            ("watch", "pidfile", "pid", "reason"),
            "The pidfile is not trusted, and its PID neither adopted nor signalled: `reason` "
            "says why (no such process; the process started after the file was written, so "
            "the PID was reused; or the file is owned by someone other than root or the "
            "watch's start.user).",
            "If the owner is wrong, fix who writes the pidfile; otherwise none."),
    Message("PG1019", "orphan_reaped", "debug", "orphan reaped",
            ("pid", "status"),
            "As child subreaper, the agent reaped a process left behind by a watched service."),
    Message("PG1020", "detector_fallback", "warning", "pidfd unavailable, polling /proc",
            ("reason", "interval"),
            "The kernel or Python lacks pidfd_open; deaths are noticed by polling."),
    Message("PG1021", "process_exited_planned", "info", "process ended as planned",
            ("watch", "pid", "status", "reason"),
            "A watched process ended because the agent stopped it or was told to expect it: "
            "`reason` is restart (an operator's `procguard restart`), stall (a probe declared "
            "it stalled), stop (the agent stopped it: a start that never became ready), "
            "launcher (a forking daemon's start command exited 0 after starting the daemon), "
            "expected_exit (an exit code in no_restart_exit_codes) or paused (the watch is "
            "paused for planned work). Not an alarm; a crash is PG1005.",
            "None."),
    Message("PG1022", "watch_broken", "crit", "internal error, watch set aside",
            ("watch", "error", "report"),
            "A bug in the agent while handling this watch. The watch is set aside (state "
            "broken): its processes keep running, but nothing is restarted for it. Every other "
            "watch carries on. `report` is a file with the traceback.",
            "Send the report to the developers; `procguard restart NAME` (or a reload that "
            "changes the watch) starts it afresh."),
    Message("PG1023", "internal_error", "crit", "internal error, the agent carries on",
            ("error", "report"),
            "A bug in the agent outside any one watch's handling. The agent carried on; "
            "`report` is a file with the traceback.",
            "Send the report to the developers; check `procguard status`."),
)
