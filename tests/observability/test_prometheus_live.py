"""Debian's real Prometheus, node_exporter and Alertmanager, on loopback, reading a running agent.

The agent (a real one, with real `sleep` services) writes its metrics to node_exporter's
textfile folder (job node) and serves GET /metrics on loopback (job procguard, scraped as
OpenMetrics). The test kills services with SIGKILL and asks Prometheus' API: the restart
counter rises through both ways out, the latency histogram holds the kills, and the
generated ProcguardGaveUp rule fires once a watch spends its restart budget and reaches
Alertmanager. Every process here is started by the test and stopped by its PID; every
port is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from helpers.agent import Agent, config_yaml, kill_if_alive
from helpers.net import free_port
from helpers.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "roles" / "procguard_metrics" / "files" / "procguard-alerts.rules.yml"
sys.path.insert(0, str(REPO / "roles" / "procguard_metrics"))

import dashboard  # noqa: E402  (the generator's panel list)

BOTH = ("node", "procguard")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: run scripts/setup-host.sh (installs Debian's prometheus packages)")
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def watches(tag: str) -> str:
    sleeper = {"ready": {"alive_for": 0}}
    return config_yaml([
        {"name": "web", "start": {"argv": ["/bin/sleep", tag], **sleeper}},
        # one restart in the window, no backoff: the second SIGKILL makes it give up
        {"name": "flaky", "start": {"argv": ["/bin/sleep", tag + "1"], **sleeper},
         "restart": {"max_restarts": 1, "window": "10m", "backoff": {"initial": 0}}},
    ])


class Stack:
    """The agent and the three daemons, started in `tmp` and stopped by PID."""

    def __init__(self, tmp: Path, tag: str) -> None:
        self.tmp = tmp
        self.procs: List[subprocess.Popen] = []
        self.ports = {name: free_port() for name in ("node", "prometheus", "alertmanager")}
        (tmp / "textfile").mkdir()
        (tmp / "agent").mkdir()
        (tmp / "agent.yaml").write_text(json.dumps({"metrics": {"interval": "1s", "listen": "127.0.0.1:0"}}))
        self.agent = Agent(str(tmp / "agent"), watches(tag), extra_args=[
            "--settings", str(tmp / "agent.yaml"), "--metrics-textfile-dir", str(tmp / "textfile")])

    def start(self) -> None:
        self.agent.start()
        served = self.agent.wait_event("PG7001")[0]
        self.ports["procguard"] = int(re.search(r"address=127\.0\.0\.1:(\d+)", served)[1])  # type: ignore[index]
        am = self.tmp / "alertmanager.yml"
        am.write_text('route: {receiver: "null", group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\n'
                      'receivers: [{name: "null"}]\n')
        self.spawn("alertmanager", [tool("prometheus-alertmanager"), f"--config.file={am}",
                                    f"--storage.path={self.tmp / 'am-data'}", "--cluster.listen-address=",
                                    f"--web.listen-address=127.0.0.1:{self.ports['alertmanager']}"])
        self.spawn("node_exporter", [tool("prometheus-node-exporter"), "--collector.disable-defaults",
                                     "--collector.textfile", f"--collector.textfile.directory={self.tmp / 'textfile'}",
                                     f"--web.listen-address=127.0.0.1:{self.ports['node']}"])
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{self.ports['alertmanager']}"]}]}]},
            "scrape_configs": [
                {"job_name": "node", "static_configs": [{"targets": [f"127.0.0.1:{self.ports['node']}"]}]},
                {"job_name": "procguard", "static_configs": [{"targets": [f"127.0.0.1:{self.ports['procguard']}"]}]},
            ],
        }
        (self.tmp / "prometheus.yml").write_text(json.dumps(config))
        self.spawn("prometheus", [tool("prometheus"), f"--config.file={self.tmp / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={self.tmp / 'tsdb'}",
                                  f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}"])
        for name, path in (("prometheus", "/-/ready"), ("alertmanager", "/-/ready"), ("node", "/metrics")):
            wait_until(lambda n=name, p=path: reachable(f"http://127.0.0.1:{self.ports[n]}{p}"), timeout=60,
                       what=f"{name} to answer on loopback")

    def spawn(self, name: str, argv: List[str]) -> None:
        with open(self.tmp / f"{name}.log", "wb") as log:  # the child keeps its own copy
            self.procs.append(subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                               start_new_session=True, cwd=self.tmp))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                kill_if_alive(proc.pid)
                proc.wait(5)
        self.agent.cleanup()

    def kill(self, watch: str) -> int:
        """SIGKILL the watch's process and wait for its replacement (or its give-up)."""
        pid = self.agent.watch(watch)["pids"][0]
        os.kill(pid, signal.SIGKILL)
        self.agent.wait_watch(watch, lambda w: pid not in w["pids"] and (w["pids"] or w["state"] == "gave_up"),
                              what=f"{watch} to replace {pid}")
        return pid

    # -- Prometheus' API ---------------------------------------------------------------------
    def query(self, promql: str) -> Dict[str, Any]:
        url = f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            return get_json(url)
        except urllib.error.HTTPError as err:  # a 400 carries the parser's reason
            return json.loads(err.read())

    def values(self, promql: str) -> Dict[str, float]:
        """{job: value} of an instant query."""
        result = self.query(promql)["data"]["result"]
        return {r["metric"].get("job", ""): float(r["value"][1]) for r in result}

    def same_on_both(self, promql: str, at_least: float) -> Dict[str, float]:
        """Wait until both jobs give one value, at least `at_least` (the textfile may be a scrape behind)."""
        def check() -> Dict[str, float]:
            v = self.values(promql)
            return v if set(v) == set(BOTH) and len(set(v.values())) == 1 and min(v.values()) >= at_least else {}
        return wait_until(check, timeout=60, what=f"{promql} >= {at_least} on both jobs")

    def alerts(self) -> List[dict]:
        return get_json(f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/alerts")["data"]["alerts"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("prometheus"), str(800000 + random.randrange(99999)))
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_both_targets_are_scraped_without_error(stack):
    def healthy():
        targets = get_json(f"http://127.0.0.1:{stack.ports['prometheus']}/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == dict.fromkeys(BOTH, "up") and targets
    targets = wait_until(healthy, timeout=60, what="both scrape targets up")
    assert all(t["lastError"] == "" for t in targets), targets
    info = wait_until(lambda: stack.values('procguard_agent_info{detector="pidfd"}'), timeout=60,
                      what="the agent's info through both ways")
    assert set(info) == set(BOTH)


def test_the_restart_counter_rises_after_a_sigkill(stack):
    query = 'procguard_watch_restarts_total{watch="web",cause="crash"}'
    assert wait_until(lambda: stack.values(query) == dict.fromkeys(BOTH, 0.0), timeout=60,
                      what=f"{query} = 0 through both ways")
    for n in (1.0, 2.0):
        stack.kill("web")
        assert wait_until(lambda n=n: stack.values(query) == dict.fromkeys(BOTH, n), timeout=60,
                          what=f"{query} = {n} through both ways")
    deaths = stack.values('procguard_watch_deaths_total{watch="web",cause="crash"}')
    assert deaths == dict.fromkeys(BOTH, 2.0)


def test_the_latency_histograms_hold_the_kills(stack):
    deaths = stack.values('procguard_watch_deaths_total{watch="web"}').get("procguard", 0.0)
    stack.kill("web")
    count = stack.same_on_both("procguard_detection_latency_seconds_count", deaths + 1)["procguard"]
    # node_exporter writes the bound as 10, OpenMetrics as 10.0: the same bucket
    assert stack.same_on_both('procguard_detection_latency_seconds_bucket{le=~"10|10.0"}', count)["procguard"] == count, \
        "every death noticed within 10 s (pidfd: about a millisecond)"
    stack.same_on_both("procguard_restart_latency_seconds_count", count)
    last = stack.same_on_both('procguard_watch_last_detection_latency_seconds{watch="web"}', 0)
    assert 0 < last["procguard"] < 10


def test_a_give_up_fires_its_rule_and_reaches_alertmanager(stack):
    def gave_up_alerts():
        return [a for a in stack.alerts() if a["labels"]["alertname"] == "ProcguardGaveUp"]
    wait_until(lambda: stack.values('procguard_watch_state{watch="flaky",state="running"}'), timeout=60,
               what="flaky running in Prometheus")
    assert gave_up_alerts() == []
    stack.kill("flaky")                       # restarted: the budget of one is spent
    stack.kill("flaky")                       # gave up
    stack.agent.wait_event("PG1009", contains="watch=flaky")

    def firing():
        return [a for a in gave_up_alerts() if a["state"] == "firing" and a["labels"]["watch"] == "flaky"]
    alerts = wait_until(firing, timeout=60, what="ProcguardGaveUp firing in Prometheus")
    assert {a["labels"]["job"] for a in alerts} <= set(BOTH)
    assert alerts[0]["labels"]["severity"] == "critical"
    assert stack.same_on_both('procguard_watch_giveups_total{watch="flaky"}', 1) == dict.fromkeys(BOTH, 1.0)

    def received():
        return [a for a in get_json(f"http://127.0.0.1:{stack.ports['alertmanager']}/api/v2/alerts")
                if a["labels"]["alertname"] == "ProcguardGaveUp"]
    assert wait_until(received, timeout=60, what="Alertmanager to receive ProcguardGaveUp")


def test_every_dashboard_expression_is_valid_promql(stack):
    for expr in dashboard.expressions():
        promql = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
        answer = stack.query(promql)
        assert answer["status"] == "success", (expr, answer.get("error"))
