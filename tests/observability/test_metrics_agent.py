"""The metrics of a running agent, read from its textfiles: each death counted under its cause
(a crash, an operator's restart, an expected exit code, a stall), restarts with their
latency, give-ups, probe checks, the configuration in force and refused, and the outputs'
own failures logged (PG7002, PG7003, PG7004) while the agent runs on."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Dict, Optional

import pytest

from helpers.agent import config_yaml
from helpers.wait import wait_until
from procguard import states
from procguard.metrics import exposition
from procguard.metrics.adapter import MetricsAdapter, epoch_of
from procguard.metrics.recorder import Recorder


def read_metrics(folder: Path) -> Dict[str, float]:
    """Every sample of the three textfiles: {'name{labels}': value}."""
    out: Dict[str, float] = {}
    for path in folder.glob("procguard_*.prom"):
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
    return out


def agent_with_metrics(make_agent, tmp_path, config: str, settings: Optional[Dict] = None,
                       textfile: Optional[Path] = None):
    textfile = textfile or tmp_path / "textfile"
    textfile.mkdir(exist_ok=True)
    (tmp_path / "agent.yaml").write_text(json.dumps({"metrics": {"interval": "1s"}, **(settings or {})}))
    return make_agent(config, extra_args=["--settings", str(tmp_path / "agent.yaml"),
                                          "--metrics-textfile-dir", str(textfile)]).start()


def wait_metric(folder: Path, key: str, at_least: float = 1.0) -> Dict[str, float]:
    return wait_until(lambda: (m := read_metrics(folder)).get(key, -1) >= at_least and m, timeout=20,
                      what=f"{key} >= {at_least}")


def test_each_end_is_counted_under_its_cause_with_its_replacement(make_agent, tmp_path, tag):
    agent = agent_with_metrics(make_agent, tmp_path, config_yaml([
        {"name": "web", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}},
        {"name": "batch", "start": {"argv": ["/bin/sh", "-c", f"sleep 0.3; exit 3; {tag}"], "ready": {"alive_for": 0}},
         "match": {"cmdline": f"exit 3; {tag}"}, "restart": {"no_restart_exit_codes": [3]}},
        {"name": "stuck", "start": {"argv": ["/bin/sleep", tag + "1"], "ready": {"alive_for": 0}},
         "probes": [{"name": "alive", "type": "exec", "argv": ["/bin/false"], "interval": "200ms", "fall": 2}],
         "restart": {"max_restarts": 1000}},
    ]))
    folder = tmp_path / "textfile"
    pid = agent.watch("web")["pids"][0]
    os.kill(pid, signal.SIGKILL)
    m = wait_metric(folder, 'procguard_watch_restarts_total{watch="web",cause="crash"}')
    assert m['procguard_watch_deaths_total{watch="web",cause="crash"}'] == 1
    assert 0 < m['procguard_watch_last_detection_latency_seconds{watch="web"}'] <= \
        m['procguard_watch_last_restart_latency_seconds{watch="web"}'] < 10
    assert agent.cli("restart", "web").returncode == 0
    m = wait_metric(folder, 'procguard_watch_restarts_total{watch="web",cause="planned"}')
    assert m['procguard_watch_deaths_total{watch="web",cause="planned"}'] == 1
    assert m['procguard_watch_deaths_total{watch="web",cause="crash"}'] == 1, "an operator's restart is no crash"

    m = wait_metric(folder, 'procguard_watch_deaths_total{watch="batch",cause="planned"}')
    m = wait_metric(folder, 'procguard_watch_state{watch="batch",state="exited"}')
    assert m.get('procguard_watch_restarts_total{watch="batch",cause="planned"}') == 0, "an expected exit is not restarted"
    assert m['procguard_watch_deaths_total{watch="batch",cause="crash"}'] == 0

    m = wait_metric(folder, 'procguard_watch_restarts_total{watch="stuck",cause="stall"}')
    assert m['procguard_watch_deaths_total{watch="stuck",cause="stall"}'] >= 1
    assert m['procguard_watch_deaths_total{watch="stuck",cause="crash"}'] == 0
    m = wait_metric(folder, 'procguard_probe_checks_total{watch="stuck",probe="alive",result="failed"}', 2)
    assert m['procguard_probe_last_duration_seconds{watch="stuck",probe="alive"}'] > 0
    assert m["procguard_probe_duration_seconds_count"] >= 2


def test_a_give_up_is_counted_once_and_its_escalation_shows_in_force(make_agent, tmp_path, tag):
    once = {"max_restarts": 1, "window": "10m", "backoff": {"initial": 0}}
    agent = agent_with_metrics(make_agent, tmp_path, config_yaml([
        {"name": "flaky", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}, "restart": once},
        {"name": "esc", "start": {"argv": ["/bin/sleep", tag + "1"], "ready": {"alive_for": 0}}, "restart": once,
         "on_giveup": {"action": "escalate", "retry_every": "1h",
                       "escalate": [{"type": "command", "argv": ["/bin/true"]}]}}]))
    for watch in ("flaky", "esc", "flaky", "esc"):
        pid = agent.watch(watch)["pids"][0]
        os.kill(pid, signal.SIGKILL)
        agent.wait_watch(watch, lambda w, pid=pid: pid not in w["pids"])
    m = wait_metric(tmp_path / "textfile", 'procguard_watch_giveups_total{watch="flaky"}')
    assert m['procguard_watch_state{watch="flaky",state="gave_up"}'] == 1
    assert (m['procguard_watch_healthy{watch="flaky"}'], m['procguard_watch_instances_up{watch="flaky"}']) == (0, 0)
    assert m['procguard_watch_escalation_actions_in_force{watch="flaky"}'] == 0
    m = wait_metric(tmp_path / "textfile", 'procguard_watch_escalation_actions_in_force{watch="esc"}')
    assert m['procguard_watch_giveups_total{watch="esc"}'] == 1


def test_the_configuration_in_force_and_a_refusal(make_agent, tmp_path, tag):
    agent = agent_with_metrics(make_agent, tmp_path, config_yaml(
        [{"name": "web", "start": {"argv": ["/bin/sleep", tag]}}], serial=7, not_after="2031-01-02T03:04:05Z"))
    folder = tmp_path / "textfile"
    m = wait_metric(folder, "procguard_config_serial", 7)
    assert m["procguard_config_not_after_timestamp_seconds"] == epoch_of("2031-01-02T03:04:05Z") == 1925089445
    assert m['procguard_config_info{key_id=""}'] == 1, "unsigned: no key id"
    assert m["procguard_config_refusals_total"] == 0
    agent.write_config("version: 1\nwatches: [{name: web, strat: {}}]\n")
    assert agent.cli("reload").returncode == 1
    m = wait_metric(folder, "procguard_config_refusals_total")
    assert [k for k in m if k.startswith("procguard_config_last_refusal_timestamp_seconds")] == \
        ['procguard_config_last_refusal_timestamp_seconds{code="invalid"}']
    assert m['procguard_events_total{id="PG2002",severity="err"}'] == 1


def test_output_failures_are_logged_once_and_the_agent_runs_on(make_agent, tmp_path, tag):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    missing = tmp_path / "not-yet"
    try:
        agent = agent_with_metrics(make_agent, tmp_path, config_yaml([{"name": "web", "start": {"argv": ["/bin/sleep", tag]}}]),
                                   {"metrics": {"interval": "1s", "listen": f"127.0.0.1:{port}"}}, textfile=tmp_path / "x")
        line = agent.wait_event("PG7002")[0]
        assert f"address=127.0.0.1:{port}" in line and "reason=" in line
    finally:
        taken.close()
    agent.stop()
    agent.extra_args[-1] = str(missing)  # --metrics-textfile-dir: a folder that does not exist yet
    agent.start()
    line = agent.wait_event("PG7003")[0]
    assert f"dir={missing}" in line
    missing.mkdir()
    agent.wait_event("PG7004", contains=f"dir={missing}", timeout=20)
    assert len(agent.events("PG7003")) == 1, "logged once until it works again"
    wait_until(lambda: (missing / "procguard_agent.prom").exists(), what="the files written")
    assert agent.watch("web")["state"] == "running"


class OneUnit:
    """What the adapter reads of a unit (name, state, health, instances, watch, last exit)."""

    def __init__(self) -> None:
        self.name = "db"
        self.state = states.RUNNING
        self.healthy = True
        self.instances: Dict[int, object] = {}
        self.stalled = None
        self.last_exit = "signal:KILL"
        self.watch = type("W", (), {"min_instances": 1})()


def test_a_sigkill_while_the_kernels_oom_count_rose_is_counted_as_oom(monkeypatch):
    # The kernel's OOM killer cannot be set off safely on a shared test machine, so this one
    # test feeds /proc/vmstat's oom_kill count through a stand-in; the rest is the real adapter.
    counts = iter([5, 6, 6])
    monkeypatch.setattr("procguard.metrics.adapter.oom_kills", lambda: next(counts))
    engine = type("E", (), {"emitter": type("Em", (), {"sinks": []})(), "now": lambda self: 0.0})()
    rec = Recorder()
    rec.configure({"db": []})
    adapter = MetricsAdapter(engine, rec)  # reads 5
    unit = OneUnit()
    adapter._died(unit, {"planned": None, "detector": "sweep"})  # 6: one OOM kill since
    adapter._died(unit, {"planned": None, "detector": "sweep"})  # 6: none since
    text = re.findall(r'procguard_watch_deaths_total\{watch="db",cause="(\w+)"\} (\d+)',
                      exposition.render(rec.registry.snapshot()))
    assert dict(text) == {"crash": "1", "stall": "0", "oom": "1", "planned": "0"}


@pytest.mark.parametrize("text,epoch", [("2031-01-02T03:04:05Z", 1925089445), ("2031-01-02T04:04:05+01:00", 1925089445),
                                        ("2031-01-02T03:04:05", 1925089445), ("soon", None), (None, None)])
def test_not_after_as_the_document_holds_it(text, epoch):
    assert epoch_of(text) == epoch
