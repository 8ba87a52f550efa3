"""The fleet lab's short form (issue 14), procguard alone, on the real lab: HAProxy in front
of three web servers and two AP servers, each in its own network namespace with its own
agent and signed config, under 2 x 100 requests/s. Three episodes, three claims:

- a SIGKILLed web worker costs at most the one request in flight, and no request waits
  over 0.5 s, with HAProxy's default retries;
- a hung (SIGSTOPped) AP worker is detected, and the service answers again;
- a crash loop that restarts cannot fix (a bad binary) takes the server out of HAProxy.

Figures come from the lab's own records (benchmarks/lab); nothing here asserts a time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _why_not() -> str:
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth pairs)"
    for tool, package in (("/usr/sbin/haproxy", "haproxy"), ("/usr/sbin/ip", "iproute2")):
        if not os.access(tool, os.X_OK) and shutil.which(os.path.basename(tool)) is None:
            return f"{tool} missing: scripts/setup-host.sh installs Debian's {package}"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    run = subprocess.run([sys.executable, "-m", "lab", "run", "--short", "--contenders", "procguard",
                          "--out", str(out), "--no-report"],
                         cwd=os.path.join(REPO, "benchmarks"), capture_output=True, text=True, timeout=280)
    with open(out / "lab.json") as handle:
        results = json.load(handle)["results"]
    assert [r.get("error") for r in results if r.get("error")] == [], run.stdout + run.stderr
    full = {}
    for r in results:      # runs/ keeps each episode whole (timelines and series)
        with open(out / "runs" / f"procguard--{r['scenario']}-{r['fault']}.json") as handle:
            full[f"{r['scenario']}/{r['fault']}"] = json.load(handle)
    return full, run.stdout


def test_killed_web_worker_costs_at_most_the_request_in_flight(lab):
    runs, log = lab
    figures = runs["lb/kill_web_worker"]["targets"]["defaults"]
    assert figures["baseline"]["failed"] == 0, log
    assert figures["failed"] <= 1, log
    assert figures["delayed_over_0_5s"] == 0, log
    assert figures["first_success_from_faulty_s"] is not None, log


def test_hung_ap_worker_is_detected_and_the_service_recovers(lab):
    runs, log = lab
    run = runs["lb/hang_ap"]
    assert run["hang_ended_s"] is not None, f"the stopped worker was never signalled away\n{log}"
    for figures in run["targets"].values():
        assert figures["first_success_from_faulty_s"] is not None, log
        assert figures["p99_normal_after_s"] is not None, log


def test_unfixable_crash_loop_drains_the_server_at_haproxy(lab):
    runs, log = lab
    for setting, figures in runs["lb/bad_binary"]["targets"].items():
        assert figures["haproxy_out_s"] is not None, f"{setting}: web1 never left UP\n{log}"
        last = figures["haproxy_timeline"][-1][1]["web1"]
        assert not last.startswith("UP"), f"{setting}: web1 ends {last!r}\n{log}"
