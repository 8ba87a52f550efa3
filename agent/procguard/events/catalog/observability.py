"""PG7xxx: what the agent tells the tools around it: metrics, event hooks, its canary
self-test and the read-only status socket (docs/observability.md)."""

from ..message import Message

MESSAGES = (
    Message("PG7001", "metrics_listening", "info", "metrics served",
            ("address",),
            "The agent serves GET /metrics on this loopback address (settings: metrics.listen)."),
    Message("PG7002", "metrics_listen_failed", "err", "metrics cannot be served",
            ("address", "reason"),
            "The agent could not listen on metrics.listen (the port is taken, or the address "
            "is not on this host). It runs on; the textfile, if any, is still written.",
            "Pick a free loopback port in metrics.listen, or stop what holds it; restart the agent."),
    Message("PG7003", "metrics_textfile_failed", "warning", "metrics textfile cannot be written",
            ("dir", "reason"),
            "Writing the metrics files into node_exporter's textfile folder fails (missing "
            "folder, full disk, read-only file system). The agent retries at every interval "
            "and logs once until it works again (PG7004).",
            "Create the folder (the procguard_metrics role does) or fix metrics.textfile_dir."),
    Message("PG7004", "metrics_textfile_recovered", "notice", "metrics textfile written again",
            ("dir",),
            "The metrics files are written again after PG7003."),
    Message("PG7010", "hook_failed", "warning", "event hook failed",
            ("hook", "event", "result", "duration"),
            "An event hook's command did not exit 0, its URL did not answer 2xx, or it ran "
            "out of time (result timeout) and was stopped. The event itself was handled as "
            "usual; a hook never holds up the agent.",
            "Check the hook's command or endpoint; run the command by hand with the "
            "PROCGUARD_* variables of docs/observability.md."),
    Message("PG7011", "hook_dropped", "warning", "event hook dropped, queue full",
            ("hook", "event", "queued"),
            "Hooks run a few at a time from a bounded queue. The queue was full, so this "
            "hook was not run for this event. Logged once per burst: the next drop is logged "
            "after the queue has drained.",
            "Make the hook faster, give it a shorter timeout, or narrow its events."),
    Message("PG7020", "canary_passed", "info", "canary self-test passed",
            ("detection", "restart", "bound"),
            "The agent started its canary process, killed it, noticed the death after "
            "`detection` and had a replacement running after `restart`, within `bound` "
            "(settings: canary)."),
    Message("PG7021", "canary_failed", "err", "canary self-test failed",
            ("reason", "detection", "restart", "bound"),
            "The canary self-test did not notice the killed canary, or did not have its "
            "replacement running within `bound`. Deaths of watched processes may be noticed "
            "late too: the host is overloaded, or the agent's loop is held up.",
            "Look at the host's load and at procguard_agent_loop_lag_seconds; the next test "
            "runs after canary.interval."),
    Message("PG7030", "read_only_listening", "info", "read-only status socket ready",
            ("socket", "group"),
            "Members of `group` may ask `procguard status` and `procguard metrics` on this "
            "socket; everything else stays on the root-only control socket."),
    Message("PG7031", "read_only_failed", "err", "read-only status socket failed",
            ("socket", "group", "reason"),
            "The read-only socket could not be made (a missing group, a path that cannot be "
            "created). The agent and its root-only control socket run on.",
            "Fix read_only in the agent settings; `procguard check --settings FILE` names the key."),
)
