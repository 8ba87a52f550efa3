"""Nothing of a service is left behind, whichever way it stops: an operator restart, a
stall restart, the death of its main process, giving up. Each runs with a cgroup per
watch (the unified hierarchy here) and in the fallback without one (process groups and
sessions), on a real tree: a child, a grandchild and a double-forked grandchild."""

from __future__ import annotations

import os
import signal

import pytest

from helpers.agent import config_yaml
from helpers.trees import MODES, complete, none_left, running, tree_watch
from helpers.wait import wait_until


def start(make_agent, mode, watch, **kw):
    return make_agent(config_yaml([watch]), extra_args=MODES[mode], **kw).start()


def new_tree(tag, old):
    """A complete tree none of whose processes is one of `old`'s."""
    got = complete(tag)
    old_pids = {p for pids in old.values() for p in pids}
    return got if got and not old_pids & {p for pids in got.values() for p in pids} else {}


@pytest.mark.parametrize("mode", list(MODES))
def test_operator_restart_leaves_no_child_grandchild_or_double_forked_process(make_agent, tag, mode):
    agent = start(make_agent, mode, tree_watch("svc", tag))
    assert agent.status()["agent"]["process_tree"]["kind"] == mode
    old = wait_until(lambda: complete(tag), 10, what="the whole tree up")

    assert agent.cli("restart", "svc").returncode == 0

    wait_until(lambda: new_tree(tag, old), 10, what="a new tree, and only the new one")
    agent.wait_watch("svc", lambda w: w["state"] == "running")


@pytest.mark.parametrize("mode", list(MODES))
def test_stall_restart_leaves_nothing_of_the_old_tree(make_agent, tag, tmp_path, mode):
    stuck = tmp_path / "stuck"
    probe = {"name": "stuck", "type": "exec", "argv": ["/usr/bin/test", "!", "-e", str(stuck)],
             "interval": "100ms", "timeout": "1s", "start_delay": "0s", "fall": 1}
    agent = start(make_agent, mode, tree_watch("svc", tag, probes=[probe]))
    old = wait_until(lambda: complete(tag), 10, what="the whole tree up")

    stuck.write_text("")
    agent.wait_event("PG4002", contains="watch=svc", timeout=10)
    stuck.unlink()

    wait_until(lambda: new_tree(tag, old), 10, what="a new tree, and only the new one")


@pytest.mark.parametrize("mode", list(MODES))
def test_death_of_the_main_process_takes_its_children_before_the_restart(make_agent, tag, mode):
    agent = start(make_agent, mode, tree_watch("svc", tag))
    old = wait_until(lambda: complete(tag), 10, what="the whole tree up")

    os.kill(old["main"][0], signal.SIGKILL)

    wait_until(lambda: new_tree(tag, old), 10, what="a new tree, and only the new one")
    agent.wait_event("PG1105", contains="watch=svc")


@pytest.mark.parametrize("mode", list(MODES))
def test_giving_up_leaves_nothing_running(make_agent, tag, mode):
    watch = tree_watch("svc", tag, restart={"max_restarts": 1, "window": "60s", "backoff": {"initial": "100ms"}})
    agent = start(make_agent, mode, watch)
    for _ in range(2):
        tree = wait_until(lambda: complete(tag), 10, what="the whole tree up")
        os.kill(tree["main"][0], signal.SIGKILL)
        wait_until(lambda tree=tree: not set(tree["main"]) & set(running(tag)["main"]), 10, what="the main gone")

    agent.wait_watch("svc", lambda w: w["state"] == "gave_up")
    wait_until(lambda: none_left(tag), 10, what="nothing of the watch left running")


def test_fallback_without_a_writable_cgroup_is_logged_once_and_in_status(make_agent, tmp_path, tag):
    """The agent pointed at a cgroup root that does not exist: process groups, said once."""
    settings = tmp_path / "agent.yaml"
    settings.write_text(f"cgroups: {{fs: {tmp_path / 'no-cgroup-here'}}}\n")
    agent = make_agent(config_yaml([tree_watch("svc", tag)]), extra_args=["--settings", str(settings)]).start()
    tree = agent.status()["agent"]["process_tree"]
    assert tree["kind"] == "process-group" and "no cgroup v2 hierarchy" in tree["detail"]
    assert len(agent.events("PG1101")) == 1
    old = wait_until(lambda: complete(tag), 10, what="the whole tree up")
    assert agent.cli("restart", "svc").returncode == 0
    wait_until(lambda: new_tree(tag, old), 10, what="a new tree, and only the new one")
