"""PG12xx: the listening sockets the agent holds for services (`start.listen`, socket
activation)."""

from ..message import Message

MESSAGES = (
    Message("PG1201", "listen_bound", "info", "listening socket held",
            ("watch", "address", "backlog"),
            "The agent bound and listens on one of the watch's `start.listen` addresses. It holds "
            "the socket across restarts of the service, which gets it as an inherited fd "
            "(LISTEN_FDS): connections wait in the backlog while the service restarts."),
    Message("PG1202", "listen_bind_failed", "err", "listening socket not bound",
            ("watch", "address", "reason"),
            "The agent could not bind one of the watch's `start.listen` addresses, so the "
            "service starts without inherited sockets and must bind its addresses itself. The "
            "agent tries again before each start; the rest of the config runs as usual. (The "
            "watch's own running service holding the address, after an agent restart, is "
            "PG1204, not this.)",
            "Stop what else listens on the address (ss -lptn), or fix `start.listen`."),
    Message("PG1203", "listen_closed", "info", "listening socket released",
            ("watch", "address"),
            "The watch, or this address of it, left the config: the agent closed its socket. A "
            "process still running keeps its own copy."),
    Message("PG1204", "listen_held_by_service", "info", "listening socket kept by the running service",
            ("watch", "address", "pid"),
            "After an agent restart, the service the previous agent started still holds this "
            "`start.listen` socket among its own fds (read from /proc): the agent adopts the "
            "service as it is and binds the address again before the next start, once that "
            "service is gone. Planned; nothing to do."),
)
