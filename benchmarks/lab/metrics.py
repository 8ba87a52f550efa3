"""Figures from one episode's request records (see traffic.py) and the runner's timelines.
Times are seconds from the fault (due time of a request, open loop)."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

BUCKET = 0.1        # the 100 ms series of the JSON and the plots
SETTLE = 0.5        # requests due in the first 0.5 s warm the connections and are not baseline
IN_FLIGHT = 1.0     # requests due this long before the fault count to it (they were in flight)
DELAYED = 0.5       # a success slower than this is "delayed"
NORMAL_SLICE = 0.5  # p99 is judged over half-second slices (50 requests at 100/s)

Record = Sequence[Any]    # target, due, latency, status, server, body


def pct(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def buckets(records: List[Record], fault_at: float, end: float) -> List[Dict[str, Any]]:
    """Per 100 ms in which requests were answered (or failed): ok, failed, p50/p99 of their
    latencies, successes by server. By answer time, so a retried request shows when it was
    served, not when it was sent."""
    out = []
    count = math.ceil(end / BUCKET)
    slots: List[List[Record]] = [[] for _ in range(count)]
    for r in records:
        i = int((r[1] + r[2]) / BUCKET)
        if 0 <= i < count:
            slots[i].append(r)
    for i, slot in enumerate(slots):
        lat = [r[2] for r in slot]
        by: Dict[str, int] = {}
        for r in slot:
            if r[3] == 200:
                by[r[4]] = by.get(r[4], 0) + 1
        out.append({"t": round(i * BUCKET - fault_at, 2), "ok": sum(1 for r in slot if r[3] == 200),
                    "failed": sum(1 for r in slot if r[3] != 200), "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
                    "by_server": by})
    return out


def figures(records: List[Record], fault_at: float, end: float, affected: List[str],
            served_by: Callable[[str, str], bool]) -> Dict[str, Any]:
    base = [r for r in records if SETTLE <= r[1] < fault_at - IN_FLIGHT]
    after = [r for r in records if r[1] >= fault_at - IN_FLIGHT]
    base_ok = [r for r in base if r[3] == 200]
    p99_base = pct([r[2] for r in base_ok], 0.99) or 0.0
    threshold = max(3 * p99_base, p99_base + 0.1)
    failed = [r for r in after if r[3] != 200]
    delayed = [r for r in after if r[3] == 200 and r[2] > DELAYED]
    # recovery: the earliest moment a request is answered by the faulty service again
    first_back = min((r[1] + r[2] - fault_at for r in after
                      if r[1] >= fault_at and r[3] == 200 and served_by(r[4], r[5])), default=None)
    return {
        "requests": len(after),
        "failed": len(failed),
        "failed_by": _kinds(failed),
        "delayed_over_0_5s": len(delayed),
        "max_latency_s": round(max((r[2] for r in after), default=0.0), 3),
        "baseline": {"requests": len(base), "failed": sum(1 for r in base if r[3] != 200),
                     "p50_s": pct([r[2] for r in base_ok], 0.5), "p99_s": p99_base},
        "first_success_from_faulty_s": None if first_back is None else round(first_back, 3),
        "p99_normal_after_s": _normal_after(after, fault_at, end, threshold,
                                            max((r[1] for r in failed), default=fault_at)),
        "failures_end_after_s": round(max(r[1] for r in failed) - fault_at + 0.01, 3) if failed else 0.0,
        "extra_on_others": _extra(base_ok, len(base), after, affected),
    }


def _kinds(failed: List[Record]) -> Dict[str, int]:
    kinds: Dict[str, int] = {}
    for r in failed:
        kind = str(r[3]) if r[3] else r[5]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _normal_after(after: List[Record], fault_at: float, end: float, threshold: float,
                  last_failure: float) -> Optional[float]:
    """Start of the first half-second slice, at or after the last failure, that begins a
    full second (two slices, or the last slice) with no failure and p99 under the
    threshold; None when the window ends before that."""
    slices = math.ceil((end - fault_at) / NORMAL_SLICE)
    good = []
    for i in range(slices):
        lo, hi = fault_at + i * NORMAL_SLICE, fault_at + (i + 1) * NORMAL_SLICE
        part = [r for r in after if lo <= r[1] < hi]
        p99 = pct([r[2] for r in part], 0.99)
        good.append(bool(part) and all(r[3] == 200 for r in part) and p99 is not None and p99 <= threshold)
    for i, ok in enumerate(good):
        if fault_at + (i + 1) * NORMAL_SLICE <= last_failure or not ok:
            continue
        if i + 1 == len(good) or good[i + 1]:
            return round(i * NORMAL_SLICE, 2)
    return None


def _extra(base_ok: List[Record], base_total: int, after: List[Record], affected: List[str]) -> Optional[int]:
    """Successes the unaffected backends served after the fault beyond their baseline share."""
    if not base_total:
        return None
    others: Dict[str, int] = {}
    for r in base_ok:
        if r[4] not in affected:
            others[r[4]] = others.get(r[4], 0) + 1
    if not others:
        return None
    share = {s: n / base_total for s, n in others.items()}
    served = {s: sum(1 for r in after if r[3] == 200 and r[4] == s) for s in share}
    return round(sum(served[s] - share[s] * len(after) for s in share))


def first_change(timeline: List[List[Any]], fault_mono: float, pred: Callable[[Any], bool]) -> Optional[float]:
    """Seconds from the fault to the first timeline sample [mono, value] where pred(value)."""
    for mono, value in timeline:
        if mono >= fault_mono and pred(value):
            return round(mono - fault_mono, 3)
    return None
