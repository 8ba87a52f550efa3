"""Debian's real Prometheus, node_exporter and Alertmanager, on loopback, reading our metrics.

The recorder stands in for the engine (its wiring comes with the engine work of issue 8):
the test calls what the engine will call, and checks what Prometheus sees through both
ways out: node_exporter's textfile collector (job node) and the agent's own /metrics
(job procguard, scraped as OpenMetrics). The generated alert rules are loaded, and a
give-up must reach Alertmanager. Every process here is started by the test and stopped by
its PID; every port is on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from helpers.agent import kill_if_alive
from helpers.net import free_port
from helpers.wait import wait_until
from procguard import states
from procguard.metrics import textfile
from procguard.metrics.recorder import Recorder
from procguard.metrics.server import MetricsServer

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "roles" / "procguard_metrics" / "files" / "procguard-alerts.rules.yml"
sys.path.insert(0, str(REPO / "roles" / "procguard_metrics"))

import dashboard  # noqa: E402  (the generator's panel list)


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


class Stack:
    """The three daemons and the agent's two outputs, started in `tmp` and stopped by PID."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: List[subprocess.Popen] = []
        self.rec = Recorder()
        self.rec.agent_started("0.1.0", "pidfd")
        self.rec.configure({"web": ["http"], "db": []})
        for watch in ("web", "db"):
            self.rec.state(watch, states.RUNNING, healthy=True)
        (tmp / "textfile").mkdir()
        self.writer = textfile.TextfileWriter(self.rec.registry, str(tmp / "textfile"), interval=0.5, min_gap=0.1)
        self.server = MetricsServer(self.rec.registry, "127.0.0.1:0")
        self.ports = {name: free_port() for name in ("node", "prometheus", "alertmanager")}

    def start(self) -> None:
        self.writer.start()
        self.server.start()
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
                {"job_name": "procguard", "static_configs": [{"targets": [f"127.0.0.1:{self.server.port}"]}]},
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
        self.server.close()
        self.writer.close()

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

    def alerts(self) -> List[dict]:
        return get_json(f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/alerts")["data"]["alerts"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("prometheus"))
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_both_targets_are_scraped_without_error(stack):
    def healthy():
        targets = get_json(f"http://127.0.0.1:{stack.ports['prometheus']}/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == {"node": "up", "procguard": "up"} and targets
    targets = wait_until(healthy, timeout=60, what="both scrape targets up")
    assert all(t["lastError"] == "" for t in targets), targets
    assert stack.server.served["openmetrics"] > 0, "Prometheus asks for OpenMetrics, and parses ours"


def test_a_counter_the_agent_increments_shows_up_through_textfile_and_http(stack):
    for _ in range(3):
        stack.rec.died("web", "crash", detection_latency=0.0015)
        stack.rec.restarted("web", "crash", restart_latency=0.004)
    stack.writer.kick()
    query = 'procguard_watch_restarts_total{watch="web",cause="crash"}'
    assert wait_until(lambda: stack.values(query) == {"node": 3.0, "procguard": 3.0}, timeout=60,
                      what=f"{query} = 3 through both ways")
    stack.rec.died("web", "crash", detection_latency=0.0015)
    stack.rec.restarted("web", "crash", restart_latency=0.004)
    stack.writer.kick()
    assert wait_until(lambda: stack.values(query) == {"node": 4.0, "procguard": 4.0}, timeout=60,
                      what="the counter rising to 4")


def test_the_latency_histogram_holds_the_deaths(stack):
    stack.rec.died("db", "crash", detection_latency=0.0015)
    stack.writer.kick()
    bucket = 'procguard_detection_latency_seconds_bucket{le="0.002"}'
    wait_until(lambda: all(v >= 1 for v in stack.values(bucket).values()) and len(stack.values(bucket)) == 2,
               timeout=60, what="the 1.5 ms death in the 2 ms bucket")
    assert stack.values('procguard_detection_latency_seconds_bucket{le="0.001"}') == {"node": 0.0, "procguard": 0.0}


def test_a_give_up_fires_its_rule_and_reaches_alertmanager(stack):
    stack.rec.state("db", states.GAVE_UP, healthy=False)
    stack.rec.gave_up("db")
    stack.writer.kick()

    def firing():
        return [a for a in stack.alerts()
                if a["labels"]["alertname"] == "ProcguardGaveUp" and a["state"] == "firing" and a["labels"]["watch"] == "db"]
    alerts = wait_until(firing, timeout=60, what="ProcguardGaveUp firing in Prometheus")
    assert {a["labels"]["job"] for a in alerts} <= {"node", "procguard"}
    assert alerts[0]["labels"]["severity"] == "critical"

    def received():
        return [a for a in get_json(f"http://127.0.0.1:{stack.ports['alertmanager']}/api/v2/alerts")
                if a["labels"]["alertname"] == "ProcguardGaveUp"]
    assert wait_until(received, timeout=60, what="Alertmanager to receive ProcguardGaveUp")


def test_every_dashboard_expression_is_valid_promql(stack):
    for expr in dashboard.expressions():
        promql = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
        answer = stack.query(promql)
        assert answer["status"] == "success", (expr, answer.get("error"))
