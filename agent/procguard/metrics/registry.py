"""The agent's metric values, kept small: one flat array of doubles per scope.

Each scope (the agent, each watch, each probe of a watch) owns a slot: a run of doubles
laid out from the family list, so a watch costs about 50 doubles (400 bytes) and no Python
object per series. The loop thread updates values under a lock held for a few
microseconds; the textfile writer and the HTTP server take a `snapshot()` (a copy made
under the lock) and render it in their own threads, so a scrape never holds up the loop.

Updates for a watch or probe that was never added, or was removed, are ignored: a late
result from a worker thread cannot bring back the series of a removed watch.
"""

from __future__ import annotations

import bisect
import math
import threading
from array import array
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .families import AGENT, ALL, PROBE, SCOPE_LABELS, WATCH, Family

Key = Tuple[str, ...]
NAN = math.nan


def width(family: Family) -> int:
    """Doubles one slot holds for this family."""
    if family.kind == "histogram":
        return len(family.buckets) + 3  # buckets, +Inf, sum, count
    if family.kind == "state":
        return 1  # the index of the current value
    if family.free:
        return 0  # one series at a time, kept beside the arrays
    return max(1, len(family.enum[1]))


class _Scope:
    __slots__ = ("free", "generation", "slots", "template", "values", "width")

    def __init__(self, template: array) -> None:
        self.template = template
        self.width = len(template)
        self.values = array("d")
        self.slots: Dict[Key, int] = {}
        self.free: List[int] = []
        self.generation = 0


class Snapshot:
    """A consistent copy of every value, to render without holding the registry's lock."""

    def __init__(self, registry: Registry, scopes: Dict[str, Tuple[Dict[Key, int], array]],
                 free: Dict[str, Tuple[Key, float]]) -> None:
        self.layout = registry.layout
        self.widths = {name: scope.width for name, scope in registry.scopes.items()}
        self.scopes = scopes
        self.free = free

    def rows(self, family: Family) -> Iterator[Tuple[Key, array, int]]:
        """(scope label values, values, index of the family's first double), keys sorted."""
        slots, values = self.scopes[family.scope]
        offset = self.layout[family.name]
        step = self.widths[family.scope]
        for key in sorted(slots):
            yield key, values, slots[key] * step + offset


class Registry:
    """Values of the families in `families`; every method is O(1) apart from `snapshot`."""

    def __init__(self, families: Sequence[Family] = ALL) -> None:
        self.families = tuple(families)
        self.lock = threading.Lock()
        self.layout: Dict[str, int] = {}
        self.enum_index: Dict[str, Dict[str, int]] = {}
        templates: Dict[str, array] = {scope: array("d") for scope in SCOPE_LABELS}
        for f in self.families:
            template = templates[f.scope]
            self.layout[f.name] = len(template)
            start = 0.0 if f.kind in ("counter", "histogram") else NAN  # an unset gauge is not exposed
            template.extend([start] * width(f))
            self.enum_index[f.name] = {values[0]: i for i, values in enumerate(f.enum[1])}
        self.scopes = {scope: _Scope(template) for scope, template in templates.items()}
        self._free: Dict[str, Tuple[Key, float]] = {}
        self.add(AGENT, ())

    # -- series sets ---------------------------------------------------------------------
    def add(self, scope: str, key: Key) -> None:
        """Make a slot for `key` (a watch name, or a watch and probe name) if it has none."""
        s = self.scopes[scope]
        with self.lock:
            if key in s.slots:
                return
            if s.free:
                slot = s.free.pop()
                s.values[slot * s.width:(slot + 1) * s.width] = s.template
            else:
                slot = len(s.values) // s.width
                s.values.extend(s.template)
            s.slots[key] = slot
            s.generation += 1

    def remove(self, scope: str, key: Key) -> None:
        s = self.scopes[scope]
        with self.lock:
            slot = s.slots.pop(key, None)
            if slot is not None:
                s.free.append(slot)
                s.generation += 1

    def keys(self, scope: str) -> List[Key]:
        with self.lock:
            return list(self.scopes[scope].slots)

    def generation(self, *scopes: str) -> Tuple[int, ...]:
        """Changes whenever a value or a series set of these scopes changes."""
        return tuple(self.scopes[s].generation for s in scopes)

    # -- values --------------------------------------------------------------------------
    def _index(self, family: Family, key: Key, value_key: Optional[str]) -> Optional[Tuple[_Scope, int]]:
        """Where the double lives, or None for an unknown series set (ignored by design)."""
        s = self.scopes[family.scope]
        slot = s.slots.get(key)
        if slot is None:
            return None
        index = slot * s.width + self.layout[family.name]
        if value_key is not None:
            index += self.enum_index[family.name][value_key]
        return s, index

    def inc(self, family: Family, key: Key = (), value_key: Optional[str] = None, by: float = 1.0) -> None:
        with self.lock:
            where = self._index(family, key, value_key)
            if where is not None:
                where[0].values[where[1]] += by
                where[0].generation += 1

    def set(self, family: Family, value: float, key: Key = (), value_key: Optional[str] = None) -> None:
        with self.lock:
            where = self._index(family, key, value_key)
            if where is not None and where[0].values[where[1]] != value:
                where[0].values[where[1]] = value
                where[0].generation += 1

    def set_state(self, family: Family, state: str, key: Key = ()) -> None:
        """A `state` family: remember which of its enumerated values is current."""
        self.set(family, float(self.enum_index[family.name][state]), key)

    def observe(self, family: Family, seconds: float, key: Key = ()) -> None:
        """Count one observation into a histogram (buckets hold counts, not cumulated)."""
        bucket = bisect.bisect_left(family.buckets, seconds)  # first bound >= seconds
        with self.lock:
            where = self._index(family, key, None)
            if where is not None:
                s, base = where
                s.values[base + bucket] += 1
                s.values[base + len(family.buckets) + 1] += seconds
                s.values[base + len(family.buckets) + 2] += 1
                s.generation += 1

    def set_free(self, family: Family, labels: Key, value: float = 1.0) -> None:
        """A family with free labels: this series replaces the previous one."""
        with self.lock:
            self._free[family.name] = (labels, value)
            self.scopes[AGENT].generation += 1

    def clear_free(self, family: Family) -> None:
        with self.lock:
            if self._free.pop(family.name, None) is not None:
                self.scopes[AGENT].generation += 1

    def value(self, family: Family, key: Key = (), value_key: Optional[str] = None) -> float:
        """One double as stored (for tests and the status report); NaN when unknown."""
        with self.lock:
            where = self._index(family, key, value_key)
            return where[0].values[where[1]] if where is not None else NAN

    # -- reading -------------------------------------------------------------------------
    def snapshot(self, scopes: Sequence[str] = (AGENT, WATCH, PROBE)) -> Snapshot:
        with self.lock:
            copies = {name: (dict(self.scopes[name].slots), self.scopes[name].values[:]) for name in scopes}
            free = dict(self._free)
        return Snapshot(self, copies, free)
