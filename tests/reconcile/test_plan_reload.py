"""What a reload touches: only watches whose merged settings differ (reconcile.plan_reload)."""

from __future__ import annotations

from helpers.agent import config_yaml
from procguard.config.loader import parse
from procguard.reconcile import plan_reload


def config(*watches):
    return parse(config_yaml(list(watches)), "w.yaml")[0]


def sleeper(name, arg="1", **extra):
    return {"name": name, "start": {"argv": ["/bin/sleep", arg]}, **extra}


def test_first_config_adds_everything():
    plan = plan_reload(None, config(sleeper("a"), sleeper("b")))
    assert (plan.added, plan.changed, plan.unchanged, plan.removed) == (["a", "b"], [], [], [])


def test_each_kind_of_change_is_told_apart():
    old = config(sleeper("same"), sleeper("argv"), sleeper("gone"), sleeper("stop"))
    new = config(sleeper("same"), sleeper("argv", "2"), sleeper("stop", stop={"timeout": "3s"}), sleeper("new"))
    plan = plan_reload(old, new)
    assert plan.unchanged == ["same"]
    assert plan.changed == ["argv", "stop"]
    assert plan.added == ["new"]
    assert plan.removed == ["gone"]


def test_a_change_in_defaults_changes_the_watches_that_inherit_it():
    old = parse(config_yaml([sleeper("a"), sleeper("b", restart={"max_restarts": 2})],
                            defaults={"restart": {"max_restarts": 5}}), "w.yaml")[0]
    new = parse(config_yaml([sleeper("a"), sleeper("b", restart={"max_restarts": 2})],
                            defaults={"restart": {"max_restarts": 9}}), "w.yaml")[0]
    plan = plan_reload(old, new)
    assert plan.changed == ["a"] and plan.unchanged == ["b"]


def test_order_and_comments_do_not_count_as_changes():
    old = config(sleeper("a"), sleeper("b"))
    new = parse("# a comment\n" + config_yaml([sleeper("b"), sleeper("a")]), "w.yaml")[0]
    plan = plan_reload(old, new)
    assert sorted(plan.unchanged) == ["a", "b"] and not (plan.added or plan.changed or plan.removed)
