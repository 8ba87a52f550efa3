"""PG31xx: an operator acting on one service: a signal, a reload (`procguard signal`,
`procguard reload-service`)."""

from ..message import Message

MESSAGES = (
    Message("PG3101", "signal_sent", "notice", "signal sent",
            ("watch", "signal", "pids", "by"),
            "An operator sent a signal to the watch's main processes (`procguard signal`)."),
    Message("PG3102", "service_reloaded", "notice", "service reloaded",
            ("watch", "how", "by"),
            "`procguard reload-service` reloaded the service by its `reload:` signal or command."),
    Message("PG3103", "service_reload_failed", "err", "service reload failed",
            ("watch", "how", "reason", "by"),
            "The reload command failed or timed out, or there was no process to signal.",
            "Read the reason; the service keeps running with its old configuration."),
)
