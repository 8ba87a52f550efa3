"""Resource probes over the watch's whole tree (here: a child does the consuming) count
toward a stall like any other probe, with the figure in the message; a tree within its
threshold is left alone."""

from __future__ import annotations

import re
import sys

from helpers.agent import config_yaml

# the main process is a shell; a child Python does the consuming, so only a whole-tree
# figure can see it
SLEEP = "; import time; time.sleep(600)"
HOGS = {
    "rss": "blob = bytearray(96 << 20); blob[::4096] = b'x' * len(blob[::4096])" + SLEEP,
    "cpu": "import itertools; all(True for _ in itertools.count())",
    "fds": "import os; fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(64)]" + SLEEP,
    "threads": "import threading, time; [threading.Thread(target=time.sleep, args=(600,), daemon=True).start() "
               "for _ in range(24)]" + SLEEP,
}
PROBES = {
    "rss": {"type": "rss_max", "max": "48M"},
    "cpu": {"type": "cpu_percent", "max": 20, "window": "1s"},
    "fds": {"type": "fd_max", "max": 32},
    "threads": {"type": "threads_max", "max": 16},
}
FIGURES = {"rss": r"rss [\d.]+M over 48M", "cpu": r"cpu [\d.]+% over 20%", "fds": r"has \d+ open files, over 32",
           "threads": r"\d+ threads over 16"}


def watch(name: str, tag: str, probe: dict) -> dict:
    code = HOGS[name]
    return {
        "name": name, "match": {"cmdline": f"^sh -c .*{tag}{name}"},
        "start": {"argv": [f"{sys.executable} -c \"{code}\" {tag}{name} & wait"], "shell": True,
                  "ready": {"alive_for": 0}},
        "stop": {"timeout": "1s"},
        "restart": {"backoff": {"initial": "10s"}},
        "probes": [{"name": name, "interval": "200ms", "start_delay": "300ms", "fall": 2, **probe}],
    }


def test_each_resource_probe_fires_on_a_child_over_its_threshold_with_the_figure(make_agent, tag):
    agent = make_agent(config_yaml([watch(name, tag, probe) for name, probe in PROBES.items()])).start()
    for name, figure in FIGURES.items():
        line = agent.wait_event("PG4002", contains=f"watch={name} ", timeout=20)[0]
        assert re.search(figure, line), line
        fails = [e for e in agent.events("PG4001") if f"watch={name} " in e]
        assert fails, "a failed check first: it counts toward `fall` like any probe"


def test_a_tree_within_its_thresholds_is_left_alone(make_agent, tag):
    quiet = watch("rss", tag, {"type": "rss_max", "max": "1G"})
    quiet["start"]["argv"] = [f"{sys.executable} -c 'import time; time.sleep(600)' {tag}rss & wait"]
    agent = make_agent(config_yaml([quiet])).start()
    agent.wait_watch("rss", lambda w: w["probes"][0]["successes"] >= 3, what="three good checks")
    w = agent.watch("rss")
    assert w["restarts"] == 0 and "within 1G" in w["probes"][0]["last"]["reason"]
