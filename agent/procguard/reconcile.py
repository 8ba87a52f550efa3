"""What a reload changes: only watches whose merged settings differ are touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from .config.model import Config


@dataclass
class ReloadPlan:
    """What a reload does to each watch: add, change, keep or remove."""

    added: List[str] = field(default_factory=list)
    changed: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)


def plan_reload(old: Optional[Config], new: Config) -> ReloadPlan:
    plan = ReloadPlan()
    before = {w.name: w for w in (old.watches if old else ())}
    for watch in new.watches:
        previous = before.pop(watch.name, None)
        if previous is None:
            plan.added.append(watch.name)
        elif previous.fingerprint == watch.fingerprint:
            plan.unchanged.append(watch.name)
        else:
            plan.changed.append(watch.name)
    plan.removed = list(before)
    return plan
