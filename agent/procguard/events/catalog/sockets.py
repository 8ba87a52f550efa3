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
            "agent tries again before each start; the rest of the config runs as usual. After "
            "an agent restart, `address in use` is expected while the service started by the "
            "previous agent still holds the socket.",
            "Stop what else listens on the address (ss -lptn), or fix `start.listen`."),
    Message("PG1203", "listen_closed", "info", "listening socket released",
            ("watch", "address"),
            "The watch, or this address of it, left the config: the agent closed its socket. A "
            "process still running keeps its own copy."),
)
