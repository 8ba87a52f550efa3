"""PG3xxx: what operators asked for over the control socket."""

from ..message import Message

MESSAGES = (
    Message("PG3001", "paused", "notice", "watch paused",
            ("watch", "until", "by"),
            "The watch does not restart its processes until resumed or until `until`."),
    Message("PG3002", "resumed", "notice", "watch resumed",
            ("watch", "by", "reason"),
            "The watch restarts its processes again (`reason` is request or expired)."),
    Message("PG3003", "restart_requested", "notice", "restart requested",
            ("watch", "by"),
            "An operator asked for a restart; the restart budget is reset."),
    Message("PG3004", "control_refused", "warning", "control request refused",
            ("uid", "reason"),
            "A client that is not root (or not the agent's user) used the control socket."),
    Message("PG3005", "reload_requested", "notice", "reload requested",
            ("by",),
            "SIGHUP or `procguard reload`: the configuration is read again."),
)
