"""Every metric the agent exposes, in one list. Everything else is generated from it.

The registry lays out its storage from this list, the exposition writes HELP and TYPE from
it, and the alert rules, the Grafana dashboard and docs/observability.md are generated from
it (roles/procguard_metrics/generate_metrics_templates.py), so a metric exists once.

Names follow Prometheus' conventions: base units (seconds, bytes), `_total` on counters,
`_info` on constant-1 series that carry labels. Label sets are bounded by construction:
`watch` and `probe` come from the configuration (one series set per watch, never per PID),
enumerated labels have fixed values listed here, and a `free` label holds one value at a
time (the last one set), so no metric can grow with the agent's uptime.

Histograms are agent-wide, not per watch: a watch then costs 17 doubles and 17 series
instead of about 50 (at 500 watches that is the difference between 0.1 and 0.4 MiB in the
agent and 8,500 or 25,000 series per host in Prometheus). Each watch keeps its last
latencies as gauges, each probe its last duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

from .. import states
from ..events import catalog

# Why a process ended, as the restart and death counters count it. `planned` covers what
# the agent or an operator meant to happen (restart request, removed watch, a forking
# daemon's launcher, an exit code listed in no_restart_exit_codes); a stall restart is
# counted as `stall`, an OOM kill as `oom`, anything else as `crash`.
CAUSES = ("crash", "stall", "oom", "planned")
PROBE_RESULTS = ("ok", "failed", "timeout")
CANARY_RESULTS = ("ok", "failed")

# Death-to-detection is about 1-2 ms with pidfd and up to the poll interval without;
# death-to-restart adds the spawn (a few ms) and, after repeated failures, the backoff.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# Probe checks: a local HTTP or TCP probe answers in milliseconds, timeouts are seconds.
PROBE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

AGENT = "agent"   # one series set per agent
WATCH = "watch"   # one per watch:           label watch
PROBE = "probe"   # one per probe of a watch: labels watch, probe
SCOPE_LABELS: Dict[str, Tuple[str, ...]] = {AGENT: (), WATCH: ("watch",), PROBE: ("watch", "probe")}

KINDS = ("counter", "gauge", "histogram", "state", "info")


@dataclass(frozen=True)
class Family:
    """One metric family.

    kind      counter | gauge | histogram | state (a gauge that is 1 for the current value
              of its enumerated label; only the current value is exposed) | info (a gauge
              that is always 1 and carries free labels, OpenMetrics' info type)
    scope     AGENT, WATCH or PROBE: which labels identify a series set
    enum      fixed label names and their allowed value tuples, looked up by the first value
    free      label names whose values are set with the sample; one series at a time
    buckets   upper bounds of a histogram, in seconds
    """

    name: str
    kind: str
    help: str
    scope: str = AGENT
    enum: Tuple[Tuple[str, ...], Tuple[Tuple[str, ...], ...]] = ((), ())
    free: Tuple[str, ...] = ()
    buckets: Tuple[float, ...] = ()

    @property
    def labels(self) -> Tuple[str, ...]:
        """Every label name a sample of this family carries, in exposition order."""
        return SCOPE_LABELS[self.scope] + self.enum[0] + self.free


def _enum(label: str, values: Tuple[str, ...]) -> Tuple[Tuple[str, ...], Tuple[Tuple[str, ...], ...]]:
    return (label,), tuple((v,) for v in values)


_EVENTS = (("id", "severity"), tuple((m.id, m.severity) for m in catalog.ALL))

ALL: Tuple[Family, ...] = (
    # the agent itself
    Family("procguard_agent_info", "info", "The agent's version and death detector (pidfd or poll); always 1.",
           free=("version", "detector")),
    Family("procguard_agent_start_time_seconds", "gauge", "When the agent started, in seconds since the epoch."),
    Family("procguard_agent_heartbeat_timestamp_seconds", "gauge",
           "When the agent's loop last ran its periodic tick; stale when the agent is down or hung."),
    Family("procguard_agent_resident_memory_bytes", "gauge", "Resident memory of the agent process."),
    Family("procguard_agent_open_fds", "gauge", "Open file descriptors of the agent process."),
    Family("procguard_agent_loop_lag_seconds", "gauge",
           "Longest delay of the agent's loop behind a due timer since the previous sample."),
    Family("procguard_events_total", "counter", "Messages logged, by catalog ID (see docs/messages.md).",
           enum=_EVENTS),
    # the configuration in force
    Family("procguard_config_serial", "gauge", "Serial of the configuration in force."),
    Family("procguard_config_info", "info",
           "Key id that signed the configuration in force (empty when unsigned); always 1.", free=("key_id",)),
    Family("procguard_config_applied_timestamp_seconds", "gauge",
           "When the configuration in force was applied, in seconds since the epoch."),
    Family("procguard_config_not_after_timestamp_seconds", "gauge",
           "not_after of the configuration in force, in seconds since the epoch; absent when it has none."),
    Family("procguard_config_refusals_total", "counter", "Configurations refused since the agent started."),
    Family("procguard_config_last_refusal_timestamp_seconds", "gauge",
           "When a configuration was last refused, with the refusal code; absent until one is.", free=("code",)),
    # the headline: how fast deaths are noticed and repaired, over all watches
    Family("procguard_detection_latency_seconds", "histogram",
           "From a watched process's death to the agent noticing it, over all watches.", buckets=LATENCY_BUCKETS),
    Family("procguard_restart_latency_seconds", "histogram",
           "From a watched process's death to its replacement running, over all watches.", buckets=LATENCY_BUCKETS),
    Family("procguard_probe_duration_seconds", "histogram", "How long probe checks took, over all probes.",
           buckets=PROBE_BUCKETS),
    # canary self-test
    Family("procguard_canary_checks_total", "counter",
           "Canary self-tests: a tiny process killed on purpose, noticed and restarted (ok) or not (failed).",
           enum=_enum("result", CANARY_RESULTS)),
    Family("procguard_canary_latency_seconds", "histogram", "Canary self-test, from its kill to its replacement running.",
           buckets=LATENCY_BUCKETS),
    # watches
    Family("procguard_watch_state", "state", "The watch's state (see docs/architecture.md); 1 for the current one.",
           WATCH, enum=_enum("state", states.ALL)),
    Family("procguard_watch_healthy", "gauge",
           "1 when the watch runs with enough instances and no probe declares a stall, else 0.", WATCH),
    Family("procguard_watch_stalled", "gauge", "1 while a probe of the watch declares its process stalled.", WATCH),
    Family("procguard_watch_instances_up", "gauge", "Processes of the watch running now.", WATCH),
    Family("procguard_watch_instances_wanted", "gauge", "Processes the watch wants at least (instances.min).", WATCH),
    Family("procguard_watch_deaths_total", "counter", "Processes of the watch that ended, by cause.",
           WATCH, enum=_enum("cause", CAUSES)),
    Family("procguard_watch_restarts_total", "counter", "Processes the agent started again after an end, by cause.",
           WATCH, enum=_enum("cause", CAUSES)),
    Family("procguard_watch_giveups_total", "counter", "Times the watch spent its restart budget and gave up.", WATCH),
    Family("procguard_watch_escalation_actions_in_force", "gauge",
           "Escalation actions done and not yet undone (0 when the watch is not escalated).", WATCH),
    Family("procguard_watch_last_detection_latency_seconds", "gauge",
           "From the watch's last death to the agent noticing it.", WATCH),
    Family("procguard_watch_last_restart_latency_seconds", "gauge",
           "From the watch's last death to its replacement running.", WATCH),
    # probes
    Family("procguard_probe_checks_total", "counter", "Probe checks, by result.",
           PROBE, enum=_enum("result", PROBE_RESULTS)),
    Family("procguard_probe_last_duration_seconds", "gauge", "How long the probe's last check took.", PROBE),
)

BY_NAME: Dict[str, Family] = {f.name: f for f in ALL}


def check(families: Tuple[Family, ...] = ALL) -> None:
    """Raise ValueError naming the family when the list breaks a rule the exposition relies on."""
    names = set()
    for f in families:
        problem = ""
        if f.name in names:
            problem = "defined twice"
        elif f.kind not in KINDS:
            problem = f"kind {f.kind!r} is not one of {', '.join(KINDS)}"
        elif f.kind == "counter" and not f.name.endswith("_total"):
            problem = "a counter's name ends in _total"
        elif (f.kind == "histogram") != bool(f.buckets) or list(f.buckets) != sorted(set(f.buckets)):
            problem = "a histogram, and only a histogram, has increasing buckets"
        elif f.free and f.scope != AGENT:
            problem = "free labels only on agent-scope families (one series at a time)"
        elif (f.kind == "info") != (f.name.endswith("_info") and bool(f.free) and not f.enum[0]):
            problem = "an info family, and only one, ends in _info and has free labels only"
        elif f.kind == "state" and not f.enum[0]:
            problem = "a state family needs its enumerated label"
        elif len(set(f.labels)) != len(f.labels) or "le" in f.labels:
            problem = "label names repeat or use the reserved 'le'"
        if problem:
            raise ValueError(f"procguard.metrics.families: {f.name}: {problem}")
        names.add(f.name)


check()
