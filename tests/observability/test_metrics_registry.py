"""The registry and the recorder the engine will call: values land where the exposition reads them."""

from __future__ import annotations

import math

import pytest

from procguard import states
from procguard.metrics import families as F
from procguard.metrics.exposition import render
from procguard.metrics.recorder import Recorder
from procguard.metrics.registry import Registry


def sample(text: str, line_start: str) -> float:
    """The value of the one sample line that starts with `line_start`."""
    found = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    assert len(found) == 1, (line_start, found)
    return float(found[0].rsplit(" ", 1)[1])


@pytest.fixture
def rec() -> Recorder:
    rec = Recorder(clock=lambda: 1000.0)
    rec.configure({"web": ["http"], "db": []})
    return rec


def test_a_death_and_its_restart_count_by_cause_and_fill_the_latency_histograms(rec):
    """Counters per watch and cause; histograms over all watches; the watch keeps its last latencies."""
    rec.died("web", "crash", detection_latency=0.0015)
    rec.restarted("web", "crash", restart_latency=0.004)
    rec.died("web", "planned")
    text = render(rec.registry.snapshot())
    assert sample(text, 'procguard_watch_deaths_total{watch="web",cause="crash"}') == 1
    assert sample(text, 'procguard_watch_deaths_total{watch="web",cause="planned"}') == 1
    assert sample(text, 'procguard_watch_deaths_total{watch="db",cause="crash"}') == 0
    assert sample(text, 'procguard_watch_restarts_total{watch="web",cause="crash"}') == 1
    det = "procguard_detection_latency_seconds"
    assert sample(text, det + '_bucket{le="0.001"}') == 0
    assert sample(text, det + '_bucket{le="0.002"}') == 1  # cumulative from here on
    assert sample(text, det + '_bucket{le="+Inf"}') == 1
    assert sample(text, det + "_count") == 1
    assert sample(text, det + "_sum") == pytest.approx(0.0015)
    assert sample(text, 'procguard_restart_latency_seconds_bucket{le="0.005"}') == 1
    assert sample(text, 'procguard_watch_last_detection_latency_seconds{watch="web"}') == pytest.approx(0.0015)
    assert sample(text, 'procguard_watch_last_restart_latency_seconds{watch="web"}') == pytest.approx(0.004)
    assert 'procguard_watch_last_restart_latency_seconds{watch="db"}' not in text


def test_an_observation_on_a_bucket_bound_counts_in_that_bucket(rec):
    rec.died("web", "crash", detection_latency=0.001)
    text = render(rec.registry.snapshot())
    assert sample(text, 'procguard_detection_latency_seconds_bucket{le="0.001"}') == 1
    assert sample(text, 'procguard_detection_latency_seconds_bucket{le="0.0005"}') == 0


def test_only_the_current_state_is_exposed(rec):
    rec.state("web", states.RUNNING, healthy=True)
    rec.state("web", states.GAVE_UP, healthy=False)
    text = render(rec.registry.snapshot())
    lines = [line for line in text.splitlines() if line.startswith('procguard_watch_state{watch="web"')]
    assert lines == ['procguard_watch_state{watch="web",state="gave_up"} 1']
    assert sample(text, 'procguard_watch_healthy{watch="web"}') == 0
    assert 'procguard_watch_state{watch="db"' not in text, "a state nobody set is not exposed"


def test_updates_for_unknown_or_removed_watches_are_dropped_not_raised(rec):
    rec.died("ghost", "crash", 0.001)
    rec.probe_checked("web", "ghost-probe", "ok", 0.01)
    rec.configure({"db": []})  # web and its probe go away
    rec.died("web", "crash", 0.001)  # a late result from a worker thread
    rec.probe_checked("web", "http", "ok", 0.01)
    text = render(rec.registry.snapshot())
    assert 'watch="web"' not in text and "ghost" not in text
    assert sample(text, 'procguard_watch_deaths_total{watch="db",cause="crash"}') == 0


def test_a_removed_watch_frees_its_slot_and_a_new_one_starts_from_zero(rec):
    rec.died("web", "crash", 0.001)
    size = len(rec.registry.scopes[F.WATCH].values)
    rec.watch_removed("web")
    rec.configure({"db": [], "api": []})
    assert len(rec.registry.scopes[F.WATCH].values) == size, "the freed slot is reused"
    text = render(rec.registry.snapshot())
    assert sample(text, 'procguard_watch_deaths_total{watch="api",cause="crash"}') == 0
    assert sample(text, 'procguard_watch_giveups_total{watch="api"}') == 0
    assert 'procguard_watch_last_detection_latency_seconds{watch="api"}' not in text


def test_configure_keeps_the_values_of_watches_that_stay(rec):
    rec.restarted("db", "stall")
    rec.configure({"db": ["tcp"], "new": []})
    text = render(rec.registry.snapshot())
    assert sample(text, 'procguard_watch_restarts_total{watch="db",cause="stall"}') == 1
    assert 'procguard_probe_checks_total{watch="db",probe="tcp",result="ok"} 0' in text
    assert 'probe="http"' not in text


def test_config_and_refusal_keep_one_series_each(rec):
    rec.config_applied(serial=41, key_id="a1b2", not_after=2000.0)
    rec.config_refused("rollback", at=1500.0)
    rec.config_refused("bad_signature", at=1600.0)
    text = render(rec.registry.snapshot())
    assert sample(text, "procguard_config_serial") == 41
    assert sample(text, 'procguard_config_info{key_id="a1b2"}') == 1
    assert sample(text, "procguard_config_not_after_timestamp_seconds") == 2000
    assert sample(text, "procguard_config_refusals_total") == 2
    assert [line for line in text.splitlines() if line.startswith("procguard_config_last_refusal")] == [
        'procguard_config_last_refusal_timestamp_seconds{code="bad_signature"} 1600']
    rec.config_applied(serial=42, key_id=None)
    text = render(rec.registry.snapshot())
    assert "procguard_config_not_after_timestamp_seconds " not in text, "no not_after, no series"
    assert sample(text, 'procguard_config_info{key_id=""}') == 1


def test_the_emitter_sink_counts_messages_by_catalog_id(rec):
    from procguard.events import catalog

    died = catalog.get("process_died")
    rec.event(died, {"watch": "web"}, "PG1005 process died watch=web")
    rec.event(died, {"watch": "db"}, "PG1005 process died watch=db")
    text = render(rec.registry.snapshot())
    assert sample(text, f'procguard_events_total{{id="{died.id}",severity="{died.severity}"}}') == 2
    assert sample(text, 'procguard_events_total{id="PG1001",severity="notice"}') == 0


def test_agent_gauges_and_canary(rec):
    rec.agent_started("0.1.0", "pidfd", started_at=900.0)
    rec.agent_resources(rss_bytes=17 << 20, open_fds=12, loop_lag=0.0004)
    rec.canary(ok=True, latency=0.003)
    rec.canary(ok=False)
    text = render(rec.registry.snapshot())
    assert sample(text, 'procguard_agent_info{version="0.1.0",detector="pidfd"}') == 1
    assert sample(text, "procguard_agent_start_time_seconds") == 900
    assert sample(text, "procguard_agent_heartbeat_timestamp_seconds") == 900
    assert sample(text, "procguard_agent_resident_memory_bytes") == 17 << 20
    assert sample(text, "procguard_agent_loop_lag_seconds") == pytest.approx(0.0004)
    assert sample(text, 'procguard_canary_checks_total{result="failed"}') == 1
    assert sample(text, "procguard_canary_latency_seconds_count") == 1


def test_a_gauge_nobody_set_is_not_exposed_at_all(rec):
    text = render(rec.registry.snapshot())
    assert "procguard_agent_open_fds" not in text, "no HELP/TYPE without a sample"
    assert math.isnan(rec.registry.value(F.BY_NAME["procguard_watch_instances_up"], ("web",)))


def test_generation_moves_only_for_its_scope(rec):
    """The textfile writer rewrites a scope's file only when its generation moved."""
    before = rec.registry.generation(F.AGENT, F.WATCH, F.PROBE)
    rec.probe_checked("web", "http", "failed", 0.2)  # a probe's series and the agent-wide histogram
    after = rec.registry.generation(F.AGENT, F.WATCH, F.PROBE)
    assert after[0] > before[0] and after[1] == before[1] and after[2] > before[2]
    rec.instances("web", 1, 1)
    again = rec.registry.generation(F.WATCH)
    rec.instances("web", 1, 1)  # same values: nothing to rewrite
    assert rec.registry.generation(F.WATCH) == again


def test_families_list_rules_are_enforced():
    bad = F.Family("procguard_x", "counter", "no _total")
    with pytest.raises(ValueError, match="procguard_x: a counter's name ends in _total"):
        F.check((bad,))
    with pytest.raises(ValueError, match="free labels only on agent-scope"):
        F.check((F.Family("procguard_y", "gauge", "h", F.WATCH, free=("code",)),))
    Registry(F.ALL)  # the real list lays out without complaint
