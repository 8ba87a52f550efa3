"""The canary self-test in a real agent: it kills its canary, notices, restarts within the
bound, says so in PG7020 and in the metrics; a bound it cannot meet gives PG7021; and no
canary process is left between tests, with either death detector."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from helpers.agent import config_yaml
from helpers.wait import wait_until


def canaries_of(agent_pid: int) -> list:
    """The agent's children running the canary's command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == agent_pid and argv == b"/bin/sleep\x0060\x00":
            found.append(int(pid))
    return found


def start_agent(make_agent, tmp_path, tag, settings: dict):
    (tmp_path / "textfile").mkdir()
    (tmp_path / "agent.yaml").write_text(json.dumps(
        {**settings, "metrics": {"textfile_dir": str(tmp_path / "textfile"), "interval": "1s"}}))
    return make_agent(config_yaml([{"name": "web", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]),
                      extra_args=["--settings", str(tmp_path / "agent.yaml"), "--metrics-textfile-dir",
                                  str(tmp_path / "textfile")]).start()


def metric(tmp_path, name: str) -> float:
    text = (tmp_path / "textfile" / "procguard_agent.prom").read_text()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found[1]) if found else 0.0


@pytest.mark.parametrize("detector", ["pidfd", "poll"])
def test_the_canary_is_killed_noticed_and_restarted_within_its_bound(make_agent, tmp_path, tag, detector):
    agent = start_agent(make_agent, tmp_path, tag, {"detector": detector, "poll_interval": "50ms",
                                                   "canary": {"interval": "1s", "bound": "2s"}})
    lines = agent.wait_event("PG7020", count=2, timeout=20)
    found = re.search(r"detection=([\d.]+)ms restart=([\d.]+)ms bound=2s", lines[0])
    assert found, lines[0]
    assert float(found[1]) <= float(found[2]), "noticed before restarted"
    wait_until(lambda: metric(tmp_path, 'procguard_canary_checks_total{result="ok"}') >= 2, timeout=20,
               what="two passed canary tests in the metrics")
    assert metric(tmp_path, "procguard_canary_latency_seconds_count") >= 2
    assert metric(tmp_path, 'procguard_canary_checks_total{result="failed"}') == 0
    assert agent.events("PG7021") == []
    assert agent.proc is not None
    wait_until(lambda: canaries_of(agent.proc.pid) == [], what="no canary left between tests")
    assert [w["name"] for w in agent.status()["watches"]] == ["web"], "the canary is no watch"


def test_a_bound_the_agent_cannot_meet_fails_the_test_loudly(make_agent, tmp_path, tag):
    agent = start_agent(make_agent, tmp_path, tag, {"canary": {"interval": "1s", "bound": 0.0001}})
    line = agent.wait_event("PG7021", timeout=20)[0]
    assert 'reason="restart took longer than 0.0001s"' in line and "restart=" in line, line
    wait_until(lambda: metric(tmp_path, 'procguard_canary_checks_total{result="failed"}') >= 1, timeout=20,
               what="the failed test in the metrics")
