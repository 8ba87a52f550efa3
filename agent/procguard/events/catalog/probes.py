"""PG4xxx: probes and stalls.

A probe fails or succeeds at each check; `fall` failures in a row declare the watch's
process stalled, `rise` successes in a row clear it. These IDs and texts are forever.
"""

from typing import Tuple

from ..message import Message

MESSAGES: Tuple[Message, ...] = (
    Message("PG4001", "probe_failed", "info", "probe check failed",
            ("watch", "probe", "type", "reason", "failures", "fall"),
            "One check of a probe failed. The process is declared stalled only after `fall` "
            "failures in a row (`failures` counts them).",
            "None for a single failure. If it repeats, read `reason` and the service's log."),
    Message("PG4002", "stall_detected", "err", "process stalled",
            ("watch", "probe", "type", "pids", "failures", "reason"),
            "The watch's process is alive but not working: a probe failed `fall` times in a "
            "row. The agent writes a failure snapshot (PG4005), then stops and restarts the "
            "process by the watch's policy.",
            "Read the snapshot named by PG4005 (wchan and kernel stack show where it hangs) "
            "and the service's own log."),
    Message("PG4003", "stall_cleared", "notice", "stall cleared",
            ("watch", "probe", "type", "successes"),
            "A probe that had declared a stall succeeded `rise` times in a row. When no probe "
            "of the watch declares a stall any more, the watch is healthy again.",
            "None."),
    Message("PG4004", "probe_ready", "info", "process reported ready",
            ("watch", "probe", "type", "pid", "reason"),
            "First good result of a probe since the process started, or READY=1 on the notify "
            "socket. A watch with `start.ready.probe` naming this probe counts its start as "
            "good now.",
            "None."),
    Message("PG4005", "snapshot_written", "notice", "failure snapshot written",
            ("watch", "pids", "path"),
            "Before stopping a stalled process, the agent saved its /proc status, wchan, "
            "kernel stack (where readable), open file count, the last probe results and the "
            "recent events to `path` (JSON, readable by root only).",
            "Attach the file to the incident; it shows where the process was stuck."),
    Message("PG4006", "snapshot_failed", "warning", "failure snapshot could not be written",
            ("watch", "path", "reason"),
            "Saving the failure snapshot failed (full disk, read-only or missing state "
            "directory). The stalled process is stopped and restarted anyway.",
            "Check free space and permissions of the state directory (`--state-dir`)."),
    Message("PG4007", "probe_killed", "warning", "probe command killed at its timeout",
            ("watch", "probe", "pid", "timeout"),
            "An exec probe ran longer than its timeout. Its whole process group got SIGKILL "
            "and was reaped, so no stuck probe or zombie stays behind. It counts as a failed "
            "check.",
            "Make the probe command faster, or raise the probe's `timeout`."),
    Message("PG4008", "notify_socket_failed", "err", "notify socket could not be opened",
            ("watch", "path", "reason"),
            "The sd_notify socket of the watch's notify probe could not be created, so READY=1 "
            "and WATCHDOG=1 from the service cannot be heard. Other probes still run.",
            "Check that the state directory exists, is writable by the agent, and that the "
            "path is shorter than 108 bytes."),
    Message("PG4009", "notify_status", "debug", "service status",
            ("watch", "pid", "status"),
            "The service sent STATUS=... on its notify socket; `procguard status` shows it too.",
            "None."),
)
