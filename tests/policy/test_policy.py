"""Restart budget and backoff, on a fake clock and a fixed random source."""

from __future__ import annotations

from procguard.config.model import BackoffPolicy as BackoffCfg
from procguard.config.model import RestartPolicy
from procguard.policy import Backoff, RestartBudget


def policy(max_restarts=3, window=60.0, initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.0, reset_after=30.0):
    return RestartPolicy(max_restarts, window, BackoffCfg(initial, maximum, multiplier, jitter, reset_after), frozenset())


def test_first_restart_is_immediate_then_doubles_up_to_max():
    backoff = Backoff(policy(), rng=lambda: 0.5)
    assert [backoff.next_delay() for _ in range(7)] == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_stable_period_resets_backoff():
    backoff = Backoff(policy(), rng=lambda: 0.5)
    backoff.next_delay(), backoff.next_delay()
    backoff.stable()
    assert backoff.next_delay() == 0.0


def test_jitter_stays_within_its_fraction_and_never_exceeds_max():
    low = Backoff(policy(jitter=0.25), rng=lambda: 0.0)
    high = Backoff(policy(jitter=0.25), rng=lambda: 0.999999)
    low.next_delay(), high.next_delay()
    assert low.next_delay() == 0.75
    assert 1.24 < high.next_delay() <= 1.25
    for _ in range(10):
        assert high.next_delay() <= 8.0


def test_budget_counts_only_inside_the_window():
    budget = RestartBudget(policy(max_restarts=2, window=10.0))
    budget.record(0.0)
    budget.record(5.0)
    assert budget.spent(9.0)
    assert not budget.spent(10.5)  # the first restart left the window
    assert budget.in_window(16.0) == 0
    assert budget.total == 2
