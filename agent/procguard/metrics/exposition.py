"""Prometheus text format 0.0.4 and OpenMetrics 1.0, written by hand from a snapshot.

`prometheus_client` would cost the agent a few MiB and threads it does not need; the format
is a few rules, and tests/observability/ checks our output with promtool and with a real
Prometheus scraping it. Output is produced line by line and packed into chunks of about
16 KiB, so 500 watches never build one big string in the agent.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, Iterator, Sequence, Tuple

from .families import ALL, Family
from .registry import Registry, Snapshot

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CHUNK = 16384


def number(value: float) -> str:
    """Shortest exact text of a sample value: integers without '.0', +Inf, NaN."""
    if value == 0:
        return "0"
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    return ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values))


def _braces(*parts: str) -> str:
    inner = ",".join(p for p in parts if p)
    return "{" + inner + "}" if inner else ""


def _metadata(f: Family, openmetrics: bool) -> Iterator[str]:
    # A state family is a gauge in both formats: OpenMetrics' stateset would rename its label.
    # OpenMetrics names a family without the _total or _info of its samples.
    name, kind = f.name, ("gauge" if f.kind == "state" else f.kind)
    if not openmetrics:
        kind = "gauge" if kind == "info" else kind
    elif f.kind in ("counter", "info"):
        name = name.rsplit("_", 1)[0]
    yield f"# HELP {name} {_escape_help(f.help, openmetrics)}\n"
    yield f"# TYPE {name} {kind}\n"


def family_lines(f: Family, snap: Snapshot, openmetrics: bool = False) -> Iterator[str]:
    """HELP, TYPE and the samples of one family in a stable order; nothing when it has none."""
    samples = _samples(f, snap)
    first = next(samples, None)
    if first is not None:
        yield from _metadata(f, openmetrics)
        yield first
        yield from samples


def _samples(f: Family, snap: Snapshot) -> Iterator[str]:
    """Sample lines; an unset gauge (NaN) has none."""
    if f.free:
        entry = snap.free.get(f.name)
        if entry is not None:
            yield f"{f.name}{_braces(_labels(f.free, entry[0]))} {number(entry[1])}\n"
        return
    scope_names = f.labels[: len(f.labels) - len(f.enum[0])]
    enum_names, enum_values = f.enum
    for key, values, base in snap.rows(f):
        own = _labels(scope_names, key)
        if f.kind == "histogram":
            yield _histogram(f, own, values, base)
        elif f.kind == "state":
            current = values[base]
            if current == current:
                yield f"{f.name}{_braces(own, _labels(enum_names, enum_values[int(current)]))} 1\n"
        elif enum_names:
            for i, label_values in enumerate(enum_values):
                v = values[base + i]
                if v == v:
                    yield f"{f.name}{_braces(own, _labels(enum_names, label_values))} {number(v)}\n"
        else:
            v = values[base]
            if v == v:
                yield f"{f.name}{_braces(own)} {number(v)}\n"


def _histogram(f: Family, own: str, values: Sequence[float], base: int) -> str:
    """All lines of one histogram series at once (they are most of the output)."""
    bucket = f"{f.name}_bucket{{{own}," if own else f"{f.name}_bucket{{"
    out = []
    total = 0.0
    for i, le in enumerate(_le_labels(f)):
        total += values[base + i]
        out.append(f'{bucket}le="{le}"}} {number(total)}\n')
    n = len(f.buckets)
    out.append(f"{f.name}_sum{_braces(own)} {number(values[base + n + 1])}\n")
    out.append(f"{f.name}_count{_braces(own)} {number(values[base + n + 2])}\n")
    return "".join(out)


_LE: Dict[Tuple[float, ...], Tuple[str, ...]] = {}


def _le_labels(f: Family) -> Tuple[str, ...]:
    if f.buckets not in _LE:
        _LE[f.buckets] = (*(repr(float(b)) for b in f.buckets), "+Inf")
    return _LE[f.buckets]


def lines(snap: Snapshot, families: Iterable[Family] = ALL, openmetrics: bool = False) -> Iterator[str]:
    """The whole exposition of the families whose scope the snapshot holds."""
    for f in families:
        if f.scope in snap.scopes:
            yield from family_lines(f, snap, openmetrics)
    if openmetrics:
        yield "# EOF\n"


def chunks(text: Iterable[str], size: int = CHUNK) -> Iterator[bytes]:
    """Pack lines into UTF-8 chunks of about `size` bytes."""
    buf = []
    length = 0
    for line in text:
        buf.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buf).encode("utf-8")
            buf, length = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")


def render_text(registry: Registry) -> str:
    """Everything the registry holds now, as Prometheus text (the control socket's `metrics`)."""
    return render(registry.snapshot())


def render(snap: Snapshot, families: Iterable[Family] = ALL, openmetrics: bool = False) -> str:
    """The exposition as one string (tests and small outputs; the writers stream chunks)."""
    return "".join(lines(snap, families, openmetrics))
