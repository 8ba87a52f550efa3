"""Service output never fills a disk: without journald (as here) it goes to files the agent
rotates by size, so 50 MiB written leave at most max_size x (keep + 1) on disk; and the
service, holding a FIFO, outlives an agent restart without losing a line."""

from __future__ import annotations

import os
import re

from helpers.agent import config_yaml
from helpers.procs import cmdline
from helpers.wait import wait_until

MIB = 1 << 20


def logs(agent, name):
    """Sizes of NAME.log*; a file the agent rotates away between listing and stat is left out."""
    folder = os.path.join(agent.state_dir, "logs")
    sizes = {}
    for f in os.listdir(folder):
        if f.startswith(name + ".log"):
            try:
                sizes[f] = os.path.getsize(os.path.join(folder, f))
            except FileNotFoundError:
                pass
    return sizes


def test_fifty_mib_of_output_leave_at_most_max_size_times_keep_plus_one_on_disk(make_agent, tag):
    line = "0123456789" * 9
    agent = make_agent(config_yaml([{
        "name": "chatty", "match": {"cmdline": f"^sleep {tag}$"},
        "start": {"argv": [f"yes {line} | head -c {50 * MIB}; exec sleep {tag}"], "shell": True,
                  "ready": {"alive_for": 0}},
        "output": {"to": "file", "max_size": "1M", "keep": 2},
    }])).start()
    pid = agent.wait_watch("chatty", lambda w: w["pids"])["pids"][0]
    wait_until(lambda: cmdline(pid) == ("sleep", tag), 60, what="50 MiB written")
    fifo = os.path.join(agent.state_dir, "output", "chatty.fifo")
    assert os.path.exists(fifo)
    wait_until(lambda: sum(logs(agent, "chatty").values()) > 0 and _drained(agent), 20, what="the FIFO drained")
    sizes = logs(agent, "chatty")
    assert set(sizes) == {"chatty.log", "chatty.log.1", "chatty.log.2"}
    assert sum(sizes.values()) <= 3 * MIB and all(size <= MIB for size in sizes.values())
    with open(os.path.join(agent.state_dir, "logs", "chatty.log.1")) as handle:
        assert set(handle.read().splitlines()) == {line}, "rotated at line ends, nothing torn"
    assert agent.watch("chatty")["output"] == {"to": "file", "file": os.path.join(agent.state_dir, "logs", "chatty.log"),
                                              "max_size": MIB, "keep": 2}


def _drained(agent) -> bool:
    before = sum(logs(agent, "chatty").values())
    agent.status()  # one turn of the agent's loop
    return sum(logs(agent, "chatty").values()) == before


def test_a_service_keeps_writing_through_an_agent_restart_and_no_line_is_lost(make_agent, tag):
    counter = f"i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo {tag}:$i; sleep 0.01; done"
    agent = make_agent(config_yaml([{
        "name": "ticker", "match": {"cmdline": f"{tag}:"},
        "start": {"argv": [counter], "shell": True, "ready": {"alive_for": 0}},
        "output": {"to": "file"},
    }])).start()
    pid = agent.wait_watch("ticker", lambda w: w["pids"])["pids"][0]
    log = os.path.join(agent.state_dir, "logs", "ticker.log")
    wait_until(lambda: _count(log) >= 5, 10, what="a few lines")

    agent.stop()
    stopped_at = _count(log)
    agent.start()

    assert agent.watch("ticker")["pids"] == [pid], "the service ran on and was adopted"
    wait_until(lambda: _count(log) >= stopped_at + 50, 20, what="lines written while the agent was away, then more")
    numbers = [int(n) for n in re.findall(rf"^{tag}:(\d+)$", open(log).read(), re.M)]
    assert numbers == list(range(1, len(numbers) + 1)), "every line, in order"


def _count(path: str) -> int:
    try:
        with open(path) as handle:
            return handle.read().count("\n")
    except FileNotFoundError:
        return 0
