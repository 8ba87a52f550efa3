"""`after:`: a watch is first started only once the watches it names are ready; its
restarts do not wait on them; a watch that will not become ready does not hold the others
for ever; a cycle is a `check` error with its line."""

from __future__ import annotations

import os
import signal

from helpers.agent import cli, config_yaml
from helpers.procs import pids_running


def started_at(agent, watch):
    hits = [e for e in agent.events("PG1004") if f"watch={watch} " in e]
    return agent.events().index(hits[0]) if hits else None


def test_a_watch_starts_after_the_one_it_names_is_ready_and_restarts_without_waiting(make_agent, tmp_path, tag):
    db_ready = tmp_path / "db-ready"
    agent = make_agent(config_yaml([
        {"name": "web", "start": {"argv": ["/bin/sleep", f"{tag}1"], "ready": {"alive_for": 0}}, "after": ["db"]},
        {"name": "db", "start": {"argv": ["/bin/sleep", f"{tag}2"], "ready": {"probe": "up"}},
         "probes": [{"name": "up", "type": "exec", "argv": ["/usr/bin/test", "-e", str(db_ready)],
                     "interval": "100ms", "timeout": "1s", "start_delay": "0s"}]},
    ])).start()
    agent.wait_watch("db", lambda w: w["pids"])
    agent.wait_event("PG1110", contains="watch=web")
    web = agent.watch("web")
    assert web["pids"] == [] and web["waiting_for"] == ["db"]
    assert not pids_running(("/bin/sleep", f"{tag}1")), "web is not started while db is not ready"

    db_ready.write_text("")
    agent.wait_watch("web", lambda w: w["state"] == "running")
    assert started_at(agent, "db") < started_at(agent, "web")

    os.unlink(db_ready)
    os.kill(agent.watch("db")["pids"][0], signal.SIGKILL)  # db restarts, and is not ready again
    old = agent.watch("web")["pids"][0]
    os.kill(old, signal.SIGKILL)
    agent.wait_watch("web", lambda w: w["pids"] and w["pids"][0] != old and w["state"] == "running",
                     what="web restarted while db is still not ready")


def test_a_watch_after_one_that_gave_up_starts_anyway_with_a_warning(make_agent, tag):
    agent = make_agent(config_yaml([
        {"name": "web", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}, "after": ["db"]},
        {"name": "db", "start": {"argv": ["/bin/false"], "ready": {"alive_for": "1s"}},
         "restart": {"max_restarts": 0}},
    ])).start()
    agent.wait_watch("db", lambda w: w["state"] == "gave_up")
    agent.wait_watch("web", lambda w: w["state"] == "running")
    agent.wait_event("PG1111", contains="after=db")


def test_a_cycle_of_after_is_a_check_error_with_its_line(tmp_path):
    config = tmp_path / "w.yaml"
    config.write_text(config_yaml([
        {"name": "a", "start": {"argv": ["/bin/sleep", "1"]}, "after": ["b"]},
        {"name": "b", "start": {"argv": ["/bin/sleep", "2"]}, "after": ["c"]},
        {"name": "c", "start": {"argv": ["/bin/sleep", "3"]}, "after": ["a"]},
    ]))
    done = cli("check", str(config))
    assert done.returncode == 1
    assert "watches[0].after: forms a start-order cycle (a -> b -> c -> a)" in done.stderr
    assert len(done.stderr.splitlines()) == 1, "one cycle, reported once"
