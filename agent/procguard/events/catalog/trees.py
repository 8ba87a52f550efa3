"""PG11xx: process trees, limits and output of the services the agent starts; start order;
systemd units supervised through systemctl. (PG1xxx is the life of processes; this
hundred is kept for what the cgroups, output and start-order work adds.)"""

from ..message import Message

MESSAGES = (
    Message("PG1101", "process_tree_mode", "notice", "process tree mode",
            ("mode", "detail"),
            "How the agent follows what each service forks: `cgroup` (a cgroup per watch) or "
            "`process-group` (the session and process group of each started service, where no "
            "cgroup can be written). Logged once at start; under systemd, `detail` ends in "
            "`held by procguard-watches.service` when the watches live in the holder unit.",
            "Under systemd, install procguard-watches.service beside the agent's unit (the package "
            "and the role ship both): without it the watches live in the agent's own unit "
            "(Delegate=yes) and systemd warns about them at every agent restart."),
    Message("PG1102", "limit_not_enforced", "warning", "limit not enforced",
            ("watch", "limit", "value", "reason"),
            "A configured limit could not be put in force on this host (no such controller, "
            "cgroup v1 without that limit, or no writable cgroup). It is never silently dropped: "
            "status shows it as not enforced too.",
            "Run on a cgroup v2 host with the controller, or remove the limit."),
    Message("PG1103", "limits_applied", "info", "limits in force",
            ("watch", "limits"),
            "The watch's cgroup limits were written and read back from the cgroup."),
    Message("PG1104", "oom_killed", "err", "killed by its memory limit",
            ("watch", "pid", "memory_max", "oom_kills"),
            "The kernel's OOM killer ended a process of the watch because the watch reached "
            "limits.memory_max (counted in memory.events). The restart follows the policy.",
            "Raise limits.memory_max or find what grows; `procguard status` shows the peak."),
    Message("PG1105", "leftovers_stopped", "notice", "left-over processes stopped",
            ("watch", "pid", "signal"),
            "A watched process died and left children behind in its tree; they get the stop "
            "signal (SIGKILL after stop.timeout) before anything is restarted."),
    Message("PG1106", "tree_not_empty", "warning", "processes left after stop",
            ("watch", "waited"),
            "Something of the watch's tree outlived SIGKILL (a process stuck in the kernel, D "
            "state). The agent carries on; the process stays in the watch's cgroup.",
            "Look at `procguard status` and /proc for the stuck process."),
    Message("PG1107", "output_fallback", "warning", "service output falls back to a file",
            ("watch", "reason"),
            "The journal could not be reached for the watch's output; it goes to the "
            "size-rotated file instead."),
    Message("PG1108", "tree_error", "err", "process tree error",
            ("watch", "reason"),
            "A cgroup of the watch could not be made or written. Its processes are still "
            "started and watched, but its tree and limits are not in force.",
            "Check the agent's cgroup delegation (Delegate=yes) and the message's path."),
    Message("PG1110", "start_waits", "info", "start waits for other watches",
            ("watch", "after"),
            "The watch is first started only once the watches it is `after:` are ready."),
    Message("PG1111", "start_order_broken", "warning", "starting without a watch it comes after",
            ("watch", "after", "state"),
            "A watch named in `after:` will not become ready (it gave up, was paused, or has no "
            "process); this watch is started anyway, so that one failure does not stop others."),
    Message("PG1112", "double_supervision", "warning", "start command also belongs to a systemd unit",
            ("watch", "program", "unit"),
            "The program this watch starts is the ExecStart= of an enabled systemd unit: two "
            "supervisors would fight over one daemon.",
            "Use `systemd_unit: UNIT` for this watch instead of `start:`, or disable the unit."),
    Message("PG1113", "files_limit_raised", "notice", "open-files limit raised",
            ("soft", "was", "needed"),
            "The agent keeps a few files open per watch; its soft RLIMIT_NOFILE was too low for "
            "this config and was raised. Services still get the limit they had.",
            "Give the agent's unit a LimitNOFILE= that fits (the packaged unit's default)."),
    Message("PG1114", "files_limit_short", "err", "open-files limit too low",
            ("soft", "hard", "needed"),
            "The agent may run out of file descriptors with this many watches, and could not "
            "raise its limit.",
            "Raise LimitNOFILE= in the agent's unit."),
)
