"""PG5xxx: escalation on give-up, and its undoing.

When a watch gives up, its `on_giveup.escalate` actions run in order, each with a timeout.
When the watch is healthy again for `undo_after`, each action is undone. Separately, the
HAProxy agent-check listener answers for backend servers from the health of their watches.
These IDs and texts are forever.
"""

from typing import Tuple

from ..message import Message

MESSAGES: Tuple[Message, ...] = (
    Message("PG5001", "escalation_started", "crit", "escalating to failover",
            ("watch", "actions", "reason"),
            "The watch gave up (restart budget spent, or still stalled after its restarts). "
            "Its escalation actions now run in order, so that a load balancer or the cluster "
            "moves the service away from this host.",
            "Find out why the service cannot run here; the actions are undone by themselves "
            "once the watch is healthy again."),
    Message("PG5002", "action_done", "notice", "escalation action done",
            ("watch", "action", "type", "result", "duration"),
            "One escalation action succeeded (for example the Pacemaker attribute is red, the "
            "keepalived weight is written, the command exited 0).",
            "None."),
    Message("PG5003", "action_failed", "err", "escalation action failed",
            ("watch", "action", "type", "result", "output"),
            "An escalation action did not succeed (non-zero exit, missing program, file not "
            "writable). The following actions still run.",
            "Run the action by hand with `result` and `output` in mind (for example "
            "`attrd_updater -Q -n '#health-procguard'` or the command), and fix it."),
    Message("PG5004", "action_timeout", "err", "escalation action timed out and was killed",
            ("watch", "action", "type", "timeout"),
            "The action ran longer than its timeout. Its whole process group got SIGKILL; "
            "failover may not have happened.",
            "Check that the cluster or load balancer tool answers quickly; raise `timeout`."),
    Message("PG5005", "undo_scheduled", "notice", "watch healthy, escalation will be undone",
            ("watch", "after"),
            "The watch recovered. If it stays healthy for `after`, every escalation action is "
            "undone (hysteresis, so that a flapping service does not flap the failover).",
            "None."),
    Message("PG5006", "undo_cancelled", "warning", "watch unhealthy again, escalation stays",
            ("watch", "reason"),
            "The watch failed again before its escalation was undone. The escalation stays in "
            "force.",
            "Investigate the service; it is flapping."),
    Message("PG5007", "action_undone", "notice", "escalation action undone",
            ("watch", "action", "type", "result"),
            "One escalation action was reverted (attribute green, keepalived weight restored, "
            "undo command exited 0). The host can take the service back.",
            "None."),
    Message("PG5008", "undo_failed", "err", "undoing escalation action failed",
            ("watch", "action", "type", "result", "output"),
            "An escalation action could not be reverted: the host may still be excluded from "
            "failover (attribute red, resource banned, low keepalived weight).",
            "Revert it by hand (for example `crm_resource --clear --resource R`) and check "
            "the tool's log."),
    Message("PG5009", "haproxy_agent_listening", "info", "HAProxy agent-check listener ready",
            ("address", "port", "servers"),
            "The agent answers HAProxy's agent-check on this address for these backend servers.",
            "None."),
    Message("PG5010", "haproxy_agent_failed", "err", "HAProxy agent-check listener could not start",
            ("address", "port", "reason"),
            "The listener could not bind. HAProxy's agent-check for these servers fails, and "
            "HAProxy keeps the servers' current state.",
            "Free the port or change `haproxy_agent` address/port, then reload."),
    Message("PG5011", "haproxy_answer_changed", "notice", "HAProxy agent answer changed",
            ("server", "answer", "watches"),
            "What the agent tells HAProxy about a backend server changed (up, drain, down, "
            "maint or a weight), from the health of the watches the server depends on.",
            "None; `show servers state` on HAProxy's runtime API shows the effect."),
)
