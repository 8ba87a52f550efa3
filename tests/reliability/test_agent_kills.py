"""The real agent SIGKILLed at random moments (during start, mid-restart of a flapping
service, during a reload), then a new agent on the same state directory: no duplicates, no
lost watches, no zombies, for agent-started, adopted, forking-daemon and flapping watches.

One campaign (200 kills in CI, 1,000 with PROCGUARD_PROFILE=soak) serves every test below;
its figures go to .test-results/reliability-faults.json for the summary of `make test`.
The seed is fixed (PROCGUARD_FAULT_SEED to change it), so the moments drawn repeat; the
kernel's scheduling still varies from run to run.
"""

from __future__ import annotations

import os

import pytest

from helpers.agent import REPO
from helpers.faults import Campaign, Figures, write_figures
from helpers.profile import size
from helpers.workload import KINDS, Workload

KILLS = int(os.environ.get("PROCGUARD_FAULT_KILLS", "0")) or size(ci=200, soak=1000)
SEED = int(os.environ.get("PROCGUARD_FAULT_SEED", "20261126"))
RESULTS = os.path.join(REPO, ".test-results", "reliability-faults.json")


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> Figures:
    from helpers.agent import Agent

    directory = tmp_path_factory.mktemp("faults")
    tag = str(900000 + SEED % 99991)
    workload = Workload(directory, tag)
    agent = Agent(str(directory), workload.config())
    try:
        result = Campaign(agent, workload, SEED).run(KILLS)
    finally:
        agent.cleanup()
        workload.cleanup()
    write_figures(RESULTS, result)
    print(f"\nfault campaign: {result.as_dict()}")
    return result


def test_the_agent_was_killed_at_every_kind_of_moment(figures):
    assert figures.faults >= KILLS
    moments = {"start", "restart:flapping", "restart:daemon", "reload"}
    assert moments <= set(figures.by_moment), figures.by_moment


@pytest.mark.parametrize("kind", KINDS)
def test_after_every_kill_one_instance_runs_and_is_watched(figures, kind):
    assert (figures.duplicates[kind], figures.lost[kind]) == (0, 0), figures.details


def test_no_zombies_are_left(figures):
    assert figures.zombies == 0, figures.details
